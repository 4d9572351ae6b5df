from ..io import BadImageError
from .transforms import (ImageTooSmallError, LoadImage, MakePower2, PackImage,
                         RandomCrop, ScaleWidth, build_pipeline)
from .unpaired_dataset import UnpairedImageDataset

__all__ = ['BadImageError', 'ImageTooSmallError', 'LoadImage', 'MakePower2', 'PackImage',
           'RandomCrop', 'ScaleWidth', 'UnpairedImageDataset', 'build_pipeline']
