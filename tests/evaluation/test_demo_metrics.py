"""Metrics of the mini horse2zebra demo data, on a small generated set."""
import math
import os

import cv2
import numpy as np
import pytest
import torch

from cyclegan_plugin.demo.data import build_demo_dataset
from cyclegan_plugin.demo import metrics as dm
from cyclegan_plugin.demo.metrics import MiniHorse2ZebraMetric
from cyclegan_plugin.io import read_image
from cyclegan_plugin.registry import METRICS


@pytest.fixture(scope='module')
def root(tmp_path_factory):
    path = tmp_path_factory.mktemp('h2z_metric') / 'mini'
    build_demo_dataset(str(path), size=32, num_train=1, num_test=6, seed=1)
    return str(path)


def names(root, d):
    return sorted(os.listdir(os.path.join(root, f'test{d}')))


def t(img: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))


def sample(root, name_a, name_b, mode='identity'):
    """A data sample as the model's test_step returns it; ``mode`` picks the 'translation':
    identity (fake = real) or perfect (fake = the ground truth of the same scene)."""
    pa = os.path.join(root, 'testA', name_a)
    pb = os.path.join(root, 'testB', name_b)
    real_a, real_b = read_image(pa), read_image(pb)
    if mode == 'identity':
        fake_b, fake_a = real_a, real_b
    else:
        fake_b = read_image(os.path.join(root, 'testA_gt_B', name_a))
        fake_a = read_image(os.path.join(root, 'testB_gt_A', name_b))
    return dict(real_A=t(real_a), fake_B=t(fake_b), rec_A=t(real_a),
                real_B=t(real_b), fake_A=t(fake_a), rec_B=t(real_b),
                img_A_path=pa, img_B_path=pb)


# ------------------------------------------------------------------------- pure functions
def test_pure_functions_basic():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    mask = np.zeros((16, 16), np.uint8)
    mask[4:10, 4:10] = 255
    assert dm.background_l1(img, img, mask) == 0.0
    other = img.copy()
    other[5:9, 5:9] = 0                               # change only inside the animal
    assert dm.background_l1(img, other, mask) == 0.0
    other[0, 0] = (img[0, 0].astype(int) + 30) % 256  # one background pixel
    assert dm.background_l1(img, other, mask) > 0
    assert math.isnan(dm.background_l1(img, img, np.full((16, 16), 255, np.uint8)))
    assert dm.psnr(img, img) == dm.PSNR_CAP and math.isfinite(dm.psnr(img, img))
    assert dm.l1(img, img) == 0.0
    ones = np.full((4, 4, 3), 10, np.uint8)
    assert dm.l1(ones, ones * 2) == 10.0
    assert dm.psnr(ones, ones * 2) == pytest.approx(10 * np.log10(255 ** 2 / 100))
    assert dm.normalise_stripe(5.0, (1.0, 9.0)) == 0.5


def test_stripe_raw_separates_flat_from_stripes():
    yy, xx = np.mgrid[0:64, 0:64]
    flat = np.stack([120 + 0.3 * yy, 70 + 0.2 * xx, 40 + 0 * xx], -1).astype(np.uint8)
    stripes = np.where((xx + yy) % 10 < 5, 240, 20)[..., None].repeat(3, -1).astype(np.uint8)
    mask = np.zeros((64, 64), np.uint8)
    mask[10:50, 8:56] = 255
    assert dm.stripe_raw(flat, mask) < 2 < 30 < dm.stripe_raw(stripes, mask)
    assert math.isnan(dm.stripe_raw(flat, np.zeros((64, 64), np.uint8)))


def test_checkerboard_is_the_amplitude_of_the_period_2_pattern():
    """A smooth picture with texture gives about 0; a stride-2 pattern of amplitude a added to
    it gives a, whatever its phase; inside the animal mask it does not count."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:64, 0:64]
    base = (100 + 0.8 * yy + 0.5 * xx + rng.normal(0, 8, (64, 64)))[..., None].repeat(3, -1)
    mask = np.zeros((64, 64), np.uint8)
    mask[20:44, 16:48] = 255
    assert dm.checkerboard(base.astype(np.uint8), mask) < 0.5
    for pattern in ((-1.0) ** (xx + yy), (-1.0) ** xx, -(-1.0) ** yy):
        image = base + 6 * pattern[..., None]
        assert dm.checkerboard(image, mask) == pytest.approx(6, abs=0.5)
        inside = base + 6 * (pattern * (mask > 0))[..., None]  # only on the animal
        assert dm.checkerboard(inside, mask) < 0.5
    both = base + (3 * (-1.0) ** (xx + yy) + 4 * (-1.0) ** xx)[..., None]
    assert dm.checkerboard(both) == pytest.approx(5, abs=0.5)  # sqrt(3^2 + 4^2)
    assert math.isnan(dm.checkerboard(base, np.full((64, 64), 255, np.uint8)))


def test_stripe_score_of_real_images(root):
    ref = dm.stripe_reference(root)
    assert ref[1] > 10 * max(ref[0], 1e-3)
    for d, other, own, gt_score in (('A', 'B', 0.0, 1.0), ('B', 'A', 1.0, 0.0)):
        for name in names(root, d):
            mask = read_image(os.path.join(root, f'test{d}_mask', name), 'L')
            real = read_image(os.path.join(root, f'test{d}', name))
            gt = read_image(os.path.join(root, f'test{d}_gt_{other}', name))
            # every real horse scores ~0 and every real zebra ~1, also with the other coat
            assert dm.normalise_stripe(dm.stripe_raw(real, mask), ref) == \
                pytest.approx(own, abs=0.3)
            assert dm.normalise_stripe(dm.stripe_raw(gt, mask), ref) == \
                pytest.approx(gt_score, abs=0.3)


@pytest.mark.parametrize('period', [3.6, 4.5, 5.2, 6.0, 7.0])
@pytest.mark.parametrize('angle', [0.0, 0.7, 2.0])
def test_stripe_period_finds_the_period_of_stripes_in_the_mask(period, angle):
    """Stripes of a known period at any angle, inside an irregular mask over a textured
    background, are found to within a tenth of their period (the padded spectrum's grid);
    the background outside the mask does not count; a flat body or an empty mask is NaN."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:64, 0:64].astype(np.float64)
    mask = ((xx - 30) ** 2 / 22 ** 2 + (yy - 34) ** 2 / 14 ** 2 < 1).astype(np.uint8) * 255
    u = np.cos(angle) * xx + np.sin(angle) * yy
    stripes = 128 + 100 * np.sign(np.sin(2 * np.pi * u / period))
    grass = 128 + 60 * np.sin(2 * np.pi * xx / 3.1) + rng.normal(0, 20, xx.shape)
    lum = np.where(mask > 0, stripes, grass)
    img = np.clip(np.repeat(lum[..., None], 3, -1), 0, 255).astype(np.uint8)
    assert dm.stripe_period(img, mask) == pytest.approx(period, rel=0.1)
    flat = np.where(mask[..., None] > 0, 90, img).astype(np.uint8)
    assert math.isnan(dm.stripe_period(flat, mask))
    assert math.isnan(dm.stripe_period(img, np.zeros_like(mask)))


def test_stripe_softness_counts_the_mid_grey_pixels_of_the_body():
    """Square stripes leave only the pixels of their edges at mid-grey; the same stripes
    blurred, or with grey speckle in their white, leave more; the background does not
    count; a flat body or an empty mask is NaN."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:64, 0:64].astype(np.float64)
    mask = ((xx - 30) ** 2 / 24 ** 2 + (yy - 33) ** 2 / 16 ** 2 < 1).astype(np.uint8) * 255
    square = 128 + 110 * np.sign(np.sin(2 * np.pi * (xx + 0.5 * yy) / 6.0))

    def image(lum):
        lum = np.where(mask > 0, lum, 128 + rng.normal(0, 60, lum.shape))
        return np.clip(np.repeat(lum[..., None], 3, -1), 0, 255).astype(np.uint8)

    sharp = dm.stripe_softness(image(square), mask)
    assert 0.0 <= sharp < 0.12
    assert dm.stripe_softness(image(cv2.GaussianBlur(square, (0, 0), 1.0)), mask) > sharp + 0.1
    speckle = np.where((square > 128) & (rng.random(square.shape) < 0.2), 128.0, square)
    assert dm.stripe_softness(image(speckle), mask) > sharp + 0.05
    flat = np.full_like(square, 90.0)
    assert math.isnan(dm.stripe_softness(image(flat), mask))
    assert math.isnan(dm.stripe_softness(image(square), np.zeros_like(mask)))


# ------------------------------------------------------------------------- MMEngine metric
def test_registered(root):
    metric = METRICS.build(dict(type='MiniHorse2ZebraMetric', data_root=root))
    assert isinstance(metric, MiniHorse2ZebraMetric)


def test_identity_translation(root):
    metric = MiniHorse2ZebraMetric(data_root=root)
    a, b = names(root, 'A'), names(root, 'B')
    metric.process({}, [sample(root, x, y) for x, y in zip(a, b)])
    res = metric.compute_metrics(metric.results)
    assert res['bg_l1_a2b'] == 0.0 and res['bg_l1_b2a'] == 0.0
    assert res['rec_l1_A'] == 0.0 and res['rec_l1_B'] == 0.0
    assert res['stripe_real_A'] == pytest.approx(0.0, abs=1e-9)   # all test images seen
    assert res['stripe_real_B'] == pytest.approx(1.0, abs=1e-9)
    assert res['stripe_a2b'] == pytest.approx(0.0, abs=1e-9)      # horse stays a horse
    assert res['stripe_b2a'] == pytest.approx(1.0, abs=1e-9)
    assert res['l1_b2a'] > 10 and res['psnr_b2a'] < 30             # zebra is not a horse
    # the identity adds no period-2 pattern; the real grass's own is its noise floor
    assert res['checker_a2b'] == res['checker_real_A'] < 3.0
    assert res['checker_b2a'] == res['checker_real_B'] < 3.0
    assert all(isinstance(v, float) for v in res.values())


def test_perfect_translation(root):
    metric = MiniHorse2ZebraMetric(data_root=root)
    a, b = names(root, 'A'), names(root, 'B')
    metric.process({}, [sample(root, x, y, 'perfect') for x, y in zip(a, b)])
    res = metric.compute_metrics(metric.results)
    assert res['bg_l1_a2b'] == 0.0 and res['bg_l1_b2a'] == 0.0
    assert res['psnr_b2a'] == dm.PSNR_CAP and res['l1_b2a'] == 0.0
    assert res['psnr_a2b'] == dm.PSNR_CAP and res['l1_a2b'] == 0.0
    assert res['stripe_a2b'] == pytest.approx(1.0, abs=0.15)
    assert res['stripe_b2a'] == pytest.approx(0.0, abs=0.15)
    # the fake zebras' period and softness are measured on fake_B (here the rendered zebras
    # of testA's scenes), the real zebras' on real_B
    for measure in ('period', 'softness'):
        fn = getattr(dm, f'stripe_{measure}')
        assert res[f'stripe_{measure}_a2b'] == pytest.approx(np.mean([fn(
            read_image(os.path.join(root, 'testA_gt_B', n)),
            read_image(os.path.join(root, 'testA_mask', n), 'L')) for n in a]))
        assert res[f'stripe_{measure}_real_B'] == pytest.approx(np.mean([fn(
            read_image(os.path.join(root, 'testB', n)),
            read_image(os.path.join(root, 'testB_mask', n), 'L')) for n in b]))


def test_deduplicates_repeated_images_and_evaluate(root):
    """The test set has max(|A|, |B|) items and repeats the smaller domain."""
    a, b = names(root, 'A'), names(root, 'B')[:2]
    samples = [sample(root, a[i], b[i % len(b)]) for i in range(len(a))]
    metric = MiniHorse2ZebraMetric(data_root=root)
    metric.process({}, samples[:4])
    metric.process({}, samples[4:])
    res = metric.evaluate(len(samples))
    assert all(k.startswith('h2z/') for k in res)
    ref = dm.stripe_reference(root)
    expected = np.mean([dm.normalise_stripe(dm.stripe_raw(
        read_image(os.path.join(root, 'testB', n)),
        read_image(os.path.join(root, 'testB_mask', n), 'L')), ref) for n in b])
    assert res['h2z/stripe_real_B'] == pytest.approx(expected)
    # a translation that darkens the background is penalised in proportion
    s = sample(root, a[0], b[0])
    s['fake_B'] = torch.clamp(s['real_A'].int() - 10, 0, 255).to(torch.uint8)
    metric = MiniHorse2ZebraMetric(data_root=root, stripe_ref=ref, prefix='x')
    metric.process({}, [s])
    res = metric.evaluate(1)
    assert 5 < res['x/bg_l1_a2b'] <= 10 and res['x/bg_l1_b2a'] == 0.0


def test_rejects_float_images(root):
    a, b = names(root, 'A'), names(root, 'B')
    s = sample(root, a[0], b[0])
    s['fake_B'] = s['fake_B'].float() / 255
    metric = MiniHorse2ZebraMetric(data_root=root)
    with pytest.raises(TypeError, match='uint8'):
        metric.process({}, [s])


def test_missing_ground_truth_is_skipped(root, tmp_path):
    """Without testA_gt_B (optional) the A->B PSNR/L1 are simply not reported."""
    import shutil
    copy = tmp_path / 'copy'
    shutil.copytree(root, copy)
    shutil.rmtree(copy / 'testA_gt_B')
    metric = MiniHorse2ZebraMetric(data_root=str(copy))
    a, b = names(root, 'A'), names(root, 'B')
    metric.process({}, [sample(str(copy), a[0], b[0])])
    res = metric.compute_metrics(metric.results)
    assert 'psnr_a2b' not in res and 'psnr_b2a' in res
