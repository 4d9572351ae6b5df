"""Checkpoints of MMagic's CycleGAN (open-mmlab/mmagic, mmagic/models/editors/cyclegan).

MMagic builds the same networks as the reference from mmcv ``ConvModule`` blocks, so only
the key names differ (the tensors are the same, conv for conv):

* ResnetGenerator: ``model.0.conv`` (c7s1), ``model.1.conv`` / ``model.2.conv`` (down),
  ``model.<3+i>.block.0.conv`` and ``.block.1.conv`` (``.block.2.conv`` with dropout) for the
  residual blocks, then ``model.<3+n>.conv`` / ``model.<4+n>.conv`` (up) and
  ``model.<5+n>.conv`` (output). Padding layers live inside ConvModule and hold no tensors.
* PatchDiscriminator: ``model.0.conv`` ... ``model.<num_conv>.conv``, then the plain output
  conv ``model.<num_conv+1>.weight``; ``num_conv`` is our ``n_layers``.
* Norm tensors (batch norm only; MMagic's instance norm has none) sit in ConvModule's
  ``bn`` child.

MMagic feeds its networks mmcv's BGR images, ours see RGB. Converting reverses the colour
channels of the first convolution's input (generators and discriminators) and of the
generator's output convolution, so a converted network computes the same images in the
other colour order; reversing twice gives back the identical tensors.

Networks are keyed by the domain they generate / judge: ``generators.<domain_b>`` maps A to B
(our ``generators.a2b``), ``generators.<domain_a>`` is our ``b2a``; ``discriminators.<domain_b>``
is our ``discriminators.b``. The model's ModuleDicts follow ``reachable_domains =
[domain_a, domain_b]``, so without a config the first domain in the file is A.
"""
import re
from collections import OrderedDict
from typing import List, Mapping, Optional, Sequence, Tuple

import torch

from ..io import CheckpointError
from .layout import infer_discriminator_config, infer_generator_config, sub_state

NORM_PARAMS = ('weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked')
DEFAULT_DOMAINS = ('a', 'b')


# ------------------------------------------------------------------- layer pairs
def resnet_conv_pairs(n_blocks: int, use_dropout: bool = False,
                      padding_type: str = 'reflect') -> List[Tuple[str, str]]:
    """(our module path, MMagic ConvModule path) of every conv of a ResnetGenerator."""
    padded = padding_type != 'zero'
    first, second = (1, 6 if use_dropout else 5) if padded else (0, 4 if use_dropout else 3)
    pairs = [('model.1', 'model.0'), ('model.4', 'model.1'), ('model.7', 'model.2')]
    for i in range(n_blocks):
        pairs += [(f'model.{10 + i}.conv_block.{first}', f'model.{3 + i}.block.0'),
                  (f'model.{10 + i}.conv_block.{second}',
                   f'model.{3 + i}.block.{2 if use_dropout else 1}')]
    n = n_blocks
    pairs += [(f'model.{10 + n}', f'model.{3 + n}'), (f'model.{13 + n}', f'model.{4 + n}'),
              (f'model.{17 + n}', f'model.{5 + n}')]
    return pairs


def patch_conv_pairs(n_layers: int) -> List[Tuple[str, str]]:
    """(our module path, MMagic module path) of every conv of a PatchDiscriminator; the last
    MMagic one is a bare Conv2d, the others ConvModules."""
    pairs = [('model.0', 'model.0')]
    pairs += [(f'model.{3 * k - 1}', f'model.{k}') for k in range(1, n_layers + 1)]
    pairs.append((f'model.{3 * n_layers + 2}', f'model.{n_layers + 1}'))
    return pairs


def _norm_path(conv_path: str) -> str:
    """Our norm layer comes right after its conv in the same Sequential."""
    prefix, index = conv_path.rsplit('.', 1)
    return f'{prefix}.{int(index) + 1}'


def _names(pairs, bare_last: bool):
    """(our key, MMagic key) of every tensor the conv pairs can hold (conv, then its norm)."""
    for i, (ours, mm) in enumerate(pairs):
        mm_conv = mm if bare_last and i == len(pairs) - 1 else f'{mm}.conv'
        for p in ('weight', 'bias'):
            yield f'{ours}.{p}', f'{mm_conv}.{p}'
        for p in NORM_PARAMS:
            yield f'{_norm_path(ours)}.{p}', f'{mm}.bn.{p}'


def _rename(state: Mapping, pairs, to_mmagic: bool, bare_last: bool) -> 'OrderedDict':
    """Rename every tensor of one network, keeping its order; refuse to drop any."""
    names = dict(_names(pairs, bare_last))
    if not to_mmagic:
        names = {mm: ours for ours, mm in names.items()}
    left = [k for k in state if k not in names]
    if left:
        raise CheckpointError(f'{len(left)} tensors have no counterpart in the '
                              f'{"MMagic" if to_mmagic else "our"} layout, e.g. {left[:3]}')
    return OrderedDict((names[k], v) for k, v in state.items())


def _reverse_colours(state: Mapping, first: str, last: Optional[str]) -> 'OrderedDict':
    """Reverse the colour channels the network reads (input channels of ``first``) and,
    for a generator, writes (output channels of ``last``): RGB <-> BGR. One-channel
    (grayscale) ends are left alone."""
    out = OrderedDict(state)
    weight = out[f'{first}.weight']
    if weight.shape[1] == 3:
        out[f'{first}.weight'] = weight.flip(1)
    if last is not None and out[f'{last}.weight'].shape[0] == 3:
        out[f'{last}.weight'] = out[f'{last}.weight'].flip(0)
        if f'{last}.bias' in out:
            out[f'{last}.bias'] = out[f'{last}.bias'].flip(0)
    return out


# ------------------------------------------------------------------- one network
def generator_to_mmagic(state: Mapping) -> 'OrderedDict[str, torch.Tensor]':
    cfg = infer_generator_config(state)
    if cfg['type'] != 'ResnetGenerator':
        raise CheckpointError('MMagic CycleGAN checkpoints use the ResNet generator; '
                              f'cannot convert a {cfg["type"]}')
    if cfg['upsample'] != 'deconv':
        raise CheckpointError("MMagic's ResNet generator upsamples with transposed "
                              f"convolutions; cannot convert upsample={cfg['upsample']!r}")
    if cfg['attention'] or cfg['residual']:
        raise CheckpointError("MMagic's ResNet generator has no attention mask head or "
                              'residual output')
    if cfg['norm'] == 'instance_renorm':
        raise CheckpointError("MMagic's ResNet generator has no instance renorm "
                              "(norm='instance_renorm')")
    pairs = resnet_conv_pairs(cfg['n_blocks'], cfg['use_dropout'], cfg['padding_type'])
    state = _reverse_colours(state, pairs[0][0], pairs[-1][0])
    return _rename(state, pairs, to_mmagic=True, bare_last=False)


def generator_from_mmagic(state: Mapping, padding_type: str = 'reflect'
                          ) -> 'OrderedDict[str, torch.Tensor]':
    blocks = sorted({int(m.group(1)) for k in state
                     for m in [re.match(r'model\.(\d+)\.block\.', k)] if m})
    if 'model.0.conv.weight' not in state or blocks != list(range(3, 3 + len(blocks))):
        raise CheckpointError('not an MMagic ResnetGenerator state dict (keys: '
                              f'{", ".join(list(state)[:3])})')
    use_dropout = any('.block.2.conv.' in k for k in state)
    pairs = resnet_conv_pairs(len(blocks), use_dropout, padding_type)
    ours = _rename(state, pairs, to_mmagic=False, bare_last=False)
    return _reverse_colours(ours, pairs[0][0], pairs[-1][0])


# our PatchGAN's opt-in switches (infer_discriminator_config's keys) that MMagic's lacks
_NOT_IN_MMAGIC_DISCRIMINATOR = (
    ('spectral_norm', 'spectral normalisation'),
    ('antialias', 'anti-aliased downsampling (antialias=True)'),
    ('full_res', 'full-resolution first layer (full_res=True)'),
    ('spectrum_bins', 'spectral judge (spectrum_bins)'),
)


def discriminator_to_mmagic(state: Mapping) -> 'OrderedDict[str, torch.Tensor]':
    cfg = infer_discriminator_config(state)
    if cfg['type'] != 'PatchDiscriminator':
        raise CheckpointError(f'MMagic has no counterpart of our {cfg["type"]}')
    for key, what in _NOT_IN_MMAGIC_DISCRIMINATOR:
        if cfg[key]:
            raise CheckpointError(f"MMagic's CycleGAN discriminator has no {what}")
    state = _reverse_colours(state, 'model.0', None)
    return _rename(state, patch_conv_pairs(cfg['n_layers']), to_mmagic=True, bare_last=True)


def discriminator_from_mmagic(state: Mapping) -> 'OrderedDict[str, torch.Tensor]':
    modules = sorted({int(k.split('.')[1]) for k in state if k.startswith('model.')})
    if not modules or modules != list(range(len(modules))):
        raise CheckpointError('not an MMagic PatchDiscriminator state dict')
    ours = _rename(state, patch_conv_pairs(len(modules) - 2), to_mmagic=False, bare_last=True)
    return _reverse_colours(ours, 'model.0', None)


# ------------------------------------------------------------------- whole model
def mmagic_domains(state: Mapping, cfg: Optional[Mapping] = None,
                   domains: Optional[Sequence[str]] = None) -> Tuple[str, str]:
    """(domain_a, domain_b): given, else from the config, else in file order."""
    found = list(OrderedDict.fromkeys(k.split('.')[1] for k in state
                                      if k.startswith('generators.')))
    if domains is None and cfg:
        model = cfg.get('model') if isinstance(cfg.get('model'), Mapping) else {}
        if isinstance(cfg.get('domain_a'), str) and isinstance(cfg.get('domain_b'), str):
            domains = (cfg['domain_a'], cfg['domain_b'])
        elif isinstance(model.get('reachable_domains'), (list, tuple)):
            domains = tuple(model['reachable_domains'])
    if domains is None:
        domains = tuple(found)
    domains = tuple(domains)
    if len(domains) != 2 or domains[0] == domains[1]:
        raise CheckpointError(f'expected two domains, got {list(domains)} (generators in the '
                              f'file: {found})')
    missing = [d for d in found if d not in domains]
    if missing:
        raise CheckpointError(f'generators {missing} of the file are not among the domains '
                              f'{list(domains)}')
    return domains


def _mmagic_padding(cfg: Optional[Mapping]) -> str:
    model = (cfg or {}).get('model')
    gen = model.get('generator') if isinstance(model, Mapping) else None
    mode = gen.get('padding_mode', 'reflect') if isinstance(gen, Mapping) else 'reflect'
    return {'zeros': 'zero', 'zero': 'zero'}.get(mode, mode)


def mmagic_to_ours(state: Mapping, domains: Optional[Sequence[str]] = None,
                   cfg: Optional[Mapping] = None
                   ) -> Tuple['OrderedDict[str, torch.Tensor]', Tuple[str, str]]:
    """An MMagic CycleGAN state dict -> (our model's state dict, (domain_a, domain_b))."""
    domain_a, domain_b = mmagic_domains(state, cfg, domains)
    padding = _mmagic_padding(cfg)
    out = OrderedDict()
    for ours, mm in (('generators.a2b', f'generators.{domain_b}'),
                     ('generators.b2a', f'generators.{domain_a}')):
        sub = sub_state(state, mm)
        if sub:
            for k, v in generator_from_mmagic(sub, padding).items():
                out[f'{ours}.{k}'] = v
    for ours, mm in (('discriminators.b', f'discriminators.{domain_b}'),
                     ('discriminators.a', f'discriminators.{domain_a}')):
        sub = sub_state(state, mm)
        if sub:
            for k, v in discriminator_from_mmagic(sub).items():
                out[f'{ours}.{k}'] = v
    return out, (domain_a, domain_b)


def ours_to_mmagic(state: Mapping, domains: Sequence[str] = DEFAULT_DOMAINS,
                   discriminators: bool = True) -> 'OrderedDict[str, torch.Tensor]':
    """Our model's state dict -> MMagic's (networks in its order: domain_a, then domain_b).
    Image pools have no MMagic counterpart in the state dict and are left out."""
    domain_a, domain_b = domains
    groups = [(generator_to_mmagic, ((f'generators.{domain_a}', 'generators.b2a'),
                                     (f'generators.{domain_b}', 'generators.a2b')))]
    if discriminators:
        groups.append((discriminator_to_mmagic,
                       ((f'discriminators.{domain_a}', 'discriminators.a'),
                        (f'discriminators.{domain_b}', 'discriminators.b'))))
    out = OrderedDict()
    for to_mmagic, pairs in groups:
        for mm, ours in pairs:
            sub = sub_state(state, ours)
            if sub:
                for k, v in to_mmagic(sub).items():
                    out[f'{mm}.{k}'] = v
    return out
