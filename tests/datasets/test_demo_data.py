"""The mini horse2zebra generator: layout, determinism, masks, ground truth, caching, CLI."""
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from cyclegan_plugin.demo import data as demo_data
from cyclegan_plugin.demo.data import build_demo_dataset, render_scene

REPO = Path(__file__).resolve().parents[2]
SMALL = dict(size=32, num_train=8, num_test=4, seed=3)
ALL_DIRS = ('trainA', 'trainB', 'testA', 'testB',
            'testA_mask', 'testB_mask', 'testB_gt_A', 'testA_gt_B')


def tree_hashes(root) -> dict:
    out = {}
    for dirpath, _, files in os.walk(root):
        for name in files:
            path = os.path.join(dirpath, name)
            with open(path, 'rb') as f:
                out[os.path.relpath(path, root)] = hashlib.sha256(f.read()).hexdigest()
    return out


def rgb(path) -> np.ndarray:
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert img is not None, path
    return img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


@pytest.fixture(scope='module')
def small_set(tmp_path_factory):
    root = tmp_path_factory.mktemp('h2z') / 'mini'
    summary = build_demo_dataset(str(root), **SMALL)
    return root, summary


def test_layout_and_counts(small_set):
    root, summary = small_set
    assert summary['skipped'] is False
    for sub in ALL_DIRS:
        n = SMALL['num_train'] if sub.startswith('train') else SMALL['num_test']
        assert len(os.listdir(root / sub)) == n, sub
        assert summary['counts'][sub] == n
    assert sorted(os.listdir(root / 'trainA'))[0] == 'horse_0000.png'
    assert sorted(os.listdir(root / 'trainB'))[0] == 'zebra_0000.png'
    for d, other in (('A', 'B'), ('B', 'A')):
        names = sorted(os.listdir(root / f'test{d}'))
        assert sorted(os.listdir(root / f'test{d}_mask')) == names
        assert sorted(os.listdir(root / f'test{d}_gt_{other}')) == names
    img = rgb(root / 'trainA' / 'horse_0000.png')
    assert img.shape == (32, 32, 3) and img.dtype == np.uint8
    meta = json.loads((root / 'meta.json').read_text())
    assert meta['seed'] == 3 and meta['size'] == 32 and meta['num_train'] == 8
    assert meta['num_test'] == 4 and meta['version'] == demo_data.GENERATOR_VERSION


def test_masks_and_ground_truth(small_set):
    root, _ = small_set
    for d, other in (('A', 'B'), ('B', 'A')):
        for name in sorted(os.listdir(root / f'test{d}')):
            mask = rgb(root / f'test{d}_mask' / name)
            assert mask.ndim == 2 and mask.dtype == np.uint8
            assert set(np.unique(mask)) <= {0, 255}
            fg = mask > 0
            assert 0.10 < fg.mean() < 0.40          # the animal is large enough to learn
            img = rgb(root / f'test{d}' / name).astype(int)
            gt = rgb(root / f'test{d}_gt_{other}' / name).astype(int)
            # same scene: identical background (exactly, outside the mask), different coat
            assert np.array_equal(img[~fg], gt[~fg])
            inner = cv2.erode(fg.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
            assert np.abs(img[inner] - gt[inner]).mean() > 20


def test_coats_look_right(small_set):
    """Horses: smooth, brownish bodies; zebras: high-contrast black and white bodies."""
    root, _ = small_set
    for name in sorted(os.listdir(root / 'testA')):
        img = rgb(root / 'testA' / name).astype(float)
        body = img[rgb(root / 'testA_mask' / name) > 0]
        r, g, b = body.mean(0)
        assert r > g > b
        zebra = rgb(root / 'testA_gt_B' / name).astype(float)[rgb(root / 'testA_mask' / name) > 0]
        assert zebra.mean(1).std() > 3 * body.mean(1).std()
    for name in sorted(os.listdir(root / 'testB')):
        body = rgb(root / 'testB' / name).astype(float)[rgb(root / 'testB_mask' / name) > 0]
        lum = body.mean(1)
        assert lum.min() < 80 and lum.max() > 180


def test_same_seed_is_byte_identical(small_set, tmp_path):
    root, _ = small_set
    other = tmp_path / 'again'
    build_demo_dataset(str(other), **SMALL)
    assert tree_hashes(root) == tree_hashes(other)
    different = tmp_path / 'seed4'
    build_demo_dataset(str(different), **dict(SMALL, seed=4))
    h1, h2 = tree_hashes(root), tree_hashes(different)
    assert h1.keys() == h2.keys()
    assert all(h1[k] != h2[k] for k in h1 if k.endswith('.png'))


def test_scene_is_independent_of_order(small_set):
    """Each file depends only on (seed, domain, split, index): workers or order do not matter."""
    root, _ = small_set
    late = render_scene(3, 'B', 'test', 2, size=32, render_other=True)
    render_scene(3, 'A', 'train', 5, size=32)
    early = render_scene(3, 'B', 'test', 2, size=32, render_other=True)
    for key in ('image', 'mask', 'other'):
        assert np.array_equal(late[key], early[key])
    assert np.array_equal(late['image'], rgb(root / 'testB' / 'zebra_0002.png'))
    assert np.array_equal(late['mask'], rgb(root / 'testB_mask' / 'zebra_0002.png'))
    assert np.array_equal(late['other'], rgb(root / 'testB_gt_A' / 'zebra_0002.png'))
    # A and B are independent draws (unpaired), train and test too
    a = render_scene(3, 'A', 'test', 2, size=32)['mask']
    t = render_scene(3, 'B', 'train', 2, size=32)['mask']
    assert not np.array_equal(a, late['mask']) and not np.array_equal(t, late['mask'])


def test_skip_force_and_regenerate(tmp_path):
    root = tmp_path / 'set'
    first = build_demo_dataset(str(root), **SMALL)
    hashes = tree_hashes(root)
    mtime = os.path.getmtime(root / 'testA' / 'horse_0000.png')
    again = build_demo_dataset(str(root), **SMALL)
    assert again['skipped'] is True and first['skipped'] is False
    assert os.path.getmtime(root / 'testA' / 'horse_0000.png') == mtime
    forced = build_demo_dataset(str(root), force=True, **SMALL)
    assert forced['skipped'] is False and tree_hashes(root) == hashes
    # a missing file or different parameters trigger regeneration
    os.remove(root / 'trainB' / 'zebra_0001.png')
    assert build_demo_dataset(str(root), **SMALL)['skipped'] is False
    assert tree_hashes(root) == hashes
    smaller = build_demo_dataset(str(root), **dict(SMALL, num_train=3))
    assert smaller['skipped'] is False
    assert len(os.listdir(root / 'trainA')) == 3   # stale files of the old set are gone
    assert json.loads((root / 'meta.json').read_text())['num_train'] == 3


def test_refuses_foreign_folder(tmp_path):
    root = tmp_path / 'foreign'
    (root / 'trainA').mkdir(parents=True)
    cv2.imwrite(str(root / 'trainA' / 'horse_0000.png'), np.zeros((4, 4, 3), np.uint8))
    (root / 'trainA' / 'keep.jpg').write_bytes(b'x')
    with pytest.raises(FileExistsError):
        build_demo_dataset(str(root), **SMALL)
    build_demo_dataset(str(root), force=True, **SMALL)
    assert (root / 'trainA' / 'keep.jpg').exists()   # only our own file names are touched


def test_bad_parameters(tmp_path):
    with pytest.raises(ValueError):
        build_demo_dataset(str(tmp_path / 'x'), size=8)


def test_fallback_silhouette_without_skimage(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(demo_data, '_SILHOUETTE_CACHE', {})
    monkeypatch.setitem(sys.modules, 'skimage.data', None)    # import -> ImportError
    sil, source = demo_data.load_silhouette()
    assert source == 'cv2-fallback' and 'differ' in caplog.text
    assert sil.dtype == bool and 0.3 < sil.mean() < 0.7
    summary = build_demo_dataset(str(tmp_path / 'fb'), size=32, num_train=1, num_test=2)
    assert summary['silhouette'] == 'cv2-fallback'
    mask = rgb(tmp_path / 'fb' / 'testA_mask' / 'horse_0000.png') > 0
    assert 0.10 < mask.mean() < 0.40


def test_skimage_silhouette_polarity():
    pytest.importorskip('skimage')
    sil, source = demo_data.load_silhouette()
    assert source == 'skimage.data.horse'
    # cropped to the horse: True (horse) touches every border, and is the minority
    assert sil[0].any() and sil[-1].any() and sil[:, 0].any() and sil[:, -1].any()
    assert 0.3 < sil.mean() < 0.5


def test_cli(tmp_path):
    out = tmp_path / 'cli'
    cmd = [sys.executable, 'tools/make_demo_data.py', '--out', str(out), '--size', '32',
           '--num-train', '2', '--num-test', '1', '--seed', '5']
    res = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert 'wrote' in res.stdout and ' s' in res.stdout
    assert len(os.listdir(out / 'trainB')) == 2 and (out / 'meta.json').exists()
    res = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and 'nothing written' in res.stdout
    res = subprocess.run(cmd + ['--force'], cwd=REPO, capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0 and 'wrote' in res.stdout
