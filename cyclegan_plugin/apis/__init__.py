"""Inference: load any CycleGAN checkpoint (:mod:`.loading`) into a translator
(:mod:`.translators`), translate images of any size (:mod:`.inference`, :mod:`.tiling`) and
whole files, folders, globs and videos (:mod:`.files`)."""
from ..io import read_image
from .files import collect_inputs, translate_files, translate_video
from .inference import iter_translate, translate
from .loading import build_generator, init_model
from .padded import PaddedGenerator
from .translators import BaseTranslator, OnnxTranslator, Translator

__all__ = ['BaseTranslator', 'OnnxTranslator', 'PaddedGenerator', 'Translator',
           'build_generator', 'collect_inputs', 'init_model', 'iter_translate', 'read_image',
           'translate', 'translate_files', 'translate_video']
