"""The reference fixtures' pseudo-random FID Inception weights (fid/README.md section 1):
test data, made here instead of shipped (24M parameters)."""
import math
from collections import OrderedDict

import torch

from cyclegan_plugin.evaluation.inception import FIDInceptionV3


def seeded_inception_state_dict(seed: int = 2024) -> 'OrderedDict[str, torch.Tensor]':
    """Pseudo-random FID Inception weights by the reference fixtures' rule (fid/README.md §1).

    Stand-in for the real weights where they cannot be downloaded: conv weights ~ N(0, 2/fan_in)
    and fc.weight ~ N(0, 1/2048) drawn in key order from one torch generator; BN is identity-like.
    The features it gives are meaningless as image statistics but exercise every layer, so an
    implementation can be compared number for number with pytorch-fid run on the same weights.
    """
    with torch.device('meta'):
        shapes = [(k, tuple(v.shape)) for k, v in FIDInceptionV3().state_dict().items()]
    g = torch.Generator().manual_seed(seed)
    state = OrderedDict()
    for key, shape in shapes:
        if key.endswith('.num_batches_tracked'):
            t = torch.tensor(0, dtype=torch.long)
        elif key.endswith('.bn.running_mean') or key.endswith('.bn.bias') or key == 'fc.bias':
            t = torch.zeros(shape)
        elif key.endswith('.bn.running_var') or key.endswith('.bn.weight'):
            t = torch.ones(shape)
        elif key.endswith('.conv.weight'):
            t = torch.randn(shape, generator=g) * math.sqrt(2.0 / (shape[1] * shape[2] * shape[3]))
        elif key == 'fc.weight':
            t = torch.randn(shape, generator=g) * math.sqrt(1.0 / 2048)
        else:  # pragma: no cover - the architecture has no other kind of tensor
            raise KeyError(f'no rule for {key}')
        state[key] = t
    return state
