"""TranslationFIDKID: process + compute_metrics on data samples shaped like the model's output.

Two setups, each run once per module:
* the fixture folders fed through the metric at dims 64 (fake_B = folder A, real_B = folder B),
  so FID_a2b must equal pytorch-fid's FID(A, B) from results.json;
* small synthetic images at dims 192 where domain B is shorter and repeats (as the test dataset
  does), checked against a direct computation on the deduplicated images.
Both avoid dims 2048 on purpose: one 2048x2048 scipy sqrtm takes 10-60 s on this machine, and the
network path at 2048 is proven in test_inception_fid.py.
"""
import logging
import warnings

import cv2
import numpy as np
import pytest
import torch

from cyclegan_plugin.evaluation.fid import (compute_statistics, frechet_distance,
                                            inception_features, kernel_inception_distance,
                                            list_images, read_image, save_stats)
from cyclegan_plugin.evaluation.inception import load_inception
from cyclegan_plugin.evaluation.metrics import (TranslationFID, TranslationFIDKID,
                                                TranslationKID)
from cyclegan_plugin.registry import METRICS

REL_TOL = 1e-5
KID_KW = dict(kid_subsets=20, kid_subset_size=4, kid_seed=0)


def _chw(array_hwc):
    return torch.from_numpy(np.ascontiguousarray(array_hwc)).permute(2, 0, 1).contiguous()


def _sample(a_path, b_path, real_a, fake_b, real_b, fake_a):
    return {'real_A': real_a, 'fake_B': fake_b, 'rec_A': real_a, 'real_B': real_b,
            'fake_A': fake_a, 'rec_B': real_b, 'img_A_path': a_path, 'img_B_path': b_path}


def _run(metric, samples, batch=8):
    for i in range(0, len(samples), batch):
        metric.process({}, samples[i:i + batch])
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # singular covariances / lowered KID subset size
        return metric.evaluate(len(samples))


# ------------------------------------------------------------------------ fixture images, dims 64

@pytest.fixture(scope='module')
def fixture_samples(ref, results):
    files = {s: list_images(ref / results['images'][s]['folder']) for s in 'AB'}
    imgs = {s: [_chw(read_image(f)) for f in files[s]] for s in 'AB'}
    # a2b: fake_B = A images vs real_B = B images; b2a: fake_A = B images vs real_A = A images.
    return [_sample(str(fa), str(fb), ia, ia, ib, ib)
            for fa, fb, ia, ib in zip(files['A'], files['B'], imgs['A'], imgs['B'])]


@pytest.fixture(scope='module')
def fixture_metrics(fixture_samples, weights_file):
    metric = TranslationFIDKID(dims=64, inception_weights=weights_file, batch_size=32, **KID_KW)
    return _run(metric, fixture_samples, batch=16)


def test_fid_matches_pytorch_fid_through_the_metric(fixture_metrics, results):
    expected = results['fid']['64']['FID_A_B']
    assert set(fixture_metrics) == {'FID_a2b', 'FID_b2a', 'KID_a2b', 'KID_b2a',
                                    'KID_a2b_std', 'KID_b2a_std'}
    for key in ('FID_a2b', 'FID_b2a'):  # FID is symmetric
        assert abs(fixture_metrics[key] - expected) <= REL_TOL * expected
    assert all(isinstance(v, float) for v in fixture_metrics.values())


# ------------------------------------------------------------------------ synthetic, dims 192

N_A, N_B, SIZE, DIMS = 6, 4, 24, 192


@pytest.fixture(scope='module')
def synthetic():
    """Dataset of length max(|A|, |B|) = 6 whose B side repeats (index % 4), as in testing."""
    g = torch.Generator().manual_seed(0)

    def rand(offset):
        return [torch.randint(0, 256, (3, SIZE, SIZE), dtype=torch.uint8, generator=g)
                .clamp_(offset, 255) for _ in range(6)]

    real_a, fake_b, real_b, fake_a = rand(0)[:N_A], rand(60)[:N_A], rand(0)[:N_B], rand(120)[:N_B]
    samples = [_sample(f'A/{i:02d}.png', f'B/{i % N_B:02d}.png', real_a[i], fake_b[i],
                       real_b[i % N_B], fake_a[i % N_B]) for i in range(N_A)]
    return samples, {'real_A': real_a, 'fake_B': fake_b, 'real_B': real_b, 'fake_A': fake_a}


@pytest.fixture(scope='module')
def model(weights_file):
    return load_inception(weights_file)


@pytest.fixture(scope='module')
def direct_features(model, synthetic):
    _, images = synthetic
    return {k: inception_features(model, torch.stack(v), dims=(DIMS,))
            for k, v in images.items()}


@pytest.fixture(scope='module')
def synthetic_metrics(synthetic, weights_file):
    samples, _ = synthetic
    metric = TranslationFIDKID(inception_weights=weights_file, inception_score=True, is_splits=2,
                               dims=DIMS, **KID_KW)
    assert TranslationFIDKID().dims == 2048  # the default, what papers report
    calls = []
    original = metric._features
    metric._features = lambda images: calls.append(len(images)) or original(images)
    out = _run(metric, samples, batch=4)
    return out, calls


def _expected(direct_features, fake, real):
    f = direct_features[fake][DIMS].astype(np.float64)
    r = direct_features[real][DIMS].astype(np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        fid = frechet_distance(*compute_statistics(f), *compute_statistics(r))
        kid = kernel_inception_distance(f, r, num_subsets=KID_KW['kid_subsets'],
                                        subset_size=KID_KW['kid_subset_size'],
                                        seed=KID_KW['kid_seed'])
    return fid, kid


def test_each_image_goes_through_inception_once(synthetic_metrics):
    _, calls = synthetic_metrics
    assert sum(calls) == 2 * N_A + 2 * N_B  # repeated B paths are not recomputed


@pytest.mark.parametrize('direction,fake,real', [('a2b', 'fake_B', 'real_B'),
                                                 ('b2a', 'fake_A', 'real_A')])
def test_metric_equals_direct_computation(synthetic_metrics, direct_features, direction, fake,
                                          real):
    out, _ = synthetic_metrics
    fid, kid = _expected(direct_features, fake, real)
    assert out[f'FID_{direction}'] == pytest.approx(fid, rel=1e-6)
    assert out[f'KID_{direction}'] == pytest.approx(kid['mean'], rel=1e-6, abs=1e-9)
    assert out[f'KID_{direction}_std'] == pytest.approx(kid['std'], rel=1e-6, abs=1e-9)
    assert np.isfinite(out[f'IS_{direction}']) and out[f'IS_{direction}'] >= 1.0


def test_real_images_from_a_cached_folder_or_stats_file(synthetic, synthetic_metrics,
                                                        weights_file, model, tmp_path):
    """real_folder_B (PNG, lossless) and real_stats_B give the same numbers as in-sample reals."""
    samples, images = synthetic
    folder = tmp_path / 'testB'
    folder.mkdir()
    for i, img in enumerate(images['real_B']):
        cv2.imwrite(str(folder / f'{i:02d}.png'), img.permute(1, 2, 0).numpy()[..., ::-1])
    common = dict(inception_weights=weights_file, directions=('a2b',), dims=DIMS, **KID_KW)
    from_folder = _run(TranslationFIDKID(real_folder_B=str(folder),
                                         stats_cache_dir=str(tmp_path / 'cache'), **common),
                       samples)
    assert len(list((tmp_path / 'cache').glob('*.npz'))) == 1
    expected, _ = synthetic_metrics
    assert set(from_folder) == {'FID_a2b', 'KID_a2b', 'KID_a2b_std'}
    for key in from_folder:
        assert from_folder[key] == pytest.approx(expected[key], rel=1e-6, abs=1e-9)

    feats = inception_features(model, torch.stack(images['real_B']), dims=(DIMS,))[DIMS]
    save_stats(tmp_path / 'b.npz', *compute_statistics(feats), features=feats)
    from_stats = _run(TranslationFIDKID(real_stats_B=str(tmp_path / 'b.npz'), **common), samples)
    for key in from_stats:
        assert from_stats[key] == pytest.approx(expected[key], rel=1e-6, abs=1e-9)

    np.savez(tmp_path / 'b_no_features.npz', mu=feats.mean(0), sigma=np.cov(feats, rowvar=False))
    fid_only = _run(TranslationFIDKID(real_stats_B=str(tmp_path / 'b_no_features.npz'),
                                      **common), samples)
    assert set(fid_only) == {'FID_a2b'}  # KID needs features: skipped with a warning


def test_registry_prefix_and_variants(weights_file, synthetic, caplog):
    samples, _ = synthetic
    cfg = dict(inception_weights=weights_file, dims=64, **KID_KW)
    with caplog.at_level(logging.WARNING):
        metric = METRICS.build(dict(type='TranslationFIDKID', **cfg))
    assert isinstance(metric, TranslationFIDKID)
    assert 'prefix is not set' not in caplog.text
    prefixed = METRICS.build(dict(type='TranslationFID', prefix='trans', **cfg))
    assert isinstance(prefixed, TranslationFID)
    assert set(_run(prefixed, samples)) == {'trans/FID_a2b', 'trans/FID_b2a'}
    kid_only = METRICS.build(dict(type='TranslationKID', directions=['b2a'], **cfg))
    assert isinstance(kid_only, TranslationKID)
    assert set(_run(kid_only, samples)) == {'KID_b2a', 'KID_b2a_std'}


def test_bad_inputs_are_rejected(weights_file, synthetic):
    samples, _ = synthetic
    with pytest.raises(ValueError, match='directions'):
        TranslationFIDKID(directions=('x2y',))
    with pytest.raises(ValueError, match='not both'):
        TranslationFIDKID(real_stats_A='a.npz', real_folder_A='a')
    metric = TranslationFIDKID(inception_weights=weights_file, dims=64)
    bad = dict(samples[0], fake_B=samples[0]['fake_B'].float() / 255)
    with pytest.raises(TypeError, match='fake_B must be a uint8'):
        metric.process({}, [bad])
    no_path = {k: v for k, v in samples[0].items() if k != 'img_B_path'}
    with pytest.raises(KeyError, match='img_B_path'):
        metric.process({}, [no_path])


def test_works_inside_an_mmengine_evaluator(weights_file, synthetic):
    """As the runner uses it: Evaluator.process(data_samples, data_batch) + evaluate(size)."""
    from mmengine.evaluator import Evaluator
    samples, _ = synthetic
    evaluator = Evaluator([dict(type='cyclegan_plugin.TranslationFIDKID', dims=64,
                                inception_weights=weights_file, **KID_KW)])
    for i in range(0, len(samples), 4):
        evaluator.process(data_samples=samples[i:i + 4], data_batch={})
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        metrics = evaluator.evaluate(len(samples))
    assert {'FID_a2b', 'FID_b2a', 'KID_a2b', 'KID_b2a'} <= set(metrics)
