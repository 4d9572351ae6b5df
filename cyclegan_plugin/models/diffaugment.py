"""Differentiable augmentation for the discriminators (opt-in, not in the reference).

Why: with a few hundred images per domain a discriminator memorises the real set, its
judgement stops carrying information, and the generators drift into artifacts. DiffAugment
(Zhao, Liu, Lin, Zhu and Han, "Differentiable Augmentation for Data-Efficient GAN Training",
NeurIPS 2020) shows the discriminator only randomly transformed images, real and fake alike,
in its own update and in the generators' adversarial term; the transforms are differentiable,
so the generators still get a gradient through them, and since both sides are transformed the
same way the generators are not pushed to produce transformed images.

Every draw is per image, from the global torch RNG (a seeded run stays repeatable).
"""
import torch
from torch import nn

from ..registry import MODELS

POLICIES = ('color', 'translation', 'cutout')


def random_color(x: torch.Tensor) -> torch.Tensor:
    """Brightness +-0.5, saturation x[0, 2], contrast x[0.5, 1.5] (images in [-1, 1])."""
    n = x.shape[0]
    shape = (n, 1, 1, 1)
    x = x + (torch.rand(shape, dtype=x.dtype, device=x.device) - 0.5)
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (torch.rand(shape, dtype=x.dtype, device=x.device) * 2) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (torch.rand(shape, dtype=x.dtype, device=x.device) + 0.5) + mean


def random_translation(x: torch.Tensor, ratio: float = 0.125) -> torch.Tensor:
    """Shift each image by up to ``ratio`` of its size along each axis, filling with zeros."""
    n, _, h, w = x.shape
    max_y, max_x = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = torch.randint(-max_y, max_y + 1, (n, 1, 1), device=x.device)
    dx = torch.randint(-max_x, max_x + 1, (n, 1, 1), device=x.device)
    rows = torch.arange(h, device=x.device).view(1, h, 1) + dy + 1  # +1: the zero border
    cols = torch.arange(w, device=x.device).view(1, 1, w) + dx + 1
    rows, cols = rows.clamp(0, h + 1), cols.clamp(0, w + 1)
    padded = nn.functional.pad(x, (1, 1, 1, 1)).permute(0, 2, 3, 1)  # N, H+2, W+2, C
    batch = torch.arange(n, device=x.device).view(n, 1, 1)
    return padded[batch, rows, cols].permute(0, 3, 1, 2).contiguous()


def random_cutout(x: torch.Tensor, ratio: float = 0.5) -> torch.Tensor:
    """Zero one square of ``ratio`` times the image size per image, anywhere (it may be cut
    by the border)."""
    n, _, h, w = x.shape
    size_y, size_x = int(h * ratio + 0.5), int(w * ratio + 0.5)
    top = torch.randint(0, h + (1 - size_y % 2), (n, 1, 1), device=x.device) - size_y // 2
    left = torch.randint(0, w + (1 - size_x % 2), (n, 1, 1), device=x.device) - size_x // 2
    rows = torch.arange(h, device=x.device).view(1, h, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w)
    hole = ((rows >= top) & (rows < top + size_y) & (cols >= left) & (cols < left + size_x))
    return x * (~hole).unsqueeze(1).to(x.dtype)


@MODELS.register_module()
class DiffAugment(nn.Module):
    """``policy``: comma-separated transforms from POLICIES, applied in that order
    ('color,translation,cutout' is the paper's choice for small data sets)."""

    def __init__(self, policy: str = 'translation,cutout', translation_ratio: float = 0.125,
                 cutout_ratio: float = 0.5):
        super().__init__()
        self.policy = tuple(p.strip() for p in policy.split(',') if p.strip())
        unknown = [p for p in self.policy if p not in POLICIES]
        if unknown or not self.policy:
            raise ValueError(f'DiffAugment policy must name transforms from {POLICIES}, '
                             f'got {policy!r}')
        self.translation_ratio, self.cutout_ratio = translation_ratio, cutout_ratio

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for name in self.policy:
            if name == 'color':
                x = random_color(x)
            elif name == 'translation':
                x = random_translation(x, self.translation_ratio)
            else:
                x = random_cutout(x, self.cutout_ratio)
        return x

    def extra_repr(self):
        return f'policy={",".join(self.policy)!r}'
