"""ResNet generator of the reference (Johnson et al. style), layer for layer.

The layer order, and thus the state-dict keys (``model.1.weight`` ...), are the reference's,
so its checkpoints load without renaming. ``upsample='nearest'`` (opt-in) swaps the two
transposed convolutions for resize-convolutions, which keep their place in ``model`` (keys
``model.<i>.conv.weight``, which tell a state dict's reader which upsampling it holds): the
reference has no such layer.
"""
import torch
from torch import nn
import torch.nn.functional as F

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


#: 'deconv': the reference's transposed convolution; 'nearest': nearest-neighbour resize, then
#: a convolution (Odena et al. found it the cleanest of the resize-convolutions)
UPSAMPLE_MODES = ('deconv', 'nearest')


class ResizeConv(nn.Module):
    """2x nearest-neighbour upsampling, then a 3x3 convolution (zero padding 1).

    Why: a stride-2 transposed convolution overlaps its kernel unevenly, which prints a
    period-2 checkerboard on the output; resizing first gives every output pixel the same
    kernel, so no pattern is locked to the pixel grid (Odena, Dumoulin and Olah,
    "Deconvolution and Checkerboard Artifacts", Distill 2016). Same output size and receptive
    field as the reference's ``ConvTranspose2d(k=3, s=2, p=1, output_padding=1)``.

    Computed without the upsampled image: after a nearest 2x resize each output pixel's 3x3
    window covers only 2x2 distinct input pixels, so each of the four output phases is a 2x2
    convolution of the input with sums of the 3x3 kernel's taps (:meth:`phase_kernels`),
    16 multiply-adds per input pixel where the resized image would take 36 (the same sums,
    rounded in another order: :meth:`forward_resized` is the literal definition, which ONNX
    exports get).
    """

    def __init__(self, in_channels, out_channels, bias=True):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=bias)

    def phase_kernels(self):
        """(out * 4, in, 2, 2): for output channel c and phase (py, px), the 2x2 kernel over
        input rows (i-1, i) when py is 0 (even rows), (i, i+1) when 1; columns alike."""
        w = self.conv.weight
        rows = (torch.stack([w[:, :, 0], w[:, :, 1] + w[:, :, 2]], 2),   # py = 0
                torch.stack([w[:, :, 0] + w[:, :, 1], w[:, :, 2]], 2))   # py = 1
        phases = [torch.stack([r[..., 0], r[..., 1] + r[..., 2]], -1) for r in rows] + \
                 [torch.stack([r[..., 0] + r[..., 1], r[..., 2]], -1) for r in rows]
        # order (py, px) = (0, 0), (0, 1), (1, 0), (1, 1), as pixel_shuffle reads them
        k = torch.stack([phases[0], phases[2], phases[1], phases[3]], 1)
        return k.flatten(0, 1)

    def forward(self, x):
        if torch.onnx.is_in_onnx_export():  # ONNX has Resize; the phases' reshapes confuse it
            return self.forward_resized(x)
        n, _, h, w = x.shape
        bias = self.conv.bias
        out = F.conv2d(F.pad(x, (1, 1, 1, 1)), self.phase_kernels(),
                       None if bias is None else bias.repeat_interleave(4))
        out = out.unflatten(1, (-1, 4))  # N, C, phase, H + 1, W + 1
        # phase (py, px) starts at row py, column px of the padded input's windows
        out = torch.stack([out[:, :, p, p // 2:p // 2 + h, p % 2:p % 2 + w] for p in range(4)],
                          2)
        return F.pixel_shuffle(out.flatten(1, 2), 2)

    def forward_resized(self, x):
        return self.conv(F.interpolate(x, scale_factor=2, mode='nearest'))


def upsampling_layer(in_channels, out_channels, upsample, bias):
    if upsample == 'deconv':
        return nn.ConvTranspose2d(in_channels, out_channels, 3, stride=2, padding=1,
                                  output_padding=1, bias=bias)
    return ResizeConv(in_channels, out_channels, bias)


@MODELS.register_module()
class ResnetGenerator(nn.Module):
    """c7s1-ngf, two stride-2 downsamplings, ``n_blocks`` residual blocks, two transposed-conv
    upsamplings, c7s1-out, tanh. ``n_blocks=9`` is the paper's 256x256 network, 6 its 128x128 one.

    Opt-in, not in the reference (both off by default):

    * ``upsample='nearest'``: resize-convolutions instead of the transposed ones;
    * ``attention=True``: a second head (``mask_head``: pad, 7x7 conv to one channel, sigmoid)
      on the same last features predicts where to translate, and the output is
      ``mask * translation + (1 - mask) * input``. Why: the paper's generator redraws every
      pixel, background included, and small data sets teach it to repaint grass and sky;
      with the mask the background can pass through untouched (Mejjati et al.,
      "Unsupervised Attention-guided Image-to-Image Translation", NeurIPS 2018; Tang et al.,
      "AttentionGAN", IEEE TNNLS 2023). ``model`` stays the reference's network: its keys
      and its translation are unchanged, ``mask_head`` is added beside it. The mask starts
      open (:attr:`MASK_OFFSET`), so training starts from the paper's generator and learns
      where to close it;
    * ``residual=True``: the network's output is added to its input, ``clamp(input_scale *
      input + model(input), -1, 1)``, with ``input_scale`` a learned scalar that starts at 1.
      Why: the generator starts as the identity and learns the change, which for object
      transfiguration is small and local, instead of learning to redraw the whole image
      first (Shen and Liu, "Learning Residual Images for Face Attribute Manipulation",
      CVPR 2017). ``model`` keeps the reference's keys; ``input_scale`` marks the variant.
    """

    def __init__(self, in_channels=3, out_channels=3, ngf=64, n_blocks=9, norm='instance',
                 use_dropout=False, padding_type='reflect', upsample='deconv',
                 attention=False, residual=False, init_cfg=dict(type='normal', gain=0.02)):
        super().__init__()
        if n_blocks < 0:
            raise ValueError(f'n_blocks must be >= 0, got {n_blocks}')
        if upsample not in UPSAMPLE_MODES:
            raise ValueError(f'upsample must be one of {UPSAMPLE_MODES}, got {upsample!r}')
        for name, on in (('attention', attention), ('residual', residual)):
            if on and in_channels != out_channels:
                raise ValueError(f'{name} combines the output with the input: it needs '
                                 f'in_channels == out_channels (got {in_channels} and '
                                 f'{out_channels})')
        if attention and residual:
            raise ValueError('choose attention or residual, not both')
        self.upsample, self.attention, self.residual = upsample, attention, residual
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
            model += [upsampling_layer(ngf * mult, ngf * mult // 2, upsample, bias),
                      make_norm(norm, ngf * mult // 2), nn.ReLU(True)]
        model += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, out_channels, 7, padding=0), nn.Tanh()]
        self.model = nn.Sequential(*model)
        if attention:
            self.mask_head = nn.Sequential(nn.ReflectionPad2d(3),
                                           nn.Conv2d(ngf, 1, 7, padding=0), nn.Sigmoid())
        if residual:
            self.input_scale = nn.Parameter(torch.ones(()))
        apply_init_cfg(self, init_cfg)

    #: input height and width must be multiples of this for the output to keep the input's size
    size_divisor = 4
    #: the output layers (pad, conv, tanh) after the features the mask head shares
    HEAD = 3
    #: added to the mask's logit: sigmoid(2) = 0.88 at the start. Started half open, a closed
    #: mask (the input as it is: no cycle or identity loss at all) was the nearer minimum and
    #: the demo's generators fell into it within 500 iterations (tools/ablate.py, attention)
    MASK_OFFSET = 2.0

    def forward(self, x):
        if self.residual:
            return (self.input_scale * x + self.model(x)).clamp(-1, 1)
        if not self.attention:
            return self.model(x)
        mask, translation = self.mask_and_translation(x)
        return mask * translation + (1 - mask) * x

    def mask_and_translation(self, x):
        """(where to translate, in [0, 1], one channel; the translation) of ``attention``."""
        features = x
        for layer in self.model[:-self.HEAD]:
            features = layer(features)
        translation = features
        for layer in self.model[-self.HEAD:]:
            translation = layer(translation)
        logit = self.mask_head[:-1](features) + self.MASK_OFFSET
        return self.mask_head[-1](logit), translation
