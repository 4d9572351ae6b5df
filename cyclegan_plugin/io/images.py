"""The one image reader and writer of the package: PIL, as the reference reads.

The reference opens every image with ``Image.open(path).convert('RGB')``
(``data/unaligned_dataset.py``) and pytorch-fid does the same. Reading that way everywhere
(training, test, FID, translation, demo metrics) keeps every pixel equal to theirs: gray files
replicated, palettes expanded, alpha dropped without compositing, 16-bit files as PIL converts
them (gray ones clip at 255, colour ones keep their high byte), EXIF orientation ignored.

Images travel as HxWx3 ``uint8`` numpy arrays in RGB order (HxW for one channel).
"""
import io
import os
import warnings
from typing import Sequence, Union

import numpy as np
from PIL import Image, UnidentifiedImageError

PathLike = Union[str, os.PathLike]

#: Every image file we list: the reference's (data/image_folder.py) and pytorch-fid's
#: (.pgm, .webp) extensions, matched in any case.
IMG_EXTENSIONS = ('.bmp', '.jpg', '.jpeg', '.pgm', '.png', '.ppm', '.tif', '.tiff', '.webp')

#: PIL modes: 'RGB' (3 channels) and 'L' (the reference's ``Grayscale(1)`` of the RGB image)
MODES = ('RGB', 'L')


def is_image_file(name: PathLike) -> bool:
    return os.fspath(name).lower().endswith(IMG_EXTENSIONS)


class BadImageError(IOError):
    """A file that cannot be decoded as an image (missing, empty, truncated, not an image...).

    A class of its own so that a data set can skip such files on purpose without hiding
    other errors.
    """

    _message = 'cannot read image {path}: {reason}'

    def __init__(self, path: str, reason: str):
        super().__init__(self._message.format(path=path, reason=reason))
        self.path = str(path)
        self.reason = reason


def decode_image(data: bytes, path: PathLike, mode: str = 'RGB') -> np.ndarray:
    """The bytes of an image file -> ``uint8`` array: HxWx3 RGB (``mode='RGB'``) or HxW
    (``'L'``, gray from the RGB image as the reference's ``Grayscale(1)``). ``path`` names
    the file in errors."""
    if mode not in MODES:
        raise ValueError(f'mode must be one of {MODES}, got {mode!r}')
    if len(data) == 0:
        raise BadImageError(path, 'the file is empty (0 bytes)')
    try:
        with warnings.catch_warnings():
            # PIL warns about huge images (decompression bombs) and then decodes them as
            # the reference does; its errors for the worst ones still raise below
            warnings.simplefilter('ignore', Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                image = image.convert('RGB')
        if mode == 'L':
            image = image.convert('L')
        # an array of its own: np.asarray would view PIL's read-only bytes, which torch
        # refuses to share (torch.from_numpy warns of undefined behaviour)
        return np.array(image)
    except UnidentifiedImageError:
        raise BadImageError(path, f'not an image file PIL can read ({len(data)} bytes)') from None
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as err:
        raise BadImageError(path, f'{type(err).__name__}: {err} (truncated or damaged?)') from err


def read_image(path: PathLike, mode: str = 'RGB') -> np.ndarray:
    """Read an image file as :func:`decode_image` decodes it; errors name the file."""
    try:
        with open(path, 'rb') as f:
            data = f.read()
    except OSError as err:
        raise BadImageError(path, f'{type(err).__name__}: {err.strerror or err}') from err
    return decode_image(data, path, mode)


#: file extension -> PIL format and its save options (JPEG at quality 95, as OpenCV's default)
_FORMATS = {'.png': ('PNG', {}), '.jpg': ('JPEG', dict(quality=95)),
            '.jpeg': ('JPEG', dict(quality=95)), '.bmp': ('BMP', {}), '.tif': ('TIFF', {}),
            '.tiff': ('TIFF', {}), '.webp': ('WEBP', dict(quality=95)), '.ppm': ('PPM', {}),
            '.pgm': ('PPM', {})}
#: the extensions :func:`encode_image` writes
WRITABLE_EXTENSIONS = tuple(_FORMATS)


def encode_image(image: np.ndarray, ext: str = '.png') -> bytes:
    """An HxWx3 RGB, HxWx1 or HxW ``uint8`` array -> the bytes of an image file of the
    format ``ext`` names (.png, .jpg, .bmp, .tif, .webp, .ppm)."""
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise TypeError(f'expected a uint8 image, got {image.dtype}')
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    if ext.lower() not in _FORMATS:
        raise ValueError(f'cannot write {ext!r} images: use one of {", ".join(_FORMATS)}')
    fmt, options = _FORMATS[ext.lower()]
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image)).save(buffer, format=fmt, **options)
    return buffer.getvalue()


def encode_png(image: np.ndarray) -> bytes:
    """An HxWx3 RGB, HxWx1 or HxW ``uint8`` array -> the bytes of a PNG file."""
    return encode_image(image, '.png')


def list_images(folder: PathLike, recursive: bool = False) -> Sequence[str]:
    """Sorted paths of the image files (:data:`IMG_EXTENSIONS`) of a folder, without
    opening them; ``recursive`` descends into sub-folders (not into links to folders)."""
    images, stack = [], [os.fspath(folder)]
    while stack:
        with os.scandir(stack.pop()) as entries:
            for entry in entries:
                if entry.is_dir():
                    if recursive and not entry.is_symlink():
                        stack.append(entry.path)
                elif is_image_file(entry.name):
                    images.append(entry.path)
    return sorted(images)
