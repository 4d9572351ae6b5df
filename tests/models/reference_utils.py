"""Reading the reference fixtures (../shared/reference/cyclegan): every expected value comes
from these files, never from numbers typed into a test."""
import re
from pathlib import Path

import torch
from torch import nn


def load(path: Path):
    return torch.load(path, map_location='cpu', weights_only=True)


def bias_keys_before_instance_norm(module: nn.Module, prefix: str = '') -> set:
    """Keys of conv biases directly followed by an InstanceNorm: their gradient is zero in
    exact arithmetic, so after one Adam step they hold rounding noise (fixture README, 5)."""
    keys = set()
    for name, child in module.named_modules():
        if isinstance(child, nn.Sequential):
            layers = list(child.named_children())
            for (n1, m1), (_, m2) in zip(layers, layers[1:]):
                if (isinstance(m1, (nn.Conv2d, nn.ConvTranspose2d)) and m1.bias is not None
                        and isinstance(m2, nn.InstanceNorm2d)):
                    keys.add(f'{prefix}{name}.{n1}.bias'.replace('..', '.').lstrip('.'))
    return keys


def seed_from_readme(readme: Path, folder: str, pattern: str):
    """A seed the fixture README states for one step folder, or None if it is not stated."""
    text = Path(readme).read_text()
    start = text.find(f'### {folder}/')
    if start < 0:
        return None
    section = text[start:text.find('###', start + 4)]
    m = re.search(pattern, section)
    return int(m.group(1)) if m else None
