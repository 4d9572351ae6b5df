"""Which checkpoint is this, and which networks does it hold?

Translating should need nothing but a checkpoint file, whoever wrote it, so this module reads:

* our training checkpoints (MMEngine: ``{'meta', 'state_dict', ...}``; the config, when
  MMEngine stored it in ``meta['cfg']``, is read with a literal-only parser, never executed);
* full model state dicts (``generators.a2b.model.1.weight`` ...);
* single generator state dicts (``model.1.weight`` ...: the reference's layout, which is ours);
* the reference's files (``latest_net_G_A.pth`` / ``latest_net_G_B.pth``, a folder holding
  them, or the single ``latest_net_G.pth`` of its pretrained models);
* MMagic's CycleGAN checkpoints (``generators.<domain>.model.0.conv.weight`` ...; their
  networks, which read and write BGR, are converted to RGB ones).

The architecture (ResNet or U-Net, ngf, blocks or levels, channels, norm, dropout, padding)
is read off key names and tensor shapes. Plain state dicts load with ``weights_only=True``.
"""
import ast
import os
import pickle
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Dict, Mapping, Optional, Sequence, Tuple

import torch

from ..engine.checkpoint import load_checkpoint_file
from .reference import REFERENCE_TO_OURS, clean_reference_state_dict

DIRECTIONS = ('a2b', 'b2a')
GENERATOR_TYPES = ('ResnetGenerator', 'UnetGenerator')
_REFERENCE_FILE = re.compile(r'^(?P<epoch>.+)_net_(?P<name>G_A|G_B|D_A|D_B|G|D)\.pth$')


class CheckpointError(ValueError):
    """A checkpoint that cannot be read or does not hold what was asked for."""


# ----------------------------------------------------------------------------- files
def load_file(path, map_location='cpu', trusted: bool = False):
    """torch.load with ``weights_only=True``: a checkpoint cannot run code while loading.

    Checkpoints that pickle more than tensors and plain types (MMEngine checkpoints written
    without our SafeCheckpointHook, e.g. MMagic's) load only with ``trusted=True``, through
    the package's checkpoint loader.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f'checkpoint not found: {path}')
    if trusted:
        return load_checkpoint_file(path, map_location=map_location, trusted=True)
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        if 'Unsupported global' not in str(err):  # not a pickle of objects: a damaged file
            raise CheckpointError(f'cannot read {path} as a PyTorch checkpoint (damaged or '
                                  f'not a checkpoint): {str(err).splitlines()[-1]}') from err
        raise CheckpointError(
            f'{path} holds Python objects besides tensors (an MMEngine checkpoint written '
            'without SafeCheckpointHook, e.g. MMagic\'s?). Unpickling them can run code: load '
            'it only if you trust its source (trusted=True / --trust-checkpoint).') from err
    except (RuntimeError, EOFError, OSError, ValueError) as err:
        raise CheckpointError(f'cannot read {path} as a PyTorch checkpoint: {err}') from err


def unwrap_checkpoint(obj) -> Tuple['OrderedDict[str, torch.Tensor]', dict]:
    """(state dict, meta) of an MMEngine checkpoint or a plain state dict."""
    if not isinstance(obj, Mapping):
        raise CheckpointError(f'expected a state dict or an MMEngine checkpoint, got '
                              f'{type(obj).__name__}')
    meta = {}
    if 'state_dict' in obj and isinstance(obj['state_dict'], Mapping):
        meta = obj.get('meta') or {}
        obj = obj['state_dict']
    state = OrderedDict()
    for key, value in obj.items():
        if key.startswith('module.'):  # DataParallel
            key = key[len('module.'):]
        state[key] = value
    if not any(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError('the checkpoint holds no tensors')
    return state, dict(meta) if isinstance(meta, Mapping) else {}


def sub_state(state: Mapping, prefix: str) -> 'OrderedDict[str, torch.Tensor]':
    """The entries under ``prefix.``, with the prefix removed."""
    prefix = prefix.rstrip('.') + '.'
    return OrderedDict((k[len(prefix):], v) for k, v in state.items() if k.startswith(prefix))


def clean_state(state: Mapping) -> 'OrderedDict[str, torch.Tensor]':
    """Strip DataParallel's ``module.`` and drop running statistics of norm layers without
    weights: the InstanceNorm buffers PyTorch 0.4 saved in the reference's older checkpoints
    (its pretrained models among them), which current InstanceNorm layers have no slot for.
    Batch norm keeps them (the reference's batch norm always has weights)."""
    state = clean_reference_state_dict(state)
    stats = ('.running_mean', '.running_var', '.num_batches_tracked')
    return OrderedDict((k, v) for k, v in state.items()
                       if not (k.endswith(stats) and f'{k.rsplit(".", 1)[0]}.weight' not in state))


# ------------------------------------------------------------------- safe config text
def _literal(node):
    """Evaluate literals, containers and ``dict(k=v)`` calls; anything else is refused."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        items = [_literal(e) for e in node.elts]
        return {ast.List: list, ast.Tuple: tuple, ast.Set: set}[type(node)](items)
    if isinstance(node, ast.Dict):
        if any(k is None for k in node.keys):
            raise ValueError('** in a dict display')
        return {_literal(k): _literal(v) for k, v in zip(node.keys, node.values)}
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == 'dict' and not node.args
            and all(kw.arg is not None for kw in node.keywords)):
        return {kw.arg: _literal(kw.value) for kw in node.keywords}
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _literal(node.operand)
        if isinstance(value, (int, float)):
            return -value if isinstance(node.op, ast.USub) else value
    raise ValueError(f'not a literal: {ast.dump(node)[:80]}')


def literal_config(text: str) -> dict:
    """Top-level ``name = <literal>`` assignments of a config text, without executing it.

    MMEngine stores the training config in ``meta['cfg']`` as Python source; running it would
    run whatever a checkpoint file carries, so only literal values are read. Assignments that
    are not literals are skipped.
    """
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return {}
    out = {}
    for stmt in tree.body:
        if (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], ast.Name)):
            try:
                out[stmt.targets[0].id] = _literal(stmt.value)
            except (ValueError, TypeError):
                continue
    return out


def meta_config(meta: Mapping) -> dict:
    """The literal part of the config MMEngine stored in a checkpoint's meta, or {}."""
    cfg = meta.get('cfg') if isinstance(meta, Mapping) else None
    if isinstance(cfg, str):
        return literal_config(cfg)
    if isinstance(cfg, Mapping):
        return dict(cfg)
    return {}


# ---------------------------------------------------------------- layout detection
def detect_layout(state: Mapping) -> str:
    """'cyclegan' (our model), 'mmagic', 'resnet' / 'unet' (one generator, ours = the
    reference's layout), 'patch' / 'pixel' (one discriminator) or 'unknown'."""
    keys = list(state)
    gen = [k for k in keys if k.startswith('generators.')]
    if gen:
        names = {k.split('.')[1] for k in gen}
        if names <= set(DIRECTIONS):
            return 'cyclegan'
        if any(k.endswith('.conv.weight') for k in gen):
            return 'mmagic'
        return 'unknown'
    if 'model.1.weight' in state and any('.conv_block.' in k for k in keys):
        return 'resnet'
    if 'model.1.weight' in state and state['model.1.weight'].shape[-1] == 7:
        return 'resnet'  # no residual blocks
    if 'model.model.0.weight' in state:
        return 'unet'
    if 'model.0.weight' in state:
        return 'patch'
    if 'net.0.weight' in state:
        return 'pixel'
    return 'unknown'


def _conv_weights(state: Mapping):
    """Keys of convolution weights (4-D), in state-dict order (= module order)."""
    return [k for k, v in state.items() if k.endswith('.weight') and v.dim() == 4]


def infer_norm(state: Mapping, conv_key: str) -> str:
    """The norm after the conv whose weight is ``conv_key``: the reference gives a conv a bias
    exactly with instance norm, and batch norm has its own weight right after the conv."""
    prefix, index = conv_key[:-len('.weight')].rsplit('.', 1)
    if f'{prefix}.{int(index) + 1}.weight' in state:
        return 'batch'
    if f'{prefix}.{index}.bias' in state:
        return 'instance'
    return 'none'


def infer_generator_config(state: Mapping, norm: Optional[str] = None) -> dict:
    """Config of the ResnetGenerator / UnetGenerator a (reference-layout) state dict fits."""
    layout = detect_layout(state)
    if layout == 'resnet':
        cfg = _infer_resnet(state)
    elif layout == 'unet':
        cfg = _infer_unet(state)
    else:
        sample = ', '.join(list(state)[:3])
        raise CheckpointError(f'not a ResNet or U-Net generator state dict (detected '
                              f'{layout!r}; first keys: {sample})')
    if norm is not None:
        cfg['norm'] = norm
    return cfg


def _infer_resnet(state: Mapping) -> dict:
    first = state['model.1.weight']
    blocks = sorted({int(k.split('.')[1]) for k in state if '.conv_block.' in k})
    if blocks and blocks != list(range(10, 10 + len(blocks))):
        raise CheckpointError(f'residual blocks at unexpected positions {blocks}')
    cfg = dict(type='ResnetGenerator', in_channels=first.shape[1], ngf=first.shape[0],
               n_blocks=len(blocks), norm=infer_norm(state, 'model.1.weight'),
               use_dropout=False, padding_type='reflect')
    if blocks:
        inner = sorted({int(k.split('.')[3]) for k in _conv_weights(state)
                        if k.startswith('model.10.conv_block.')})
        if len(inner) != 2:
            raise CheckpointError(f'a residual block with convs at {inner}, expected two')
        padded = inner[0] == 1  # a reflection/replication pad layer before each conv
        cfg['padding_type'] = 'reflect' if padded else 'zero'
        cfg['use_dropout'] = inner[1] - inner[0] == (5 if padded else 4)
    last = _conv_weights(state)[-1]
    cfg['out_channels'] = state[last].shape[0]
    return cfg


def _infer_unet(state: Mapping) -> dict:
    first = state['model.model.0.weight']
    blocks = {k.rsplit('.', 2)[0] for k in _conv_weights(state)}
    return dict(type='UnetGenerator', in_channels=first.shape[1],
                out_channels=state['model.model.3.weight'].shape[1], num_downs=len(blocks),
                ngf=first.shape[0], norm=infer_norm(state, 'model.model.1.model.1.weight'),
                use_dropout=False)


def infer_discriminator_config(state: Mapping) -> dict:
    layout = detect_layout(state)
    if layout == 'patch':
        convs = _conv_weights(state)
        return dict(type='PatchDiscriminator', in_channels=state['model.0.weight'].shape[1],
                    ndf=state['model.0.weight'].shape[0], n_layers=len(convs) - 2,
                    norm=infer_norm(state, convs[1]))
    if layout == 'pixel':
        return dict(type='PixelDiscriminator', in_channels=state['net.0.weight'].shape[1],
                    ndf=state['net.0.weight'].shape[0], norm=infer_norm(state, 'net.2.weight'))
    raise CheckpointError(f'not a PatchGAN / PixelGAN discriminator state dict ({layout!r})')


def infer_model_config(state: Mapping, norm: Optional[str] = None) -> dict:
    """Our CycleGAN config for a full model state dict (generators.a2b ...)."""
    gens = {d: sub_state(state, f'generators.{d}') for d in DIRECTIONS}
    gens = {d: s for d, s in gens.items() if s}
    if not gens:
        raise CheckpointError('no generators.a2b / generators.b2a in the state dict')
    direction, gstate = next(iter(gens.items()))
    generator = infer_generator_config(gstate, norm)
    if direction == 'b2a':  # the model's config describes G_A
        generator['in_channels'], generator['out_channels'] = (
            generator['out_channels'], generator['in_channels'])
    cfg = dict(type='CycleGAN', generator=generator)
    for name in ('b', 'a'):
        dstate = sub_state(state, f'discriminators.{name}')
        if dstate:
            disc = infer_discriminator_config(dstate)
            disc.pop('in_channels')
            cfg['discriminator'] = disc
            break
    return cfg


def generator_config_from_model_config(model_cfg: Mapping, direction: str) -> Optional[dict]:
    """The generator config of one direction in our CycleGAN model config, or None."""
    gen = model_cfg.get('generator') if isinstance(model_cfg, Mapping) else None
    if not isinstance(gen, Mapping) or gen.get('type') not in GENERATOR_TYPES:
        return None
    gen = dict(gen)
    gen.pop('init_cfg', None)
    if direction == 'b2a':
        a_in, a_out = gen.get('in_channels', 3), gen.get('out_channels', 3)
        gen.update(in_channels=a_out, out_channels=a_in)
    return gen


# ------------------------------------------------------------------------ loading
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


def load_generator_checkpoint(path, direction: Optional[str] = None,
                              norm: Optional[str] = None, map_location='cpu',
                              domains: Optional[Tuple[str, str]] = None,
                              trusted: bool = False) -> GeneratorCheckpoint:
    """Read any supported checkpoint (file or reference folder) into a GeneratorCheckpoint.

    ``direction``: for a single-generator checkpoint, which direction it translates (default
    'a2b'); for a two-generator one, load only that generator. ``norm`` overrides the
    inferred normalisation; ``domains`` names MMagic's (domain_a, domain_b); ``trusted``
    allows checkpoints that pickle objects (see :func:`load_file`).
    """
    if direction is not None and direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f'checkpoint not found: {path}')
    ref_files = find_reference_files(path)
    if ref_files:
        return _from_reference(ref_files, direction, norm, map_location)
    if os.path.isdir(path):
        raise CheckpointError(f'{path} is a folder without reference checkpoints '
                              '(<epoch>_net_G_A.pth / <epoch>_net_G_B.pth / <epoch>_net_G.pth)')
    state, meta = unwrap_checkpoint(load_file(path, map_location, trusted))
    layout = detect_layout(state)
    if layout in ('resnet', 'unet'):
        d = direction or 'a2b'
        state = clean_state(state)
        return _checked(GeneratorCheckpoint(
            {d: state}, {d: infer_generator_config(state, norm)}, 'generator', meta=meta),
            direction)
    if layout == 'cyclegan':
        return _from_ours(state, meta, direction, norm)
    if layout == 'mmagic':
        from .mmagic import mmagic_to_ours  # lazy: a leaf module importing this one
        cfg = meta_config(meta)
        ours, names = mmagic_to_ours(state, domains=domains, cfg=cfg)
        result = _from_ours(ours, {}, direction, norm)
        result.source, result.domains, result.meta = 'mmagic', names, meta
        return result
    if layout in ('patch', 'pixel'):
        raise CheckpointError(f'{path} holds a discriminator, not a generator')
    raise CheckpointError(f'{path}: unknown checkpoint layout (first keys: '
                          f'{", ".join(list(state)[:3])})')


def _checked(ckpt: GeneratorCheckpoint, direction) -> GeneratorCheckpoint:
    if direction is not None and direction not in ckpt.states:
        raise CheckpointError(f'direction {direction!r} is not in this {ckpt.source} '
                              f'checkpoint, which holds {list(ckpt.directions)}')
    return ckpt


def _from_reference(files, direction, norm, map_location) -> GeneratorCheckpoint:
    if 'G' in files:
        state = clean_state(load_file(files['G'], map_location))
        d = direction or 'a2b'
        return GeneratorCheckpoint({d: state}, {d: infer_generator_config(state, norm)},
                                   'reference')
    if not ({'G_A', 'G_B'} & set(files)):
        raise CheckpointError(f'{", ".join(sorted(files.values()))}: a discriminator, not a '
                              'generator')
    states, configs = {}, {}
    for ref_name, d in (('G_A', 'a2b'), ('G_B', 'b2a')):
        if ref_name in files and direction in (None, d):
            states[d] = clean_state(load_file(files[ref_name], map_location))
            configs[d] = infer_generator_config(states[d], norm)
    return _checked(GeneratorCheckpoint(states, configs, 'reference'), direction)


def _from_ours(state, meta, direction, norm) -> GeneratorCheckpoint:
    model_cfg = meta_config(meta).get('model', {})
    states, configs = {}, {}
    for d in DIRECTIONS:
        gstate = sub_state(state, f'generators.{d}')
        if not gstate or direction not in (None, d):
            continue
        states[d] = gstate
        cfg = generator_config_from_model_config(model_cfg, d)
        if cfg is None:
            cfg = infer_generator_config(gstate, norm)
        elif norm is not None:
            cfg['norm'] = norm
        configs[d] = cfg
    if not states and direction is not None:
        held = [d for d in DIRECTIONS if sub_state(state, f'generators.{d}')]
        raise CheckpointError(f'direction {direction!r} is not in this checkpoint, which '
                              f'holds {held}')
    return GeneratorCheckpoint(states, configs, 'cyclegan', meta=meta, full_state=state)


def read_model_state(path, direction: str = 'a2b', domains: Optional[Sequence[str]] = None,
                     trusted: bool = False, map_location='cpu') -> Tuple[
                         'OrderedDict[str, torch.Tensor]', str, dict]:
    """Any supported checkpoint -> (our model's state dict with every network it holds,
    source format, info). Unlike :func:`load_generator_checkpoint` this keeps the
    discriminators, for converting checkpoints. A single generator becomes
    ``generators.<direction>``; info holds MMagic's ``domains`` and the file's ``meta``."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f'checkpoint not found: {path}')
    files = find_reference_files(path)
    if files:
        from .reference import reference_to_ours
        if 'G' in files:
            state = clean_state(load_file(files['G'], map_location))
            return (OrderedDict((f'generators.{direction}.{k}', v) for k, v in state.items()),
                    'reference', {})
        nets = {name: clean_state(load_file(p, map_location))
                for name, p in files.items()}
        return reference_to_ours(nets), 'reference', {}
    if os.path.isdir(path):
        raise CheckpointError(f'{path} is a folder without reference checkpoints')
    state, meta = unwrap_checkpoint(load_file(path, map_location, trusted))
    layout = detect_layout(state)
    if layout == 'cyclegan':
        return state, 'cyclegan', {'meta': meta}
    if layout == 'mmagic':
        from .mmagic import mmagic_to_ours
        ours, names = mmagic_to_ours(state, domains=domains, cfg=meta_config(meta))
        return ours, 'mmagic', {'meta': meta, 'domains': names}
    if layout in ('resnet', 'unet'):
        state = clean_state(state)
        return (OrderedDict((f'generators.{direction}.{k}', v) for k, v in state.items()),
                'generator', {'meta': meta})
    raise CheckpointError(f'{path}: no generator found (layout {layout!r})')
