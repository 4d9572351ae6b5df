"""Translate images with a trained CycleGAN, at any size.

``translate`` maps file paths or uint8 RGB arrays to uint8 RGB arrays of the same height and
width, with any translator (:mod:`.translators`, made by :func:`.init_model`) or a built
CycleGAN model.

Exact geometry: the image is reflect-padded to the generator's size divisor, translated and
cropped back, so no pixel is resampled (:class:`.PaddedGenerator`). ``resize=True`` instead
does what the reference's test script does with ``--preprocess none``: bicubic resize to the
nearest multiple of the divisor (4 for the ResNet generator), and the output keeps that size.
Large images are translated in tiles (see :mod:`.tiling`).
"""
import os
import warnings
from typing import Iterable, Iterator, List, Optional, Union

import numpy as np
import torch
from PIL import Image

from ..io import read_image
from ..models.data_preprocessor import from_model_range, to_model_range
from .translators import (AUTO_TILE_PIXELS, DEFAULT_TILE_OVERLAP, DEFAULT_TILE_SIZE,
                          as_translator)

ImageLike = Union[str, os.PathLike, np.ndarray]


def reference_resize(image: np.ndarray, base: int = 4) -> np.ndarray:
    """The reference's ``__make_power_2``: bicubic (PIL) resize to the nearest multiples of
    ``base`` (Python rounding), unless the size already is."""
    oh, ow = image.shape[:2]
    h, w = max(base, int(round(oh / base) * base)), max(base, int(round(ow / base) * base))
    if (h, w) == (oh, ow):
        return image
    pil = Image.fromarray(image[..., 0] if image.shape[2] == 1 else image)
    out = np.asarray(pil.resize((w, h), Image.BICUBIC))
    return out.reshape(h, w, image.shape[2])


def to_network_channels(image: np.ndarray, channels: int) -> np.ndarray:
    """uint8 HxW / HxWx1 / HxWx3 / HxWx4 (RGB) -> HxWx``channels``."""
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise TypeError(f'expected a uint8 image, got {image.dtype}')
    if image.ndim == 2:
        image = image[..., None]
    if image.ndim != 3 or image.shape[2] not in (1, 3, 4):
        raise ValueError(f'expected an HxW or HxWx{{1,3,4}} image, got shape {image.shape}')
    if image.shape[2] == 4:
        image = image[..., :3]  # alpha has no meaning to the network
    if channels == 3 and image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    elif channels == 1 and image.shape[2] == 3:  # PIL's gray, as the reference's Grayscale(1)
        image = np.asarray(Image.fromarray(np.ascontiguousarray(image)).convert('L'))[..., None]
    elif image.shape[2] != channels:
        raise ValueError(f'cannot feed a {image.shape[2]}-channel image to a {channels}-'
                         'channel generator')
    return np.ascontiguousarray(image)


def translate(model, images, direction: str = 'a2b', batch_size: int = 1,
              resize: bool = False, tile_size: Optional[int] = None,
              tile_overlap: int = DEFAULT_TILE_OVERLAP,
              stats_max_pixels: Optional[int] = None, stats: str = 'downscaled'):
    """Translate one image or a list of images.

    Args:
        model: from :func:`init_model`, or a built CycleGAN model.
        images: a path or an HxWx3 / HxW uint8 RGB array, or a list of them.
        direction: 'a2b' or 'b2a'.
        batch_size: consecutive images of equal size are translated together (tiles of one
            image too).
        resize: the reference's behaviour: resize to multiples of the size divisor (bicubic)
            and return the output at that size. Default: exact input size via padding.
        tile_size: None: tiles of 512 (1024 on GPU) for images above 1024x1024 pixels
            (2048x2048 on GPU); 0: never tile; N: tiles of N for images larger than N.
        tile_overlap: pixels shared by neighbouring tiles (blended).
        stats: instance-norm statistics of tiled translation: 'downscaled' (one pass over
            the image scaled down to ``stats_max_pixels``, default the auto-tiling limit;
            exact for images no larger) or 'exact' (measured at full size, tile by tile, layer
            after layer: several times slower, see docs/translate.md).

    Returns:
        uint8 RGB HxWx3 array(s) (HxW for one-channel generators), one per input.
    """
    single = isinstance(images, (str, os.PathLike, np.ndarray))
    items = [images] if single else list(images)
    outputs = list(iter_translate(model, items, direction, batch_size, resize, tile_size,
                                  tile_overlap, stats_max_pixels, stats))
    return outputs[0] if single else outputs


def iter_translate(model, images: Iterable[ImageLike], direction: str = 'a2b',
                   batch_size: int = 1, resize: bool = False,
                   tile_size: Optional[int] = None,
                   tile_overlap: int = DEFAULT_TILE_OVERLAP,
                   stats_max_pixels: Optional[int] = None,
                   stats: str = 'downscaled') -> Iterator[np.ndarray]:
    """:func:`translate` as a generator: one output per input, in order, holding at most
    ``batch_size`` images at a time."""
    translator = as_translator(model)
    channels = translator.in_channels(direction)
    divisor = translator.size_divisor(direction)
    if batch_size < 1:
        raise ValueError(f'batch_size must be >= 1, got {batch_size}')
    if stats not in ('downscaled', 'exact'):
        raise ValueError(f"stats must be 'downscaled' or 'exact', got {stats!r}")
    check_tiling(tile_size, tile_overlap)
    if tile_size and not translator.supports_tiling:
        warnings.warn(f'{type(translator).__name__} cannot translate in tiles; '
                      'translating whole images')
    tiling = dict(tile_overlap=tile_overlap, stats_max_pixels=stats_max_pixels,
                  stats=stats, batch_size=batch_size)
    pending: List[np.ndarray] = []
    for item in images:
        image = read_image(item) if isinstance(item, (str, os.PathLike)) else item
        image = to_network_channels(image, channels)
        if resize:
            image = reference_resize(image, divisor)
        if pending and (len(pending) == batch_size or pending[0].shape != image.shape):
            yield from _translate_batch(translator, pending, direction, tile_size, tiling)
            pending = []
        pending.append(image)
    if pending:
        yield from _translate_batch(translator, pending, direction, tile_size, tiling)


def check_tiling(tile_size: Optional[int], tile_overlap: int) -> None:
    """Neighbouring tiles share ``tile_overlap`` pixels: at most half a tile, or the
    tiles would step by a few pixels and a translation take hours."""
    if tile_overlap < 0:
        raise ValueError(f'tile_overlap must be >= 0, got {tile_overlap}')
    if tile_size and 2 * tile_overlap > tile_size:
        raise ValueError(f'tile_overlap {tile_overlap} must be at most half of tile_size '
                         f'{tile_size} (e.g. --tile-overlap {tile_size // 8})')


def _tile_for(translator, shape, tile_size) -> int:
    """The tile size to use for an image of this shape, 0 for none."""
    if not translator.supports_tiling or tile_size == 0:
        return 0
    h, w = shape[:2]
    device = translator.device.type
    if tile_size is None:
        limit = AUTO_TILE_PIXELS.get(device, AUTO_TILE_PIXELS['cpu'])
        return DEFAULT_TILE_SIZE.get(device, DEFAULT_TILE_SIZE['cpu']) if h * w > limit else 0
    return tile_size if max(h, w) > tile_size else 0


def _translate_batch(translator, images, direction, tile_size, tiling) -> List[np.ndarray]:
    tile = _tile_for(translator, images[0].shape, tile_size)
    if tile:
        outs = [translator.run_tiled(im, direction, tile, **tiling) for im in images]
    else:
        x = to_model_range(torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2))
        y = from_model_range(translator.run(x, direction))
        outs = list(y.permute(0, 2, 3, 1).cpu().numpy())
    return [o[..., 0] if o.shape[2] == 1 else o for o in outs]
