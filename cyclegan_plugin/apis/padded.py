"""A generator that takes images of any size: reflect-padded to its size divisor, translated
and cropped back, so no pixel is resampled. It is also the module exported to ONNX."""
import torch
from torch import nn

from .tiling import min_side, pad_amounts, pad_tensor


def size_divisor_of(net: nn.Module) -> int:
    """The multiple the generator's input sides must be (4 for two stride-2 stages)."""
    return int(getattr(net, 'size_divisor', 4))


def in_channels_of(net: nn.Module) -> int:
    """The generator's input channels: its ``in_channels``, else its first convolution's."""
    if hasattr(net, 'in_channels'):
        return int(net.in_channels)
    first = next(m for m in net.modules() if isinstance(m, nn.modules.conv._ConvNd))
    return int(first.in_channels)


class PaddedGenerator(nn.Module):
    """``generator`` for inputs of any size: reflect-pad to ``size_divisor`` (and to the
    smallest side its reflection pads take), translate, crop. RGB in [-1, 1] in and out."""

    def __init__(self, generator: nn.Module, size_divisor: int):
        super().__init__()
        self.generator, self.size_divisor = generator, int(size_divisor)
        self.min_side = min_side(generator, self.size_divisor)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2], x.shape[-1]
        smallest = 0 if torch.onnx.is_in_onnx_export() else self.min_side  # sizes symbolic
        top, bottom, left, right = pad_amounts(h, w, self.size_divisor, smallest)
        y = self.generator(pad_tensor(x, (top, bottom, left, right)))
        return y[:, :, top:top + h, left:left + w]
