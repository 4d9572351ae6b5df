"""ResNet generator of the reference (Johnson et al. style), layer for layer.

The layer order, and thus the state-dict keys (``model.1.weight`` ...), are the reference's,
so its checkpoints load without renaming.
"""
from torch import nn

from ...registry import MODELS
from ..init import apply_init_cfg
from ..norm import conv_bias, make_norm

PADDINGS = {'reflect': nn.ReflectionPad2d, 'replicate': nn.ReplicationPad2d, 'zero': None}


class ResnetBlock(nn.Module):
    """x + conv_block(x): pad, conv 3x3, norm, ReLU, [dropout], pad, conv 3x3, norm."""

    def __init__(self, dim, padding_type='reflect', norm='instance', use_dropout=False):
        super().__init__()
        if padding_type not in PADDINGS:
            raise ValueError(f'padding_type must be one of {list(PADDINGS)}, '
                             f'got {padding_type!r}')
        bias = conv_bias(norm)
        layers = []
        for second in (False, True):
            pad = PADDINGS[padding_type]
            if pad is not None:
                layers.append(pad(1))
            layers += [nn.Conv2d(dim, dim, 3, padding=0 if pad else 1, bias=bias),
                       make_norm(norm, dim)]
            if not second:
                layers.append(nn.ReLU(True))
                if use_dropout:
                    layers.append(nn.Dropout(0.5))
        self.conv_block = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv_block(x)


@MODELS.register_module()
class ResnetGenerator(nn.Module):
    """c7s1-ngf, two stride-2 downsamplings, ``n_blocks`` residual blocks, two transposed-conv
    upsamplings, c7s1-out, tanh. ``n_blocks=9`` is the paper's 256x256 network, 6 its 128x128 one.
    """

    def __init__(self, in_channels=3, out_channels=3, ngf=64, n_blocks=9, norm='instance',
                 use_dropout=False, padding_type='reflect', init_cfg=dict(type='normal', gain=0.02)):
        super().__init__()
        if n_blocks < 0:
            raise ValueError(f'n_blocks must be >= 0, got {n_blocks}')
        self.in_channels, self.out_channels, self.ngf, self.n_blocks = (
            in_channels, out_channels, ngf, n_blocks)
        bias = conv_bias(norm)
        model = [nn.ReflectionPad2d(3), nn.Conv2d(in_channels, ngf, 7, padding=0, bias=bias),
                 make_norm(norm, ngf), nn.ReLU(True)]
        n_downsampling = 2
        for i in range(n_downsampling):
            mult = 2 ** i
            model += [nn.Conv2d(ngf * mult, ngf * mult * 2, 3, stride=2, padding=1, bias=bias),
                      make_norm(norm, ngf * mult * 2), nn.ReLU(True)]
        mult = 2 ** n_downsampling
        model += [ResnetBlock(ngf * mult, padding_type, norm, use_dropout)
                  for _ in range(n_blocks)]
        for i in range(n_downsampling):
            mult = 2 ** (n_downsampling - i)
            model += [nn.ConvTranspose2d(ngf * mult, ngf * mult // 2, 3, stride=2, padding=1,
                                         output_padding=1, bias=bias),
                      make_norm(norm, ngf * mult // 2), nn.ReLU(True)]
        model += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, out_channels, 7, padding=0), nn.Tanh()]
        self.model = nn.Sequential(*model)
        apply_init_cfg(self, init_cfg)

    #: input height and width must be multiples of this for the output to keep the input's size
    size_divisor = 4

    def forward(self, x):
        return self.model(x)
