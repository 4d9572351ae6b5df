"""Normalisation layers as the reference names them ('instance', 'batch', 'none').

The reference gives a convolution a bias exactly when the norm is instance norm (batch norm
has its own shift; with 'none' the reference also drops the bias), and we follow it so that
parameter counts and state-dict keys are the reference's.
"""
from torch import nn

NORM_TYPES = ('instance', 'batch', 'none')


def check_norm(norm: str) -> str:
    if norm not in NORM_TYPES:
        raise ValueError(f"norm must be one of {NORM_TYPES}, got {norm!r}")
    return norm


def make_norm(norm: str, num_features: int) -> nn.Module:
    """instance: no affine, no running stats (reference); batch: affine with running stats."""
    if norm == 'instance':
        return nn.InstanceNorm2d(num_features, affine=False, track_running_stats=False)
    if norm == 'batch':
        return nn.BatchNorm2d(num_features, affine=True, track_running_stats=True)
    check_norm(norm)
    return nn.Identity()


def conv_bias(norm: str) -> bool:
    """Whether a convolution followed by this norm gets a bias (the reference's rule)."""
    return check_norm(norm) == 'instance'
