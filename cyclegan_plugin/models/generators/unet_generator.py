"""U-Net generator of the reference, built from nested skip-connection blocks.

Kept exactly as the reference, including its in-place LeakyReLU: it rewrites the block input
before the skip concatenation, so the skip carries LeakyReLU(x). Changing that would change
every output of a reference checkpoint.

``full_res=True`` (opt-in, not in the reference) adds the full-resolution top level that
Ronneberger et al.'s U-Net has and pix2pix's drops: pix2pix paints every output pixel with one
transposed convolution from half-resolution features, so at 64x64 a leg two pixels wide and
the outline of the animal come out soft. Here the outermost up-convolution gives ``ngf // 2``
feature maps at full resolution, concatenated with features of the input read at full
resolution by a 3x3 convolution, and a 3x3 convolution makes the output from both.
"""
import torch
from torch import nn

from ...registry import MODELS
from ..init import apply_init_cfg
from ..norm import conv_bias, make_norm


class UnetSkipConnectionBlock(nn.Module):
    """down -> submodule -> up, returned concatenated with the input (except outermost)."""

    def __init__(self, outer_nc, inner_nc, input_nc=None, submodule=None, outermost=False,
                 innermost=False, norm='instance', use_dropout=False, features_out=False):
        super().__init__()
        self.outermost = outermost
        bias = conv_bias(norm)
        input_nc = outer_nc if input_nc is None else input_nc
        downconv = nn.Conv2d(input_nc, inner_nc, 4, stride=2, padding=1, bias=bias)
        downrelu = nn.LeakyReLU(0.2, True)
        uprelu = nn.ReLU(True)
        if outermost and features_out:  # full_res: features for the full-resolution level
            upconv = nn.ConvTranspose2d(inner_nc * 2, outer_nc, 4, stride=2, padding=1,
                                        bias=bias)
            model = [downconv, submodule, uprelu, upconv, make_norm(norm, outer_nc),
                     nn.ReLU(True)]
        elif outermost:
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
    ('unet_256'). Input sides must be multiples of 2**num_downs. ``full_res``: a
    full-resolution top level (module docstring; not in the reference)."""

    def __init__(self, in_channels=3, out_channels=3, num_downs=8, ngf=64, norm='instance',
                 use_dropout=False, init_cfg=dict(type='normal', gain=0.02),
                 full_res=False):
        super().__init__()
        if num_downs < 5:
            raise ValueError(f'num_downs must be >= 5, got {num_downs}')
        self.in_channels, self.out_channels, self.ngf, self.num_downs = (
            in_channels, out_channels, ngf, num_downs)
        self.full_res = bool(full_res)
        block = UnetSkipConnectionBlock(ngf * 8, ngf * 8, norm=norm, innermost=True)
        for _ in range(num_downs - 5):
            block = UnetSkipConnectionBlock(ngf * 8, ngf * 8, submodule=block, norm=norm,
                                            use_dropout=use_dropout)
        for mult in (4, 2, 1):
            block = UnetSkipConnectionBlock(ngf * mult, ngf * mult * 2, submodule=block,
                                            norm=norm)
        top_nc = max(ngf // 2, 1) if full_res else out_channels
        self.model = UnetSkipConnectionBlock(top_nc, ngf, input_nc=in_channels,
                                             submodule=block, outermost=True, norm=norm,
                                             features_out=full_res)
        if full_res:
            self.full_res_in = nn.Sequential(
                nn.Conv2d(in_channels, top_nc, 3, padding=1, padding_mode='reflect'),
                nn.LeakyReLU(0.2, True))
            self.full_res_out = nn.Sequential(
                nn.Conv2d(top_nc * 2, out_channels, 3, padding=1, padding_mode='reflect'),
                nn.Tanh())
        apply_init_cfg(self, init_cfg)

    @property
    def size_divisor(self):
        return 2 ** self.num_downs

    def forward(self, x):
        if self.full_res:
            return self.full_res_out(torch.cat([self.full_res_in(x), self.model(x)], 1))
        return self.model(x)
