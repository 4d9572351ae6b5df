"""Our training and test pipelines give the reference's pixels, on real photos.

The reference (``data/base_dataset.py`` and ``data/unaligned_dataset.py``) reads every image
with ``Image.open(path).convert('RGB')`` and transforms PIL images: ``Grayscale(1)`` (for one
channel), ``Resize`` (PIL bicubic), ``__scale_width``, ``RandomCrop``, ``__make_power_2`` and
``RandomHorizontalFlip``. Each test writes those PIL operations out and compares them pixel for
pixel with our pipeline's output, at the crop position and flip our pipeline drew (they are
recorded in the results), on photos of odd sizes and on every kind of file PIL reads
differently (gray, RGBA, palette, 16-bit, EXIF-rotated).
"""
import numpy as np
import pytest
from mmengine.dataset import Compose
from PIL import Image

from cyclegan_plugin.datasets.transforms import PREPROCESS_MODES, build_pipeline
from cyclegan_plugin.io import read_image
from cyclegan_plugin.registry import TRANSFORMS

skimage_data = pytest.importorskip('skimage.data')


def photo(name: str) -> np.ndarray:
    return getattr(skimage_data, name)()


@pytest.fixture(scope='module')
def photos(tmp_path_factory):
    """Real photos of odd sizes, as PNG and JPEG files: (path, width, height)."""
    folder = tmp_path_factory.mktemp('photos')
    images = {'chelsea': photo('chelsea'),                  # 451 x 300
              'coffee': photo('coffee'),                    # 600 x 400
              'astronaut_287x301': photo('astronaut')[:301, 40:327],
              'tiny_1x1': photo('coffee')[200:201, 300:301],
              'thin_7x2': photo('coffee')[100:102, 10:17]}
    out = []
    for name, rgb in images.items():
        for ext in ('.png', '.jpg'):
            path = folder / f'{name}{ext}'
            Image.fromarray(rgb).save(path, quality=90)
            out.append((str(path), rgb.shape[1], rgb.shape[0]))
    return out


def ours(pipeline, path, seed):
    """Our pipeline's CHW output as HWC (or HW) and the results it recorded."""
    np.random.seed(seed)
    results = Compose([TRANSFORMS.build(t) for t in pipeline])(dict(img_path=path))
    img = results['img'].permute(1, 2, 0).numpy()
    return (img[..., 0] if img.shape[2] == 1 else img), results


def reference(path, preprocess, load_size, crop_size, grayscale, results, flip_allowed):
    """The reference's get_transform written out in PIL, at our crop position and flip."""
    img = Image.open(path).convert('RGB')
    if grayscale:
        img = img.convert('L')  # transforms.Grayscale(1) on a PIL image
    if 'resize' in preprocess:
        img = img.resize((load_size, load_size), Image.BICUBIC)
    elif 'scale_width' in preprocess:
        ow, oh = img.size
        if not (ow == load_size and oh >= crop_size):
            img = img.resize((load_size, int(max(load_size * oh / ow, crop_size))),
                             Image.BICUBIC)
    if 'crop' in preprocess:
        w, h = img.size
        left, top = results.get('crop_bbox', (0, 0, w, h))[:2]
        # torchvision's RandomCrop: top in [0, h - crop], left in [0, w - crop]
        assert 0 <= top <= h - crop_size and 0 <= left <= w - crop_size
        img = img.crop((left, top, left + crop_size, top + crop_size))
    if preprocess == 'none':
        ow, oh = img.size
        w, h = int(round(ow / 4) * 4), int(round(oh / 4) * 4)
        if (w, h) != (ow, oh):
            img = img.resize((w, h), Image.BICUBIC)
    if flip_allowed and results.get('flip'):
        img = img.transpose(Image.FLIP_LEFT_RIGHT)
    return np.asarray(img)


CASES = [('resize_and_crop', 286, 256), ('resize_and_crop', 72, 64), ('crop', None, 64),
         ('scale_width', 300, 256), ('scale_width_and_crop', 300, 256), ('none', None, 256),
         ('resize', 128, 128)]


@pytest.mark.parametrize('preprocess,load_size,crop_size', CASES)
@pytest.mark.parametrize('phase', ['train', 'test'])
@pytest.mark.parametrize('input_nc', [3, 1])
def test_every_preprocess_mode_equals_the_reference_on_photos(photos, preprocess, load_size,
                                                              crop_size, phase, input_nc):
    if phase == 'test':
        load_size = None  # the reference's test options: load_size = crop_size
    pipeline = build_pipeline(preprocess, load_size, crop_size, input_nc=input_nc, phase=phase)
    load = (crop_size if phase == 'test' else 286) if load_size is None else load_size
    for seed, (path, w, h) in enumerate(photos):
        if preprocess == 'crop' and min(w, h) < crop_size:
            continue  # smaller than the crop: an error in both (tested in test_bad_data)
        if preprocess == 'none' and 0 in (round(w / 4), round(h / 4)):
            continue  # the reference's PIL resize to a side of 0 fails; ours: see below
        got, results = ours(pipeline, path, seed)
        expected = reference(path, preprocess, load, crop_size, input_nc == 1, results,
                             phase == 'train')
        assert got.shape == expected.shape, (path, got.shape, expected.shape)
        assert np.array_equal(got, expected), (path, preprocess,
                                               int(np.abs(got.astype(int) - expected).max()))


def test_all_reference_modes_are_covered():
    assert {c[0] for c in CASES} == set(PREPROCESS_MODES)


def test_random_crop_offsets_cover_the_reference_range(tmp_path):
    """Every position torchvision's RandomCrop can draw (top 0..h-crop, left 0..w-crop, both
    ends included) occurs, and no other."""
    path = tmp_path / 'small.png'
    Image.fromarray(photo('coffee')[:10, :13]).save(path)
    pipeline = [dict(type='LoadImage'), dict(type='RandomCrop', crop_size=4),
                dict(type='PackImage')]
    tops, lefts = set(), set()
    for seed in range(400):
        _, results = ours(pipeline, str(path), seed)
        left, top = results['crop_bbox'][:2]
        tops.add(top)
        lefts.add(left)
    assert tops == set(range(10 - 4 + 1)) and lefts == set(range(13 - 4 + 1))


def test_flip_is_drawn_half_of_the_time(tmp_path):
    path = tmp_path / 'p.png'
    Image.fromarray(photo('chelsea')).save(path)
    flips = [ours(build_pipeline('resize', 32, 32), str(path), s)[1]['flip']
             for s in range(200)]
    assert 70 < sum(flips) < 130


def test_make_power_2_of_a_1x1_image_is_4x4(tmp_path):
    """A documented difference: the reference's PIL resize to 0x0 fails; ours gives the
    PIL bicubic resize to 4x4."""
    path = tmp_path / 'one.png'
    Image.fromarray(photo('coffee')[5:6, 5:6]).save(path)
    got, _ = ours(build_pipeline('none', phase='test'), str(path), 0)
    expected = np.asarray(Image.open(path).convert('RGB').resize((4, 4), Image.BICUBIC))
    assert np.array_equal(got, expected)


def _files_pil_reads_its_own_way(folder):
    rgb = photo('chelsea')[:61, :83]
    files = {}
    Image.fromarray(rgb).convert('L').save(folder / 'gray.png')
    Image.fromarray(rgb).convert('RGBA').save(folder / 'rgba.png')
    rgba = np.dstack([rgb, np.linspace(0, 255, rgb.shape[1], dtype=np.uint8)[None].repeat(
        rgb.shape[0], 0)])
    Image.fromarray(rgba, 'RGBA').save(folder / 'rgba_transparent.png')
    Image.fromarray(rgb).convert('P', palette=Image.ADAPTIVE, colors=17).save(
        folder / 'palette.png')
    Image.fromarray(rgb).convert('LA').save(folder / 'la.png')
    gray16 = (rgb[..., 0].astype(np.uint16) * 200)
    Image.fromarray(gray16).save(folder / 'gray16.png')  # I;16: PIL clips at 255
    import cv2  # writes 48-bit colour PNGs, which PIL reads with their high byte
    cv2.imwrite(str(folder / 'color16.png'), rgb[..., ::-1].astype(np.uint16) * 257 + 3)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display": neither the reference nor we apply it
    Image.fromarray(rgb).save(folder / 'exif_rotated.jpg', exif=exif, quality=90)
    for p in sorted(folder.iterdir()):
        files[p.name] = str(p)
    return files


def test_every_file_kind_reads_as_pil_convert_rgb(tmp_path):
    files = _files_pil_reads_its_own_way(tmp_path)
    assert Image.open(files['exif_rotated.jpg']).getexif()[0x0112] == 6
    for name, path in files.items():
        expected = np.asarray(Image.open(path).convert('RGB'))
        assert np.array_equal(read_image(path), expected), name
        got, results = ours(build_pipeline('resize_and_crop', 72, 64), path, 1)
        assert np.array_equal(got, reference(path, 'resize_and_crop', 72, 64, False, results,
                                             True)), name
        gray = np.asarray(Image.open(path).convert('RGB').convert('L'))
        assert np.array_equal(read_image(path, 'L'), gray), name
    assert read_image(files['exif_rotated.jpg']).shape[:2] == (61, 83)  # not rotated
    assert read_image(files['gray16.png']).max() == 255
