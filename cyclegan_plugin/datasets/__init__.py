from .demo_data import build_demo_dataset
from .transforms import (BadImageError, ImageTooSmallError, LoadImage, MakePower2, PackImage,
                         RandomCrop, ScaleWidth, build_pipeline)
from .unpaired_dataset import UnpairedImageDataset

__all__ = ['BadImageError', 'ImageTooSmallError', 'LoadImage', 'MakePower2', 'PackImage',
           'RandomCrop', 'ScaleWidth', 'UnpairedImageDataset', 'build_demo_dataset',
           'build_pipeline']
