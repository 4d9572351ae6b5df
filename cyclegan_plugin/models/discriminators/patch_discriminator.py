"""PatchGAN and PixelGAN discriminators of the reference, layer for layer.

They output a map of real/fake scores (logits: the GAN loss applies any sigmoid), one per
receptive field: 70x70 pixels for the default 3-layer PatchGAN, 1x1 for PixelGAN.
``spectral_norm=True`` (opt-in, not in the reference) divides every convolution's weight by
its largest singular value (Miyato et al., "Spectral Normalization for Generative Adversarial
Networks", ICLR 2018): the discriminator stays 1-Lipschitz per layer, which keeps its
gradients to the generators bounded and training steadier on small data sets. The weights
are then stored as ``<conv>.parametrizations.weight.original`` (with the power iteration's
``_u`` / ``_v``), which the reference cannot load.
"""
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm as _spectral_norm

from ...registry import MODELS
from ..init import apply_init_cfg
from ..norm import conv_bias, make_norm


@MODELS.register_module()
class PatchDiscriminator(nn.Module):
    """The reference NLayerDiscriminator: ``n_layers=3`` is the 70x70 PatchGAN ('basic')."""

    def __init__(self, in_channels=3, ndf=64, n_layers=3, norm='instance', spectral_norm=False,
                 init_cfg=dict(type='normal', gain=0.02)):
        super().__init__()
        self.in_channels, self.ndf, self.n_layers = in_channels, ndf, n_layers
        self.spectral_norm = spectral_norm
        bias = conv_bias(norm)
        seq = [nn.Conv2d(in_channels, ndf, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True)]
        nf_mult = 1
        for n in range(1, n_layers + 1):
            nf_mult_prev, nf_mult = nf_mult, min(2 ** n, 8)
            stride = 2 if n < n_layers else 1
            seq += [nn.Conv2d(ndf * nf_mult_prev, ndf * nf_mult, 4, stride=stride, padding=1,
                              bias=bias),
                    make_norm(norm, ndf * nf_mult), nn.LeakyReLU(0.2, True)]
        seq += [nn.Conv2d(ndf * nf_mult, 1, 4, stride=1, padding=1)]
        self.model = nn.Sequential(*seq)
        if spectral_norm:
            add_spectral_norm(self)
        apply_init_cfg(self, init_cfg)

    def forward(self, x):
        return self.model(x)


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
