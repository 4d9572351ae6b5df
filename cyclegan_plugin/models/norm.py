"""Normalisation layers as the reference names them ('instance', 'batch', 'none'), and one
of ours ('instance_renorm', also as ``dict(type='instance_renorm', r_max=..., d_max=...,
momentum=...)`` to set its clips and momentum).

The reference gives a convolution a bias exactly when the norm is instance norm (batch norm
has its own shift; with 'none' the reference also drops the bias), and we follow it so that
parameter counts and state-dict keys are the reference's.
"""
from typing import Union

import torch
import torch.nn.functional as F
from torch import nn

NORM_TYPES = ('instance', 'batch', 'none', 'instance_renorm')
#: what a dict norm may set, by type
NORM_OPTIONS = {'instance_renorm': ('r_max', 'd_max', 'momentum')}


def check_norm(norm: Union[str, dict]) -> str:
    """The norm's type ('instance', ...), from its name or its dict, checked."""
    if isinstance(norm, dict):
        kind = norm.get('type')
        allowed = NORM_OPTIONS.get(kind, ())
        if kind not in NORM_TYPES or set(norm) - {'type', *allowed}:
            raise ValueError(f'a norm given as a dict needs a type among {NORM_TYPES} and '
                             f'only its options {NORM_OPTIONS}: got {norm!r}')
        return kind
    if norm not in NORM_TYPES:
        raise ValueError(f"norm must be one of {NORM_TYPES}, got {norm!r}")
    return norm


class InstanceRenorm(nn.Module):
    """Instance norm pulled towards running statistics, the same in training and at test.

    Why: an instance norm divides each map by statistics of the whole image, so how strongly
    a pattern comes out depends on how much of the image it covers (the demo's large horses
    get weak stripes). Batch Renormalization (Ioffe 2017) applied per image: the output is
    ``(x - mu) / sigma * r + d`` with the image's own ``mu, sigma`` and ``r = sigma /
    sigma_run``, ``d = (mu - mu_run) / sigma_run`` clipped to ``[1 / r_max, r_max]`` and
    ``[-d_max, d_max]`` and held out of the gradient, so the gradient is an instance norm's.
    Where the clips do not bite, that is ``(x - mu_run) / sigma_run``: a map normalised by
    running statistics, whatever the rest of the image holds; where they do, it stays
    within a factor ``r_max`` of the instance norm. Unlike Ioffe's, the formula with its
    clips is also the test's: a generator reads its own domain, its fakes read back in the
    cycle and the other domain (the identity term), so its running statistics are a mix, and
    at the top levels the clips hold most maps in training (the demo: all at 64x64).

    The running statistics start at the first training batch's and follow each batch's
    mean with ``momentum``; at test they stay. No affine weights, like the reference's
    instance norm. The buffers are ``renorm_mean`` / ``renorm_var`` / ``renorm_count``: not
    the ``running_*`` names, which the reference's old checkpoints hold as stale
    instance-norm buffers; ``renorm_clip`` holds ``(r_max, d_max)``, so a checkpoint
    translates with the clips it was trained with (one saved before that buffer had (3, 5),
    which it gets on loading). In distributed training each process keeps its own (our DDP
    wrapper does not broadcast buffers, as for batch norm); a checkpoint holds rank 0's.
    """

    def __init__(self, num_features: int, momentum: float = 0.01, eps: float = 1e-5,
                 r_max: float = 3.0, d_max: float = 5.0):
        super().__init__()
        if r_max < 1 or d_max < 0:
            raise ValueError(f'instance renorm clips r to [1 / r_max, r_max] and d to '
                             f'[-d_max, d_max]: r_max >= 1, d_max >= 0, got {r_max}, {d_max}')
        self.num_features, self.momentum, self.eps = num_features, momentum, eps
        self.register_buffer('renorm_mean', torch.zeros(num_features))
        self.register_buffer('renorm_var', torch.ones(num_features))
        self.register_buffer('renorm_count', torch.tensor(0, dtype=torch.long))
        self.register_buffer('renorm_clip', torch.tensor([float(r_max), float(d_max)]))

    @property
    def r_max(self) -> float:
        return float(self.renorm_clip[0])

    @property
    def d_max(self) -> float:
        return float(self.renorm_clip[1])

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # checkpoints saved before renorm_clip was a buffer: the clips they trained with
        if prefix + 'renorm_mean' in state_dict and prefix + 'renorm_clip' not in state_dict:
            state_dict[prefix + 'renorm_clip'] = torch.tensor([3.0, 5.0])
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def extra_repr(self) -> str:
        return (f'{self.num_features}, momentum={self.momentum}, eps={self.eps}, '
                f'r_max={self.r_max}, d_max={self.d_max}')

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            var, mu = torch.var_mean(x.float(), dim=(2, 3), correction=0, keepdim=True)
            batch_mean, batch_var = mu.mean(0).flatten(), var.mean(0).flatten()
            if self.training:  # the first batch sets the statistics (no host sync on CUDA)
                first = self.renorm_count == 0
                self.renorm_mean.copy_(torch.where(first, batch_mean, self.renorm_mean))
                self.renorm_var.copy_(torch.where(first, batch_var, self.renorm_var))
            run_mean = self.renorm_mean.view(1, -1, 1, 1)
            run_std = (self.renorm_var.view(1, -1, 1, 1) + self.eps).sqrt()
            r_max, d_max = self.renorm_clip[0], self.renorm_clip[1]
            r = torch.minimum(torch.maximum((var + self.eps).sqrt() / run_std, 1 / r_max), r_max)
            d = torch.minimum(torch.maximum((mu - run_mean) / run_std, -d_max), d_max)
            if self.training:
                self.renorm_mean.lerp_(batch_mean, self.momentum)
                self.renorm_var.lerp_(batch_var, self.momentum)
                self.renorm_count.add_(1)
        # torch's instance norm (as nn.InstanceNorm2d computes it) carries the gradient
        x_hat = F.instance_norm(x, eps=self.eps)
        return torch.addcmul(d.to(x_hat.dtype), x_hat, r.to(x_hat.dtype)).to(x.dtype)


def make_norm(norm: Union[str, dict], num_features: int) -> nn.Module:
    """instance: no affine, no running stats (reference); batch: affine with running stats;
    instance_renorm: ours (:class:`InstanceRenorm`; a dict sets its options)."""
    kind = check_norm(norm)
    options = {k: v for k, v in norm.items() if k != 'type'} if isinstance(norm, dict) else {}
    if kind == 'instance':
        return nn.InstanceNorm2d(num_features, affine=False, track_running_stats=False)
    if kind == 'batch':
        return nn.BatchNorm2d(num_features, affine=True, track_running_stats=True)
    if kind == 'instance_renorm':
        return InstanceRenorm(num_features, **options)
    return nn.Identity()


def conv_bias(norm: Union[str, dict]) -> bool:
    """Whether a convolution followed by this norm gets a bias (the reference's rule; the
    renorm keeps instance norm's, so its weights load into either)."""
    return check_norm(norm) in ('instance', 'instance_renorm')
