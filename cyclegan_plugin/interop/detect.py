"""Which checkpoint is this, and which networks does it hold? The one checkpoint reader.

Translating should need nothing but a checkpoint file, whoever wrote it. Every supported
layout goes through one table (:data:`READERS`) to our model's state dict:

* our training checkpoints (MMEngine's ``{'meta', 'state_dict', ...}``) and model state
  dicts (``generators.a2b.model.1.weight`` ...);
* single generator state dicts (``model.1.weight`` ...: the reference's layout, which is ours);
* the reference's files (``latest_net_G_A.pth`` / ``latest_net_G_B.pth``, a folder holding
  them, or the single ``latest_net_G.pth`` of its pretrained models);
* MMagic's CycleGAN checkpoints (their BGR networks become RGB ones, see ``mmagic``).

Files load through :func:`cyclegan_plugin.io.load_checkpoint_file` (``weights_only=True``
unless trusted); what a state dict holds is read by :mod:`.layout`. Every failure is a
one-line :class:`~cyclegan_plugin.io.CheckpointError` naming the file.
"""
import os
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable, Dict, NamedTuple, Optional, Sequence, Tuple

import torch

from ..io import CheckpointError, CheckpointNotFoundError, load_checkpoint_file
from .layout import (DIRECTIONS, clean_state, detect_layout, generator_config_from_model_config,
                     infer_generator_config, meta_config, sub_state, unwrap_checkpoint)
from .mmagic import mmagic_to_ours
from .reference import REFERENCE_TO_OURS, reference_to_ours

_REFERENCE_FILE = re.compile(r'^(?P<epoch>.+)_net_(?P<name>G_A|G_B|D_A|D_B|G|D)\.pth$')


class Networks(NamedTuple):
    """A checkpoint read into our model's layout."""
    state: 'OrderedDict[str, torch.Tensor]'  # our model's keys (generators.a2b...)
    source: str  # 'cyclegan', 'generator', 'reference' or 'mmagic'
    meta: dict  # MMEngine's meta, {} when none
    domains: Optional[Tuple[str, str]] = None  # MMagic's (domain_a, domain_b)


def _prefixed(state, prefix: str) -> 'OrderedDict[str, torch.Tensor]':
    return OrderedDict((f'{prefix}.{k}', v) for k, v in state.items())


def _ours(state, meta, direction, domains) -> Networks:
    return Networks(state, 'cyclegan', meta)


def _one_generator(state, meta, direction, domains) -> Networks:
    return Networks(_prefixed(clean_state(state), f'generators.{direction or "a2b"}'),
                    'generator', meta)


def _mmagic(state, meta, direction, domains) -> Networks:
    ours, names = mmagic_to_ours(state, domains=domains, cfg=meta_config(meta))
    return Networks(ours, 'mmagic', meta, names)


#: detect_layout(state) -> the reader that turns such a state dict into our model's layout
READERS: Dict[str, Callable[..., Networks]] = {
    'cyclegan': _ours, 'resnet': _one_generator, 'unet': _one_generator, 'mmagic': _mmagic}


def find_reference_files(path) -> Dict[str, str]:
    """{'G_A': path, 'G_B': path} (or {'G': path}, with D_* when present) of the reference's
    checkpoint folder, or of one of its files plus the siblings of the same epoch."""
    path = os.fspath(path)
    if os.path.isfile(path):
        match = _REFERENCE_FILE.match(os.path.basename(path))
        if not match:
            return {}
        folder, epoch = os.path.dirname(path) or '.', match.group('epoch')
        if match.group('name') in ('G', 'D', 'D_A', 'D_B'):  # no generator pair to complete
            return {match.group('name'): path}
    elif os.path.isdir(path):
        folder = path
        epochs = {}
        for name in os.listdir(folder):
            m = _REFERENCE_FILE.match(name)
            if m and m.group('name') in ('G_A', 'G_B', 'G'):
                epochs.setdefault(m.group('epoch'), set()).add(m.group('name'))
        if not epochs:
            return {}
        if 'latest' in epochs:
            epoch = 'latest'
        elif len(epochs) == 1:
            epoch = next(iter(epochs))
        else:
            numeric = [e for e in epochs if e.isdigit()]
            if not numeric:
                raise CheckpointError(f'{folder} holds the reference checkpoints of several '
                                      f'epochs {sorted(epochs)}: name one file')
            epoch = max(numeric, key=int)
        if epochs[epoch] == {'G'}:
            return {'G': os.path.join(folder, f'{epoch}_net_G.pth')}
    else:
        return {}
    files = {}
    for name in REFERENCE_TO_OURS:
        candidate = os.path.join(folder, f'{epoch}_net_{name}.pth')
        if os.path.isfile(candidate):
            files[name] = candidate
    return files


def _read_reference(files: Dict[str, str], direction, map_location) -> Networks:
    states = {name: clean_state(load_checkpoint_file(path, map_location))
              for name, path in files.items()}
    if 'G' in states:
        return Networks(_prefixed(states['G'], f'generators.{direction or "a2b"}'),
                        'reference', {})
    return Networks(reference_to_ours(states), 'reference', {})


def read_networks(path, direction: Optional[str] = None,
                  domains: Optional[Sequence[str]] = None, trusted: bool = False,
                  map_location='cpu') -> Networks:
    """Any supported checkpoint (a file, or a reference checkpoint folder) -> every network it
    holds, in our model's layout. A single generator becomes ``generators.<direction>``
    (default 'a2b'); ``domains`` names MMagic's (domain_a, domain_b); ``trusted`` allows files
    that pickle Python objects (see :func:`~cyclegan_plugin.io.load_checkpoint_file`)."""
    if direction is not None and direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
    path = os.fspath(path)
    if not os.path.exists(path):
        raise CheckpointNotFoundError(f'checkpoint {path} does not exist')
    files = find_reference_files(path)
    if files:
        return _read_reference(files, direction, map_location)
    if os.path.isdir(path):
        raise CheckpointNotFoundError(
            f'checkpoint {path} is a folder without reference checkpoints (<epoch>_net_G_A.pth'
            ' / <epoch>_net_G_B.pth / <epoch>_net_G.pth): pass a checkpoint file')
    try:
        state, meta = unwrap_checkpoint(load_checkpoint_file(path, map_location, trusted))
        layout = detect_layout(state)
        if layout in ('patch', 'pixel'):
            raise CheckpointError(f'it holds a discriminator ({layout}), not a generator: '
                                  'pass a generator or a whole-model checkpoint')
        if layout not in READERS:
            raise CheckpointError(f'unknown checkpoint layout (first keys: '
                                  f'{", ".join(list(state)[:3])})')
        return READERS[layout](state, meta, direction, domains)
    except CheckpointError as err:
        if path in str(err):
            raise
        raise CheckpointError(f'cannot use checkpoint {path}: {err}') from None


@dataclass
class GeneratorCheckpoint:
    """The generators of a checkpoint, in our (= the reference's) generator layout, reading
    and writing RGB (MMagic's BGR networks are converted)."""
    states: Dict[str, 'OrderedDict[str, torch.Tensor]']
    configs: Dict[str, dict]
    source: str
    meta: dict = field(default_factory=dict)
    domains: Optional[Tuple[str, str]] = None
    full_state: Optional['OrderedDict[str, torch.Tensor]'] = None

    @property
    def directions(self):
        return tuple(d for d in DIRECTIONS if d in self.states)

    def model_state(self) -> 'OrderedDict[str, torch.Tensor]':
        """Our model's state dict (all of it when the checkpoint had it, else generators)."""
        if self.full_state is not None:
            return self.full_state
        return OrderedDict((f'generators.{d}.{k}', v) for d in self.directions
                           for k, v in self.states[d].items())


def load_generator_checkpoint(path, direction: Optional[str] = None,
                              norm: Optional[str] = None, map_location='cpu',
                              domains: Optional[Tuple[str, str]] = None,
                              trusted: bool = False) -> GeneratorCheckpoint:
    """The generators of any supported checkpoint (see :func:`read_networks`), each with the
    config of the network it fits: ours from the config stored in the checkpoint when there
    is one, else read off the tensors (``norm`` overrides the inferred normalisation).
    ``direction``: for a single-generator checkpoint, which direction it translates (default
    'a2b'); for a two-generator one, load only that generator."""
    nets = read_networks(path, direction, domains, trusted, map_location)
    held = [d for d in DIRECTIONS if sub_state(nets.state, f'generators.{d}')]
    if not held:
        raise CheckpointError(f'checkpoint {os.fspath(path)} holds no generator, only '
                              f'{sorted({k.split(".")[0] for k in nets.state})}: pass a '
                              'generator or a whole-model checkpoint')
    if direction is not None and direction not in held:
        raise CheckpointError(f'direction {direction!r} is not in the {nets.source} '
                              f'checkpoint {os.fspath(path)}, which holds {held}')
    model_cfg = meta_config(nets.meta).get('model', {}) if nets.source == 'cyclegan' else {}
    states, configs = {}, {}
    for d in held:
        if direction not in (None, d):
            continue
        states[d] = sub_state(nets.state, f'generators.{d}')
        cfg = generator_config_from_model_config(model_cfg, d)
        if cfg is None:
            cfg = infer_generator_config(states[d], norm)
        elif norm is not None:
            cfg['norm'] = norm
        configs[d] = cfg
    full = nets.state if nets.source in ('cyclegan', 'mmagic') else None
    return GeneratorCheckpoint(states, configs, nets.source, meta=nets.meta,
                               domains=nets.domains, full_state=full)


def read_model_state(path, direction: str = 'a2b', domains: Optional[Sequence[str]] = None,
                     trusted: bool = False, map_location='cpu') -> Tuple[
                         'OrderedDict[str, torch.Tensor]', str, dict]:
    """Any supported checkpoint -> (our model's state dict with every network it holds,
    source format, info). Unlike :func:`load_generator_checkpoint` this keeps the
    discriminators, for converting checkpoints. A single generator becomes
    ``generators.<direction>``; info holds MMagic's ``domains`` and the file's ``meta``."""
    nets = read_networks(path, direction, domains, trusted, map_location)
    info = {'meta': nets.meta} if nets.source != 'reference' else {}
    if nets.domains is not None:
        info['domains'] = nets.domains
    return nets.state, nets.source, info
