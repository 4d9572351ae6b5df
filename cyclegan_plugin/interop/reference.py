"""Checkpoints of the reference implementation (junyanz/pytorch-CycleGAN-and-pix2pix).

Our networks keep the reference's module layout, so a reference state dict loads into the
matching network as it is; only the network's place in the model is renamed:
G_A -> generators.a2b, G_B -> generators.b2a, D_A (judges B) -> discriminators.b,
D_B -> discriminators.a. Old reference checkpoints (PyTorch 0.4) carry InstanceNorm running
statistics that current InstanceNorm layers have no slot for; they are dropped here, as the
reference's own loader does.
"""
import re
from collections import OrderedDict
from typing import Dict, Mapping, Optional

import torch

from ..io import CheckpointError

REFERENCE_TO_OURS = OrderedDict([('G_A', 'generators.a2b'), ('G_B', 'generators.b2a'),
                                 ('D_A', 'discriminators.b'), ('D_B', 'discriminators.a')])
_STALE_SUFFIXES = ('running_mean', 'running_var', 'num_batches_tracked')


def clean_reference_state_dict(state: Mapping[str, torch.Tensor],
                               expected_keys=None) -> 'OrderedDict[str, torch.Tensor]':
    """Strip a DataParallel ``module.`` prefix; with ``expected_keys`` (the target network's
    keys) also drop normalisation statistics the target has no slot for."""
    out = OrderedDict()
    for key, value in state.items():
        if key.startswith('module.'):
            key = key[len('module.'):]
        if (expected_keys is not None and key not in expected_keys
                and key.endswith(_STALE_SUFFIXES)):
            continue
        out[key] = value
    return out


def reference_to_ours(nets: Dict[str, Mapping[str, torch.Tensor]],
                      model_keys=None) -> 'OrderedDict[str, torch.Tensor]':
    """{'G_A': state_dict, ...} (any subset) -> one state dict with our model's keys."""
    out = OrderedDict()
    for ref_name, state in nets.items():
        if ref_name not in REFERENCE_TO_OURS:
            raise KeyError(f'unknown reference network {ref_name!r}: expected one of '
                           f'{list(REFERENCE_TO_OURS)}')
        prefix = REFERENCE_TO_OURS[ref_name] + '.'
        expected = None if model_keys is None else {
            k[len(prefix):] for k in model_keys if k.startswith(prefix)}
        for key, value in clean_reference_state_dict(state, expected).items():
            out[prefix + key] = value
    return out


def not_in_reference(state: Mapping[str, torch.Tensor]) -> Optional[str]:
    """What in one network's state dict the reference's networks have no layer for (our
    opt-in improvements), or None."""
    if any('.parametrizations.' in k for k in state):
        return 'spectral normalisation'
    if any(re.fullmatch(r'model\.\d+\.conv\.weight', k) for k in state):
        return "resize-convolution upsampling (upsample='nearest')"
    if any(k.startswith('mask_head.') for k in state):
        return 'an attention mask (attention=True)'
    if 'input_scale' in state:
        return 'a residual output (residual=True)'
    if any(k.startswith('full_res_out.') for k in state):
        return "a U-Net's full-resolution top level (full_res=True)"
    if any(k.startswith('full_res_') for k in state):
        return "a discriminator's full-resolution first layer (full_res=True)"
    if 'blur_kernel' in state:
        return 'anti-aliased downsampling (antialias=True)'
    if any(k.startswith('spectrum_head.') for k in state):
        return "a discriminator's spectral judge (spectrum_bins)"
    if any(k.endswith('.renorm_mean') for k in state):
        return "instance renorm (norm='instance_renorm')"
    return None


def ours_to_reference(state: Mapping[str, torch.Tensor]) -> Dict[str, 'OrderedDict']:
    """Our model state dict -> {'G_A': state_dict, ...} in the reference layout; a network
    the reference cannot hold is refused (:class:`CheckpointError`)."""
    nets = {}
    for ref_name, ours in REFERENCE_TO_OURS.items():
        prefix = ours + '.'
        sub = OrderedDict((k[len(prefix):], v) for k, v in state.items()
                          if k.startswith(prefix))
        if not sub:
            continue
        missing = not_in_reference(sub)
        if missing:
            raise CheckpointError(
                f'{ours} uses {missing}, which the reference implementation\'s networks do '
                'not have: keep our layout (--to ours), or export the generators alone '
                '(--to generator, read by our translate.py and export_onnx.py)')
        nets[ref_name] = sub
    return nets
