"""Translators: the generators of one checkpoint behind one interface, run by PyTorch
(:class:`Translator`) or by onnxruntime (:class:`OnnxTranslator`). Both take and give RGB
NCHW tensors in [-1, 1] of any size; :mod:`.inference` turns images into those and back."""
import os
from typing import Dict, Mapping, Optional, Sequence

import numpy as np
import torch
from torch import nn

from ..interop.layout import DIRECTIONS
from .padded import PaddedGenerator, in_channels_of, size_divisor_of
from .tiling import pad_amounts, pad_tensor, translate_tiled

#: above this many pixels an image is translated in tiles unless tile_size says otherwise
AUTO_TILE_PIXELS = {'cpu': 1024 * 1024, 'cuda': 2048 * 2048}
DEFAULT_TILE_SIZE = {'cpu': 512, 'cuda': 1024}
DEFAULT_TILE_OVERLAP = 64


class BaseTranslator:
    """What :func:`.inference.translate` needs of a translator: its ``directions``, the
    ``device`` its inputs go to, each direction's input channels and size divisor, and
    ``run``. ``supports_tiling``: whether it has ``run_tiled`` (fixed instance-norm
    statistics, which an exported graph cannot take)."""
    supports_tiling = False
    source = ''
    directions: Sequence[str] = ()
    device = torch.device('cpu')

    def check_direction(self, direction: str) -> None:
        if direction not in self.directions:
            raise ValueError(f'direction {direction!r} is not in this checkpoint '
                             f'({self.source or "model"}): it has {list(self.directions)}')

    def in_channels(self, direction: str) -> int:
        raise NotImplementedError

    def size_divisor(self, direction: str) -> int:
        raise NotImplementedError

    def run(self, x: torch.Tensor, direction: str) -> torch.Tensor:
        """[-1, 1] RGB NCHW of any size -> translated [-1, 1] RGB NCHW of the same size."""
        raise NotImplementedError


class Translator(BaseTranslator):
    """The generator(s) of one checkpoint, run by PyTorch.

    ``generators`` maps 'a2b' / 'b2a' to networks (only those the checkpoint held), which
    read and write RGB; ``model`` is the full model when one was built from a config;
    ``source`` names the checkpoint format.
    """
    supports_tiling = True

    def __init__(self, generators: Mapping[str, nn.Module], source: str = '', device='cpu',
                 model: Optional[nn.Module] = None, domains=None):
        unknown = set(generators) - set(DIRECTIONS)
        if unknown:
            raise ValueError(f'generator directions must be among {DIRECTIONS}, '
                             f'got {sorted(unknown)}')
        self.device = torch.device(device)
        self.generators = nn.ModuleDict(
            {d: generators[d] for d in DIRECTIONS if d in generators}).to(self.device).eval()
        self.source, self.model, self.domains = source, model, domains
        self._wrapped: Dict[str, PaddedGenerator] = {}

    @classmethod
    def from_model(cls, model: nn.Module, device=None) -> 'Translator':
        """Wrap a built CycleGAN-like model (one with a ``generators`` ModuleDict)."""
        if not isinstance(getattr(model, 'generators', None), nn.ModuleDict):
            raise TypeError(f'expected a Translator or a model with a `generators` '
                            f'ModuleDict, got {type(model).__name__}')
        if device is None:
            device = next(model.parameters()).device
        return cls(dict(model.generators.items()), source=type(model).__name__,
                   device=device, model=model)

    @property
    def directions(self) -> tuple:
        return tuple(self.generators.keys())

    def generator(self, direction: str) -> nn.Module:
        self.check_direction(direction)
        return self.generators[direction]

    def wrapped(self, direction: str) -> PaddedGenerator:
        if direction not in self._wrapped:
            net = self.generator(direction)
            self._wrapped[direction] = PaddedGenerator(net, size_divisor_of(net)).eval()
        return self._wrapped[direction]

    def in_channels(self, direction: str) -> int:
        return in_channels_of(self.generator(direction))

    def size_divisor(self, direction: str) -> int:
        return size_divisor_of(self.generator(direction))

    @torch.inference_mode()
    def run(self, x: torch.Tensor, direction: str) -> torch.Tensor:
        return self.wrapped(direction)(x.to(self.device))

    def run_tiled(self, image: np.ndarray, direction: str, tile_size: int,
                  tile_overlap: int = DEFAULT_TILE_OVERLAP,
                  stats_max_pixels: Optional[int] = None, stats: str = 'downscaled',
                  batch_size: int = 1) -> np.ndarray:
        """One HxWxC uint8 image (network channels) -> uint8 translation, in tiles."""
        if stats_max_pixels is None:
            stats_max_pixels = AUTO_TILE_PIXELS.get(self.device.type, AUTO_TILE_PIXELS['cpu'])
        return translate_tiled(self.generator(direction), image, self.size_divisor(direction),
                               tile_size, tile_overlap, stats_max_pixels, stats, batch_size,
                               self.device)

    def __repr__(self):
        nets = ', '.join(f'{d}: {type(n).__name__}' for d, n in self.generators.items())
        return (f'{type(self).__name__}({nets}; source={self.source!r}, '
                f'device={self.device})')


class OnnxTranslator(BaseTranslator):
    """An exported generator (tools/export_onnx.py) run by onnxruntime.

    The exported graph pads and crops itself and takes RGB in [-1, 1], like
    :class:`PaddedGenerator`; instance-norm statistics cannot be fixed inside it, so there
    is no tiled mode.
    """
    source = 'onnx'

    def __init__(self, path, device='cpu'):
        try:
            import onnxruntime as ort
        except ImportError as err:
            raise ImportError('the onnxruntime backend needs `pip install onnxruntime`') from err
        if not os.path.isfile(path):
            raise FileNotFoundError(f'ONNX file not found: {path}')
        providers = ['CPUExecutionProvider']
        if str(device).startswith('cuda'):
            providers.insert(0, 'CUDAExecutionProvider')
        self.session = ort.InferenceSession(os.fspath(path), providers=providers)
        meta = self.session.get_modelmeta().custom_metadata_map
        self.directions = (meta.get('direction', 'a2b'),)
        self._in_channels = int(meta.get('in_channels', self.session.get_inputs()[0].shape[1]))
        self._divisor = int(meta.get('size_divisor', 1))
        self._min_side = int(meta.get('min_side', 2 * self._divisor))
        self._input = self.session.get_inputs()[0].name

    def check_direction(self, direction: str) -> None:
        if direction not in self.directions:
            raise ValueError(f'direction {direction!r} is not in this ONNX file: it was '
                             f'exported for {self.directions[0]!r}')

    def in_channels(self, direction: str) -> int:
        self.check_direction(direction)
        return self._in_channels

    def size_divisor(self, direction: str) -> int:
        self.check_direction(direction)
        return self._divisor

    def run(self, x: torch.Tensor, direction: str) -> torch.Tensor:
        """As :meth:`Translator.run`. The graph's reflection pads need a few pixels: smaller
        images are padded here first (replicated, as the PyTorch path does) and cropped."""
        self.check_direction(direction)
        h, w = x.shape[-2:]
        top, bottom, left, right = pads = pad_amounts(h, w, 1, self._min_side)
        x = pad_tensor(x.detach().cpu().float(), pads)
        out = torch.from_numpy(self.session.run(None, {self._input: x.numpy()})[0])
        return out[:, :, top:top + h, left:left + w]


def as_translator(model) -> BaseTranslator:
    """A translator as it is, or a built CycleGAN model wrapped in a :class:`Translator`."""
    return model if isinstance(model, BaseTranslator) else Translator.from_model(model)
