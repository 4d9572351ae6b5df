"""PatchGAN and PixelGAN discriminators of the reference, layer for layer.

They output a map of real/fake scores (logits: the GAN loss applies any sigmoid), one per
receptive field: 70x70 pixels for the default 3-layer PatchGAN, 1x1 for PixelGAN.
``spectral_norm=True`` (opt-in, not in the reference) divides every convolution's weight by
its largest singular value (Miyato et al., "Spectral Normalization for Generative Adversarial
Networks", ICLR 2018): the discriminator stays 1-Lipschitz per layer, which keeps its
gradients to the generators bounded and training steadier on small data sets. The weights
are then stored as ``<conv>.parametrizations.weight.original`` (with the power iteration's
``_u`` / ``_v``), which the reference cannot load.

``antialias=True`` (opt-in, not in the reference) low-passes the feature maps before every
stride-2 convolution after the first with a fixed 3x3 binomial filter ([1, 2, 1] x [1, 2, 1]
/ 16, reflect-padded): a strided convolution folds the frequencies above its new Nyquist
limit, which the LeakyReLUs create, onto lower ones, so a one-pixel shift of the image
changes the judgement (Zhang, "Making Convolutional Networks Shift-Invariant Again", ICML
2019; blurring before the strided convolution is how StyleGAN2's discriminator downsamples,
Karras et al., CVPR 2020). The first convolution reads the image unfiltered: a blur there
would hide a generator's period-2 checkerboard from the discriminator. The filter is the
buffer ``blur_kernel``: the convolutions keep the reference's keys, and the extra key tells
a state dict's reader (and fails the reference's strict load).

``full_res=True`` (opt-in, not in the reference) reads the image first with a 3x3 stride-1
convolution to ``ndf // 2`` maps and a LeakyReLU at full resolution (``full_res_in``), which
the first 4x4 stride-2 convolution then reads: the reference's first layer subsamples as
it reads the pixels, so a pattern of 2-3 pixels (a stripe at 64x64, an outline) reaches the
discriminator only through linear filters of the raw image. The other layers and their keys
stay; the first convolution reads ``ndf // 2`` channels, which the reference cannot load.

``spectrum_bins=n`` (opt-in, not in the reference) adds a second judge beside the patches: a
linear layer (``spectrum_head``) on the image's reduced spectrum, the azimuthal mean of the
log power spectrum of its grey image in ``n`` rings from the lowest to the highest frequency
(:func:`reduced_spectrum`); its score is added to every patch's. Generators built from
convolutions and upsampling miss the spectrum's high end (the fine detail of sharp edges),
which a spatial discriminator hardly sees and a spectral one does (Durall, Keuper, Keuper,
"Watch your Up-Convolution", CVPR 2020; Chen et al., "SSD-GAN: Measuring the Realness in the
Spatial and Spectral Domains", AAAI 2021). The rings are fractions of the highest frequency,
so the head fits any image size; the extra keys tell the layout (the reference cannot load
them).
"""
import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm as _spectral_norm

from ...registry import MODELS
from ..filters import blur
from ..init import apply_init_cfg
from ..norm import conv_bias, make_norm


@MODELS.register_module()
class PatchDiscriminator(nn.Module):
    """The reference NLayerDiscriminator: ``n_layers=3`` is the 70x70 PatchGAN ('basic')."""

    def __init__(self, in_channels=3, ndf=64, n_layers=3, norm='instance', spectral_norm=False,
                 antialias=False, full_res=False, spectrum_bins=0,
                 init_cfg=dict(type='normal', gain=0.02)):
        super().__init__()
        self.in_channels, self.ndf, self.n_layers = in_channels, ndf, n_layers
        self.spectral_norm, self.antialias, self.full_res = spectral_norm, antialias, full_res
        if int(spectrum_bins) != spectrum_bins or spectrum_bins < 0:
            raise ValueError(f'spectrum_bins is a number of rings (0: no spectral judge), got '
                             f'{spectrum_bins}')
        self.spectrum_bins = int(spectrum_bins)
        bias = conv_bias(norm)
        first_in = in_channels
        if full_res:
            first_in = max(ndf // 2, 1)
            self.full_res_in = nn.Sequential(
                nn.Conv2d(in_channels, first_in, 3, stride=1, padding=1), nn.LeakyReLU(0.2, True))
        seq = [nn.Conv2d(first_in, ndf, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True)]
        nf_mult = 1
        for n in range(1, n_layers + 1):
            nf_mult_prev, nf_mult = nf_mult, min(2 ** n, 8)
            stride = 2 if n < n_layers else 1
            seq += [nn.Conv2d(ndf * nf_mult_prev, ndf * nf_mult, 4, stride=stride, padding=1,
                              bias=bias),
                    make_norm(norm, ndf * nf_mult), nn.LeakyReLU(0.2, True)]
        seq += [nn.Conv2d(ndf * nf_mult, 1, 4, stride=1, padding=1)]
        self.model = nn.Sequential(*seq)
        if self.spectrum_bins:
            self.spectrum_head = nn.Linear(self.spectrum_bins, 1)
        if antialias:
            taps = torch.tensor([1., 2., 1.])
            self.register_buffer('blur_kernel', torch.outer(taps, taps) / 16)
        if spectral_norm:
            add_spectral_norm(self)
        apply_init_cfg(self, init_cfg)

    def forward(self, x):
        patches = self.patches(x)
        if not self.spectrum_bins:
            return patches
        spectrum = self.spectrum_head(reduced_spectrum(x, self.spectrum_bins))
        return patches + spectrum.to(patches.dtype).view(-1, 1, 1, 1)

    def patches(self, x):
        """The PatchGAN's map of scores."""
        if self.full_res:
            x = self.full_res_in(x)
        if not self.antialias:
            return self.model(x)
        for i, layer in enumerate(self.model):
            if i > 0 and isinstance(layer, nn.Conv2d) and layer.stride[0] == 2:
                x = blur(x, self.blur_kernel)
            x = layer(x)
        return x


def reduced_spectrum(x: torch.Tensor, bins: int) -> torch.Tensor:
    """(N, bins): the mean of log(|FFT|^2 + 1e-6) of each image's grey level (the mean of its
    channels; orthonormal FFT: a log scale, where the weak high end counts as much as the
    strong low end) over ``bins`` rings of equal width from frequency 0 to the
    corner's, computed in fp32 (bf16 has no FFT). A ring with no frequency gives 0."""
    with torch.autocast(device_type=x.device.type, enabled=False):
        grey = x.float().mean(1)
        h, w = grey.shape[-2:]
        power = torch.fft.rfft2(grey, norm='ortho').abs().square()
        fy = torch.fft.fftfreq(h, device=x.device)[:, None]
        fx = torch.fft.rfftfreq(w, device=x.device)[None, :]
        radius = torch.sqrt(fy ** 2 + fx ** 2) / (0.5 * math.sqrt(2))
        ring = (radius * bins).long().clamp(max=bins - 1).flatten()
        members = F.one_hot(ring, bins).float()
        mean = members / members.sum(0).clamp(min=1)
        return torch.log(power + 1e-6).flatten(1) @ mean


def add_spectral_norm(net: nn.Module) -> nn.Module:
    """Spectral normalisation on every convolution of ``net`` (in place)."""
    for module in list(net.modules()):
        if isinstance(module, nn.Conv2d):
            _spectral_norm(module)
    return net


@MODELS.register_module()
class PixelDiscriminator(nn.Module):
    """1x1 PatchGAN: judges each pixel's colour on its own."""

    def __init__(self, in_channels=3, ndf=64, norm='instance', spectral_norm=False,
                 init_cfg=dict(type='normal', gain=0.02)):
        super().__init__()
        self.in_channels, self.ndf = in_channels, ndf
        self.spectral_norm = spectral_norm
        bias = conv_bias(norm)
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, ndf, 1), nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf, ndf * 2, 1, bias=bias), make_norm(norm, ndf * 2),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf * 2, 1, 1, bias=bias))
        if spectral_norm:
            add_spectral_norm(self)
        apply_init_cfg(self, init_cfg)

    def forward(self, x):
        return self.net(x)
