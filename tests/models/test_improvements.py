"""The opt-in improvements over the paper's recipe, one switch each: resize-convolution
upsampling, spectral normalisation, DiffAugment, and the generators' moving average; each is
off by default, does what it claims, and its networks still load, convert (or refuse to,
naming why) and export."""
import pytest
import torch
import torch.nn.functional as F
from mmengine.optim import build_optim_wrapper
from torch import nn

from cyclegan_plugin.interop import layout, mmagic
from cyclegan_plugin.interop.reference import ours_to_reference
from cyclegan_plugin.io import CheckpointError
from cyclegan_plugin.models import (DiffAugment, GeneratorEMA, PatchDiscriminator,
                                    PixelDiscriminator, ResnetGenerator, UnetGenerator)
from cyclegan_plugin.models.filters import blur
from cyclegan_plugin.models.generators.resnet_generator import ResizeConv
from cyclegan_plugin.models.norm import InstanceRenorm, make_norm
from cyclegan_plugin.registry import MODELS

from .test_cyclegan_model import MODEL, OPTIM, batch


def model_state(**switches):
    model = MODELS.build(dict(MODEL, **switches))
    return {k: v for k, v in model.state_dict().items() if not k.endswith('_extra_state')}


def assert_foreign_layouts_refused(ours, reference_match, mmagic_match):
    """The reference's and MMagic's layouts have no place for the switch: both conversions
    stop with a CheckpointError that names it."""
    with pytest.raises(CheckpointError, match=reference_match):
        ours_to_reference(ours)
    with pytest.raises(CheckpointError, match=mmagic_match):
        mmagic.ours_to_mmagic(ours)


# ------------------------------------------------------------ resize-convolutions
def test_paper_networks_keep_transposed_convolutions():
    net = ResnetGenerator(ngf=4, n_blocks=1)
    assert sum(isinstance(m, nn.ConvTranspose2d) for m in net.modules()) == 2
    assert not any(isinstance(m, ResizeConv) for m in net.modules())


def test_resize_convolution_generator_shapes_and_keys():
    net = ResnetGenerator(ngf=4, n_blocks=2, upsample='nearest')
    assert not any(isinstance(m, nn.ConvTranspose2d) for m in net.modules())
    assert sum(isinstance(m, ResizeConv) for m in net.modules()) == 2
    with torch.no_grad():
        assert net(torch.zeros(2, 3, 36, 44)).shape == (2, 3, 36, 44)
    # the upsampling layers keep their places in `model`; every other key is the paper's
    paper = ResnetGenerator(ngf=4, n_blocks=2).state_dict()
    mine = net.state_dict()
    assert set(mine) - set(paper) == {'model.12.conv.weight', 'model.12.conv.bias',
                                      'model.15.conv.weight', 'model.15.conv.bias'}
    with pytest.raises(ValueError, match='upsample must be one of'):
        ResnetGenerator(upsample='bicubic')


@pytest.mark.parametrize('bias', [True, False])
def test_resize_convolution_by_phases_equals_resize_then_convolve(bias):
    """The four 2x2 phase convolutions compute the literal definition (nearest 2x resize,
    then the 3x3 convolution), forward and backward, on odd and even sizes."""
    torch.manual_seed(0)
    net = ResizeConv(5, 7, bias=bias).double()
    for shape in ((2, 5, 6, 9), (1, 5, 1, 1), (1, 5, 7, 4)):
        x = torch.randn(shape, dtype=torch.float64, requires_grad=True)
        grads = []
        for f in (net, net.forward_resized):
            y = f(x)
            assert y.shape == (shape[0], 7, 2 * shape[2], 2 * shape[3])
            grads.append((y.detach(), *torch.autograd.grad((y * y.detach().cos()).sum(),
                                                          [x, net.conv.weight])))
        for a, b in zip(*grads):
            assert torch.allclose(a, b, atol=1e-12, rtol=1e-10)


def period2_amplitude(x: torch.Tensor) -> float:
    """Largest amplitude of the (-1)^(x+y), (-1)^x, (-1)^y components of each channel."""
    h, w = x.shape[-2:]
    sy = (-1.0) ** torch.arange(h).view(h, 1)
    sx = (-1.0) ** torch.arange(w).view(1, w)
    return max(float((x * s).mean(dim=(-2, -1)).abs().max()) for s in (sy * sx, sx, sy + 0 * sx))


def test_resize_convolution_prints_no_checkerboard_where_a_deconvolution_does():
    """On a flat input, with the same random kernel, the stride-2 transposed convolution
    gives its output pixels different numbers of kernel taps (a period-2 pattern); the
    resize-convolution gives every pixel the same kernel: flat in, flat out (inside the
    zero-padded border)."""
    torch.manual_seed(0)
    flat = torch.ones(1, 4, 8, 8)
    deconv = nn.ConvTranspose2d(4, 3, 3, stride=2, padding=1, output_padding=1)
    resize = ResizeConv(4, 3)
    with torch.no_grad():
        assert period2_amplitude(deconv(flat)[..., 1:-1, 1:-1]) > 1e-2
        out = resize(flat)[..., 1:-1, 1:-1]
        assert period2_amplitude(out) < 1e-6
        assert (out - out[..., :1, :1]).abs().max() < 1e-6


def test_resize_convolution_checkpoints_load_convert_and_refuse(tmp_path):
    state = ResnetGenerator(ngf=4, n_blocks=2, upsample='nearest').state_dict()
    cfg = layout.infer_generator_config(state)
    assert cfg['upsample'] == 'nearest'
    ResnetGenerator(**{k: v for k, v in cfg.items() if k != 'type'}).load_state_dict(
        state, strict=True)
    assert layout.infer_generator_config(ResnetGenerator(ngf=4, n_blocks=2).state_dict())[
        'upsample'] == 'deconv'
    ours = model_state(generator=dict(type='ResnetGenerator', ngf=4, n_blocks=1,
                                      upsample='nearest'))
    assert_foreign_layouts_refused(ours, 'generators.a2b uses resize-convolution',
                                   "upsample='nearest'")


def test_translators_read_a_resize_convolution_generator_alone(tmp_path):
    from cyclegan_plugin.apis import init_model
    torch.manual_seed(0)
    net = ResnetGenerator(ngf=4, n_blocks=1, upsample='nearest').eval()
    path = tmp_path / 'g.pth'
    torch.save(net.state_dict(), path)
    translator = init_model(str(path))
    x = torch.rand(1, 3, 16, 16) * 2 - 1
    with torch.no_grad():
        assert torch.equal(translator.generators['a2b'](x), net(x))


# ------------------------------------------------------------------ attention mask
def test_attention_blends_the_translation_with_the_input():
    """output = mask * translation + (1 - mask) * input, where the translation is the
    reference network's own output: a closed mask passes the input through exactly, an open
    one gives the reference translation."""
    torch.manual_seed(0)
    net = ResnetGenerator(ngf=4, n_blocks=1, attention=True)
    paper = ResnetGenerator(ngf=4, n_blocks=1)
    paper.load_state_dict({k: v for k, v in net.state_dict().items()
                           if not k.startswith('mask_head.')})
    x = torch.rand(2, 3, 16, 20) * 2 - 1
    conv = net.mask_head[1]
    with torch.no_grad():
        mask, translation = net.mask_and_translation(x)
        assert mask.shape == (2, 1, 16, 20) and 0 < mask.min() and mask.max() < 1
        assert torch.allclose(net(x), mask * translation + (1 - mask) * x, atol=1e-7)
        assert torch.equal(translation, paper(x))
        conv.weight.zero_()
        conv.bias.fill_(-200.0)  # sigmoid -> 0: nothing translated
        assert torch.equal(net(x), x)
        conv.bias.fill_(200.0)  # sigmoid -> 1: the reference network's translation
        assert torch.equal(net(x), paper(x))
    assert set(net.state_dict()) - set(paper.state_dict()) == {'mask_head.1.weight',
                                                               'mask_head.1.bias'}
    with pytest.raises(ValueError, match='in_channels == out_channels'):
        ResnetGenerator(in_channels=1, out_channels=3, attention=True)


def test_attention_and_residual_checkpoints_are_read_and_foreign_layouts_refused():
    state = ResnetGenerator(ngf=4, n_blocks=2, attention=True).state_dict()
    assert layout.infer_generator_config(state)['attention'] is True
    assert layout.infer_generator_config(state)['out_channels'] == 3
    ours = model_state(generator=dict(type='ResnetGenerator', ngf=4, n_blocks=1,
                                      attention=True))
    assert_foreign_layouts_refused(ours, 'attention mask', 'attention mask')
    residual = model_state(generator=dict(type='ResnetGenerator', ngf=4, n_blocks=1,
                                          residual=True))
    assert_foreign_layouts_refused(residual, r'residual output \(residual=True\)',
                                   'residual output')


# ------------------------------------------------- the U-Net's full-resolution level
def test_unet_full_res_adds_a_full_resolution_level_and_keeps_the_rest():
    """full_res: the outermost up-convolution gives ngf // 2 maps at full resolution, a 3x3
    convolution reads the input at full resolution, and a 3x3 convolution of both (then
    tanh) is the output; every other layer, and its key, is pix2pix's U-Net's."""
    torch.manual_seed(0)
    net = UnetGenerator(num_downs=5, ngf=8, full_res=True)
    paper = UnetGenerator(num_downs=5, ngf=8)
    assert not paper.full_res and not hasattr(paper, 'full_res_out')
    mine, theirs = net.state_dict(), paper.state_dict()
    assert set(mine) - set(theirs) == {'full_res_in.0.weight', 'full_res_in.0.bias',
                                       'full_res_out.0.weight', 'full_res_out.0.bias'}
    assert set(theirs) == set(mine) - {k for k in mine if k.startswith('full_res_')}
    assert mine['model.model.3.weight'].shape == (16, 4, 4, 4)  # 2 ngf -> ngf // 2 maps
    assert theirs['model.model.3.weight'].shape == (16, 3, 4, 4)  # 2 ngf -> the image
    assert all(mine[k].shape == theirs[k].shape for k in theirs
               if not k.startswith('model.model.3.'))  # all but the outermost up-convolution
    x = torch.rand(2, 3, 32, 64) * 2 - 1
    with torch.no_grad():
        top = net.model(x)
        assert top.shape == (2, 4, 32, 64) and top.min() >= 0  # ReLU'd full-resolution maps
        out = net(x)
        assert out.shape == (2, 3, 32, 64)
        expected = torch.tanh(net.full_res_out[0](torch.cat(
            [nn.functional.leaky_relu(net.full_res_in[0](x), 0.2), top], 1)))
        assert torch.allclose(out, expected, atol=1e-6)
    with pytest.raises(TypeError):
        ResnetGenerator(full_res=True)  # a U-Net switch only


def test_unet_full_res_checkpoints_are_read_translated_and_refused_by_foreign_layouts(
        tmp_path):
    from cyclegan_plugin.apis import init_model
    torch.manual_seed(0)
    net = UnetGenerator(num_downs=5, ngf=4, full_res=True).eval()
    cfg = layout.infer_generator_config(net.state_dict())
    assert cfg['full_res'] is True and cfg['num_downs'] == 5 and cfg['out_channels'] == 3
    assert layout.infer_generator_config(UnetGenerator(num_downs=5, ngf=4).state_dict())[
        'full_res'] is False
    path = tmp_path / 'g.pth'
    torch.save(net.state_dict(), path)
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        assert torch.equal(init_model(str(path)).generators['a2b'](x), net(x))
    ours = model_state(generator=dict(type='UnetGenerator', num_downs=5, ngf=4,
                                      full_res=True))
    assert_foreign_layouts_refused(ours, r'full-resolution top level \(full_res=True\)',
                                   'UnetGenerator')


# ---------------------------------------------------------- spectral normalisation
@pytest.mark.parametrize('cls', [PatchDiscriminator, PixelDiscriminator])
def test_spectral_norm_bounds_each_convolution(cls):
    """After enough power iterations each convolution's weight, as the network uses it, has
    a largest singular value of 1 (the estimate approaches the true one from below, so 1 or
    a little more); the stored weight of a N(0, 0.02) init has far less."""
    torch.manual_seed(0)
    net = cls(ndf=8, spectral_norm=True)
    x = torch.randn(1, 3, 24, 24)
    with torch.no_grad():
        for _ in range(300):  # each training-mode forward runs one power iteration
            net(x)
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert convs and all(hasattr(m, 'parametrizations') for m in convs)
    for conv in convs:
        sigma = torch.linalg.matrix_norm(conv.weight.detach().flatten(1), ord=2)
        stored = torch.linalg.matrix_norm(
            conv.parametrizations.weight.original.detach().flatten(1), ord=2)
        assert 1 - 1e-4 <= float(sigma) < 1.01
        assert float(stored) < 0.9
    assert not any(hasattr(m, 'parametrizations')
                   for m in cls(ndf=8).modules())  # off by default


def test_spectral_norm_init_draws_the_stored_weight():
    """The reference's N(0, 0.02) draws go into the weight the optimizer updates."""
    torch.manual_seed(0)
    net = PatchDiscriminator(ndf=16, spectral_norm=True)
    stored = net.model[2].parametrizations.weight.original
    assert abs(stored.std().item() - 0.02) < 0.002
    assert torch.all(net.model[2].bias == 0)


@pytest.mark.parametrize('net', [PatchDiscriminator(ndf=4, n_layers=2, spectral_norm=True),
                                 PixelDiscriminator(ndf=4, spectral_norm=True)],
                         ids=['patch', 'pixel'])
def test_spectral_norm_discriminators_are_read_from_their_keys(net):
    assert layout.detect_layout(net.state_dict()) in ('patch', 'pixel')
    cfg = layout.infer_discriminator_config(net.state_dict())
    assert cfg['spectral_norm'] is True
    rebuilt = {'PatchDiscriminator': PatchDiscriminator,
               'PixelDiscriminator': PixelDiscriminator}[cfg.pop('type')](**cfg)
    rebuilt.load_state_dict(net.state_dict(), strict=True)


def test_spectral_norm_model_refuses_foreign_layouts():
    ours = model_state(discriminator=dict(type='PatchDiscriminator', ndf=4, n_layers=2,
                                          spectral_norm=True))
    assert_foreign_layouts_refused(ours, 'discriminators.b uses spectral', 'spectral')
    # the generators alone still convert, and our layout reads its own config back
    assert set(mmagic.ours_to_mmagic(ours, discriminators=False))
    cfg = layout.infer_model_config(ours)
    assert cfg['discriminator']['spectral_norm'] is True
    MODELS.build(dict(MODEL, discriminator=cfg['discriminator'])).load_state_dict(
        {**ours, **{k: v for k, v in MODELS.build(MODEL).state_dict().items()
                    if k.endswith('_extra_state')}}, strict=True)


# ------------------------------------------------------ anti-aliased downsampling
def checkerboard(size):
    """A size x size map of +1 / -1 alternating in both directions: the period-2 pattern."""
    i = torch.arange(size)
    return (-1.0) ** (i[:, None] + i[None, :])


def test_the_blur_removes_the_period_2_pattern_and_keeps_flat_maps():
    """[1, 2, 1] answers 0 at the Nyquist frequency: a period-2 checkerboard blurs to exactly
    0 (its reflect-padded border too), a constant map stays itself."""
    kernel = PatchDiscriminator(ndf=4, antialias=True).blur_kernel
    checker = checkerboard(10).expand(2, 3, 10, 10)
    assert torch.equal(blur(checker, kernel), torch.zeros_like(checker))
    flat = torch.full((1, 2, 7, 9), 0.3)
    torch.testing.assert_close(blur(flat, kernel), flat)


@pytest.mark.parametrize('n_layers', [2, 3])
def test_antialias_blurs_the_input_of_each_strided_convolution_after_the_first(n_layers):
    """With the paper network's weights, every convolution sees what the layer before it
    gave, blurred exactly before the stride-2 convolutions that follow the first; the
    first reads the image as it is, so a checkerboard still reaches the judgement."""
    torch.manual_seed(0)
    paper = PatchDiscriminator(ndf=4, n_layers=n_layers)
    net = PatchDiscriminator(ndf=4, n_layers=n_layers, antialias=True)
    assert set(net.state_dict()) - set(paper.state_dict()) == {'blur_kernel'}
    net.load_state_dict({**paper.state_dict(), 'blur_kernel': net.blur_kernel})
    seen = {}
    for i, layer in enumerate(net.model):
        layer.register_forward_pre_hook(
            lambda m, args, i=i: seen.__setitem__(i, args[0].clone()))
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        out = net(x)
        assert out.shape == paper(x).shape and not torch.allclose(out, paper(x))
        strided = [i for i, m in enumerate(net.model)
                   if isinstance(m, nn.Conv2d) and m.stride[0] == 2]
        assert strided[0] == 0 and len(strided) == n_layers
        torch.testing.assert_close(seen[0], x)
        for i in range(1, len(net.model)):
            before = net.model[i - 1](seen[i - 1].clone())
            expected = blur(before, net.blur_kernel) if i in strided else before
            torch.testing.assert_close(seen[i], expected)
        checker = 0.5 * checkerboard(32).expand(1, 3, 32, 32)
        assert not torch.allclose(net(torch.zeros(1, 3, 32, 32)), net(checker))


@pytest.mark.parametrize('switch,value,reference_match,mmagic_match', [
    ('antialias', True, r'discriminators.b uses anti-aliased downsampling', 'anti-aliased'),
    ('full_res', True, "discriminators.b uses a discriminator's full-resolution first layer",
     'full-resolution first layer'),
    ('spectrum_bins', 8, "discriminators.b uses a discriminator's spectral judge",
     'spectral judge'),
])
def test_discriminator_switches_are_read_from_their_keys_and_refused_by_foreign_layouts(
        switch, value, reference_match, mmagic_match):
    """A PatchGAN with the switch (with spectral norm, and reading one channel) is read back
    from its keys alone and loads strictly; without it the switch reads off; the
    reference's and MMagic's layouts refuse it, naming it; the generators still convert."""
    net = PatchDiscriminator(in_channels=1, ndf=4, n_layers=2, spectral_norm=True,
                             **{switch: value})
    cfg = layout.infer_discriminator_config(net.state_dict())
    assert (cfg[switch], cfg['spectral_norm'], cfg['in_channels'], cfg['ndf'],
            cfg['n_layers'], cfg['norm']) == (value, True, 1, 4, 2, 'instance')
    PatchDiscriminator(**{k: v for k, v in cfg.items() if k != 'type'}).load_state_dict(
        net.state_dict(), strict=True)
    assert not layout.infer_discriminator_config(PatchDiscriminator(ndf=4).state_dict())[switch]
    ours = model_state(discriminator=dict(type='PatchDiscriminator', ndf=4, n_layers=2,
                                          **{switch: value}))
    assert_foreign_layouts_refused(ours, reference_match, mmagic_match)
    assert set(mmagic.ours_to_mmagic(ours, discriminators=False))
    assert layout.infer_model_config(ours)['discriminator'][switch] == value


def test_reduced_spectrum_finds_a_pattern_in_its_ring_at_any_size():
    """A grey cosine of period 4 px (frequency 0.25, 0.35 of the corner's) peaks in ring
    int(0.354 x 16) = 5 of 16 at 32x32 and at 64x64, in fp32 under bf16 autocast too; a
    flat image has the same value in every ring beyond the first."""
    from cyclegan_plugin.models.discriminators.patch_discriminator import reduced_spectrum
    for size in (32, 64):
        x = torch.cos(torch.arange(size) * 2 * torch.pi / 4).expand(1, 3, size, size)
        spectrum = reduced_spectrum(x, 16)
        assert spectrum.shape == (1, 16) and spectrum.dtype == torch.float32
        assert int(spectrum[0, 1:].argmax()) + 1 == 5
        with torch.autocast('cpu', dtype=torch.bfloat16):
            torch.testing.assert_close(reduced_spectrum(x.bfloat16(), 16), spectrum)
    flat = reduced_spectrum(torch.full((1, 3, 32, 32), 0.5), 16)
    assert torch.allclose(flat[0, 1:], flat[0, 1])


def test_spectral_judge_adds_its_score_to_every_patch():
    """spectrum_bins: the output is the PatchGAN's map plus the linear head's score of the
    image's reduced spectrum, for each image; the head learns from the loss."""
    from cyclegan_plugin.models.discriminators.patch_discriminator import reduced_spectrum
    torch.manual_seed(0)
    net = PatchDiscriminator(ndf=8, n_layers=2, spectrum_bins=16)
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    out = net(x)
    with torch.no_grad():
        expected = net.patches(x) + net.spectrum_head(reduced_spectrum(x, 16)).view(2, 1, 1, 1)
    torch.testing.assert_close(out, expected)
    out.square().mean().backward()
    assert net.spectrum_head.weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match='spectrum_bins'):
        PatchDiscriminator(spectrum_bins=-1)


@pytest.mark.parametrize('n_layers', [2, 3])
def test_full_res_discriminator_reads_the_image_at_full_resolution_first(n_layers):
    """full_res=True puts a 3x3 stride-1 convolution to ndf // 2 maps and a LeakyReLU in
    front of the PatchGAN, whose first layer then reads those maps: the same output size,
    every other layer and key as the reference's; one changed pixel reaches the output
    through it."""
    torch.manual_seed(0)
    plain = PatchDiscriminator(ndf=8, n_layers=n_layers)
    net = PatchDiscriminator(ndf=8, n_layers=n_layers, full_res=True)
    first = net.full_res_in[0]
    assert (first.in_channels, first.out_channels, first.kernel_size, first.stride) == (
        3, 4, (3, 3), (1, 1))
    assert net.model[0].in_channels == 4
    assert set(net.state_dict()) - set(plain.state_dict()) == {
        'full_res_in.0.weight', 'full_res_in.0.bias'}
    assert {k: v.shape for k, v in net.state_dict().items() if k != 'model.0.weight'
            and not k.startswith('full_res_in.')} == {
        k: v.shape for k, v in plain.state_dict().items() if k != 'model.0.weight'}
    x = torch.randn(2, 3, 32, 32)
    assert net(x).shape == plain(x).shape
    with torch.no_grad():
        expected = net.model(net.full_res_in(x))
    assert torch.equal(net(x), expected)


# -------------------------------------------------------------------- DiffAugment
def test_diffaugment_translation_shifts_with_a_zero_border():
    torch.manual_seed(0)
    x = torch.rand(6, 3, 16, 16) + 1  # no zero inside, so a zero marks the border
    out = DiffAugment('translation', translation_ratio=0.25)(x)
    shifted = 0
    for img, src in zip(out, x):
        found = False
        for dy in range(-4, 5):
            for dx in range(-4, 5):
                ref = torch.zeros_like(src)
                ys, yd = (slice(dy, 16), slice(0, 16 - dy)) if dy >= 0 else \
                    (slice(0, 16 + dy), slice(-dy, 16))
                xs, xd = (slice(dx, 16), slice(0, 16 - dx)) if dx >= 0 else \
                    (slice(0, 16 + dx), slice(-dx, 16))
                ref[:, yd, xd] = src[:, ys, xs]
                if torch.equal(img, ref):
                    found = True
                    shifted += (dy, dx) != (0, 0)
        assert found, 'not a translation by at most a quarter of the size'
    assert shifted >= 4  # per-image draws


def test_diffaugment_cutout_zeroes_one_square_per_image():
    torch.manual_seed(0)
    x = torch.rand(8, 3, 16, 16) + 1
    out = DiffAugment('cutout', cutout_ratio=0.5)(x)
    for img, src in zip(out, x):
        hole = (img == 0).all(dim=0)
        assert torch.equal(img[:, ~hole], src[:, ~hole])
        rows, cols = hole.any(dim=1).nonzero().flatten(), hole.any(dim=0).nonzero().flatten()
        assert 0 < len(rows) <= 8 and 0 < len(cols) <= 8
        assert hole.sum() == len(rows) * len(cols)  # a rectangle (a square cut by the border)
        assert len(rows) == 8 or rows[0] == 0 or rows[-1] == 15


def test_diffaugment_colour_is_per_image_and_differentiable():
    torch.manual_seed(0)
    x = (torch.rand(4, 3, 8, 8) * 2 - 1).requires_grad_()
    out = DiffAugment('color,translation,cutout')(x)
    assert out.shape == x.shape
    out.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    torch.manual_seed(0)
    colour = DiffAugment('color')(x.detach())
    mean_shift = (colour - x.detach()).mean(dim=(1, 2, 3))
    assert len(set(round(float(m), 4) for m in mean_shift)) == 4
    for policy in ('', 'colour', 'translation,flip'):
        with pytest.raises(ValueError, match='DiffAugment policy'):
            DiffAugment(policy)


def test_the_discriminators_see_augmented_images_in_both_updates():
    """With disc_augment every image a discriminator judges, real or fake, in the
    generators' update and in its own, went through the augmentation (here: cutout, whose
    zeroed squares show); without it the discriminators see the images as they are."""
    torch.manual_seed(0)
    seen = []
    for cfg in (dict(type='DiffAugment', policy='cutout'), None):
        model = MODELS.build(dict(MODEL, disc_augment=cfg))
        optim = build_optim_wrapper(model, OPTIM)
        inputs = []
        hooks = [d.register_forward_pre_hook(lambda m, a: inputs.append(a[0].detach()))
                 for d in model.discriminators.values()]
        model.train_step(batch(), optim)
        for h in hooks:
            h.remove()
        seen.append(inputs)
    augmented, plain = seen
    assert len(augmented) == len(plain) == 6  # 2 in the generators' update, 4 in theirs
    assert all(((x == 0).all(dim=1)).sum() >= 16 for x in augmented)
    assert not any(((x == 0).all(dim=1)).sum() >= 16 for x in plain)


# ----------------------------------------------------------------- generators' EMA
def test_generator_ema_averages_the_generators_only():
    torch.manual_seed(0)
    model = MODELS.build(MODEL)
    ema = GeneratorEMA(model, momentum=0.25)
    expected = {k: p.detach().clone() for k, p in model.named_parameters()}
    optim = build_optim_wrapper(model, OPTIM)
    ema.update_parameters(model)  # the first update copies
    for step in range(3):
        model.train_step(batch(seed=step), optim)
        ema.update_parameters(model)
        for k, p in model.named_parameters():
            if k.startswith('generators.'):
                expected[k] = expected[k] * 0.75 + p.detach() * 0.25
    averaged = dict(ema.module.named_parameters())
    for k, p in model.named_parameters():
        if k.startswith('generators.'):
            assert torch.allclose(averaged[k], expected[k], atol=1e-7), k
            assert not torch.equal(averaged[k], p), k
    state = ema.state_dict()
    assert set(state) == {'steps'} | {f'module.{k}' for k in expected
                                      if k.startswith('generators.')} | {
        f'module.{k}' for k, _ in model.named_buffers() if k.startswith('generators.')}
    with pytest.raises(ValueError, match='no parameters under'):
        GeneratorEMA(model, averaged='nets.')


def test_models_are_unchanged_by_default():
    """The paper config's networks and losses: no switch is on unless asked for."""
    torch.manual_seed(0)
    paper = MODELS.build(MODEL)
    assert paper.disc_augment is None
    assert all(g.upsample == 'deconv' for g in paper.generators.values())
    assert not any(hasattr(m, 'parametrizations') for m in paper.discriminators.modules())
    assert (paper.lambda_gan_A, paper.lambda_gan_B) == (1.0, 1.0)


# ---------------------------------------------- the generators' half of a step
def generator_step(model, real_A, real_B):
    """The generators' half of a training step as train_step runs it (the identity images
    the model's weights ask for), without the update: the images, the loss terms as floats
    and each generator's gradients."""
    model.zero_grad()
    images = model.forward_generators(
        real_A, real_B, identity=(model.lambda_idt_A > 0, model.lambda_idt_B > 0))
    losses = model.generator_losses(real_A, real_B, images)
    sum(losses.values()).backward()
    grads = {d: [p.grad.clone() for p in model.generators[d].parameters()]
             for d in ('a2b', 'b2a')}
    return images, {k: v.item() for k, v in losses.items()}, grads


# --------------------------------------------------- adversarial weights per direction
def test_adversarial_weights_per_direction_scale_their_own_term_only():
    """lambda_gan_A weighs G_A's adversarial term (D_A judging fake_B) and nothing else:
    every other term is the same, and G_B's gradient is the paper's to the bit, as fake_B
    reaches G_B's loss only through the cycle."""
    torch.manual_seed(0)
    paper = MODELS.build(MODEL)
    weighted = MODELS.build(dict(MODEL, lambda_gan_A=2.0))
    weighted.load_state_dict(paper.state_dict())
    g = torch.Generator().manual_seed(1)
    real_A, real_B = (torch.rand(2, 3, 16, 16, generator=g) * 2 - 1 for _ in range(2))

    _, paper_losses, paper_grads = generator_step(paper, real_A, real_B)
    _, losses, grads = generator_step(weighted, real_A, real_B)
    assert losses['loss_G_A'] == pytest.approx(2 * paper_losses['loss_G_A'], rel=1e-6)
    assert {k: v for k, v in losses.items() if k != 'loss_G_A'} == {
        k: v for k, v in paper_losses.items() if k != 'loss_G_A'}
    assert all(torch.equal(a, b) for a, b in zip(grads['b2a'], paper_grads['b2a']))
    assert not all(torch.equal(a, b) for a, b in zip(grads['a2b'], paper_grads['a2b']))
    # and the other direction's weight, the same way
    other = MODELS.build(dict(MODEL, lambda_gan_B=0.5))
    other.load_state_dict(paper.state_dict())
    _, other_losses, other_grads = generator_step(other, real_A, real_B)
    assert other_losses['loss_G_B'] == pytest.approx(0.5 * paper_losses['loss_G_B'], rel=1e-6)
    assert all(torch.equal(a, b) for a, b in zip(other_grads['a2b'], paper_grads['a2b']))


# ------------------------------------------------ the relativistic average LSGAN
@pytest.mark.parametrize('batched', [False, True])
def test_relativistic_gan_scores_fakes_against_the_real_images(batched):
    """With gan_mode='ralsgan' each generator's adversarial term and each discriminator's loss
    are the relativistic average LSGAN of D's scores of that domain's real images and of the
    fakes (computed here by hand from the same D); the real images' scores give the
    generators no gradient; every other term is the paper's. Batched calls agree."""
    from cyclegan_plugin.models.losses import GANLoss
    torch.manual_seed(0)
    paper = MODELS.build(dict(MODEL, batch_discriminator_calls=batched))
    ra = MODELS.build(dict(MODEL, batch_discriminator_calls=batched,
                           gan_loss=dict(type='GANLoss', gan_mode='ralsgan')))
    ra.load_state_dict(paper.state_dict())
    g = torch.Generator().manual_seed(1)
    real_A, real_B = (torch.rand(2, 3, 16, 16, generator=g) * 2 - 1 for _ in range(2))
    images, losses, _ = generator_step(ra, real_A, real_B)
    _, paper_losses, _ = generator_step(paper, real_A, real_B)
    rel = GANLoss('ralsgan').relativistic_loss
    D_A, D_B = ra.discriminators['b'], ra.discriminators['a']
    with torch.no_grad():
        expected_G_A = rel(D_A(real_B), D_A(images['fake_B']), is_disc=False)
        expected_G_B = rel(D_B(real_A), D_B(images['fake_A']), is_disc=False)
        expected_D_A = rel(D_A(real_B), D_A(images['fake_B']), is_disc=True)
        loss_D_A = ra.discriminator_loss(D_A, real_B, images['fake_B'])
    assert losses['loss_G_A'] == pytest.approx(expected_G_A.item(), rel=1e-6)
    assert losses['loss_G_B'] == pytest.approx(expected_G_B.item(), rel=1e-6)
    assert losses['loss_G_A'] != pytest.approx(paper_losses['loss_G_A'], rel=1e-3)
    assert {k: v for k, v in losses.items() if not k.startswith('loss_G_')} == {
        k: v for k, v in paper_losses.items() if not k.startswith('loss_G_')}
    assert loss_D_A.item() == pytest.approx(expected_D_A.item(), rel=1e-6)
    # the discriminators' scores of the real images carry no gradient to the generators
    real_B_leaf = real_B.clone().requires_grad_(True)
    ra.zero_grad()
    ra.generator_adversarial(D_A, images['fake_B'].detach(), real_B_leaf).backward()
    assert real_B_leaf.grad is None
    # and a whole step trains: every network moves
    optim = build_optim_wrapper(ra, OPTIM)
    before = [p.detach().clone() for p in ra.parameters()]
    log = ra.train_step(batch(), optim)
    assert all(torch.isfinite(torch.as_tensor(v)) for v in log.values())
    assert all(not torch.equal(a, b) for a, b in zip(before, ra.parameters()))


# ------------------------------------------------------------------------ R1 penalty
def test_r1_penalty_is_the_squared_gradient_of_the_mean_patch_score():
    """For a 1x1 convolution D(x) = mean over pixels of w . x + b, the gradient of the mean
    score is w / (H W) at every pixel: ||grad||^2 = |w|^2 / (H W), whatever the image."""
    from cyclegan_plugin.models.losses import r1_penalty
    torch.manual_seed(0)
    net = nn.Conv2d(3, 1, 1)
    x = torch.randn(4, 3, 8, 6, requires_grad=True)
    value = r1_penalty(net(x), x)
    assert value.item() == pytest.approx(net.weight.pow(2).sum().item() / (8 * 6), rel=1e-6)
    value.backward()  # differentiable in D's weights: the discriminator's step lowers it
    assert torch.allclose(net.weight.grad, 2 * net.weight.detach() / 48, rtol=1e-6)


@pytest.mark.parametrize('batched', [False, True])
def test_r1_adds_its_term_to_the_discriminators_loss_every_interval(batched):
    """lambda_r1 adds gamma / 2 x interval x R1 (by hand, from the same D) to each
    discriminator's loss on every r1_interval-th discriminator update and nothing on the
    others; the generators' losses are the paper's; a whole step with it trains."""
    from cyclegan_plugin.models.losses import r1_penalty
    torch.manual_seed(0)
    # no pool: its random draws would differ between the two models' steps
    paper = MODELS.build(dict(MODEL, batch_discriminator_calls=batched, pool_size=0))
    r1 = MODELS.build(dict(MODEL, batch_discriminator_calls=batched, pool_size=0,
                           lambda_r1=10.0, r1_interval=2))
    r1.load_state_dict(paper.state_dict())
    g = torch.Generator().manual_seed(1)
    real_A, real_B = (torch.rand(2, 3, 16, 16, generator=g) * 2 - 1 for _ in range(2))
    fake_B = torch.rand(2, 3, 16, 16, generator=g) * 2 - 1
    D_A = r1.discriminators['b']
    leaf = real_B.clone().requires_grad_(True)
    expected = r1_penalty(D_A(leaf), leaf).item()
    assert expected > 0
    plain = paper.discriminator_loss(paper.discriminators['b'], real_B, fake_B).item()
    assert r1.discriminator_loss(D_A, real_B, fake_B).item() == pytest.approx(plain, rel=1e-6)
    assert r1.discriminator_loss(D_A, real_B, fake_B, r1=True).item() == pytest.approx(
        plain + 0.5 * 10.0 * 2 * expected, rel=1e-5)
    # the generators' losses are untouched
    _, losses, _ = generator_step(r1, real_A, real_B)
    _, paper_losses, _ = generator_step(paper, real_A, real_B)
    assert losses == paper_losses
    # in training: updates 1 and 3 carry no R1 term, update 2 does
    optim, paper_optim = build_optim_wrapper(r1, OPTIM), build_optim_wrapper(paper, OPTIM)
    gaps = []
    for _ in range(3):
        data = batch()
        log, paper_log = r1.train_step(data, optim), paper.train_step(data, paper_optim)
        assert all(torch.isfinite(torch.as_tensor(v)) for v in log.values())
        gaps.append(float(log['loss_D_A']) - float(paper_log['loss_D_A']))
        r1.load_state_dict(paper.state_dict())  # the same weights for the next comparison
    assert gaps[0] == pytest.approx(0, abs=1e-6) and gaps[2] == pytest.approx(0, abs=1e-6)
    assert gaps[1] > 1e-4


def test_r1_settings_are_checked():
    for bad in (dict(lambda_r1=-1.0), dict(lambda_r1=1.0, r1_interval=0),
                dict(lambda_r1=1.0, r1_interval=1.5)):
        with pytest.raises(ValueError, match='lambda_r1'):
            MODELS.build(dict(MODEL, **bad))


# ------------------------------------------------------ identity weights per generator
@pytest.mark.parametrize('batched', [False, True])
def test_identity_weights_per_generator_weigh_and_skip_their_own_term_only(batched):
    """lambda_identity_A weighs G_A's identity term (G_A(real_B) against real_B) alone: at
    0 the term and the translation it needs are gone, at 0.25 the term is half the paper's;
    every other term, and G_B's gradient, are the paper's. Batched calls agree."""
    torch.manual_seed(0)
    paper = MODELS.build(dict(MODEL, batch_generator_calls=batched))
    assert (paper.lambda_idt_A, paper.lambda_idt_B) == (0.5, 0.5)
    g = torch.Generator().manual_seed(1)
    real_A, real_B = (torch.rand(2, 3, 16, 16, generator=g) * 2 - 1 for _ in range(2))

    def step(model):
        """generator_step, and the images G_A translated in it."""
        calls = []
        hook = model.generators['a2b'].register_forward_pre_hook(
            lambda m, a: calls.append(a[0].shape[0]))
        try:
            return (*generator_step(model, real_A, real_B), sum(calls))
        finally:
            hook.remove()

    paper_images, paper_losses, paper_grads, paper_calls = step(paper)
    for weight in (0.0, 0.25):
        model = MODELS.build(dict(MODEL, batch_generator_calls=batched,
                                  lambda_identity_A=weight))
        model.load_state_dict(paper.state_dict())
        images, losses, grads, calls = step(model)
        assert (model.lambda_idt_A, model.lambda_idt_B) == (weight, 0.5)
        for key in ('fake_B', 'rec_A', 'fake_A', 'rec_B', 'idt_B'):
            torch.testing.assert_close(images[key], paper_images[key], rtol=0, atol=1e-6)
        others = {k: v for k, v in losses.items() if k != 'loss_idt_A'}
        assert others == pytest.approx(
            {k: v for k, v in paper_losses.items() if k != 'loss_idt_A'}, rel=1e-6)
        # G_B's loss sees fake_B and rec_B, not idt_A: its gradient is the paper's
        for a, b in zip(grads['b2a'], paper_grads['b2a']):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-7)
        if weight == 0:
            assert 'idt_A' not in images and 'loss_idt_A' not in losses
            assert calls == paper_calls - real_B.shape[0]  # G_A no longer reads real_B alone
        else:
            assert losses['loss_idt_A'] == pytest.approx(0.5 * paper_losses['loss_idt_A'],
                                                         rel=1e-6)
            assert calls == paper_calls
    # and the other generator's weight, the same way
    model = MODELS.build(dict(MODEL, batch_generator_calls=batched, lambda_identity_B=0.0))
    model.load_state_dict(paper.state_dict())
    images, losses, grads, _ = step(model)
    assert 'idt_B' not in images and 'loss_idt_B' not in losses and 'loss_idt_A' in losses
    for a, b in zip(grads['a2b'], paper_grads['a2b']):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-7)


def test_identity_weights_per_generator_train_and_check_the_channels():
    """A whole training step runs with one identity term off, and the identity loss's
    check on the channels counts either generator's term."""
    torch.manual_seed(0)
    model = MODELS.build(dict(MODEL, lambda_identity_A=0.0, batch_generator_calls=True,
                              batch_discriminator_calls=True))
    log_vars = model.train_step(batch(), build_optim_wrapper(model, OPTIM))
    assert 'loss_idt_B' in log_vars and 'loss_idt_A' not in log_vars
    assert all(torch.isfinite(v) for v in log_vars.values() if isinstance(v, torch.Tensor))
    with pytest.raises(ValueError, match='lambda_identity'):
        MODELS.build(dict(MODEL, lambda_identity=0.0, lambda_identity_B=0.5,
                          generator=dict(MODEL['generator'], out_channels=1)))


# ------------------------------------------------------------------- cycle noise
@pytest.mark.parametrize('batched', [False, True])
def test_cycle_noise_reaches_the_cycle_only_and_only_in_training(batched):
    """With cycle_noise the second generator of each cycle reads its fake plus Gaussian noise
    of that standard deviation; the fakes themselves (what the discriminators judge and the
    tools output) stay clean, and out of training (visualisation) nothing is added."""
    torch.manual_seed(0)
    model = MODELS.build(dict(MODEL, cycle_noise=0.1, batch_generator_calls=batched))
    real_A, real_B = (torch.rand(2, 3, 32, 32) * 2 - 1 for _ in range(2))
    read = {}

    def keep(direction):
        def hook(module, args):
            read.setdefault(direction, []).append(args[0].detach())
        return hook

    hooks = [model.generators[d].register_forward_pre_hook(keep(d)) for d in ('a2b', 'b2a')]
    for training in (True, False):
        read.clear()
        model.train(training)
        with torch.no_grad():
            images = model.forward_generators(real_A, real_B)
        # the cycle's call, G_B(fake_B) or G_A(fake_A), is the one whose input is nearest
        # that fake (the others read real images)
        for direction, fake in (('b2a', 'fake_B'), ('a2b', 'fake_A')):
            noise = min((x - images[fake] for x in read[direction]
                         if x.shape == images[fake].shape),
                        key=lambda d: d.abs().mean().item())
            if training:
                assert noise.std().item() == pytest.approx(0.1, rel=0.1)
                assert noise.mean().abs().item() < 0.02
            else:
                assert torch.equal(noise, torch.zeros_like(noise))
    for h in hooks:
        h.remove()
    clean = MODELS.build(dict(MODEL, batch_generator_calls=batched))
    clean.load_state_dict(model.state_dict())
    model.train()
    with torch.no_grad():
        noisy_images, clean_images = (m.forward_generators(real_A, real_B) for m in (model, clean))
    for key in ('fake_B', 'fake_A', 'idt_A', 'idt_B'):
        torch.testing.assert_close(noisy_images[key], clean_images[key], rtol=0, atol=1e-6)
    assert not torch.allclose(noisy_images['rec_A'], clean_images['rec_A'])
    assert clean.cycle_noise == 0.0
    with pytest.raises(ValueError, match='cycle_noise'):
        MODELS.build(dict(MODEL, cycle_noise=-0.1))


@pytest.mark.parametrize('batched', [False, True])
def test_cycle_blur_reaches_its_own_cycle_only_and_only_in_training(batched):
    """cycle_blur_A blurs fake_B (a normalised Gaussian of that sigma, reflect-padded) where
    G_B reads it back in the cycle A -> B -> A, and nothing else: G_A reads fake_A as it is,
    every fake, identity image and the other cycle are the paper's, and out of training
    nothing is blurred."""
    from cyclegan_plugin.models.filters import gaussian_kernel
    kernel = gaussian_kernel(1.0)
    assert kernel.shape == (7, 7) and kernel.sum().item() == pytest.approx(1.0)
    assert torch.equal(kernel, kernel.T) and kernel[3, 3] == kernel.max()
    torch.manual_seed(0)
    model = MODELS.build(dict(MODEL, cycle_blur_A=1.0, batch_generator_calls=batched))
    paper = MODELS.build(dict(MODEL, batch_generator_calls=batched))
    paper.load_state_dict(model.state_dict())
    real_A, real_B = (torch.rand(2, 3, 32, 32) * 2 - 1 for _ in range(2))
    for training in (True, False):
        model.train(training), paper.train(training)
        with torch.no_grad():
            images, expected = (m.forward_generators(real_A, real_B) for m in (model, paper))
            if training:
                expected['rec_A'] = paper.generators['b2a'](
                    blur(expected['fake_B'], kernel))
        assert set(images) == set(expected)
        for key in images:
            torch.testing.assert_close(images[key], expected[key], rtol=1e-5, atol=1e-6)
    with torch.no_grad():
        model.train()
        assert not torch.allclose(model.forward_generators(real_A, real_B)['rec_A'],
                                  paper.forward_generators(real_A, real_B)['rec_A'])
    with pytest.raises(ValueError, match='cycle_blur'):
        MODELS.build(dict(MODEL, cycle_blur_B=-1.0))


@pytest.mark.parametrize('batched', [False, True])
@pytest.mark.parametrize('switch,rec,real,silent', [
    ('cycle_detach_A', 'rec_A', 'real_A', 'a2b'),       # G_A gets nothing from A -> B -> A
    ('cycle_fixed_reader_B', 'rec_B', 'real_B', 'a2b'),  # G_A reads B -> A -> B held
    ('cycle_fixed_reader_A', 'rec_A', 'real_A', 'b2a'),
])
def test_cycle_gradient_switches_silence_one_generator_in_one_cycle(
        switch, rec, real, silent, batched):
    """cycle_detach_A stops the cycle A -> B -> A's gradient at fake_B (G_A gets none), the
    fixed reader of a cycle takes none itself (its weights held) and passes it on; the other
    generator gets the paper's gradient from that cycle, the other cycle is the paper's, and
    every image is the same."""
    torch.manual_seed(0)
    model = MODELS.build(dict(MODEL, batch_generator_calls=batched, **{switch: True}))
    paper = MODELS.build(dict(MODEL, batch_generator_calls=batched))
    paper.load_state_dict(model.state_dict())
    reals = dict(real_A=torch.rand(2, 3, 32, 32) * 2 - 1, real_B=torch.rand(2, 3, 32, 32) * 2 - 1)

    def grad_norms(m, rec, real):
        """The norm of the gradient of that cycle's L1 in each generator's weights."""
        loss = nn.functional.l1_loss(
            m.forward_generators(reals['real_A'], reals['real_B'])[rec], reals[real])
        norms = {}
        for d, G in m.generators.items():
            grads = torch.autograd.grad(loss, list(G.parameters()), retain_graph=True,
                                        allow_unused=True)
            norms[d] = sum(0.0 if g is None else g.norm().item() for g in grads)
        return norms

    model.train(), paper.train()
    switched, both = grad_norms(model, rec, real), grad_norms(paper, rec, real)
    learning = 'b2a' if silent == 'a2b' else 'a2b'
    assert switched[silent] == 0.0 and both[silent] > 0
    assert switched[learning] == pytest.approx(both[learning], rel=1e-5)
    other = ('rec_B', 'real_B') if rec == 'rec_A' else ('rec_A', 'real_A')
    switched, both = grad_norms(model, *other), grad_norms(paper, *other)
    for d in ('a2b', 'b2a'):
        assert switched[d] > 0 and switched[d] == pytest.approx(both[d], rel=1e-5)
    with torch.no_grad():
        images, expected = (m.forward_generators(reals['real_A'], reals['real_B'])
                            for m in (model, paper))
    for key in expected:
        torch.testing.assert_close(images[key], expected[key], rtol=0, atol=0)
    assert paper.cycle_detach == paper.cycle_fixed_reader == dict(A=False, B=False)


# ------------------------------------------------------ one discriminator differs
def test_discriminator_overrides_change_one_discriminator_and_are_read_back():
    """discriminator_overrides={'a': ...} changes D_B (it judges domain A) and nothing else;
    a checkpoint of such a model is read back to the same config and loads strictly."""
    def norms(net):
        return sum(isinstance(m, nn.InstanceNorm2d) for m in net.modules())

    disc = dict(type='PatchDiscriminator', ndf=4, n_layers=2)
    model = MODELS.build(dict(MODEL, discriminator=disc,
                              discriminator_overrides=dict(a=dict(norm='none'))))
    assert norms(model.discriminators['a']) == 0 and norms(model.discriminators['b']) == 2
    # as the reference builds norm 'none': the convolutions before a norm lose their bias
    biases = {d: sum(k.endswith('bias') for k in model.discriminators[d].state_dict())
              for d in 'ab'}
    assert biases == {'a': 2, 'b': 4}
    cfg = layout.infer_model_config(model.state_dict())
    assert cfg['discriminator']['norm'] == 'instance'
    assert cfg['discriminator_overrides'] == {'a': {'norm': 'none'}}
    MODELS.build(cfg).load_state_dict(model.state_dict(), strict=True)
    # the same networks built without overrides: none are read back
    plain = MODELS.build(dict(MODEL, discriminator=disc))
    assert 'discriminator_overrides' not in layout.infer_model_config(plain.state_dict())
    with pytest.raises(ValueError, match=r"'a' \(D_B\) or 'b' \(D_A\), got \['c'\]"):
        MODELS.build(dict(MODEL, discriminator_overrides=dict(c=dict(norm='none'))))
    with pytest.raises(ValueError, match='in_channels'):
        MODELS.build(dict(MODEL, discriminator_overrides=dict(b=dict(in_channels=1))))


# ---------------------------------------------------------------- instance renorm
def test_instance_renorm_normalises_by_running_statistics_with_an_instance_norms_gradient():
    """The first training batch sets the running statistics (its output is its instance
    norm); later batches are normalised by the running statistics, which then move
    ``momentum`` of the way to the batch's mean statistics, and their gradient is the
    instance norm's scaled by r = sigma / sigma_run (Batch Renormalization per image); the
    test uses the same formula, clips included."""
    torch.manual_seed(0)
    norm = InstanceRenorm(4, momentum=0.1)
    assert 'renorm_mean' in norm.state_dict() and 'running_mean' not in norm.state_dict()
    first = torch.randn(1, 4, 8, 8) * 3 + 2
    assert torch.allclose(norm(first), F.instance_norm(first, eps=1e-5), atol=1e-5)
    assert torch.allclose(norm.renorm_mean, first.mean((0, 2, 3)), atol=1e-6)
    assert int(norm.renorm_count) == 1
    mean, var = norm.renorm_mean.clone(), norm.renorm_var.clone()
    x = (torch.randn(2, 4, 8, 8) * 1.5 + 1).requires_grad_()
    y = norm(x)
    std = (var + 1e-5).sqrt().view(1, -1, 1, 1)
    assert torch.allclose(y, (x - mean.view(1, -1, 1, 1)) / std, atol=1e-5)
    assert torch.allclose(norm.renorm_mean, 0.9 * mean + 0.1 * x.mean((2, 3)).mean(0),
                          atol=1e-6)
    assert torch.allclose(norm.renorm_var, 0.9 * var
                          + 0.1 * x.var((2, 3), unbiased=False).mean(0), atol=1e-5)
    w = torch.randn_like(x)
    (y * w).sum().backward()
    x2 = x.detach().clone().requires_grad_()
    r = (x2.detach().var((2, 3), unbiased=False, keepdim=True) + 1e-5).sqrt() / std
    (F.instance_norm(x2, eps=1e-5) * r * w).sum().backward()
    assert torch.allclose(x.grad, x2.grad, atol=1e-5)
    # at test the same formula, and nothing moves
    norm.eval()
    frozen = norm.renorm_mean.clone()
    std = (norm.renorm_var + 1e-5).sqrt().view(1, -1, 1, 1)
    assert torch.allclose(norm(x.detach()), (x.detach() - frozen.view(1, -1, 1, 1)) / std,
                          atol=1e-5)
    assert torch.equal(norm.renorm_mean, frozen)
    # an image 30 times as spread as the running statistics: r stops at r_max, d at d_max
    loud = x.detach() * 30 + 100
    assert torch.allclose(norm(loud), F.instance_norm(loud, eps=1e-5) * 3 + 5, atol=1e-4)


def test_instance_renorm_gives_a_pattern_the_same_strength_whatever_its_share_of_the_image():
    """Why the switch exists: an instance norm makes a pixel's output depend on the rest of
    the image (a pattern over more of it comes out weaker); the renorm's output at a pixel
    does not, where the clips do not bite, in training (values) as at test."""
    torch.manual_seed(0)
    small, large = torch.zeros(1, 2, 16, 16), torch.zeros(1, 2, 16, 16)
    small[..., 6:10, 6:10] = 1.0  # the same pattern over 1/16 and 9/16 of the image
    large[..., 2:14, 2:14] = 1.0
    inorm = nn.InstanceNorm2d(2)
    assert not torch.allclose(inorm(small)[..., 8, 8], inorm(large)[..., 8, 8], atol=0.1)
    norm = InstanceRenorm(2, momentum=0.0)  # statistics fixed by the first batch
    norm(torch.randn(1, 2, 16, 16) * 0.5)
    for mode in (True, False):
        norm.train(mode)
        assert torch.allclose(norm(small)[..., 8, 8], norm(large)[..., 8, 8], atol=1e-5)


def test_instance_renorm_keeps_fp32_statistics_under_bf16_autocast():
    torch.manual_seed(0)
    net = UnetGenerator(num_downs=5, ngf=4, norm='instance_renorm')
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = net(x)
    assert out.dtype == torch.bfloat16 and torch.isfinite(out).all()
    norms = [m for m in net.modules() if isinstance(m, InstanceRenorm)]
    assert norms and all(m.renorm_mean.dtype == torch.float32 and int(m.renorm_count) == 1
                         for m in norms)


@pytest.mark.parametrize('cfg', [
    dict(type='UnetGenerator', num_downs=5, ngf=4, norm='instance_renorm'),
    dict(type='ResnetGenerator', ngf=4, n_blocks=1, norm='instance_renorm')])
def test_instance_renorm_checkpoints_are_read_translated_and_refused_by_foreign_layouts(
        tmp_path, cfg):
    """The same weights as the instance norm's (a conv bias before each norm) and four
    buffers per norm: read back from the keys (running statistics included, where the
    reference's stale instance-norm buffers are dropped), translated as trained, and
    refused by the reference's and MMagic's layouts, naming the norm."""
    from cyclegan_plugin.apis import init_model
    torch.manual_seed(0)
    net = MODELS.build(cfg)
    plain = MODELS.build(dict(cfg, norm='instance'))
    mine, theirs = net.state_dict(), plain.state_dict()
    assert {k: v.shape for k, v in theirs.items()} == {
        k: v.shape for k, v in mine.items() if not k.rsplit('.', 1)[1].startswith('renorm_')}
    net(torch.rand(2, 3, 32, 32) * 2 - 1)  # statistics that are not the initial ones
    net.eval()
    assert layout.infer_generator_config(net.state_dict())['norm'] == 'instance_renorm'
    path = tmp_path / 'g.pth'
    torch.save(net.state_dict(), path)
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        assert torch.equal(init_model(str(path)).generators['a2b'](x), net(x))
    ours = model_state(generator=cfg)
    assert_foreign_layouts_refused(
        ours, r"instance renorm \(norm='instance_renorm'\)",
        'UnetGenerator' if cfg['type'] == 'UnetGenerator' else 'instance renorm')


def test_instance_renorm_clips_are_set_by_a_dict_norm_and_carried_by_checkpoints(tmp_path):
    """norm=dict(type='instance_renorm', r_max=..., d_max=..., momentum=...) sets the clips
    (r_max 2: a map's r stops at 2, where the default stops it at 3); the clips are a buffer,
    so a checkpoint translates with its own, whatever the network it is loaded into was built
    with, and one saved before the buffer existed gets the clips it was trained with (3, 5)."""
    from cyclegan_plugin.apis import init_model
    torch.manual_seed(0)
    cfg = dict(type='UnetGenerator', num_downs=5, ngf=4,
               norm=dict(type='instance_renorm', r_max=2.0, d_max=4.0, momentum=0.5))
    net = MODELS.build(cfg)
    norms = [m for m in net.modules() if isinstance(m, InstanceRenorm)]
    assert norms and all((m.r_max, m.d_max, m.momentum) == (2.0, 4.0, 0.5) for m in norms)
    norm = InstanceRenorm(4, r_max=2.0)
    norm(torch.randn(1, 4, 8, 8))
    loud = torch.randn(1, 4, 8, 8) * 30 + 100
    assert torch.allclose(norm(loud), F.instance_norm(loud, eps=1e-5) * 2 + 5, atol=1e-4)
    net(torch.rand(2, 3, 32, 32) * 2 - 1)
    net.eval()
    path = tmp_path / 'g.pth'
    torch.save(net.state_dict(), path)
    default = MODELS.build(dict(cfg, norm='instance_renorm'))
    default.load_state_dict(net.state_dict())
    x = torch.rand(1, 3, 32, 32) * 4 - 2
    with torch.no_grad():
        assert torch.equal(default.eval()(x), net(x))
        assert torch.equal(init_model(str(path)).generators['a2b'](x), net(x))
    old = {k: v for k, v in norm.state_dict().items() if not k.endswith('renorm_clip')}
    loaded = InstanceRenorm(4, r_max=7.0)
    loaded.load_state_dict(old)
    assert (loaded.r_max, loaded.d_max) == (3.0, 5.0)
    for bad, word in ((dict(type='instance', r_max=2.0), 'instance'),
                      (dict(type='instance_renorm', clip=2.0), 'clip'),
                      (dict(r_max=2.0), 'type')):
        with pytest.raises(ValueError, match=word):
            MODELS.build(dict(cfg, norm=bad))
    with pytest.raises(ValueError, match='r_max >= 1'):
        InstanceRenorm(4, r_max=0.5)
    # a dict of another type builds that norm
    assert isinstance(make_norm(dict(type='instance'), 4), nn.InstanceNorm2d)
