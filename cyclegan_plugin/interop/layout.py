"""What a state dict holds, read off its keys and tensor shapes: pure functions, no files.

The leaf of ``interop``: the layout modules (reference, MMagic) and the loader (``detect``)
depend on it, it depends on none of them. Reads:

* our model's state dict (``generators.a2b.model.1.weight`` ...);
* single generator state dicts (``model.1.weight`` ...: the reference's layout, which is ours);
* single discriminators (PatchGAN ``model.0.weight``, PixelGAN ``net.0.weight``);
* MMagic's CycleGAN (``generators.<domain>.model.0.conv.weight`` ...).

The architecture (ResNet or U-Net, ngf, blocks or levels, channels, norm, dropout, padding,
upsampling, attention, residual, a U-Net's full-resolution level; a discriminator's spectral
norm and anti-aliasing) is read off key names and shapes; the config MMEngine stored in a
checkpoint's meta is read with a literal-only parser, never executed.
"""
import ast
import re
from collections import OrderedDict
from typing import Mapping, Optional, Tuple

import torch

from ..io import CheckpointError
from .reference import clean_reference_state_dict

DIRECTIONS = ('a2b', 'b2a')
GENERATOR_TYPES = ('ResnetGenerator', 'UnetGenerator')


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
#: where torch's spectral norm keeps a convolution's weight (``<conv>.weight`` without it)
SPECTRAL_WEIGHT = '.parametrizations.weight.original'


def is_spectral(state: Mapping) -> bool:
    return any(k.endswith(SPECTRAL_WEIGHT) for k in state)


def plain_weights(state: Mapping) -> Mapping:
    """``state`` with each spectrally normalised weight under its plain key (``model.0.weight``)
    and the power iteration's vectors left out: the keys the architecture is read from."""
    if not is_spectral(state):
        return state
    return OrderedDict((k[:-len(SPECTRAL_WEIGHT)] + '.weight' if k.endswith(SPECTRAL_WEIGHT)
                        else k, v) for k, v in state.items()
                       if '.parametrizations.weight.' not in k or k.endswith(SPECTRAL_WEIGHT))


def detect_layout(state: Mapping) -> str:
    """'cyclegan' (our model), 'mmagic', 'resnet' / 'unet' (one generator, ours = the
    reference's layout), 'patch' / 'pixel' (one discriminator) or 'unknown'."""
    state = plain_weights(state)
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
    exactly with instance norm, and batch norm has its own weight right after the conv; our
    instance renorm keeps its running statistics as ``renorm_mean`` / ``renorm_var``."""
    prefix, index = conv_key[:-len('.weight')].rsplit('.', 1)
    if f'{prefix}.{int(index) + 1}.weight' in state:
        return 'batch'
    if f'{prefix}.{int(index) + 1}.renorm_mean' in state:
        return 'instance_renorm'
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
    # resize-convolutions (upsample='nearest') hold their conv one level down
    resize = any(re.fullmatch(r'model\.\d+\.conv\.weight', k) for k in state)
    cfg = dict(type='ResnetGenerator', in_channels=first.shape[1], ngf=first.shape[0],
               n_blocks=len(blocks), norm=infer_norm(state, 'model.1.weight'),
               use_dropout=False, padding_type='reflect',
               upsample='nearest' if resize else 'deconv',
               attention=any(k.startswith('mask_head.') for k in state),
               residual='input_scale' in state)
    if blocks:
        inner = sorted({int(k.split('.')[3]) for k in _conv_weights(state)
                        if k.startswith('model.10.conv_block.')})
        if len(inner) != 2:
            raise CheckpointError(f'a residual block with convs at {inner}, expected two')
        padded = inner[0] == 1  # a reflection/replication pad layer before each conv
        cfg['padding_type'] = 'reflect' if padded else 'zero'
        cfg['use_dropout'] = inner[1] - inner[0] == (5 if padded else 4)
    last = [k for k in _conv_weights(state) if k.startswith('model.')][-1]
    cfg['out_channels'] = state[last].shape[0]
    return cfg


def _infer_unet(state: Mapping) -> dict:
    first = state['model.model.0.weight']
    # full_res: a 3x3 convolution at full resolution makes the output (ours, opt-in)
    full_res = 'full_res_out.0.weight' in state
    blocks = {k.rsplit('.', 2)[0] for k in _conv_weights(state) if k.startswith('model.')}
    out_channels = (state['full_res_out.0.weight'].shape[0] if full_res
                    else state['model.model.3.weight'].shape[1])
    return dict(type='UnetGenerator', in_channels=first.shape[1],
                out_channels=out_channels, num_downs=len(blocks),
                ngf=first.shape[0], norm=infer_norm(state, 'model.model.1.model.1.weight'),
                use_dropout=False, full_res=full_res)


def infer_discriminator_config(state: Mapping) -> dict:
    layout = detect_layout(state)
    spectral = is_spectral(state)
    state = plain_weights(state)
    if layout == 'patch':
        convs = [k for k in _conv_weights(state) if k.startswith('model.')]
        full_res = 'full_res_in.0.weight' in state  # ours, opt-in: a stride-1 first layer
        first = state['full_res_in.0.weight' if full_res else 'model.0.weight']
        return dict(type='PatchDiscriminator', in_channels=first.shape[1],
                    ndf=state['model.0.weight'].shape[0], n_layers=len(convs) - 2,
                    norm=infer_norm(state, convs[1]), spectral_norm=spectral,
                    antialias='blur_kernel' in state, full_res=full_res,
                    spectrum_bins=(state['spectrum_head.weight'].shape[1]
                                   if 'spectrum_head.weight' in state else 0))
    if layout == 'pixel':
        return dict(type='PixelDiscriminator', in_channels=state['net.0.weight'].shape[1],
                    ndf=state['net.0.weight'].shape[0], norm=infer_norm(state, 'net.2.weight'),
                    spectral_norm=spectral)
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
    discs = {}
    for name in ('b', 'a'):
        dstate = sub_state(state, f'discriminators.{name}')
        if dstate:
            discs[name] = infer_discriminator_config(dstate)
            discs[name].pop('in_channels')
    if discs:
        disc = next(iter(discs.values()))
        cfg['discriminator'] = disc
        # a discriminator built with discriminator_overrides: the keys where it differs
        overrides = {name: {k: v for k, v in other.items() if disc.get(k) != v}
                     for name, other in discs.items() if other != disc}
        if overrides:
            cfg['discriminator_overrides'] = overrides
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
