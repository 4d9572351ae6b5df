"""Checkpoints of the reference implementation (junyanz/pytorch-CycleGAN-and-pix2pix).

Our networks keep the reference's module layout, so a reference state dict loads into the
matching network as it is; only the network's place in the model is renamed:
G_A -> generators.a2b, G_B -> generators.b2a, D_A (judges B) -> discriminators.b,
D_B -> discriminators.a. Old reference checkpoints (PyTorch 0.4) carry InstanceNorm running
statistics that current InstanceNorm layers have no slot for; they are dropped here, as the
reference's own loader does.
"""
from collections import OrderedDict
from typing import Dict, Mapping

import torch

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


def ours_to_reference(state: Mapping[str, torch.Tensor]) -> Dict[str, 'OrderedDict']:
    """Our model state dict -> {'G_A': state_dict, ...} in the reference layout."""
    nets = {}
    for ref_name, ours in REFERENCE_TO_OURS.items():
        prefix = ours + '.'
        sub = OrderedDict((k[len(prefix):], v) for k, v in state.items()
                          if k.startswith(prefix))
        if sub:
            nets[ref_name] = sub
    return nets
