"""FID / KID / IS maths and the image-folder helpers, without running Inception (except a tiny
64-d check of the statistics cache). Expected values come from the fixture files."""
import re
import warnings

import cv2
import numpy as np
import pytest
import torch

from cyclegan_plugin.evaluation import fid as fid_mod
from cyclegan_plugin.evaluation.fid import (compute_statistics, fid_from_features,
                                            folder_fingerprint, folder_statistics,
                                            frechet_distance, inception_score,
                                            kernel_inception_distance, kid_subsets, list_images,
                                            load_stats, read_image, save_stats)

STAT_ATOL = 1e-5
REL_TOL = 1e-5
KID_ATOL = 2e-6


@pytest.fixture(scope='module')
def feats2048(ref):
    """The stored float32 2048-d features, cast to float64 first as pytorch-fid does."""
    return {s: np.load(ref / 'features' / f'features_{s}_all64_dims2048_float32.npy')
            .astype(np.float64) for s in 'AB'}


@pytest.fixture(scope='module')
def kid_setup(results, ref):
    kid = results['kid']
    seed = int(re.fullmatch(r'numpy\.random\.default_rng\((\d+)\)', kid['rng']).group(1))
    subsets = tuple(np.load(ref / 'kid' / f'subsets_{s}_idx.npy') for s in 'AB')
    return kid, seed, subsets


def _quiet_fid(mu1, sigma1, mu2, sigma2, method):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # singular covariances of 64 images (sqrtm)
        return frechet_distance(mu1, sigma1, mu2, sigma2, method=method)


# ------------------------------------------------------------------------ FID

@pytest.mark.parametrize('method', ('eigh', 'sqrtm'))
@pytest.mark.parametrize('dims', (64, 192))  # the trimmed fixtures store no 768/2048 sigma:
def test_fid_from_stored_statistics(ref, results, method, dims):  # 2048 from features below
    stats = [(np.load(ref / 'stats' / f'mu_{s}_dims{dims}.npy'),
              np.load(ref / 'stats' / f'sigma_{s}_dims{dims}.npy')) for s in 'AB']
    expected = results['fid'][str(dims)]['FID_A_B']
    assert abs(_quiet_fid(*stats[0], *stats[1], method) - expected) <= REL_TOL * expected


@pytest.fixture(scope='module')
def stats2048(feats2048):
    return {s: compute_statistics(feats2048[s]) for s in 'AB'}


def test_statistics_from_stored_2048_features(stats2048, ref, results):
    for side in 'AB':
        mu, sigma = stats2048[side]
        np.testing.assert_allclose(mu, np.load(ref / 'stats' / f'mu_{side}_dims2048.npy'),
                                   rtol=0, atol=STAT_ATOL)
        np.testing.assert_allclose(
            sigma[:8, :8], np.load(ref / 'stats' / f'sigma_{side}_dims2048_first8x8.npy'),
            rtol=0, atol=STAT_ATOL)
        expected_trace = results['stats'][side]['2048']['trace_sigma']
        assert abs(np.trace(sigma) - expected_trace) <= REL_TOL * expected_trace


def test_default_eigh_fid_at_2048_matches_pytorch_fid(feats2048, stats2048, results):
    """The default trace term at 2048-d (64 images: singular covariances) against pytorch-fid's
    scipy-sqrtm FID and the fixture README's eigh-based value, from the statistics of the
    stored features; and the FID(A, A) floor."""
    expected = results['fid']['2048']['FID_A_B']
    readme_eigh = results['fid']['2048']['FID_A_B_with_eigh_based_trace_sqrt']
    (mu_a, sigma_a), (mu_b, sigma_b) = stats2048['A'], stats2048['B']
    value = frechet_distance(mu_a, sigma_a, mu_b, sigma_b)
    assert abs(value - expected) <= REL_TOL * expected
    assert abs(value - readme_eigh) <= 1e-7 * expected  # the README's recipe, to rounding
    assert fid_from_features(feats2048['A'], feats2048['B']) == value
    floor = results['fid']['2048']['FID_A_A_numerical_floor']
    assert abs(frechet_distance(mu_a, sigma_a, mu_a, sigma_a)) <= max(1e-4, 2 * abs(floor))


@pytest.mark.slow  # one 2048x2048 scipy sqrtm: 5-90 s depending on how busy the 2 cores are
def test_sqrtm_fid_from_stored_2048_features(stats2048, results):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        fid = frechet_distance(*stats2048['A'], *stats2048['B'], method='sqrtm')
    expected = results['fid']['2048']['FID_A_B']
    assert abs(fid - expected) <= REL_TOL * expected


@pytest.mark.parametrize('method', fid_mod.FID_METHODS)
def test_frechet_distance_closed_form(method):
    # 1-D: (m1-m2)^2 + s1 + s2 - 2 sqrt(s1 s2)
    assert frechet_distance([0.0], [[1.0]], [3.0], [[4.0]], method=method) == \
        pytest.approx(9 + 1 + 4 - 2 * 2)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 5))
    mu, sigma = compute_statistics(x)
    np.testing.assert_allclose(mu, x.mean(0))
    np.testing.assert_allclose(sigma, np.cov(x.T))
    assert abs(frechet_distance(mu, sigma, mu, sigma, method=method)) < 1e-10
    # full rank, non-commuting covariances: both methods agree closely
    y = rng.normal(size=(40, 5)) @ rng.normal(size=(5, 5))
    assert frechet_distance(*compute_statistics(x), *compute_statistics(y), method=method) == \
        pytest.approx(fid_from_features(x, y, method='sqrtm'), rel=1e-10)
    with pytest.raises(ValueError, match='method'):
        frechet_distance(mu, sigma, mu, sigma, method='svd')


def test_frechet_distance_retries_with_eps_when_sqrtm_not_finite(monkeypatch):
    import scipy.linalg
    calls = []
    real_sqrtm = scipy.linalg.sqrtm

    def flaky(a):
        calls.append(a.copy())
        return np.full_like(a, np.nan) if len(calls) == 1 else real_sqrtm(a)

    monkeypatch.setattr(scipy.linalg, 'sqrtm', flaky)
    sigma = np.diag([1.0, 2.0])
    with pytest.warns(UserWarning, match='adding 1e-06 to diagonal'):
        value = frechet_distance(np.zeros(2), sigma, np.zeros(2), sigma, method='sqrtm')
    assert len(calls) == 2
    np.testing.assert_allclose(calls[1], (sigma + 1e-6 * np.eye(2)) @ (sigma + 1e-6 * np.eye(2)))
    assert np.isfinite(value)


def test_frechet_distance_eigh_retries_with_eps_when_not_finite(monkeypatch):
    calls = []
    real = fid_mod._eigvals_sqrt_product

    def flaky(a, b):
        calls.append((a.copy(), b.copy()))
        return np.array([np.nan]) if len(calls) == 1 else real(a, b)

    monkeypatch.setattr(fid_mod, '_eigvals_sqrt_product', flaky)
    sigma = np.diag([1.0, 2.0])
    with pytest.warns(UserWarning, match='adding 1e-06 to diagonal'):
        value = frechet_distance(np.zeros(2), sigma, np.zeros(2), sigma)
    assert len(calls) == 2
    np.testing.assert_allclose(calls[1][0], sigma + 1e-6 * np.eye(2))
    np.testing.assert_allclose(calls[1][1], sigma + 1e-6 * np.eye(2))
    # as pytorch-fid: the traces of the unshifted sigmas, the square root of the shifted ones
    assert value == pytest.approx(-2 * 2 * 1e-6, abs=1e-12)
    # non-finite statistics: the same warning, then a NaN (as pytorch-fid) instead of an error
    monkeypatch.undo()
    with pytest.warns(UserWarning, match='adding 1e-06 to diagonal'):
        assert np.isnan(frechet_distance(np.zeros(2), np.full((2, 2), np.nan), np.zeros(2),
                                         sigma))


@pytest.mark.parametrize('method', fid_mod.FID_METHODS)
def test_frechet_distance_rejects_large_imaginary_parts(method):
    # sqrtm(-I) = iI: imaginary diagonal of 1 > atol 1e-3, which pytorch-fid refuses.
    with pytest.raises(ValueError, match='Imaginary component'):
        frechet_distance(np.zeros(2), np.eye(2), np.zeros(2), -np.eye(2), method=method)
    with pytest.raises(ValueError, match='Imaginary component'):
        frechet_distance(np.zeros(2), -np.eye(2), np.zeros(2), np.eye(2), method=method)
    with pytest.raises(ValueError):
        frechet_distance(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3), method=method)
    # rounding-level negative eigenvalues (singular covariances) are no reason to refuse
    tiny = np.diag([1.0, -1e-9])
    assert np.isfinite(frechet_distance(np.zeros(2), tiny, np.zeros(2), np.eye(2),
                                        method=method))


# ------------------------------------------------------------------------ KID

def _direct_kid_values(x, y, idx_x, idx_y):
    """The README's formula, written out independently of the library."""
    values = []
    for ia, ib in zip(idx_x, idx_y):
        a, b = x[ia], y[ib]
        m, d = len(ia), a.shape[1]
        kxx = (a @ a.T / d + 1) ** 3
        kyy = (b @ b.T / d + 1) ** 3
        kxy = (a @ b.T / d + 1) ** 3
        values.append((kxx.sum() - np.trace(kxx)) / (m * (m - 1))
                      + (kyy.sum() - np.trace(kyy)) / (m * (m - 1)) - 2 * kxy.sum() / (m * m))
    return np.array(values)


def test_kid_draws_the_stored_subsets(kid_setup, results):
    kid, seed, (sub_a, sub_b) = kid_setup
    idx_a, idx_b, m = kid_subsets(results['images']['A']['n'], results['images']['B']['n'],
                                  kid['n_subsets'], kid['subset_size'], seed)
    assert m == kid['subset_size']
    np.testing.assert_array_equal(idx_a, sub_a)
    np.testing.assert_array_equal(idx_b, sub_b)
    assert idx_a[0].tolist() == kid['first_subset_A_idx']
    assert idx_b[0].tolist() == kid['first_subset_B_idx']


def test_kid_with_stored_subsets_matches_reference(feats2048, kid_setup, ref):
    kid, _, subsets = kid_setup
    out = kernel_inception_distance(feats2048['A'], feats2048['B'], subsets=subsets)
    expected_values = np.load(ref / 'kid' / 'kid_values_100.npy')
    np.testing.assert_allclose(out['values'], expected_values, rtol=0, atol=KID_ATOL)
    np.testing.assert_allclose(out['values'], kid['values'], rtol=0, atol=KID_ATOL)
    assert abs(out['mean'] - kid['KID_mean']) <= KID_ATOL
    assert abs(out['std'] - kid['KID_std_ddof0']) <= KID_ATOL
    assert out['subset_size'] == kid['subset_size']


def test_kid_default_draw_equals_direct_numpy_formula(feats2048, kid_setup):
    kid, seed, subsets = kid_setup
    out = kernel_inception_distance(feats2048['A'], feats2048['B'], num_subsets=kid['n_subsets'],
                                    subset_size=kid['subset_size'], seed=seed)
    direct = _direct_kid_values(feats2048['A'], feats2048['B'], *subsets)
    np.testing.assert_allclose(out['values'], direct, rtol=1e-12, atol=1e-14)
    assert out['mean'] == pytest.approx(direct.mean(), rel=1e-12)
    assert out['std'] == pytest.approx(direct.std(), rel=1e-10)
    assert abs(out['mean'] - kid['KID_mean']) <= KID_ATOL


def test_kid_of_a_set_with_itself(feats2048, kid_setup):
    kid, seed, _ = kid_setup
    out = kernel_inception_distance(feats2048['A'], feats2048['A'], num_subsets=kid['n_subsets'],
                                    subset_size=kid['subset_size'], seed=seed)
    assert abs(out['mean'] - kid['KID_A_vs_A_mean']) <= KID_ATOL


def test_kid_per_subset_and_precomputed_paths_agree():
    rng = np.random.default_rng(1)
    x, y = rng.random((30, 16)), rng.random((25, 16)) + 0.1
    cheap = kernel_inception_distance(x, y, num_subsets=50, subset_size=20, seed=3)
    costly = kernel_inception_distance(x, y, num_subsets=2, subset_size=20, seed=3)
    np.testing.assert_allclose(cheap['values'][:2], costly['values'], rtol=1e-12)
    idx_x, idx_y, _ = kid_subsets(30, 25, 2, 20, 3)
    np.testing.assert_allclose(costly['values'], _direct_kid_values(x, y, idx_x, idx_y), rtol=1e-12)


def test_kid_lowers_subset_size_with_a_warning():
    rng = np.random.default_rng(0)
    x, y = rng.random((12, 8)), rng.random((10, 8))
    with pytest.warns(UserWarning, match='lowering subset size from 1000 to 10'):
        out = kernel_inception_distance(x, y, num_subsets=5)
    assert out['subset_size'] == 10 and len(out['values']) == 5


# ------------------------------------------------------------------------ Inception Score

def test_inception_score_extremes():
    n, classes, splits = 40, 1008, 10
    uniform = np.zeros((n, classes))
    assert inception_score(uniform, splits) == pytest.approx((1.0, 0.0))
    confident = np.full((n, classes), -1e4)
    confident[np.arange(n), np.arange(n)] = 0.0  # every image certain of its own class
    mean, std = inception_score(confident, splits)
    assert mean == pytest.approx(n / splits) and std == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ValueError):
        inception_score(uniform[:5], splits)


# ------------------------------------------------------------------------ image folders

def test_list_images_sorted_skips_other_files(tmp_path):
    img = np.zeros((4, 4, 3), np.uint8)
    for name in ('b.png', 'a.JPG', 'c.jpeg'):
        cv2.imwrite(str(tmp_path / name), img)
    (tmp_path / 'notes.txt').write_text('x')
    (tmp_path / 'sub').mkdir()
    with pytest.warns(UserWarning, match='notes.txt'):
        files = list_images(tmp_path)
    assert [p.name for p in files] == ['a.JPG', 'b.png', 'c.jpeg']


def test_list_images_errors_name_the_folder(tmp_path):
    empty = tmp_path / 'empty_folder'
    empty.mkdir()
    with pytest.raises(ValueError, match='empty_folder'):
        list_images(empty)
    with pytest.raises(FileNotFoundError, match='missing_folder'):
        list_images(tmp_path / 'missing_folder')


def test_read_image_matches_pil_convert_rgb(tmp_path, ref, results):
    Image = pytest.importorskip('PIL.Image')
    rng = np.random.default_rng(0)
    rgba = rng.integers(0, 256, (9, 7, 4), dtype=np.uint8)
    gray = rng.integers(0, 256, (9, 7), dtype=np.uint8)
    Image.fromarray(rgba, 'RGBA').save(tmp_path / 'rgba.png')
    Image.fromarray(gray, 'L').save(tmp_path / 'gray.png')
    Image.fromarray(rgba[..., :3], 'RGB').save(tmp_path / 'rgb.png')
    fixture_files = list_images(ref / results['images']['A']['folder'])[:2]
    for path in [tmp_path / 'rgba.png', tmp_path / 'gray.png', tmp_path / 'rgb.png',
                 *fixture_files]:
        ours = read_image(path)
        theirs = np.asarray(Image.open(path).convert('RGB'))
        assert ours.dtype == np.uint8 and ours.shape == theirs.shape
        # an array of its own, which torch.from_numpy may share (PIL's view is read-only)
        assert ours.flags.writeable and read_image(path, 'L').flags.writeable
        np.testing.assert_array_equal(ours, theirs)
        # ToTensor: float32 division by 255
        tensor = fid_mod.images_to_float(torch.from_numpy(ours).permute(2, 0, 1))
        np.testing.assert_array_equal(tensor.permute(1, 2, 0).numpy(),
                                      theirs.astype(np.float32) / np.float32(255))


# ------------------------------------------------------------------------ statistics cache

def test_save_load_stats_roundtrip(tmp_path):
    rng = np.random.default_rng(0)
    feats = rng.random((6, 4)).astype(np.float32)
    mu, sigma = compute_statistics(feats)
    save_stats(tmp_path / 's.npz', mu, sigma, features=feats, dims=4, folder='x')
    loaded = load_stats(tmp_path / 's.npz')
    np.testing.assert_array_equal(loaded['mu'], mu)
    np.testing.assert_array_equal(loaded['sigma'], sigma)
    np.testing.assert_array_equal(loaded['features'], feats)
    assert loaded['dims'] == 4 and loaded['folder'] == 'x'
    np.savez(tmp_path / 'pytorch_fid_style.npz', mu=mu, sigma=sigma)  # their --save-stats
    assert load_stats(tmp_path / 'pytorch_fid_style.npz')['features'] is None
    np.savez(tmp_path / 'bad.npz', x=mu)
    with pytest.raises(ValueError, match='mu and sigma'):
        load_stats(tmp_path / 'bad.npz')


def test_folder_statistics_cache_is_keyed_by_content(tmp_path, monkeypatch):
    from cyclegan_plugin.evaluation.inception import FIDInceptionV3

    from cyclegan_plugin.evaluation.inception import seeded_inception_state_dict
    model = FIDInceptionV3()
    model.load_state_dict(seeded_inception_state_dict(0))
    folder = tmp_path / 'real'
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        cv2.imwrite(str(folder / f'{i}.png'), rng.integers(0, 256, (16, 16, 3), dtype=np.uint8))
    cache = tmp_path / 'cache'
    first = folder_statistics(folder, model, dims=64, cache_dir=cache, num_workers=0,
                              progress=False)
    assert first['num_images'] == 3 and len(list(cache.glob('*.npz'))) == 1

    def must_not_run(*a, **k):
        raise AssertionError('statistics were recomputed despite a valid cache')

    monkeypatch.setattr(fid_mod, 'extract_folder_features', must_not_run)
    second = folder_statistics(folder, model, dims=64, cache_dir=cache)
    np.testing.assert_array_equal(second['mu'], first['mu'])
    np.testing.assert_array_equal(second['sigma'], first['sigma'])
    np.testing.assert_allclose(second['features'], first['features'], rtol=0, atol=0)
    monkeypatch.undo()

    before = folder_fingerprint(folder)
    cv2.imwrite(str(folder / '3.png'), np.zeros((16, 16, 3), np.uint8))
    assert folder_fingerprint(folder) != before
    third = folder_statistics(folder, model, dims=64, cache_dir=cache, num_workers=0,
                              progress=False)
    assert third['num_images'] == 4 and len(list(cache.glob('*.npz'))) == 2


def test_loader_workers_survive_opencv_threads_in_parent(tmp_path):
    """Regression: cv2.setNumThreads in a forked DataLoader worker deadlocked when the parent's
    OpenCV pool threads were asleep at fork time. Subprocess, so a hang becomes a timeout."""
    import subprocess
    import sys
    import textwrap
    folder = tmp_path / 'imgs'
    folder.mkdir()
    for i in range(4):
        cv2.imwrite(str(folder / f'{i}.png'), np.full((20, 20, 3), 40 * i, np.uint8))
    script = textwrap.dedent(f'''
        import time
        import cv2, numpy as np
        from cyclegan_plugin.evaluation.fid import extract_folder_features
        from cyclegan_plugin.evaluation.inception import FIDInceptionV3
        cv2.setNumThreads(2)
        big = np.zeros((2000, 2000, 3), np.uint8)
        for _ in range(3):
            cv2.cvtColor(big, cv2.COLOR_BGR2RGB)  # parent now has a live OpenCV thread pool
            cv2.GaussianBlur(big, (5, 5), 0)
        time.sleep(2)  # let the pool threads go from spinning to sleeping on their condvar
        res = extract_folder_features({str(folder)!r}, FIDInceptionV3(), dims=(64,),
                                      batch_size=1, num_workers=2, progress=False)
        print('ok', res.features[64].shape)
    ''')
    proc = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert 'ok (4, 64)' in proc.stdout
