"""Image transforms that mmcv.transforms lacks, and the reference's preprocess modes.

The reference (junyanz/pytorch-CycleGAN-and-pix2pix, ``data/base_dataset.py``) builds its
pipeline with ``get_transform`` on PIL images; :func:`build_pipeline` returns the same steps
as MMEngine transform configs, pixel for pixel: images are decoded by PIL
(:mod:`cyclegan_plugin.io`), resized by PIL's bicubic filter (mmcv's ``Resize`` and
``mmcv.imresize`` with ``backend='pillow'``) and flipped by mmcv's ``RandomFlip``. The classes
here fill the gaps: ``LoadImage``, ``RandomCrop``, ``ScaleWidth``, ``MakePower2`` and
``PackImage``; ``RandomZoom`` is ours (an opt-in augmentation, not the reference's).

Channel order: images travel as HWC ``uint8`` numpy arrays in RGB order from ``LoadImage``
on (``results['channel_order'] = 'rgb'``), 2-D for gray. ``PackImage`` turns them into CHW
``uint8`` RGB tensors, and turns an image of mmcv's ``LoadImageFromFile`` (BGR, with no
``channel_order`` key) into RGB on the way, so either loader can start a pipeline. The
model's data preprocessor only scales to [-1, 1].
"""
from numbers import Integral
from typing import List, Optional, Sequence, Tuple, Union

import mmcv
import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine import fileio
from mmengine.logging import print_log

from cyclegan_plugin.io import BadImageError, decode_image
from cyclegan_plugin.registry import TRANSFORMS

PREPROCESS_MODES = ('resize_and_crop', 'crop', 'scale_width', 'scale_width_and_crop', 'none',
                    'resize')
#: PIL's bicubic filter, as the reference's torchvision Resize on PIL images uses
RESIZE = dict(interpolation='bicubic', backend='pillow')


class ImageTooSmallError(BadImageError, ValueError):
    """An image smaller than the crop: readable, but unusable with this pipeline.

    A ``BadImageError`` so that ``skip_bad_images`` skips it like an unreadable file, and a
    ``ValueError`` as torchvision's ``RandomCrop`` raises in the reference.
    """

    _message = 'image {path} {reason}'


@TRANSFORMS.register_module()
class LoadImage(BaseTransform):
    """Read ``results['img_path']`` into ``results['img']`` as the reference does:
    ``Image.open(path).convert('RGB')`` (see :mod:`cyclegan_plugin.io`), HxWx3 ``uint8`` RGB.

    ``color_type='grayscale'`` (for ``input_nc=1``) returns the 2-D gray image the
    reference's ``Grayscale(1)`` makes of the RGB image (PIL's ``convert('L')``).

    Args:
        color_type: 'color' (3 channels) or 'grayscale' (1 channel).
        backend_args: passed to ``mmengine.fileio.get`` (e.g. for object storage).

    Raises:
        BadImageError: (an ``IOError``) the file is missing, empty, truncated or not an
            image; the message names the file.
    """

    def __init__(self, color_type: str = 'color', backend_args: Optional[dict] = None):
        if color_type not in ('color', 'grayscale'):
            raise ValueError(f"color_type must be 'color' or 'grayscale', got {color_type!r}")
        self.color_type = color_type
        self.backend_args = backend_args

    def transform(self, results: dict) -> dict:
        path = results['img_path']
        try:
            data = fileio.get(path, backend_args=self.backend_args)
        except OSError as err:
            raise BadImageError(path, f'{type(err).__name__}: {err}') from err
        img = decode_image(data, path, 'L' if self.color_type == 'grayscale' else 'RGB')
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        results['channel_order'] = 'rgb'
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(color_type={self.color_type!r}, '
                f'backend_args={self.backend_args!r})')


def _pair(size: Union[int, Sequence[int]], name: str) -> Tuple[int, int]:
    """An int means a square; a pair is (h, w) as in torchvision."""
    if isinstance(size, Integral):
        size = (int(size), int(size))
    if len(size) != 2 or any(int(s) <= 0 for s in size):
        raise ValueError(f'{name} must be a positive int or (h, w), got {size!r}')
    return int(size[0]), int(size[1])


@TRANSFORMS.register_module()
class RandomCrop(BaseTransform):
    """Crop a random ``crop_size`` window, the reference's ``transforms.RandomCrop``.

    Every position is equally likely (numpy's RNG, which MMEngine seeds per worker). An
    image smaller than the crop is an error, as in torchvision, naming the file and both
    sizes (``ImageTooSmallError``, which ``skip_bad_images`` skips).

    Args:
        crop_size: an int for a square crop, or (h, w).
    """

    def __init__(self, crop_size: Union[int, Sequence[int]]):
        self.crop_size = _pair(crop_size, 'crop_size')

    def transform(self, results: dict) -> dict:
        img = results['img']
        h, w = img.shape[:2]
        th, tw = self.crop_size
        if h < th or w < tw:
            raise ImageTooSmallError(
                results.get('img_path', '<unknown>'),
                f'is {w}x{h} (WxH) at this point of the pipeline, smaller than the crop '
                f'{tw}x{th}: use a larger load_size or a smaller crop_size')
        top = np.random.randint(0, h - th + 1)
        left = np.random.randint(0, w - tw + 1)
        img = img[top:top + th, left:left + tw]
        results['img'] = np.ascontiguousarray(img)
        results['img_shape'] = img.shape[:2]
        results['crop_bbox'] = (left, top, left + tw, top + th)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(crop_size={self.crop_size})'


def _resize(results: dict, w: int, h: int) -> dict:
    """PIL's bicubic resize to (w, h), as the reference's ``img.resize((w, h), BICUBIC)``."""
    img = results['img']
    if img.shape[:2] != (h, w):
        img = mmcv.imresize(img, (w, h), **RESIZE)
    results['img'] = img
    results['img_shape'] = img.shape[:2]
    return results


@TRANSFORMS.register_module()
class ScaleWidth(BaseTransform):
    """The reference's ``__scale_width``: width to ``target_width``, aspect kept (PIL bicubic).

    The height never drops below ``crop_size`` (then the aspect is not kept), so that a
    following ``RandomCrop(crop_size)`` always fits; an image already ``target_width``
    wide and at least ``crop_size`` high is left alone. As in the reference:
    ``h = int(max(target_width * oh / ow, crop_size))``.
    """

    def __init__(self, target_width: int, crop_size: int = 0):
        self.target_width = int(target_width)
        self.crop_size = int(crop_size)

    def transform(self, results: dict) -> dict:
        oh, ow = results['img'].shape[:2]
        if ow == self.target_width and oh >= self.crop_size:
            return results
        h = int(max(self.target_width * oh / ow, self.crop_size))
        return _resize(results, self.target_width, h)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(target_width={self.target_width}, '
                f'crop_size={self.crop_size})')


@TRANSFORMS.register_module()
class MakePower2(BaseTransform):
    """The reference's ``__make_power_2``: round each side to a multiple of ``base``.

    Used by preprocess 'none', so that the generators' down- and up-sampling give back the
    input size (``base=4`` for two stride-2 stages). Python's ``round`` as in the
    reference; a side that would round to 0 becomes ``base`` (the reference's PIL resize to
    a side of 0 fails on images under ``base / 2`` pixels). PIL bicubic.
    """

    _warned = False

    def __init__(self, base: int = 4):
        self.base = int(base)

    def transform(self, results: dict) -> dict:
        oh, ow = results['img'].shape[:2]
        h = max(int(round(oh / self.base) * self.base), self.base)
        w = max(int(round(ow / self.base) * self.base), self.base)
        if (h, w) == (oh, ow):
            return results
        if not MakePower2._warned:  # the reference's __print_size_warning, once
            print_log(f'The image size needs to be a multiple of {self.base}. The loaded '
                      f'image size was ({ow}, {oh}), so it was adjusted to ({w}, {h}). This '
                      'adjustment will be done to all images whose sizes are not multiples '
                      f'of {self.base}', logger='current')
            MakePower2._warned = True
        return _resize(results, w, h)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(base={self.base})'


@TRANSFORMS.register_module()
class RandomZoom(BaseTransform):
    """Zoom by a random factor and keep the image's size: ours, not the reference's.

    Why: the animals of a small data set span a narrow range of sizes, and a generator's
    instance norms make a pattern weaker the more of the image it covers (the demo's large
    horses get weak stripes); zooming widens the range the networks train on. The factor
    is drawn log-uniformly from ``scale`` (so 1/s and s are equally likely); the image is
    resized by it (PIL bicubic, as the reference resizes), then a random window of the
    original size is cropped (zoom in) or the image is placed at a random position and the
    border filled by reflection (zoom out). Both domains get it, with their own factors.
    On the demo it softened the stripes and kept their tie to the horse's size
    (docs/improvements.md); in no config.

    Args:
        scale: (low, high), 0 < low <= high; (1, 1) leaves every image as it is.
    """

    def __init__(self, scale: Sequence[float] = (0.8, 1.25)):
        low, high = (float(s) for s in scale)
        if not 0 < low <= high:
            raise ValueError(f'scale must be (low, high) with 0 < low <= high, got {scale!r}')
        self.scale = (low, high)

    def transform(self, results: dict) -> dict:
        img = results['img']
        h, w = img.shape[:2]
        zoom = float(np.exp(np.random.uniform(np.log(self.scale[0]), np.log(self.scale[1]))))
        zh, zw = max(1, int(round(h * zoom))), max(1, int(round(w * zoom)))
        img = _resize(dict(img=img), zw, zh)['img']
        if zh >= h and zw >= w:
            top, left = np.random.randint(0, zh - h + 1), np.random.randint(0, zw - w + 1)
            img = img[top:top + h, left:left + w]
        else:  # numpy reflects again where the border is wider than the image
            top, left = np.random.randint(0, h - zh + 1), np.random.randint(0, w - zw + 1)
            pad = [(top, h - zh - top), (left, w - zw - left)] + [(0, 0)] * (img.ndim - 2)
            img = np.pad(img, pad, mode='reflect')
        results['img'] = np.ascontiguousarray(img)
        results['img_shape'] = img.shape[:2]
        results['zoom'] = zoom
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(scale={self.scale})'


@TRANSFORMS.register_module()
class PackImage(BaseTransform):
    """HWC (or HW) ``uint8`` numpy image -> contiguous CHW ``uint8`` RGB tensor in
    ``results['img']``.

    Images of our ``LoadImage`` are RGB already; any other 3-channel image without
    ``results['channel_order'] == 'rgb'`` (mmcv's ``LoadImageFromFile`` gives BGR) is turned
    to RGB here. Stays ``uint8`` so that workers ship 4x fewer bytes; the data preprocessor
    scales.
    """

    def transform(self, results: dict) -> dict:
        img = results['img']
        if img.ndim == 2:
            img = img[:, :, None]
        elif img.shape[2] == 3 and results.get('channel_order', 'bgr') != 'rgb':
            img = img[:, :, ::-1]
            results['channel_order'] = 'rgb'
        results['img'] = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))
        return results


def build_pipeline(preprocess: str = 'resize_and_crop',
                   load_size: Optional[int] = None,
                   crop_size: int = 256,
                   no_flip: bool = False,
                   input_nc: int = 3,
                   phase: str = 'train') -> List[dict]:
    """Transform configs for one domain, mirroring the reference's ``get_transform``.

    Every pipeline starts with ``LoadImage`` (grayscale when ``input_nc == 1``) and ends with
    ``PackImage``. In between, by ``preprocess``:

    - ``'resize_and_crop'`` (the reference default): resize to ``load_size`` x
      ``load_size`` (PIL bicubic, aspect not kept), then a random ``crop_size`` crop.
    - ``'crop'``: a random ``crop_size`` crop of the image at its own size.
    - ``'scale_width'``: width to ``load_size``, aspect kept, height at least
      ``crop_size`` (``ScaleWidth``); no crop, so the batch size must be 1 unless all images
      share an aspect ratio.
    - ``'scale_width_and_crop'``: ``scale_width`` then a random ``crop_size`` crop.
    - ``'none'``: no resize or crop; sides rounded to multiples of 4 (``MakePower2``).
    - ``'resize'``: only the ``load_size`` square resize (the reference accepts it too,
      through its substring tests).

    Then a horizontal flip with probability 0.5 unless ``no_flip``.

    ``phase='test'`` follows the reference's test script and options: no flip, and
    ``load_size`` defaults to ``crop_size`` (so 'resize_and_crop' is a plain resize to
    ``crop_size``). ``load_size=None`` means the reference default: 286 for training,
    ``crop_size`` for test. A crop that would cover the whole image (``load_size ==
    crop_size`` after a square resize) is left out since it does nothing.
    """
    if preprocess not in PREPROCESS_MODES:
        raise ValueError(f'unknown preprocess {preprocess!r}; choose one of '
                         f'{", ".join(PREPROCESS_MODES)}')
    if input_nc not in (1, 3):
        raise ValueError(f'input_nc must be 1 or 3, got {input_nc}')
    test = phase == 'test'
    if load_size is None:
        load_size = crop_size if test else 286
    no_flip = no_flip or test

    pipeline = [dict(type='LoadImage', color_type='grayscale' if input_nc == 1 else 'color')]
    square_resize = 'resize' in preprocess
    if square_resize:
        pipeline.append(dict(type='Resize', scale=(load_size, load_size), keep_ratio=False,
                             **RESIZE))
    elif 'scale_width' in preprocess:
        pipeline.append(dict(type='ScaleWidth', target_width=load_size, crop_size=crop_size))
    if 'crop' in preprocess and not (square_resize and load_size == crop_size):
        pipeline.append(dict(type='RandomCrop', crop_size=crop_size))
    if preprocess == 'none':
        pipeline.append(dict(type='MakePower2', base=4))
    if not no_flip:
        pipeline.append(dict(type='RandomFlip', prob=0.5, direction='horizontal'))
    pipeline.append(dict(type='PackImage'))
    return pipeline
