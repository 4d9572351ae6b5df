from .resnet_generator import ResnetBlock, ResnetGenerator
from .unet_generator import UnetGenerator, UnetSkipConnectionBlock

__all__ = ['ResnetBlock', 'ResnetGenerator', 'UnetGenerator', 'UnetSkipConnectionBlock']
