"""Fixed image filters that more than one part of the model uses: the anti-aliased
PatchGAN's binomial blur and the cycle's Gaussian blur (``cycle_blur_A`` / ``_B``)."""
import math

import torch
import torch.nn.functional as F


def blur(x, kernel):
    """``x`` filtered channel by channel with the 2-D ``kernel`` (odd size), reflect-padded:
    the same size out."""
    channels, pad = x.shape[1], kernel.shape[-1] // 2
    weight = kernel.to(x.dtype).expand(channels, 1, *kernel.shape)
    return F.conv2d(F.pad(x, (pad,) * 4, mode='reflect'), weight, groups=channels)


def gaussian_kernel(sigma: float) -> torch.Tensor:
    """A normalised 2-D Gaussian of standard deviation ``sigma`` pixels, ``2 ceil(3 sigma) + 1``
    taps a side (for :func:`blur`)."""
    radius = max(1, int(math.ceil(3 * sigma)))
    taps = torch.exp(-0.5 * (torch.arange(-radius, radius + 1, dtype=torch.float32) / sigma) ** 2)
    taps = taps / taps.sum()
    return torch.outer(taps, taps)
