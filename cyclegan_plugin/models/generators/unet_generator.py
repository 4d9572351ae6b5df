"""U-Net generator of the reference, built from nested skip-connection blocks.

Kept exactly as the reference, including its in-place LeakyReLU: it rewrites the block input
before the skip concatenation, so the skip carries LeakyReLU(x). Changing that would change
every output of a reference checkpoint.
"""
import torch
from torch import nn

from ...registry import MODELS
from ..init import apply_init_cfg
from ..norm import conv_bias, make_norm


class UnetSkipConnectionBlock(nn.Module):
    """down -> submodule -> up, returned concatenated with the input (except outermost)."""

    def __init__(self, outer_nc, inner_nc, input_nc=None, submodule=None, outermost=False,
                 innermost=False, norm='instance', use_dropout=False):
        super().__init__()
        self.outermost = outermost
        bias = conv_bias(norm)
        input_nc = outer_nc if input_nc is None else input_nc
        downconv = nn.Conv2d(input_nc, inner_nc, 4, stride=2, padding=1, bias=bias)
        downrelu = nn.LeakyReLU(0.2, True)
        uprelu = nn.ReLU(True)
        if outermost:
            upconv = nn.ConvTranspose2d(inner_nc * 2, outer_nc, 4, stride=2, padding=1)
            model = [downconv, submodule, uprelu, upconv, nn.Tanh()]
        elif innermost:
            upconv = nn.ConvTranspose2d(inner_nc, outer_nc, 4, stride=2, padding=1, bias=bias)
            model = [downrelu, downconv, uprelu, upconv, make_norm(norm, outer_nc)]
        else:
            upconv = nn.ConvTranspose2d(inner_nc * 2, outer_nc, 4, stride=2, padding=1,
                                        bias=bias)
            model = [downrelu, downconv, make_norm(norm, inner_nc), submodule,
                     uprelu, upconv, make_norm(norm, outer_nc)]
            if use_dropout:
                model.append(nn.Dropout(0.5))
        self.model = nn.Sequential(*model)

    def forward(self, x):
        if self.outermost:
            return self.model(x)
        return torch.cat([x, self.model(x)], 1)


@MODELS.register_module()
class UnetGenerator(nn.Module):
    """U-Net with ``num_downs`` stride-2 levels: 7 for 128x128 ('unet_128'), 8 for 256x256
    ('unet_256'). Input sides must be multiples of 2**num_downs."""

    def __init__(self, in_channels=3, out_channels=3, num_downs=8, ngf=64, norm='instance',
                 use_dropout=False, init_cfg=dict(type='normal', gain=0.02)):
        super().__init__()
        if num_downs < 5:
            raise ValueError(f'num_downs must be >= 5, got {num_downs}')
        self.in_channels, self.out_channels, self.ngf, self.num_downs = (
            in_channels, out_channels, ngf, num_downs)
        block = UnetSkipConnectionBlock(ngf * 8, ngf * 8, norm=norm, innermost=True)
        for _ in range(num_downs - 5):
            block = UnetSkipConnectionBlock(ngf * 8, ngf * 8, submodule=block, norm=norm,
                                            use_dropout=use_dropout)
        for mult in (4, 2, 1):
            block = UnetSkipConnectionBlock(ngf * mult, ngf * mult * 2, submodule=block,
                                            norm=norm)
        self.model = UnetSkipConnectionBlock(out_channels, ngf, input_nc=in_channels,
                                             submodule=block, outermost=True, norm=norm)
        apply_init_cfg(self, init_cfg)

    @property
    def size_divisor(self):
        return 2 ** self.num_downs

    def forward(self, x):
        return self.model(x)
