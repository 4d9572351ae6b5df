from .cyclegan import CycleGAN
from .data_preprocessor import CycleGANDataPreprocessor
from .diffaugment import DiffAugment
from .discriminators import PatchDiscriminator, PixelDiscriminator
from .ema import GeneratorEMA
from .generators import ResnetGenerator, UnetGenerator
from .image_pool import ImagePool
from .init import init_weights
from .losses import GANLoss, gradient_penalty

__all__ = ['CycleGAN', 'CycleGANDataPreprocessor', 'DiffAugment', 'GeneratorEMA',
           'PatchDiscriminator', 'PixelDiscriminator',
           'ResnetGenerator', 'UnetGenerator', 'ImagePool', 'init_weights', 'GANLoss',
           'gradient_penalty']
