"""cyclegan_plugin.apis: loading every checkpoint kind, exact geometry, batching, tiling.

Reference numbers come from the fixture files (nets/*: input -> output_eval)."""
import shutil

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config

from cyclegan_plugin.apis import Translator, init_model, read_image, translate
from cyclegan_plugin.apis import tiling
from cyclegan_plugin.models.data_preprocessor import CycleGANDataPreprocessor
from cyclegan_plugin.registry import MODELS
from ..models.reference_utils import net_input

SMALL_MODEL = dict(type='CycleGAN',
                   generator=dict(type='ResnetGenerator', ngf=8, n_blocks=2),
                   discriminator=dict(type='PatchDiscriminator', ndf=8))


def load(path):
    return torch.load(path, map_location='cpu', weights_only=True)


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """[-1, 1] NCHW -> HWC uint8 of the first image, as tensor2im does."""
    return CycleGANDataPreprocessor.destruct(x)[0].permute(1, 2, 0).numpy()


def synthetic(h, w, seed=0):
    """A smooth image with a few discs: closer to a photo than noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.stack([127 + 100 * np.sin(x / 17 + seed), 127 + 100 * np.cos(y / 23),
                    127 + 80 * np.sin((x + y) / 31)], -1)
    for _ in range(6):
        centre = (int(rng.integers(w)), int(rng.integers(h)))
        colour = [float(v) for v in rng.integers(0, 255, 3)]
        cv2.circle(img, centre, int(rng.integers(5, 25)), colour, -1)
    return np.clip(img, 0, 255).astype(np.uint8)


@pytest.fixture(scope='module')
def small_model():
    torch.manual_seed(0)
    return MODELS.build(SMALL_MODEL).eval()


@pytest.fixture(scope='module')
def resnet_dir(reference_root):
    return reference_root / 'cyclegan' / 'nets' / 'G_resnet_9blocks_ngf8'


# ------------------------------------------------------------------ reference nets
def test_reference_resnet_generator_gives_reference_outputs(resnet_dir):
    translator = init_model(resnet_dir / 'latest_net_G.pth')
    assert translator.directions == ('a2b',) and translator.source == 'reference'
    expected = load(resnet_dir / 'output_eval.pt')
    got = translator.run(net_input(resnet_dir), 'a2b')
    assert torch.allclose(got, expected, rtol=0, atol=1e-5)
    # uint8 in, uint8 out through the public call
    image = load(resnet_dir / 'input_uint8.pt')[0].permute(1, 2, 0).numpy()
    out = translate(translator, image)
    assert out.dtype == np.uint8 and out.shape == image.shape
    assert np.abs(out.astype(int) - to_uint8(expected)).max() <= 1


def test_reference_unet_generator_gives_reference_outputs(reference_root):
    folder = reference_root / 'cyclegan' / 'nets' / 'G_unet_256_ngf8'
    translator = init_model(folder / 'latest_net_G.pth')
    assert type(translator.generator('a2b')).__name__ == 'UnetGenerator'
    got = translator.run(net_input(folder), 'a2b')
    assert torch.allclose(got, load(folder / 'output_eval.pt'), rtol=0, atol=1e-5)


def test_reference_pair_from_folder_or_one_file(reference_root, tmp_path):
    src = reference_root / 'cyclegan' / 'cyclegan_step' / 'checkpoints'
    for name in ('G_A', 'G_B', 'D_A'):
        shutil.copy(src / f'step1_net_{name}.pth', tmp_path / f'latest_net_{name}.pth')
    x = load(reference_root / 'cyclegan' / 'cyclegan_step' / 'step1.pt')['real_B']
    g_b = init_model(tmp_path / 'latest_net_G_B.pth', direction='b2a')  # alone: as told
    for path in (tmp_path, tmp_path / 'latest_net_G_A.pth'):
        translator = init_model(path)
        assert translator.directions == ('a2b', 'b2a')
        assert torch.equal(translator.run(x, 'b2a'), g_b.run(x, 'b2a'))
    only_b = init_model(tmp_path, direction='b2a')
    assert only_b.directions == ('b2a',)
    with pytest.raises(ValueError, match=r"'a2b' is not in this checkpoint.*\['b2a'\]"):
        translate(only_b, np.zeros((8, 8, 3), np.uint8), 'a2b')


def test_single_generator_has_one_direction(resnet_dir):
    translator = init_model(resnet_dir / 'latest_net_G.pth')
    with pytest.raises(ValueError, match=r"'b2a' is not in this checkpoint"):
        translate(translator, np.zeros((8, 8, 3), np.uint8), 'b2a')
    assert init_model(resnet_dir / 'latest_net_G.pth', direction='b2a').directions == ('b2a',)


# ------------------------------------------------------------------ our checkpoints
def test_our_checkpoint_kinds_load_alike(small_model, tmp_path):
    state = small_model.state_dict()
    cfg_text = Config(dict(default_scope='cyclegan_plugin', model=SMALL_MODEL)).pretty_text
    odd_generator = dict(SMALL_MODEL['generator'], option_of_a_later_version=1)
    odd_text = Config(dict(model=dict(SMALL_MODEL, generator=odd_generator))).pretty_text
    files = {
        'mmengine': {'meta': {'cfg': cfg_text, 'iter': 3}, 'state_dict': state},
        'mmengine_odd_cfg': {'meta': {'cfg': odd_text}, 'state_dict': state},
        'mmengine_no_cfg': {'meta': {}, 'state_dict': state},
        'model_state': state,
        'dataparallel': {f'module.{k}': v for k, v in state.items()},
    }
    x = torch.rand(1, 3, 36, 28) * 2 - 1
    expected = {d: small_model.translate(x, d) for d in ('a2b', 'b2a')}
    for name, obj in files.items():
        torch.save(obj, tmp_path / f'{name}.pth')
        translator = init_model(tmp_path / f'{name}.pth')
        assert translator.directions == ('a2b', 'b2a'), name
        for d in ('a2b', 'b2a'):
            assert torch.allclose(translator.run(x, d), expected[d], atol=1e-6), name
    torch.save(small_model.generators['b2a'].state_dict(), tmp_path / 'g.pth')
    translator = init_model(tmp_path / 'g.pth', direction='b2a')
    assert torch.allclose(translator.run(x, 'b2a'), expected['b2a'], atol=1e-6)


def test_config_and_checkpoint(small_model, tmp_path, reference_root):
    config = tmp_path / 'cfg.py'
    config.write_text(Config(dict(model=SMALL_MODEL)).pretty_text)
    torch.save({'meta': {}, 'state_dict': small_model.state_dict()}, tmp_path / 'ckpt.pth')
    translator = init_model(config, tmp_path / 'ckpt.pth')
    assert translator.model is not None and translator.directions == ('a2b', 'b2a')
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    assert torch.allclose(translator.run(x, 'a2b'), small_model.translate(x, 'a2b'), atol=1e-6)
    # a reference generator into a config of the same architecture
    nets = reference_root / 'cyclegan' / 'nets' / 'G_resnet_9blocks_ngf8'
    config.write_text(Config(dict(model=dict(
        SMALL_MODEL, generator=dict(type='ResnetGenerator', ngf=8, n_blocks=9)))).pretty_text)
    translator = init_model(config, nets / 'latest_net_G.pth')
    assert translator.directions == ('a2b',)
    got = translator.run(net_input(nets), 'a2b')
    assert torch.allclose(got, load(nets / 'output_eval.pt'), atol=1e-5)


def test_translate_accepts_a_built_model(small_model):
    image = synthetic(40, 36)
    out = translate(small_model, image, 'b2a')
    expected = Translator.from_model(small_model).run(
        (torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255 - 0.5) / 0.5, 'b2a')
    assert np.array_equal(out, to_uint8(expected))


# ----------------------------------------------------------------------- geometry
def test_any_size_comes_back_the_same_size(small_model, tmp_path):
    translator = Translator.from_model(small_model)
    gray = synthetic(61, 47)[..., 0]
    cv2.imwrite(str(tmp_path / 'gray.png'), gray)
    rgba = np.dstack([synthetic(30, 21), np.full((30, 21), 255, np.uint8)])
    cases = [synthetic(301, 199), gray, rgba, synthetic(3, 2), str(tmp_path / 'gray.png')]
    outs = translate(translator, cases)
    sizes = [(301, 199), (61, 47), (30, 21), (3, 2), (61, 47)]
    for out, size in zip(outs, sizes):
        assert out.shape == size + (3,) and out.dtype == np.uint8
    assert np.array_equal(read_image(tmp_path / 'gray.png')[..., 0], gray)


def test_multiple_of_divisor_is_not_padded(small_model):
    image = synthetic(64, 48)
    x = (torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255 - 0.5) / 0.5
    with torch.no_grad():
        expected = to_uint8(small_model.generators['a2b'](x))
    assert np.array_equal(translate(small_model, image), expected)


def test_padding_is_symmetric_reflection(small_model):
    """An odd-sized image gives what the padded image gives, cropped."""
    image = synthetic(37, 30)
    top, bottom, left, right = tiling.pad_amounts(37, 30, 4)
    padded = np.pad(image, ((top, bottom), (left, right), (0, 0)), mode='reflect')
    full = translate(small_model, padded)
    assert np.array_equal(translate(small_model, image), full[top:top + 37, left:left + 30])


def test_resize_is_the_reference_make_power_2(small_model):
    from PIL import Image
    image = synthetic(301, 199)
    out = translate(small_model, image, resize=True)
    assert out.shape == (300, 200, 3)  # round(301 / 4) * 4, round(199 / 4) * 4
    resized = np.asarray(Image.fromarray(image).resize((200, 300), Image.BICUBIC))
    assert np.array_equal(out, translate(small_model, resized))


def test_batches_match_single_images(small_model):
    images = [synthetic(40, 36, s) for s in range(3)] + [synthetic(20, 24, 3)]
    one = translate(small_model, images, batch_size=1)
    many = translate(small_model, images, batch_size=3)
    for a, b in zip(one, many):
        assert a.shape == b.shape and np.abs(a.astype(int) - b).max() <= 1


def test_one_channel_generator(tmp_path):
    from cyclegan_plugin.models.generators import ResnetGenerator
    net = ResnetGenerator(in_channels=1, out_channels=1, ngf=4, n_blocks=1)
    torch.save(net.state_dict(), tmp_path / 'g.pth')
    out = translate(init_model(tmp_path / 'g.pth'), synthetic(21, 22))
    assert out.shape == (21, 22)


# ------------------------------------------------------------------------- tiling
def test_ramps_sum_to_one_in_overlaps():
    starts = tiling.tile_starts(200, 64, 16, 4)
    assert starts[0] == 0 and starts[-1] == 200 - 64
    assert all(s % 4 == 0 for s in starts)
    total = np.zeros(200)
    for s, w in zip(starts, tiling._ramps(starts, 64)):
        total[s:s + 64] += w
    assert np.allclose(total, 1, atol=1e-6)


def test_fixed_statistics_reproduce_the_untiled_network(small_model):
    """The mechanism tiling relies on: normalising with recorded statistics is exact."""
    net = small_model.generators['a2b']
    x = torch.rand(1, 3, 48, 40) * 2 - 1
    with torch.no_grad():
        expected = net(x)
        with tiling.record_norm_stats(net) as stats:
            recorded = net(x)
        assert len(stats) == len(tiling.instance_norms(net))
        with tiling.fixed_norm_stats(net, stats):
            reused = net(torch.cat([x, x]))  # a batch: the same statistics for each
    assert torch.allclose(recorded, expected, atol=1e-5)
    assert torch.allclose(reused, expected.expand(2, -1, -1, -1), atol=1e-5)
    assert type(net.model[2]).forward is type(net.model[2]).forward  # patch removed
    assert 'forward' not in vars(net.model[2])


def test_tiled_close_to_untiled(small_model):
    translator = Translator.from_model(small_model)
    image = synthetic(150, 110)
    whole = translate(translator, image, tile_size=0)
    diffs = {}
    for stats, max_pixels in (('downscaled', None), ('exact', 4000), ('downscaled', 4000)):
        tiled = translate(translator, image, tile_size=64, tile_overlap=32, stats=stats,
                          stats_max_pixels=max_pixels)
        assert tiled.shape == whole.shape
        diffs[stats, max_pixels] = np.abs(tiled.astype(int) - whole)
    full = diffs['downscaled', None]  # statistics of the whole image: only tile borders
    assert full.mean() < 2.5 and np.percentile(full, 99) < 20
    exact = diffs['exact', 4000]  # measured tile by tile: as good
    assert exact.mean() < full.mean() + 0.3
    # from a 4000-pixel copy: the price of downscaled statistics
    assert diffs['downscaled', 4000].mean() > exact.mean()


def test_automatic_tiling_threshold(small_model, monkeypatch):
    from cyclegan_plugin.apis import inference
    translator = Translator.from_model(small_model)
    calls = []
    monkeypatch.setattr(Translator, 'run_tiled',
                        lambda self, image, *a, **k: calls.append(image.shape) or
                        np.zeros(image.shape, np.uint8))
    monkeypatch.setitem(inference.AUTO_TILE_PIXELS, 'cpu', 40 * 40)
    translate(translator, [synthetic(40, 40), synthetic(41, 40)])
    assert calls == [(41, 40, 3)]
    translate(translator, synthetic(41, 40), tile_size=0)
    assert len(calls) == 1
