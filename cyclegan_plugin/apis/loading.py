"""From a file to a translator: a config + checkpoint, or a checkpoint alone (ours, the
reference's, MMagic's, a bare generator, or an exported .onnx file), whose architecture is
read from its keys."""
import os
import warnings
from typing import Mapping, Optional, Sequence

from torch import nn

from ..interop.detect import load_generator_checkpoint
from ..interop.layout import infer_generator_config
from ..io import CheckpointError
from ..registry import MODELS
from .translators import BaseTranslator, OnnxTranslator, Translator

CONFIG_SUFFIXES = ('.py', '.json', '.yaml', '.yml')


def build_generator(cfg: Mapping, state: Optional[Mapping] = None) -> nn.Module:
    """Build one of our generators from its config and load a state dict into it."""
    cfg = dict(cfg)
    cls = MODELS.get(cfg.pop('type'))  # our registry, whatever the default scope is
    if cls is None:
        raise CheckpointError(f'unknown generator type in {cfg}')
    cfg['init_cfg'] = None  # weights come from the checkpoint
    net = cls(**cfg)
    if state is not None:
        try:
            net.load_state_dict(state, strict=True)
        except RuntimeError as err:
            raise CheckpointError(f'the checkpoint does not fit {cls.__name__}({cfg}): '
                                  f'{err}') from err
    return net


def init_model(config_or_checkpoint, checkpoint=None, device='cpu',
               direction: Optional[str] = None, norm: Optional[str] = None,
               domains: Optional[Sequence[str]] = None,
               trusted: bool = False) -> BaseTranslator:
    """A :class:`Translator` (or :class:`OnnxTranslator` for .onnx files).

    Args:
        config_or_checkpoint: an MMEngine config file (then ``checkpoint`` gives the
            weights), or a checkpoint alone: our training checkpoint, a model or generator
            state dict, the reference's ``latest_net_G_A.pth`` (its G_B sibling is loaded too)
            / ``latest_net_G.pth`` / checkpoint folder, an MMagic CycleGAN checkpoint, or an
            exported .onnx file. The architecture is read from the checkpoint.
        device: 'cpu', 'cuda', 'cuda:1' ...
        direction: a single-generator checkpoint's direction (default 'a2b'); with two
            generators, load only this one.
        norm: override the normalisation read from the checkpoint ('instance' / 'batch' /
            'none'), for checkpoints whose keys cannot tell.
        domains: MMagic's (domain_a, domain_b) when the checkpoint does not store them.
        trusted: allow checkpoints that pickle Python objects besides tensors (MMagic's,
            MMEngine's without SafeCheckpointHook); unpickling can run code.
    """
    first = os.fspath(config_or_checkpoint)
    if first.endswith('.onnx'):
        return OnnxTranslator(first, device)
    if first.endswith(CONFIG_SUFFIXES) and os.path.isfile(first):
        return _from_config(first, checkpoint, device, direction, domains, trusted)
    if checkpoint is not None:
        raise ValueError(f'{first} is not a config file (.py/.json/.yaml): pass a config and '
                         'a checkpoint, or a checkpoint alone')
    ckpt = load_generator_checkpoint(first, direction, norm, 'cpu', domains, trusted)
    nets = {}
    for d in ckpt.directions:
        try:
            nets[d] = build_generator(ckpt.configs[d], ckpt.states[d])
        except (TypeError, CheckpointError):  # a stored config this version cannot use
            inferred = infer_generator_config(ckpt.states[d], norm)
            if inferred == ckpt.configs[d]:
                raise
            nets[d] = build_generator(inferred, ckpt.states[d])
    return Translator(nets, ckpt.source, device, domains=ckpt.domains)


def _from_config(config, checkpoint, device, direction, domains, trusted) -> Translator:
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    cfg = Config.fromfile(config)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'cyclegan_plugin')):
        model = MODELS.build(cfg.model)
    if not isinstance(getattr(model, 'generators', None), nn.ModuleDict):
        raise TypeError(f'{config} builds a {type(model).__name__}, which has no '
                        '`generators` ModuleDict')
    source, found = 'config', None
    if checkpoint is None:
        warnings.warn(f'no checkpoint given: the generators of {config} keep their random '
                      'initial weights')
    else:
        ckpt = load_generator_checkpoint(checkpoint, direction, None, 'cpu', domains, trusted)
        source, found = ckpt.source, ckpt.directions
        missing, unexpected = model.load_state_dict(ckpt.model_state(), strict=False)
        bad = [k for k in missing
               if k.startswith('generators.') and k.split('.')[1] in found] + unexpected
        if bad:
            raise CheckpointError(f'{checkpoint} does not fit the model of {config}: '
                                  f'{len(bad)} mismatched keys, e.g. {bad[:3]}')
    nets = {d: model.generators[d] for d in model.generators
            if (found is None or d in found) and direction in (None, d)}
    return Translator(nets, source, device, model=model)
