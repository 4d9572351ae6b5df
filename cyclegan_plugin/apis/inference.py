"""Translate images with a trained CycleGAN, from any checkpoint, at any size.

``init_model`` turns a config + checkpoint, or a checkpoint alone (ours, the reference's,
MMagic's, a bare generator, or an exported .onnx file), into a translator; ``translate``
maps file paths or uint8 RGB arrays to uint8 RGB arrays of the same height and width.

Exact geometry: the image is reflect-padded to the generator's size divisor, translated and
cropped back, so no pixel is resampled. ``resize=True`` instead does what the reference's
test script does with ``--preprocess none``: bicubic resize to the nearest multiple of the
divisor (4 for the ResNet generator), and the output keeps that size. Large images are
translated in tiles (see :mod:`.tiling`).
"""
import os
import warnings
from typing import Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Union

import numpy as np
import torch
from PIL import Image
from torch import nn

from ..interop.detect import load_generator_checkpoint
from ..interop.layout import DIRECTIONS, infer_generator_config
from ..io import CheckpointError, read_image
from ..models.data_preprocessor import from_model_range, to_model_range
from ..registry import MODELS
from .tiling import min_side, pad_amounts, pad_tensor, translate_tiled

ImageLike = Union[str, os.PathLike, np.ndarray]
CONFIG_SUFFIXES = ('.py', '.json', '.yaml', '.yml')
#: above this many pixels an image is translated in tiles unless tile_size says otherwise
AUTO_TILE_PIXELS = {'cpu': 1024 * 1024, 'cuda': 2048 * 2048}
DEFAULT_TILE_SIZE = {'cpu': 512, 'cuda': 1024}
DEFAULT_TILE_OVERLAP = 64


class PaddedGenerator(nn.Module):
    """A generator that takes any size: reflect-pad to ``size_divisor``, translate, crop.

    Inputs and outputs are RGB in [-1, 1]. This module is also what gets exported to ONNX.
    """

    def __init__(self, generator: nn.Module, size_divisor: int):
        super().__init__()
        self.generator, self.size_divisor = generator, int(size_divisor)
        self.min_side = min_side(generator, self.size_divisor)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2], x.shape[-1]
        smallest = 0 if torch.onnx.is_in_onnx_export() else self.min_side  # sizes symbolic
        top, bottom, left, right = pad_amounts(h, w, self.size_divisor, smallest)
        y = self.generator(pad_tensor(x, (top, bottom, left, right)))
        return y[:, :, top:top + h, left:left + w]


def _divisor(net: nn.Module) -> int:
    return int(getattr(net, 'size_divisor', 4))


def _first_conv(net: nn.Module) -> nn.Module:
    return next(m for m in net.modules() if isinstance(m, nn.modules.conv._ConvNd))


class Translator:
    """The generator(s) of one checkpoint, ready to translate.

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
        if direction not in self.generators:
            raise ValueError(f'direction {direction!r} is not in this checkpoint '
                             f'({self.source or "model"}): it has {list(self.directions)}')
        return self.generators[direction]

    def wrapped(self, direction: str) -> PaddedGenerator:
        if direction not in self._wrapped:
            net = self.generator(direction)
            self._wrapped[direction] = PaddedGenerator(net, _divisor(net)).eval()
        return self._wrapped[direction]

    def in_channels(self, direction: str) -> int:
        net = self.generator(direction)
        return int(getattr(net, 'in_channels', _first_conv(net).in_channels))

    def size_divisor(self, direction: str) -> int:
        return _divisor(self.generator(direction))

    @torch.inference_mode()
    def run(self, x: torch.Tensor, direction: str) -> torch.Tensor:
        """[-1, 1] RGB NCHW of any size -> translated [-1, 1] RGB NCHW of the same size."""
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

    def translate(self, images, direction: str = 'a2b', **kwargs):
        return translate(self, images, direction, **kwargs)

    def __repr__(self):
        nets = ', '.join(f'{d}: {type(n).__name__}' for d, n in self.generators.items())
        return (f'{type(self).__name__}({nets}; source={self.source!r}, '
                f'device={self.device})')


class OnnxTranslator:
    """An exported generator (tools/export_onnx.py) run by onnxruntime.

    The exported graph pads and crops itself and takes RGB in [-1, 1], like
    :class:`PaddedGenerator`; instance-norm statistics cannot be fixed inside it, so there
    is no tiled mode.
    """
    supports_tiling = False

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
        self.source, self.device = 'onnx', torch.device('cpu')
        self.directions = (meta.get('direction', 'a2b'),)
        self._in_channels = int(meta.get('in_channels', self.session.get_inputs()[0].shape[1]))
        self._divisor = int(meta.get('size_divisor', 1))
        self._min_side = int(meta.get('min_side', 2 * self._divisor))
        self._input = self.session.get_inputs()[0].name

    def _check(self, direction):
        if direction not in self.directions:
            raise ValueError(f'direction {direction!r} is not in this ONNX file: it was '
                             f'exported for {self.directions[0]!r}')

    def in_channels(self, direction: str) -> int:
        self._check(direction)
        return self._in_channels

    def size_divisor(self, direction: str) -> int:
        self._check(direction)
        return self._divisor

    def run(self, x: torch.Tensor, direction: str) -> torch.Tensor:
        """As :meth:`Translator.run`. The graph's reflection pads need a few pixels: smaller
        images are padded here first (replicated, as the PyTorch path does) and cropped."""
        self._check(direction)
        h, w = x.shape[-2:]
        top, bottom, left, right = pads = pad_amounts(h, w, 1, self._min_side)
        x = pad_tensor(x.detach().cpu().float(), pads)
        out = torch.from_numpy(self.session.run(None, {self._input: x.numpy()})[0])
        return out[:, :, top:top + h, left:left + w]

    def translate(self, images, direction: str = 'a2b', **kwargs):
        return translate(self, images, direction, **kwargs)


# --------------------------------------------------------------------------- loading
def build_generator(cfg: Mapping, state: Optional[Mapping] = None) -> nn.Module:
    """Build one of our generators from its config and load a state dict into it."""
    cfg = dict(cfg)
    cls = MODELS.get(cfg.pop('type'))  # our registry, whatever the default scope is
    if cls is None:
        raise CheckpointError(f'unknown generator type in {cfg}')
    cfg['init_cfg'] = None  # weights come from the checkpoint
    net = cls(**cfg)
    if state is not None:
        try:
            net.load_state_dict(state, strict=True)
        except RuntimeError as err:
            raise CheckpointError(f'the checkpoint does not fit {cls.__name__}({cfg}): '
                                  f'{err}') from err
    return net


def init_model(config_or_checkpoint, checkpoint=None, device='cpu',
               direction: Optional[str] = None, norm: Optional[str] = None,
               domains: Optional[Sequence[str]] = None, trusted: bool = False):
    """A :class:`Translator` (or :class:`OnnxTranslator` for .onnx files).

    Args:
        config_or_checkpoint: an MMEngine config file (then ``checkpoint`` gives the
            weights), or a checkpoint alone: our training checkpoint, a model or generator
            state dict, the reference's ``latest_net_G_A.pth`` (its G_B sibling is loaded too)
            / ``latest_net_G.pth`` / checkpoint folder, an MMagic CycleGAN checkpoint, or an
            exported .onnx file. The architecture is read from the checkpoint.
        device: 'cpu', 'cuda', 'cuda:1' ...
        direction: a single-generator checkpoint's direction (default 'a2b'); with two
            generators, load only this one.
        norm: override the normalisation read from the checkpoint ('instance' / 'batch' /
            'none'), for checkpoints whose keys cannot tell.
        domains: MMagic's (domain_a, domain_b) when the checkpoint does not store them.
        trusted: allow checkpoints that pickle Python objects besides tensors (MMagic's,
            MMEngine's without SafeCheckpointHook); unpickling can run code.
    """
    first = os.fspath(config_or_checkpoint)
    if first.endswith('.onnx'):
        return OnnxTranslator(first, device)
    if first.endswith(CONFIG_SUFFIXES) and os.path.isfile(first):
        return _from_config(first, checkpoint, device, direction, domains, trusted)
    if checkpoint is not None:
        raise ValueError(f'{first} is not a config file (.py/.json/.yaml): pass a config and '
                         'a checkpoint, or a checkpoint alone')
    ckpt = load_generator_checkpoint(first, direction, norm, 'cpu', domains, trusted)
    nets = {}
    for d in ckpt.directions:
        try:
            nets[d] = build_generator(ckpt.configs[d], ckpt.states[d])
        except (TypeError, CheckpointError):  # a stored config this version cannot use
            inferred = infer_generator_config(ckpt.states[d], norm)
            if inferred == ckpt.configs[d]:
                raise
            nets[d] = build_generator(inferred, ckpt.states[d])
    return Translator(nets, ckpt.source, device, domains=ckpt.domains)


def _from_config(config, checkpoint, device, direction, domains, trusted) -> Translator:
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    cfg = Config.fromfile(config)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'cyclegan_plugin')):
        model = MODELS.build(cfg.model)
    if not isinstance(getattr(model, 'generators', None), nn.ModuleDict):
        raise TypeError(f'{config} builds a {type(model).__name__}, which has no '
                        '`generators` ModuleDict')
    source, found = 'config', None
    if checkpoint is None:
        warnings.warn(f'no checkpoint given: the generators of {config} keep their random '
                      'initial weights')
    else:
        ckpt = load_generator_checkpoint(checkpoint, direction, None, 'cpu', domains, trusted)
        source, found = ckpt.source, ckpt.directions
        missing, unexpected = model.load_state_dict(ckpt.model_state(), strict=False)
        bad = [k for k in missing
               if k.startswith('generators.') and k.split('.')[1] in found] + unexpected
        if bad:
            raise CheckpointError(f'{checkpoint} does not fit the model of {config}: '
                                  f'{len(bad)} mismatched keys, e.g. {bad[:3]}')
    nets = {d: model.generators[d] for d in model.generators
            if (found is None or d in found) and direction in (None, d)}
    return Translator(nets, source, device, model=model)


# ------------------------------------------------------------------------ translating
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


def _as_translator(model):
    if isinstance(model, (Translator, OnnxTranslator)):
        return model
    return Translator.from_model(model)


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
    translator = _as_translator(model)
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
    """Neighbouring tiles share ``tile_overlap`` pixels: it must be under half a tile, or the
    tiles would step by a few pixels and a translation take hours."""
    if tile_overlap < 0:
        raise ValueError(f'tile_overlap must be >= 0, got {tile_overlap}')
    if tile_size and 2 * tile_overlap >= tile_size:
        raise ValueError(f'tile_overlap {tile_overlap} must be under half of tile_size '
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
