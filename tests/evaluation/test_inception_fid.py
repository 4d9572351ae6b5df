"""Our FID Inception against pytorch-fid 0.3.0's numbers (reference fixtures fid/, seeded weights).

Every expected value is read from the fixture files; tolerances are those of fid/README.md §6.
The network runs once per module over both folders for all four feature sizes.
"""
import hashlib
import json
import warnings

import numpy as np
import pytest
import torch

from cyclegan_plugin.evaluation import inception as inception_mod
from cyclegan_plugin.evaluation.fid import (compute_statistics, extract_folder_features,
                                            frechet_distance, inception_features,
                                            inception_score, list_images, read_image)
from cyclegan_plugin.evaluation.inception import (FID_WEIGHTS_FILENAME, WEIGHTS_ENV,
                                                  FIDInceptionV3, InceptionWeightsNotFound,
                                                  load_inception,
                                                  seeded_inception_state_dict)

DIMS = (64, 192, 768, 2048)
FEATURE_ATOL = 5e-5
STAT_ATOL = 1e-5
REL_TOL = 1e-5
FID_ABS_FLOOR = 1e-4


@pytest.fixture(scope='module')
def seed(results):
    return results['weights']['seed']


@pytest.fixture(scope='module')
def model(weights_file):
    return load_inception(str(weights_file))  # the default, channels_last path


@pytest.fixture(scope='module')
def folder_features(model, ref, results):
    """{'A'|'B': {dim: (64, dim) float64}} from one pass per folder over all dims."""
    out = {}
    for side in 'AB':
        res = extract_folder_features(ref / results['images'][side]['folder'], model, dims=DIMS,
                                      batch_size=results['pytorch_fid_call']['batch_size'],
                                      num_workers=0, progress=False)
        assert [p.name for p in res.files] == results['images'][side]['files_in_order']
        out[side] = res.features
    return out


def _rel(a, b):
    return abs(a - b) / max(abs(b), 1e-12)


# ------------------------------------------------------------------------ architecture / weights

def test_state_dict_keys_shapes_and_order_match_pytorch_fid(ref):
    expected = json.loads((ref / 'inception_keys.json').read_text())
    with torch.device('meta'):
        sd = FIDInceptionV3().state_dict()
    assert [[k, list(v.shape)] for k, v in sd.items()] == expected


def test_seeded_weights_match_tensor_by_tensor(ref, seed):
    expected = json.loads((ref / 'inception_tensor_sha256.json').read_text())
    state = seeded_inception_state_dict(seed)
    assert list(state) == [k for k, _ in expected]
    bad = [k for k, digest in expected
           if hashlib.sha256(state[k].contiguous().numpy().tobytes()).hexdigest() != digest]
    assert not bad, f'{len(bad)} tensors differ, first {bad[:3]}'
    assert state['Conv2d_1a_3x3.conv.weight'].dtype == torch.float32
    assert state['fc.bias'].dtype == torch.float32


def test_weights_load_strictly_and_model_is_frozen(model):
    assert not model.training
    assert not any(p.requires_grad for p in model.parameters())


# ------------------------------------------------------------------------ features and statistics

@pytest.mark.parametrize('side', 'AB')
@pytest.mark.parametrize('dims', DIMS)
def test_first8_features_match(folder_features, ref, side, dims):
    expected = np.load(ref / 'features' / f'features_{side}_first8_dims{dims}.npy')
    got = folder_features[side][dims][:len(expected)]
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, expected, rtol=0, atol=FEATURE_ATOL)


@pytest.mark.parametrize('side', 'AB')
def test_all_2048_features_match_stored_float32(folder_features, ref, side):
    expected = np.load(ref / 'features' / f'features_{side}_all64_dims2048_float32.npy')
    np.testing.assert_allclose(folder_features[side][2048], expected, rtol=0, atol=FEATURE_ATOL)


@pytest.mark.parametrize('side', 'AB')
@pytest.mark.parametrize('dims', DIMS)
def test_mu_sigma_match(folder_features, ref, results, side, dims):
    mu, sigma = compute_statistics(folder_features[side][dims])
    np.testing.assert_allclose(mu, np.load(ref / 'stats' / f'mu_{side}_dims{dims}.npy'),
                               rtol=0, atol=STAT_ATOL)
    stats = results['stats'][side][str(dims)]
    if dims == 2048:  # the full 2048x2048 sigma is not shipped
        expected_block = np.load(ref / 'stats' / f'sigma_{side}_dims2048_first8x8.npy')
        np.testing.assert_allclose(expected_block, np.asarray(stats['sigma_first8x8']),
                                   rtol=0, atol=0)
        np.testing.assert_allclose(sigma[:8, :8], expected_block, rtol=0, atol=STAT_ATOL)
    elif (ref / 'stats' / f'sigma_{side}_dims{dims}.npy').is_file():
        # a trimmed set keeps the small ones (tools/trim_reference_fixtures.py); the trace
        # below and FID check every dims
        np.testing.assert_allclose(sigma, np.load(ref / 'stats' / f'sigma_{side}_dims{dims}.npy'),
                                   rtol=0, atol=STAT_ATOL)
    assert _rel(np.trace(sigma), stats['trace_sigma']) <= REL_TOL


@pytest.mark.parametrize('dims', [64, 192, 768, pytest.param(2048, marks=pytest.mark.slow)])
def test_fid_matches_pytorch_fid(folder_features, results, dims):
    stats_a = compute_statistics(folder_features['A'][dims])
    stats_b = compute_statistics(folder_features['B'][dims])
    expected = results['fid'][str(dims)]
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # singular covariances (64 images), as in pytorch-fid
        fid = frechet_distance(*stats_a, *stats_b)
        # FID(A, A) = 0 up to rounding; checked where scipy's sqrtm is cheap (at 768/2048 one
        # sqrtm takes 5-40 s on a busy 2-core machine).
        fid_aa = frechet_distance(*stats_a, *stats_a) if dims < 768 else 0.0
    assert abs(fid - expected['FID_A_B']) <= max(REL_TOL * abs(expected['FID_A_B']), FID_ABS_FLOOR)
    mean_term = np.sum((stats_a[0] - stats_b[0]) ** 2)
    assert _rel(mean_term, expected['mean_term_|muA-muB|^2']) <= REL_TOL
    assert _rel(np.trace(stats_a[1]) + np.trace(stats_b[1]),
                expected['trace_term_trA+trB']) <= REL_TOL
    assert abs(fid_aa) <= FID_ABS_FLOOR


def test_nchw_path_matches_too(weights_file, ref, results):
    """The bare (NCHW, pytorch-fid-like) module is within tolerance as well."""
    model = FIDInceptionV3()
    model.load_state_dict(torch.load(weights_file, weights_only=True), strict=True)
    assert not model.channels_last
    files = list_images(ref / results['images']['A']['folder'])[:8]
    images = torch.stack([torch.from_numpy(read_image(f).copy()).permute(2, 0, 1) for f in files])
    feats = inception_features(model, images, dims=(64, 2048))
    for dims in (64, 2048):
        expected = np.load(ref / 'features' / f'features_A_first8_dims{dims}.npy')
        np.testing.assert_allclose(feats[dims], expected, rtol=0, atol=FEATURE_ATOL)


# ------------------------------------------------------------------------ forward API

def test_single_and_multi_dim_outputs_agree(model, ref, results):
    files = list_images(ref / results['images']['B']['folder'])[:4]
    images = torch.stack([torch.from_numpy(read_image(f).copy()).permute(2, 0, 1) for f in files])
    both = inception_features(model, images, dims=(192, 64))
    only = inception_features(model, images, dims=(64,))
    assert set(both) == {64, 192} and set(only) == {64}
    np.testing.assert_array_equal(both[64], only[64])
    with pytest.raises(ValueError, match='dims'):
        model(torch.zeros(1, 3, 8, 8), dims=(100,))


def test_batched_extraction_with_workers_equals_one_image_at_a_time(model, ref, results):
    """The fast path (batches of 50, channels_last, images decoded in DataLoader workers)
    gives the features of the plain path: one image per call, NCHW, decoded in this
    process."""
    folder = ref / results['images']['A']['folder']
    fast = extract_folder_features(folder, model, dims=(2048,), batch_size=50, num_workers=2,
                                   progress=False)
    plain_model = FIDInceptionV3()
    plain_model.load_state_dict(model.state_dict())
    plain_model.eval()
    assert not plain_model.channels_last
    plain = extract_folder_features(folder, plain_model, dims=(2048,), batch_size=1,
                                    num_workers=0, progress=False)
    assert fast.files == plain.files and len(fast.files) > 50
    np.testing.assert_allclose(fast.features[2048], plain.features[2048], rtol=0, atol=1e-5)


def test_mixed_sizes_equal_per_image_results(model):
    """A list of differently sized images gives each image its equal-size-batch features."""
    g = torch.Generator().manual_seed(0)
    small = torch.randint(0, 256, (3, 40, 48), dtype=torch.uint8, generator=g)
    large = torch.randint(0, 256, (3, 64, 64), dtype=torch.uint8, generator=g)
    mixed = inception_features(model, [small, large], dims=(64,))[64]
    one = inception_features(model, small[None], dims=(64,))[64]
    two = inception_features(model, large[None], dims=(64,))[64]
    np.testing.assert_allclose(mixed, np.concatenate([one, two]), rtol=0, atol=1e-6)


def test_logits_and_inception_score(model, folder_features, ref, results):
    files = list_images(ref / results['images']['A']['folder'])[:10]
    images = torch.stack([torch.from_numpy(read_image(f).copy()).permute(2, 0, 1) for f in files])
    out = inception_features(model, images, dims=(2048,), logits=True)
    assert out['logits'].shape == (10, 1008)
    np.testing.assert_allclose(out[2048], folder_features['A'][2048][:10], rtol=0,
                               atol=FEATURE_ATOL)
    # logits are fc(pooled 2048-d features)
    sd = model.state_dict()
    manual = out[2048].astype(np.float64) @ sd['fc.weight'].double().numpy().T \
        + sd['fc.bias'].double().numpy()
    np.testing.assert_allclose(out['logits'], manual, rtol=0, atol=1e-4)
    mean, std = inception_score(out['logits'], splits=2)
    assert np.isfinite(mean) and mean >= 1.0 and std >= 0


# ------------------------------------------------------------------------ weight discovery

@pytest.fixture
def no_weights_anywhere(tmp_path, monkeypatch):
    monkeypatch.delenv(WEIGHTS_ENV, raising=False)
    monkeypatch.setattr(torch.hub, 'get_dir', lambda: str(tmp_path / 'hub'))

    def offline(*args, **kwargs):
        raise OSError('network unreachable (test)')

    monkeypatch.setattr(torch.hub, 'download_url_to_file', offline)
    return tmp_path / 'hub'


def test_missing_weights_raise_one_clear_error(no_weights_anywhere):
    with pytest.raises(InceptionWeightsNotFound) as info:
        load_inception()
    msg = str(info.value)
    assert FID_WEIGHTS_FILENAME in msg
    assert WEIGHTS_ENV in msg
    assert str(no_weights_anywhere / 'checkpoints' / FID_WEIGHTS_FILENAME) in msg
    assert inception_mod.FID_WEIGHTS_URL in msg
    assert 'network unreachable' in msg


def test_explicit_and_env_paths_that_do_not_exist(no_weights_anywhere, monkeypatch, tmp_path):
    with pytest.raises(InceptionWeightsNotFound, match='nope.pth'):
        load_inception(str(tmp_path / 'nope.pth'))
    monkeypatch.setenv(WEIGHTS_ENV, str(tmp_path / 'env.pth'))
    with pytest.raises(InceptionWeightsNotFound, match=WEIGHTS_ENV):
        load_inception()


def test_weights_found_via_env_then_hub_cache(no_weights_anywhere, monkeypatch, weights_file):
    monkeypatch.setenv(WEIGHTS_ENV, str(weights_file))
    assert isinstance(load_inception(channels_last=False), FIDInceptionV3)
    monkeypatch.delenv(WEIGHTS_ENV)
    hub_file = no_weights_anywhere / 'checkpoints' / FID_WEIGHTS_FILENAME
    hub_file.parent.mkdir(parents=True)
    hub_file.symlink_to(weights_file)
    model = load_inception(channels_last=False)
    assert torch.equal(model.Conv2d_1a_3x3.conv.weight,
                       torch.load(weights_file, weights_only=True)['Conv2d_1a_3x3.conv.weight'])
