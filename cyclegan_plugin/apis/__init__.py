"""Inference: load any CycleGAN checkpoint and translate images of any size."""
from .inference import (OnnxTranslator, PaddedGenerator, Translator, init_model,
                        iter_translate, read_image, translate)

__all__ = ['OnnxTranslator', 'PaddedGenerator', 'Translator', 'init_model', 'iter_translate',
           'read_image', 'translate']
