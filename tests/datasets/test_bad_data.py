"""Bad data never hides: every kind of bad file either works or fails naming the file, and
``skip_bad_images=True`` skips it, reporting it once (issue #6, part 4).

Files with non-image extensions are not listed at all (``make_dataset`` goes by extension);
a non-image with an image extension is an error when it is loaded. JPEG has no checksum: a
file whose markers are intact but whose compressed data is damaged decodes to a damaged
picture, as with PIL in the reference; what the decoder can detect (truncation, a broken
header, random bytes) is an error naming the file.
"""
import logging
import os
import random
import shutil
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from cyclegan_plugin.datasets import transforms, unpaired_dataset
from cyclegan_plugin.datasets.transforms import (BadImageError, ImageTooSmallError,
                                                 build_pipeline)
from cyclegan_plugin.datasets.unpaired_dataset import UnpairedImageDataset

SIMPLE = [dict(type='LoadImage'), dict(type='PackImage')]
# random crop and flip: items depend on the NumPy random state as in training
RANDOM = [dict(type='LoadImage'), dict(type='RandomCrop', crop_size=6),
          dict(type='RandomFlip', prob=0.5, direction='horizontal'), dict(type='PackImage')]


def encode(path, img, ext=None):
    """Write ``img`` with cv2's encoder; bytes through Python so any path name works."""
    path.parent.mkdir(parents=True, exist_ok=True)
    ok, buf = cv2.imencode(ext or path.suffix, img)
    assert ok
    path.write_bytes(buf.tobytes())
    return str(path)


def solid(value, size=(8, 10)):
    """An image (BGR, for cv2's encoder) whose red channel is ``value``, to tell files apart:
    the data set hands it over as RGB, so channel 0 holds ``value``."""
    img = np.zeros(size + (3,), np.uint8)
    img[..., 2] = value
    return img


def noise(size=(32, 32), seed=0):
    return np.random.RandomState(seed).randint(0, 256, size + (3,), dtype=np.uint8)


def make_bad(path, kind):
    """Write a bad file of ``kind`` at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == 'truncated_png':
        encode(path, noise(), '.png')
        path.write_bytes(path.read_bytes()[:-100])
    elif kind == 'truncated_jpeg':
        encode(path, noise(), '.jpg')
        data = path.read_bytes()
        path.write_bytes(data[:len(data) // 2])
    elif kind == 'corrupt_png':  # one flipped byte in the pixel data: the CRC catches it
        encode(path, noise(), '.png')
        data = bytearray(path.read_bytes())
        data[data.find(b'IDAT') + 20] ^= 0xFF
        path.write_bytes(bytes(data))
    elif kind == 'corrupt_jpeg_header':
        encode(path, noise(), '.jpg')
        data = bytearray(path.read_bytes())
        sof = data.find(b'\xff\xc0')
        data[sof + 5:sof + 9] = bytes(4)  # a 0 x 0 frame
        path.write_bytes(bytes(data))
    elif kind == 'random_bytes':
        path.write_bytes(np.random.RandomState(1).bytes(5000))
    elif kind == 'zero_byte':
        path.write_bytes(b'')
    elif kind == 'text':
        path.write_text('name,value\nnot,an image\n')
    elif kind == 'float_tiff':  # decodes, but float pixels are not an image format we take
        ok, buf = cv2.imencode('.tiff', np.zeros((4, 4, 3), np.float32))
        path.write_bytes(buf.tobytes())
    elif kind == 'dangling_link':
        os.symlink(str(path) + '.gone', str(path))
    else:
        raise ValueError(kind)
    return str(path)


@pytest.fixture
def root(tmp_path):
    """trainA: a0..a3 (blue 10..13); trainB: b0..b2 (blue 20..22); all 8x10."""
    r = tmp_path / 'data'
    for i in range(4):
        encode(r / 'trainA' / f'a{i}.png', solid(10 + i))
    for i in range(3):
        encode(r / 'trainB' / f'b{i}.png', solid(20 + i))
    return r


def build(root, **kwargs):
    kwargs.setdefault('pipeline', SIMPLE)
    return UnpairedImageDataset(data_root=str(root), **kwargs)


@pytest.fixture
def warnings_log(monkeypatch):
    """What the data set reports through print_log, as (message, level)."""
    calls = []
    monkeypatch.setattr(unpaired_dataset, 'print_log',
                        lambda msg, logger=None, level=logging.INFO: calls.append((msg, level)))
    return calls


# ---------------------------------------------------------------- bad files name themselves

BAD_KINDS = {'truncated_png': 'a1.png', 'truncated_jpeg': 'a1.jpg',
             'corrupt_png': 'a1.png', 'corrupt_jpeg_header': 'a1.jpeg',
             'random_bytes': 'a1.jpg', 'zero_byte': 'a1.png', 'text': 'a1.png',
             'float_tiff': 'a1.tiff', 'dangling_link': 'a1.png'}


@pytest.mark.parametrize('kind', sorted(BAD_KINDS))
def test_bad_file_fails_naming_it_and_the_fix(root, kind):
    (root / 'trainA' / 'a1.png').unlink()
    bad = make_bad(root / 'trainA' / BAD_KINDS[kind], kind)
    ds = build(root, test_mode=True)
    assert ds.A_paths[1] == bad  # listed by its extension, not opened
    assert ds[0]['inputs']['img_A'].shape == (3, 8, 10)  # the others still load
    with pytest.raises(BadImageError) as info:
        ds[1]
    msg = str(info.value)
    assert bad in msg and info.value.path == bad
    assert 'skip_bad_images=True' in msg and 'remove the file' in msg


@pytest.mark.parametrize('test_mode', [False, True])
def test_bad_partner_in_domain_b_names_it(root, test_mode):
    bad = make_bad(root / 'trainB' / 'b0.png', 'zero_byte')
    ds = build(root, test_mode=test_mode, serial_batches=True)
    with pytest.raises(BadImageError, match='the file is empty') as info:
        ds[0]
    assert bad in str(info.value)


def test_files_without_image_extension_are_not_listed(root):
    """Notes, thumbnails databases, GIFs, hidden files: not listed, never opened. A folder
    named like an image is searched like any folder."""
    a = root / 'trainA'
    (a / 'notes.txt').write_text('hi')
    (a / 'Thumbs.db').write_bytes(b'\x00' * 10)
    (a / 'anim.gif').write_bytes(b'GIF89a')
    (a / 'a0.png.bak').write_bytes(b'')
    encode(a / 'album.png' / 'inner.JPG', solid(50))
    ds = build(root)
    assert [os.path.relpath(p, a) for p in ds.A_paths] == [
        'a0.png', 'a1.png', 'a2.png', 'a3.png', os.path.join('album.png', 'inner.JPG')]


# ---------------------------------------------------------------- images smaller than the crop

@pytest.mark.parametrize('preprocess,load_size,shape', [
    ('resize_and_crop', 40, (3, 32, 32)),  # the reference default: resized first
    ('scale_width_and_crop', 40, (3, 32, 32)),  # height raised to the crop size first
    ('none', None, (3, 8, 4)),  # no crop; sides rounded to multiples of 4
])
def test_small_images_work_where_the_reference_resizes_first(tmp_path, preprocess, load_size,
                                                             shape):
    for d in ('trainA', 'trainB'):
        encode(tmp_path / d / 'tiny.png', solid(77, size=(7, 5)))  # 5 wide, 7 high
    pipeline = build_pipeline(preprocess, load_size, 32, no_flip=True)
    img = build(tmp_path, pipeline=pipeline, test_mode=True)[0]['inputs']['img_A']
    assert img.dtype == torch.uint8 and tuple(img.shape) == shape
    assert (img[0] == 77).all() and (img[1:] == 0).all()


def test_smaller_than_crop_in_crop_mode_names_file_and_sizes(root):
    small = encode(root / 'trainA' / 'a2.png', solid(1, size=(20, 30)))  # 30 wide, 20 high
    for i in (0, 1, 3):
        encode(root / 'trainA' / f'a{i}.png', solid(1, size=(40, 40)))
    for i in range(3):
        encode(root / 'trainB' / f'b{i}.png', solid(1, size=(40, 40)))
    ds = build(root, pipeline=build_pipeline('crop', crop_size=32), test_mode=True)
    assert ds[1]['inputs']['img_A'].shape == (3, 32, 32)
    with pytest.raises(ImageTooSmallError) as info:
        ds[2]
    msg = str(info.value)
    assert isinstance(info.value, ValueError)  # as torchvision's RandomCrop
    assert small in msg and '30x20' in msg and '32x32' in msg and 'skip_bad_images' in msg


# ---------------------------------------------------------------- every pixel format

def test_pixel_formats_become_3_channel_uint8_rgb(tmp_path):
    """Gray, gray + alpha, RGBA, palette, 16-bit gray and colour, gray JPEG: each comes out
    as 3 x H x W uint8 in RGB order, as PIL's convert('RGB') makes it (16-bit gray clips at
    255, 16-bit colour keeps its high byte), through the data set and a resizing pipeline."""
    Image = pytest.importorskip('PIL.Image')
    a = tmp_path / 'trainA'
    encode(a / '0_gray.png', np.full((6, 9), 90, np.uint8))
    encode(a / '1_gray16.png', np.full((6, 9), 257 * 90, np.uint16))
    encode(a / '2_color16.png', np.dstack([np.full((6, 9), 257 * v, np.uint16)
                                           for v in (10, 20, 30)]))
    bgra = np.zeros((6, 9, 4), np.uint8)
    bgra[...] = (10, 20, 30, 0)  # transparent: colour kept, alpha dropped
    encode(a / '3_rgba.png', bgra)
    Image.fromarray(np.full((6, 9, 2), (90, 128), np.uint8), 'LA').save(a / '4_la.png')
    pal = Image.new('P', (9, 6))
    pal.putpalette([30, 20, 10] + [0] * 765)  # index 0 = RGB (30, 20, 10)
    pal.save(a / '5_palette.png')
    encode(a / '6_gray.jpg', np.full((6, 9), 90, np.uint8))
    encode(tmp_path / 'trainB' / 'b.png', solid(1))
    ds = build(tmp_path, pipeline=build_pipeline('resize_and_crop', 16, 12, no_flip=True),
               test_mode=True)
    expected = {'0_gray.png': (90, 90, 90), '1_gray16.png': (255, 255, 255),
                '2_color16.png': (30, 20, 10), '3_rgba.png': (30, 20, 10),
                '4_la.png': (90, 90, 90), '5_palette.png': (30, 20, 10),
                '6_gray.jpg': (90, 90, 90)}
    assert [os.path.basename(p) for p in ds.A_paths] == sorted(expected)
    for idx, name in enumerate(sorted(expected)):
        img = ds[idx]['inputs']['img_A']
        assert img.dtype == torch.uint8 and tuple(img.shape) == (3, 12, 12), name
        got = [int(v) for v in img.flatten(1).float().mean(1).round()]
        assert got == list(expected[name]), name
        assert (img.flatten(1).max(1).values - img.flatten(1).min(1).values).max() <= 1, name


# ---------------------------------------------------------------- unusual paths

def test_paths_with_spaces_and_non_ascii(tmp_path, warnings_log):
    root = tmp_path / 'my data é' / '日本 horse2zebra'
    good_a = encode(root / 'trainA' / 'cheval été 1.png', solid(11))
    encode(root / 'trainA' / 'sous dossier' / '馬 2.jpg', solid(12))
    bad = make_bad(root / 'trainA' / 'zèbre 日本 cassé.png', 'truncated_png')
    good_b = encode(root / 'trainB' / 'シマウマ 1.png', solid(21))
    ds = build(root, test_mode=True)
    assert ds.A_paths == sorted([good_a, str(root / 'trainA' / 'sous dossier' / '馬 2.jpg'),
                                 bad])
    item = ds[ds.A_paths.index(good_a)]
    assert item['data_samples']['img_A_path'] == good_a
    assert item['data_samples']['img_B_path'] == good_b
    assert item['inputs']['img_A'][0].unique().tolist() == [11]
    with pytest.raises(BadImageError) as info:
        ds[ds.A_paths.index(bad)]
    assert bad in str(info.value)

    skipping = build(root, test_mode=True, skip_bad_images=True)
    assert skipping[ds.A_paths.index(bad)]['data_samples']['img_A_path'] != bad
    assert list(skipping.bad_images) == [bad] and bad in warnings_log[0][0]


# ---------------------------------------------------------------- 100,000 files

@pytest.fixture
def roomy_tmp(tmp_path):
    """A folder in /dev/shm when there is one: creating 100,000 files on a disk that other
    jobs keep busy takes from 2 to 30 s, set-up time that says nothing about listing."""
    shm = '/dev/shm'
    if not (os.path.isdir(shm) and os.access(shm, os.W_OK)):
        yield tmp_path
        return
    folder = tempfile.mkdtemp(prefix='cyclegan_bad_data_', dir=shm)
    try:
        yield Path(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_folder_of_100000_files_lists_fast_and_lazily(roomy_tmp, monkeypatch):
    """Listing reads directory entries only: 100,000 zero-byte *.png (which would all fail to
    decode) list in well under the bound, and nothing is opened until an item is read."""
    folder = roomy_tmp / 'trainA'
    folder.mkdir()
    for i in range(100_000):
        os.close(os.open(str(folder / f'{i:06d}.png'), os.O_CREAT | os.O_WRONLY, 0o644))
    encode(roomy_tmp / 'trainB' / 'b.png', solid(1))

    opened = []  # LoadImage reads every file through mmengine.fileio.get
    monkeypatch.setattr(transforms.fileio, 'get', lambda path, **kw: opened.append(path))
    start = time.perf_counter()
    ds = build(roomy_tmp)
    elapsed = time.perf_counter() - start
    assert len(ds) == 100_000 and ds.A_size == 100_000 and ds.B_size == 1
    assert ds.A_paths[0].endswith('000000.png') and ds.A_paths[-1].endswith('099999.png')
    assert opened == []
    assert elapsed < 3.0, f'listing 100,000 files took {elapsed:.2f} s'

    lazy = build(roomy_tmp, lazy_init=True)  # lists nothing until first used
    assert lazy.A_size == 0
    monkeypatch.undo()
    with pytest.raises(BadImageError, match='012345.png.*empty'):
        ds[12345]


# ---------------------------------------------------------------- skip_bad_images

def test_skip_replaces_with_next_good_file_and_reports_each_once(root, warnings_log):
    a = root / 'trainA'
    bad1 = make_bad(a / 'a1.png', 'zero_byte')
    bad2 = make_bad(a / 'a2.png', 'truncated_png')
    ds = build(root, test_mode=True, skip_bad_images=True)
    got = [ds[i]['data_samples']['img_A_path'] for i in range(4)]
    got += [ds[i]['data_samples']['img_A_path'] for i in range(4)]  # a second epoch
    assert got == [str(a / n) for n in ('a0.png', 'a3.png', 'a3.png', 'a3.png')] * 2
    assert ds[1]['inputs']['img_A'][0].unique().tolist() == [13]  # a3's pixels
    assert list(ds.bad_images) == [bad1, bad2]
    assert 'empty' in ds.bad_images[bad1]
    assert len(warnings_log) == 2  # once per file, not per use
    for (msg, level), bad in zip(warnings_log, (bad1, bad2)):
        assert bad in msg and level == logging.WARNING


def test_skip_wraps_around_and_covers_too_small_images(root, warnings_log):
    encode(root / 'trainA' / 'a3.png', solid(13, size=(4, 4)))  # smaller than the crop
    ds = build(root, pipeline=RANDOM, test_mode=True, skip_bad_images=True)
    item = ds[3]
    assert item['data_samples']['img_A_path'] == str(root / 'trainA' / 'a0.png')
    assert list(ds.bad_images) == [str(root / 'trainA' / 'a3.png')]
    assert '4x4' in ds.bad_images[str(root / 'trainA' / 'a3.png')]


def test_skip_draws_the_same_random_numbers(tmp_path, warnings_log):
    """A bad file costs no extra draws: the run equals one over a data set holding a copy of
    the next file in its place (same random partners, crops and flips)."""
    roots = []
    for name in ('bad', 'copied'):
        r = tmp_path / name
        for i in range(4):
            encode(r / 'trainA' / f'a{i}.png', noise((8, 10), seed=i))
            encode(r / 'trainB' / f'b{i}.png', noise((8, 10), seed=10 + i))
        roots.append(r)
    make_bad(roots[0] / 'trainA' / 'a1.png', 'text')
    make_bad(roots[0] / 'trainB' / 'b2.png', 'zero_byte')
    shutil.copy(roots[1] / 'trainA' / 'a2.png', roots[1] / 'trainA' / 'a1.png')
    shutil.copy(roots[1] / 'trainB' / 'b3.png', roots[1] / 'trainB' / 'b2.png')

    runs = []
    for r in roots:
        ds = build(r, pipeline=RANDOM, skip_bad_images=True)
        random.seed(5)
        np.random.seed(5)
        items = [ds[i % 4] for i in range(24)]
        runs.append((items, random.random(), np.random.rand()))
    (bad_items, *bad_next), (copy_items, *copy_next) = runs
    assert bad_next == copy_next  # same number of draws from both generators
    partners = [os.path.basename(it['data_samples']['img_B_path']) for it in bad_items]
    assert 'b2.png' not in partners and partners.count('b3.png') > 1
    for x, y in zip(bad_items, copy_items):
        assert torch.equal(x['inputs']['img_A'], y['inputs']['img_A'])
        assert torch.equal(x['inputs']['img_B'], y['inputs']['img_B'])
    assert len(warnings_log) == 2


def test_skip_with_nothing_usable_names_the_folder(root, warnings_log):
    for i in range(3):
        make_bad(root / 'trainB' / f'b{i}.png', 'zero_byte')
    ds = build(root, skip_bad_images=True)
    with pytest.raises(RuntimeError, match='none of the 3 domain-B images in .*trainB'):
        ds[0]
    assert len(ds.bad_images) == 3 and len(warnings_log) == 3


def test_skip_in_a_dataloader_worker_reports_once_per_worker(root, tmp_path, monkeypatch):
    """Workers are separate processes: each has its own ``bad_images`` and warns once for
    each bad file it meets; without skip_bad_images the error names the file."""
    from torch.utils.data import DataLoader
    log = tmp_path / 'warnings.txt'  # the forked worker inherits the patched print_log

    def print_log(msg, logger=None, level=logging.INFO):
        with open(log, 'a') as f:
            f.write(f'{os.getpid()} {level} {msg}\n')
    monkeypatch.setattr(unpaired_dataset, 'print_log', print_log)

    bad = make_bad(root / 'trainA' / 'a2.png', 'truncated_jpeg')
    ds = build(root, test_mode=True, skip_bad_images=True)
    loader = DataLoader(ds, batch_size=None, num_workers=1, persistent_workers=True)
    for _ in range(2):  # two epochs in the same worker
        paths = [item['data_samples']['img_A_path'] for item in loader]
        assert paths[2] == str(root / 'trainA' / 'a3.png')
    lines = log.read_text().splitlines()
    assert len(lines) == 1 and f'cannot read image {bad}' in lines[0]
    pid, level, _ = lines[0].split(' ', 2)
    assert int(pid) != os.getpid() and int(level) == logging.WARNING
    assert ds.bad_images == {}  # the main process read nothing

    strict = DataLoader(build(root, test_mode=True), batch_size=None, num_workers=1)
    with pytest.raises(Exception, match='skip_bad_images=True') as info:
        list(strict)
    assert bad in str(info.value)
