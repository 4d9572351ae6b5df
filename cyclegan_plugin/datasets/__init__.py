from ..io import BadImageError
from .transforms import (ImageTooSmallError, LoadImage, MakePower2, PackImage,
                         RandomCrop, RandomZoom, ScaleWidth, build_pipeline)
from .unpaired_dataset import UnpairedImageDataset

__all__ = ['BadImageError', 'ImageTooSmallError', 'LoadImage', 'MakePower2', 'PackImage',
           'RandomCrop', 'RandomZoom', 'ScaleWidth', 'UnpairedImageDataset', 'build_pipeline']
