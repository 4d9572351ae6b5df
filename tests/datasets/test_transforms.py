"""Transforms on real files: loading every pixel format, crops, resizes and the preprocess modes."""
import cv2
import numpy as np
import pytest
import torch
from mmengine.dataset import Compose

from cyclegan_plugin.datasets.transforms import (BadImageError, LoadImage, MakePower2,
                                                 PackImage, RandomCrop, RandomZoom,
                                                 ScaleWidth, build_pipeline)
from cyclegan_plugin.registry import TRANSFORMS


@pytest.fixture
def Image():
    """PIL (installed with matplotlib, an mmengine dependency) writes RGB, RGBA, LA, P."""
    return pytest.importorskip('PIL.Image')


def write(path, img):
    assert cv2.imwrite(str(path), img)
    return str(path)


def load(path, **kwargs):
    return LoadImage(**kwargs)(dict(img_path=str(path)))['img']


def run(pipeline, path):
    return Compose([TRANSFORMS.build(t) for t in pipeline])(dict(img_path=str(path)))['img']


# ---------------------------------------------------------------- LoadImage: pixel formats

def test_png_is_rgb_uint8(tmp_path):
    red = np.zeros((4, 5, 3), np.uint8)
    red[..., 2] = 255  # BGR order for cv2.imwrite
    results = LoadImage()(dict(img_path=write(tmp_path / 'red.png', red)))
    img = results['img']
    assert img.dtype == np.uint8 and img.shape == (4, 5, 3)
    assert (img[..., 0] == 255).all() and (img[..., 1] == 0).all() and (img[..., 2] == 0).all()
    assert results['channel_order'] == 'rgb'


def test_pil_written_red_is_rgb(tmp_path, Image):
    Image.new('RGB', (6, 3), (255, 0, 0)).save(tmp_path / 'red.png')
    assert load(tmp_path / 'red.png')[0, 0].tolist() == [255, 0, 0]
    Image.new('RGB', (16, 16), (255, 0, 0)).save(tmp_path / 'red.jpg', quality=95)
    r, g, b = load(tmp_path / 'red.jpg')[8, 8].tolist()
    assert r > 240 and b < 15 and g < 15


def test_gray_becomes_three_equal_channels(tmp_path):
    gray = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    img = load(write(tmp_path / 'gray.png', gray))
    assert img.shape == (3, 4, 3)
    for c in range(3):
        np.testing.assert_array_equal(img[..., c], gray)


def test_rgba_and_la_drop_alpha(tmp_path, Image):
    rgba = np.zeros((2, 3, 4), np.uint8)
    rgba[...] = (10, 20, 30, 0)  # fully transparent: colours are kept, not composited
    Image.fromarray(rgba, 'RGBA').save(tmp_path / 'rgba.png')
    img = load(tmp_path / 'rgba.png')
    assert img.shape == (2, 3, 3)
    assert img[1, 2].tolist() == [10, 20, 30]

    la = np.zeros((2, 2, 2), np.uint8)
    la[...] = (77, 128)
    Image.fromarray(la, 'LA').save(tmp_path / 'la.png')
    assert load(tmp_path / 'la.png').reshape(-1, 3).tolist() == [[77, 77, 77]] * 4


def test_palette_is_expanded(tmp_path, Image):
    pal = Image.new('P', (3, 2))
    pal.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)  # index 0 red, 1 green
    pal.putpixel((1, 0), 1)
    pal.save(tmp_path / 'pal.png')
    pal.save(tmp_path / 'pal_transparent.png', transparency=0)
    for name in ('pal.png', 'pal_transparent.png'):
        img = load(tmp_path / name)
        assert img.shape == (2, 3, 3) and img.dtype == np.uint8
        assert img[0, 0].tolist() == [255, 0, 0]
        assert img[0, 1].tolist() == [0, 255, 0]


def test_16_bit_is_read_as_pil_converts_it(tmp_path):
    """The reference's convert('RGB'): 16-bit gray clips at 255, 16-bit colour keeps the
    high byte."""
    values = np.array([[0, 128, 129, 257, 1000, 32768, 65535]], np.uint16)
    img = load(write(tmp_path / 'g16.png', values))
    assert img.dtype == np.uint8 and img.shape == (1, 7, 3)
    assert img[..., 0].ravel().tolist() == [0, 128, 129, 255, 255, 255, 255]
    assert img[..., 2].ravel().tolist() == [0, 128, 129, 255, 255, 255, 255]

    color = np.zeros((2, 2, 3), np.uint16)
    color[..., 0], color[..., 1], color[..., 2] = 0, 1000, 65535  # B, G, R for cv2
    img = load(write(tmp_path / 'c16.png', color))
    assert img.dtype == np.uint8 and img[0, 0].tolist() == [255, 3, 0]


def test_grayscale_mode_gives_one_channel(tmp_path):
    red = np.zeros((4, 6, 3), np.uint8)
    red[..., 2] = 255
    img = load(write(tmp_path / 'red.png', red), color_type='grayscale')
    assert img.shape == (4, 6)
    assert (img == 76).all()  # 0.299 * 255, as PIL's convert('L') in the reference
    packed = PackImage()(dict(img=img))['img']
    assert packed.shape == (1, 4, 6) and packed.dtype == torch.uint8

    gray = np.full((3, 3), 200, np.uint8)
    assert (load(write(tmp_path / 'gray.png', gray), color_type='grayscale') == 200).all()


@pytest.mark.parametrize('make', ['zero_byte', 'truncated_png', 'text_as_png', 'missing'])
def test_unreadable_files_name_the_path(tmp_path, make):
    path = tmp_path / f'{make}.png'
    if make == 'zero_byte':
        path.write_bytes(b'')
    elif make == 'truncated_png':
        noise = np.random.RandomState(0).randint(0, 256, (64, 64, 3), dtype=np.uint8)
        write(path, noise)
        data = path.read_bytes()
        path.write_bytes(data[:len(data) // 2])
    elif make == 'text_as_png':
        path.write_text('this is not an image\n')
    with pytest.raises(BadImageError, match=str(path)) as info:
        load(path)
    assert isinstance(info.value, IOError)
    assert info.value.path == str(path)


def test_load_image_rejects_unknown_color_type():
    with pytest.raises(ValueError):
        LoadImage(color_type='unchanged')


# ---------------------------------------------------------------- geometry

def test_random_crop_is_a_window_of_the_image():
    img = np.arange(10 * 12 * 3, dtype=np.int64).reshape(10, 12, 3).astype(np.uint8)
    crop = RandomCrop(crop_size=4)
    seen = set()
    for _ in range(30):
        out = crop(dict(img=img.copy(), img_path='x.png'))
        left, top, right, bottom = out['crop_bbox']
        np.testing.assert_array_equal(out['img'], img[top:bottom, left:right])
        assert out['img'].shape == (4, 4, 3) and out['img_shape'] == (4, 4)
        seen.add((left, top))
    assert len(seen) > 5  # random positions
    rect = RandomCrop(crop_size=(3, 5))(dict(img=img))  # (h, w)
    assert rect['img'].shape == (3, 5, 3)


def test_random_crop_larger_than_image_names_file_and_sizes():
    with pytest.raises(ValueError, match=r'small\.png.*30x20.*64x64'):
        RandomCrop(64)(dict(img=np.zeros((20, 30, 3), np.uint8), img_path='small.png'))


def test_random_zoom_keeps_the_size_and_zooms_both_ways():
    """Zoom in: a window of the enlarged image; zoom out: the shrunk image inside a reflected
    border; the factors spread log-uniformly over the range; (1, 1) changes nothing."""
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (24, 32, 3)).astype(np.uint8)
    np.random.seed(0)
    zooms = []
    for _ in range(200):
        out = RandomZoom((0.5, 2.0))(dict(img=img.copy()))
        assert out['img'].shape == img.shape and out['img_shape'] == (24, 32)
        assert out['img'].dtype == np.uint8 and out['img'].flags['C_CONTIGUOUS']
        zooms.append(out['zoom'])
    logs = np.log(zooms)
    assert logs.min() >= np.log(0.5) and logs.max() <= np.log(2.0)
    assert abs(np.mean(logs > 0) - 0.5) < 0.15  # as many zooms in as out
    # zoom out by 1/2 into a 24x32 image: the 12x16 shrunk image sits somewhere inside it,
    # and the border around it mirrors it
    out = RandomZoom((0.5, 0.5))(dict(img=img.copy()))['img']
    small = cv2.resize(img, (16, 12), interpolation=cv2.INTER_AREA).astype(int)
    best = min((np.abs(out[t:t + 12, le:le + 16].astype(int) - small).mean(), t, le)
               for t in range(13) for le in range(17))
    assert best[0] < 20  # PIL bicubic vs cv2 area, not equal, but the same picture
    t, le = best[1:]
    # the 16 border columns lie left or right of it (or both) and mirror it
    if le > 0:
        np.testing.assert_array_equal(out[t:t + 12, le - 1], out[t:t + 12, le + 1])
    if le < 16:
        np.testing.assert_array_equal(out[t:t + 12, le + 16], out[t:t + 12, le + 14])
    # zoom in by 2: a 24x32 window of the image enlarged to 48x64
    out = RandomZoom((2.0, 2.0))(dict(img=img.copy()))['img']
    assert not np.array_equal(out, img)
    same = RandomZoom((1.0, 1.0))(dict(img=img.copy()))['img']
    np.testing.assert_array_equal(same, img)
    # a zoom far out needs borders wider than the image: still the right size, gray too
    gray = img[..., 0]
    assert RandomZoom((0.1, 0.1))(dict(img=gray.copy()))['img'].shape == gray.shape
    tiny = np.zeros((5, 7, 3), np.uint8)  # shrunk to one pixel high
    assert RandomZoom((0.1, 0.1))(dict(img=tiny))['img'].shape == tiny.shape
    with pytest.raises(ValueError, match='0 < low <= high'):
        RandomZoom((1.25, 0.8))


def test_scale_width_follows_the_reference():
    img = np.zeros((200, 300, 3), np.uint8)  # 300 wide, 200 high
    assert ScaleWidth(256, 256)(dict(img=img))['img'].shape == (256, 256, 3)  # h floored
    assert ScaleWidth(256, 128)(dict(img=img))['img'].shape == (170, 256, 3)  # int(170.67)
    assert ScaleWidth(600, 0)(dict(img=img))['img'].shape == (400, 600, 3)
    same = ScaleWidth(300, 200)(dict(img=img))['img']
    assert same is img  # already the target width and high enough


def test_make_power2_rounds_to_multiples_of_base():
    def shape(h, w, base=4):
        return MakePower2(base)(dict(img=np.zeros((h, w, 3), np.uint8)))['img'].shape[:2]

    assert shape(198, 301) == (200, 300)
    assert shape(198, 302) == (200, 304)  # Python round: 75.5 -> 76
    assert shape(1, 1) == (4, 4)  # never 0
    img = np.zeros((8, 12), np.uint8)
    assert MakePower2()(dict(img=img))['img'] is img
    assert shape(30, 30, base=16) == (32, 32)


def test_pack_image_gives_contiguous_chw_uint8_rgb():
    """Our LoadImage's RGB passes as it is; mmcv's LoadImageFromFile (BGR, no channel_order
    key) is turned to RGB."""
    img = np.random.RandomState(0).randint(0, 256, (5, 7, 3), dtype=np.uint8)
    out = PackImage()(dict(img=img, channel_order='rgb'))['img']
    assert out.dtype == torch.uint8 and out.shape == (3, 5, 7) and out.is_contiguous()
    np.testing.assert_array_equal(out.permute(1, 2, 0).numpy(), img)
    bgr = PackImage()(dict(img=img))['img']
    assert bgr.is_contiguous()
    np.testing.assert_array_equal(bgr.permute(1, 2, 0).numpy(), img[..., ::-1])


def test_mmcv_loader_and_ours_give_the_same_tensor(tmp_path):
    from mmcv.transforms import LoadImageFromFile
    path = write(tmp_path / 'n.png', np.random.RandomState(1).randint(0, 256, (6, 5, 3),
                                                                       dtype=np.uint8))
    mmcv_results = LoadImageFromFile()(dict(img_path=path))
    assert torch.equal(PackImage()(mmcv_results)['img'],
                       PackImage()(LoadImage()(dict(img_path=path)))['img'])


# ---------------------------------------------------------------- build_pipeline

@pytest.mark.parametrize('preprocess, load_size, crop_size, chw', [
    ('resize_and_crop', 286, 256, (3, 256, 256)),
    ('crop', 286, 128, (3, 128, 128)),
    ('scale_width', 256, 128, (3, 170, 256)),
    ('scale_width', 256, 256, (3, 256, 256)),
    ('scale_width_and_crop', 256, 128, (3, 128, 128)),
    ('none', 286, 256, (3, 200, 300)),
    ('resize', 64, 256, (3, 64, 64)),
])
def test_preprocess_modes_output_size(tmp_path, preprocess, load_size, crop_size, chw):
    path = write(tmp_path / 'img.png', np.full((200, 300, 3), 90, np.uint8))
    out = run(build_pipeline(preprocess, load_size, crop_size), path)
    assert tuple(out.shape) == chw and out.dtype == torch.uint8


def test_none_mode_fixes_odd_sizes_and_gray_mode(tmp_path):
    path = write(tmp_path / 'odd.png', np.full((198, 301, 3), 90, np.uint8))
    assert tuple(run(build_pipeline('none'), path).shape) == (3, 200, 300)
    out = run(build_pipeline('resize_and_crop', 70, 64, input_nc=1), path)
    assert tuple(out.shape) == (1, 64, 64)


def test_pipeline_steps_mirror_get_transform():
    types = [t['type'] for t in build_pipeline()]
    assert types == ['LoadImage', 'Resize', 'RandomCrop', 'RandomFlip', 'PackImage']
    assert build_pipeline()[1] == dict(type='Resize', scale=(286, 286), keep_ratio=False,
                                       interpolation='bicubic', backend='pillow')
    assert 'RandomFlip' not in [t['type'] for t in build_pipeline(no_flip=True)]
    # the reference's test options: load_size = crop_size, no flip; the full-image crop is
    # dropped as a no-op
    assert [t['type'] for t in build_pipeline(phase='test')] == \
        ['LoadImage', 'Resize', 'PackImage']
    assert build_pipeline(phase='test')[1]['scale'] == (256, 256)
    assert [t['type'] for t in build_pipeline('scale_width_and_crop', phase='test')] == \
        ['LoadImage', 'ScaleWidth', 'RandomCrop', 'PackImage']
    assert build_pipeline(input_nc=1)[0]['color_type'] == 'grayscale'
    with pytest.raises(ValueError, match='resize_and_crop'):
        build_pipeline('resize_crop')


def test_mmcv_transforms_resolve_through_our_registry():
    from mmcv.transforms import RandomFlip, Resize
    assert isinstance(TRANSFORMS.build(dict(type='Resize', scale=(4, 4))), Resize)
    assert isinstance(TRANSFORMS.build(dict(type='RandomFlip', prob=0.5)), RandomFlip)


def test_flip_is_horizontal_and_random(tmp_path):
    img = np.zeros((4, 8, 3), np.uint8)
    img[:, :4] = 255  # left half white
    path = write(tmp_path / 'half.png', img)
    pipeline = [t for t in build_pipeline('none') if t['type'] != 'MakePower2']
    lefts = {int(run(pipeline, path)[0, 0, 0]) for _ in range(40)}
    assert lefts == {0, 255}
