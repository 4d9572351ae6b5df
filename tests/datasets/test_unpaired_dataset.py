"""UnpairedImageDataset over real folders in tmp_path, and the base data config."""
import random
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from cyclegan_plugin.datasets.transforms import BadImageError, build_pipeline
from cyclegan_plugin.datasets.unpaired_dataset import UnpairedImageDataset, make_dataset

CONFIG = Path(__file__).resolve().parents[2] / 'configs' / '_base_' / 'datasets' / 'unpaired_256.py'
SIMPLE = [dict(type='LoadImage'), dict(type='PackImage')]


def write(path, value, size=(6, 8)):
    """A small solid image whose red channel encodes ``value`` (to tell files apart); written
    by cv2 in BGR order, it comes out of the data set as RGB with ``value`` in channel 0."""
    path.parent.mkdir(parents=True, exist_ok=True)
    img = np.zeros(size + (3,), np.uint8)
    img[..., 2] = value
    assert cv2.imwrite(str(path), img)
    return str(path)


@pytest.fixture
def root(tmp_path):
    """trainA: 3 images (one in a subfolder, mixed case, plus a non-image); trainB: 5."""
    r = tmp_path / 'horse2zebra'
    write(r / 'trainA' / 'a0.png', 10)
    write(r / 'trainA' / 'a1.PNG', 11)
    write(r / 'trainA' / 'sub' / 'a2.bmp', 12)
    (r / 'trainA' / 'notes.txt').write_text('not an image')
    for i in range(5):
        write(r / 'trainB' / f'b{i}.png', 20 + i)
    write(r / 'testA' / 'ta0.png', 30)
    write(r / 'testA' / 'ta1.png', 31)
    write(r / 'testB' / 'tb0.png', 40)
    return r


def build(root, **kwargs):
    kwargs.setdefault('pipeline', SIMPLE)
    return UnpairedImageDataset(data_root=str(root), **kwargs)


def test_listing_length_and_a_indexing(root):
    ds = build(root)
    assert ds.A_paths == sorted(str(root / 'trainA' / n) for n in
                                ('a0.png', 'a1.PNG', 'sub/a2.bmp'))
    assert ds.B_size == 5 and len(ds) == 5  # max(|A|, |B|)
    for idx in range(5):
        assert ds[idx]['data_samples']['img_A_path'] == ds.A_paths[idx % 3]


def test_item_structure_types_and_shapes(root):
    item = build(root, pipeline=build_pipeline('resize_and_crop', 40, 32))[0]
    assert set(item) == {'inputs', 'data_samples'}
    assert set(item['inputs']) == {'img_A', 'img_B'}
    assert set(item['data_samples']) == {'img_A_path', 'img_B_path'}
    for key in ('img_A', 'img_B'):
        img = item['inputs'][key]
        assert isinstance(img, torch.Tensor) and img.dtype == torch.uint8
        assert tuple(img.shape) == (3, 32, 32)
    assert isinstance(item['data_samples']['img_B_path'], str)
    # BGR: the blue channel holds the marker value
    assert item['inputs']['img_A'][0].unique().tolist() == [10]
    assert item['inputs']['img_A'][1:].max() == 0


def test_random_partner_uses_python_random(root):
    ds = build(root)
    random.seed(123)
    got = [ds[0]['data_samples']['img_B_path'] for _ in range(25)]
    random.seed(123)
    expected = [ds.B_paths[random.randint(0, 4)] for _ in range(25)]
    assert got == expected
    assert len(set(got)) > 1


@pytest.mark.parametrize('kwargs', [dict(serial_batches=True), dict(test_mode=True)])
def test_serial_partner(root, kwargs):
    ds = build(root, **kwargs)
    for idx in range(len(ds)):
        item = ds[idx]
        assert item['data_samples']['img_B_path'] == ds.B_paths[idx % 5]
        assert item['inputs']['img_B'][0, 0, 0] == 20 + idx % 5


def test_direction_btoa_swaps_folders(root):
    ds = build(root, direction='BtoA', serial_batches=True)
    assert ds.A_size == 5 and ds.B_size == 3 and len(ds) == 5
    item = ds[4]
    assert item['data_samples']['img_A_path'] == str(root / 'trainB' / 'b4.png')
    assert item['data_samples']['img_B_path'] == ds.B_paths[4 % 3]
    assert 'trainA' in ds.B_paths[0]
    with pytest.raises(ValueError):
        build(root, direction='AB')


def test_max_dataset_size_keeps_first_sorted(root):
    ds = build(root, max_dataset_size=2)
    assert ds.A_paths == sorted(ds.A_paths) and ds.A_size == 2
    assert ds.B_paths == [str(root / 'trainB' / f'b{i}.png') for i in range(2)]
    assert len(ds) == 2


def test_test_phase_and_explicit_folders(root):
    ds = build(root, phase='test', test_mode=True)
    assert (ds.A_size, ds.B_size, len(ds)) == (2, 1, 2)
    assert ds[1]['data_samples']['img_B_path'] == str(root / 'testB' / 'tb0.png')
    ds = build(root, folder_A='testA', folder_B=str(root / 'trainB'))
    assert (ds.A_size, ds.B_size) == (2, 5)
    ds = UnpairedImageDataset(folder_A=str(root / 'trainA'), folder_B=str(root / 'testB'),
                              pipeline=SIMPLE)
    assert (ds.A_size, ds.B_size) == (3, 1)


def test_each_domain_gets_its_own_random_params(tmp_path):
    """The same picture in both domains: independent crops make A and B differ sometimes."""
    img = np.random.RandomState(0).randint(0, 256, (16, 16, 3), dtype=np.uint8)
    for d in ('trainA', 'trainB'):
        (tmp_path / d).mkdir()
        cv2.imwrite(str(tmp_path / d / 'x.png'), img)
    pipeline = [dict(type='LoadImage'), dict(type='RandomCrop', crop_size=8),
                dict(type='PackImage')]
    ds = build(tmp_path, pipeline=pipeline)
    items = [ds[0]['inputs'] for _ in range(10)]
    assert any(not torch.equal(it['img_A'], it['img_B']) for it in items)


def test_pipeline_b_and_gray_domain(root):
    ds = build(root, pipeline_B=build_pipeline('none', input_nc=1))
    item = ds[0]['inputs']
    assert item['img_A'].shape[0] == 3 and item['img_B'].shape[0] == 1
    ds = build(root, pipeline=build_pipeline('resize_and_crop', 36, 32, input_nc=1))
    assert ds[0]['inputs']['img_A'].shape == (1, 32, 32)


def test_pipeline_must_pack(root):
    with pytest.raises(TypeError, match='PackImage'):
        build(root, pipeline=[dict(type='LoadImage')])[0]


# ---------------------------------------------------------------- errors

def test_missing_folder_says_what_to_put_there(root, tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        build(root, phase='val')
    msg = str(info.value)
    assert str(root / 'valA') in msg and 'domain-A validation images' in msg
    assert 'trainA/, trainB/, testA/, testB/' in msg

    (tmp_path / 'only_a' / 'trainA').mkdir(parents=True)
    write(tmp_path / 'only_a' / 'trainA' / 'x.png', 1)
    with pytest.raises(FileNotFoundError, match='domain-B training images in .*trainB'):
        build(tmp_path / 'only_a')
    with pytest.raises(FileNotFoundError, match='domain-B training images in .*trainB'):
        build(tmp_path / 'only_a', direction='BtoA')


@pytest.mark.parametrize('content', ['empty', 'non_images'])
def test_folder_without_images(tmp_path, root, content):
    empty = tmp_path / 'emptyB'
    empty.mkdir()
    if content == 'non_images':
        (empty / 'readme.txt').write_text('hi')
        (empty / 'img.gif').write_bytes(b'GIF89a')
        (empty / 'sub').mkdir()
    with pytest.raises(FileNotFoundError) as info:
        build(root, folder_B=str(empty))
    assert f'no images in {empty}' in str(info.value)
    assert 'put the domain-B training images in' in str(info.value)


def test_lazy_init_lists_on_demand(root, tmp_path):
    ds = build(tmp_path / 'nowhere', lazy_init=True)  # nothing listed yet
    with pytest.raises(FileNotFoundError):
        ds.full_init()
    ds = build(root, lazy_init=True)
    assert ds.A_size == 0
    ds.full_init()
    assert len(ds) == 5 and ds.A_size == 3


@pytest.mark.parametrize('kind', ['zero_byte', 'truncated', 'text'])
def test_unreadable_image_names_the_file(root, kind):
    bad = root / 'trainA' / 'a0.png'
    if kind == 'zero_byte':
        bad.write_bytes(b'')
    elif kind == 'truncated':
        write(bad, 5, size=(64, 64))
        bad.write_bytes(bad.read_bytes()[:100])
    else:
        bad.write_text('text with a .png name')
    ds = build(root, test_mode=True)
    with pytest.raises(BadImageError, match=str(bad)):
        ds[0]


def test_listing_is_fast_and_never_decodes(tmp_path):
    """10,000 zero-byte files: listing would fail if it opened them, and must be quick."""
    for d, n in (('trainA', 10000), ('trainB', 10)):
        (tmp_path / d).mkdir()
        for i in range(n):
            (tmp_path / d / f'{i:05d}.jpg').touch()
    start = time.perf_counter()
    assert len(make_dataset(str(tmp_path / 'trainA'))) == 10000
    ds = build(tmp_path)
    elapsed = time.perf_counter() - start
    assert len(ds) == 10000
    assert elapsed < 1.5, f'listing 10,000 files took {elapsed:.2f}s'


# ---------------------------------------------------------------- config and loader

def _config_for(root):
    from mmengine.config import Config
    cfg = Config.fromfile(str(CONFIG))
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[name].dataset.data_root = str(root)
    return cfg


def test_base_config_pipelines_match_build_pipeline():
    from mmengine.config import Config
    cfg = Config.fromfile(str(CONFIG))
    assert cfg.dataset_type == 'cyclegan_plugin.UnpairedImageDataset'
    assert (cfg.load_size, cfg.crop_size) == (286, 256)
    assert [dict(t) for t in cfg.train_pipeline] == build_pipeline('resize_and_crop', 286, 256)
    assert [dict(t) for t in cfg.test_pipeline] == build_pipeline('resize_and_crop', None, 256,
                                                                  phase='test')
    assert cfg.train_dataloader.sampler.type == 'mmengine.InfiniteSampler'
    assert cfg.val_dataloader.dataset.test_mode and cfg.test_dataloader.dataset.phase == 'test'


def test_base_config_builds_through_registry_and_loader(root):
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import DefaultScope
    from mmengine.runner import Runner

    from cyclegan_plugin.registry import DATASETS

    cfg = _config_for(root)
    with DefaultScope.overwrite_default_scope('cyclegan_plugin'):
        ds = DATASETS.build(cfg.train_dataloader.dataset)
        assert isinstance(ds, UnpairedImageDataset) and len(ds) == 5
        item = ds[0]
        assert item['inputs']['img_A'].shape == (3, 256, 256)
        assert item['inputs']['img_B'].dtype == torch.uint8

        val = DATASETS.build(cfg.val_dataloader.dataset)
        assert len(val) == 2 and val[1]['inputs']['img_B'].shape == (3, 256, 256)

        loader_cfg = cfg.train_dataloader.copy()
        loader_cfg.update(batch_size=2, num_workers=0, persistent_workers=False)
        loader = Runner.build_dataloader(loader_cfg, seed=0)
        assert getattr(loader.collate_fn, 'func', loader.collate_fn) is pseudo_collate
        batch = next(iter(loader))
    assert len(batch['inputs']['img_A']) == 2
    assert all(t.shape == (3, 256, 256) for t in batch['inputs']['img_B'])
    assert len(batch['data_samples']['img_A_path']) == 2
