"""Translate images larger than memory allows, tile by tile, without seams.

Two things make naive tiling visible:

1. Instance norm normalises every feature map with the statistics of the whole image; a tile
   computes its own, so tiles of a sky and of a forest come out in different tones. Here
   every instance norm gets one set of statistics shared by all tiles, measured either on a
   copy of the image scaled down to at most ``stats_max_pixels`` (one pass; exact when the
   image is no larger) or at full size, streamed tile by tile and layer after layer
   (:func:`full_resolution_stats`; exact, slower).
2. Pixels near a tile's edge see reflected padding instead of their real neighbours. Tiles
   overlap, and each tile's output is weighted by a raised-cosine ramp across the overlap,
   so every pixel is a smooth mix that favours the tile in which it lies deepest.

Tiles start on multiples of the generator's size divisor, so their stride-2 grids line up
with the untiled network's. Output rows are finished band by band, so besides the image
itself memory holds one band of tiles, never the whole image's activations.
"""
import contextlib
import math
import types
from typing import Callable, Dict, List, Tuple

import cv2
import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

NormStats = Dict[nn.Module, Tuple[torch.Tensor, torch.Tensor]]


def instance_norms(net: nn.Module) -> List[nn.Module]:
    """Instance-norm layers that normalise with per-image statistics."""
    return [m for m in net.modules() if isinstance(m, nn.modules.instancenorm._InstanceNorm)
            and not (m.track_running_stats and not m.training)]


def _normalise(module, x, mean, var):
    y = (x - mean[:, :, None, None]) * torch.rsqrt(var[:, :, None, None] + module.eps)
    if module.affine:
        y = y * module.weight[None, :, None, None] + module.bias[None, :, None, None]
    return y


@contextlib.contextmanager
def record_norm_stats(net: nn.Module):
    """Within the block, every instance norm stores the (mean, var) of its input in the
    yielded dict (one row per image of the batch); outputs are unchanged."""
    stats: NormStats = {}

    def forward(module, x):
        var, mean = torch.var_mean(x, dim=(2, 3), unbiased=False)
        stats[module] = (mean, var)
        return _normalise(module, x, mean, var)

    with _patched_forward(net, forward):
        yield stats


@contextlib.contextmanager
def fixed_norm_stats(net: nn.Module, stats: NormStats):
    """Within the block, every instance norm uses the recorded statistics (of one image)
    instead of its input's."""
    def forward(module, x):
        mean, var = stats[module]
        return _normalise(module, x, mean.to(x), var.to(x))

    with _patched_forward(net, forward):
        yield


@contextlib.contextmanager
def _patched_forward(net: nn.Module, fn: Callable):
    norms = instance_norms(net)
    for m in norms:  # an instance attribute shadows the class's forward
        m.forward = types.MethodType(fn, m)
    try:
        yield
    finally:
        for m in norms:
            del m.forward


# ----------------------------------------------------------------------- geometry
def pad_amounts(height: int, width: int, divisor: int,
                min_side: int = 0) -> Tuple[int, int, int, int]:
    """(top, bottom, left, right) padding to multiples of ``divisor`` (and at least
    ``min_side``), split evenly so both borders of the image are treated alike."""
    ph, pw = -height % divisor, -width % divisor
    if min_side:
        ph, pw = max(ph, min_side - height), max(pw, min_side - width)
    return ph // 2, ph - ph // 2, pw // 2, pw - pw // 2


def min_side(net: nn.Module, divisor: int) -> int:
    """The smallest input side a generator can take: the ResNet generator's bottleneck
    (1/4 size) needs 2 pixels for its reflection padding and instance norm."""
    return 2 * divisor if hasattr(net, 'n_blocks') else divisor


def pad_array(image: np.ndarray, pads: Tuple[int, int, int, int]) -> np.ndarray:
    """Reflect-pad an HxWxC array like ``F.pad(mode='reflect')`` (edge-replicate when the
    image is too small to reflect, as :func:`pad_tensor` does)."""
    top, bottom, left, right = pads
    h, w = image.shape[:2]
    mode = 'reflect' if max(top, bottom) < h and max(left, right) < w else 'edge'
    return np.pad(image, ((top, bottom), (left, right), (0, 0)), mode=mode)


def pad_tensor(x: torch.Tensor, pads: Tuple[int, int, int, int]) -> torch.Tensor:
    """Reflect-pad NCHW (replicate when the image is too small to reflect). While exporting
    to ONNX the pads are symbolic, so it always reflects and never skips."""
    top, bottom, left, right = pads
    if torch.onnx.is_in_onnx_export():
        return F.pad(x, [left, right, top, bottom], mode='reflect')
    if not any(pads):
        return x
    h, w = x.shape[-2:]
    reflect = max(top, bottom) < h and max(left, right) < w
    return F.pad(x, [left, right, top, bottom], mode='reflect' if reflect else 'replicate')


def tile_starts(length: int, tile: int, overlap: int, align: int) -> List[int]:
    """Evenly spread tile origins on multiples of ``align`` covering [0, length), with at
    least ``overlap`` pixels shared by neighbours. ``length`` and ``tile`` are multiples of
    ``align``."""
    if tile >= length:
        return [0]
    n = math.ceil((length - overlap) / (tile - overlap))
    last = length - tile
    starts = sorted({int(round(last * i / (n - 1) / align)) * align for i in range(n)})
    return starts


def ramp(length: int, before: int, after: int) -> np.ndarray:
    """1-D weights: raised-cosine rise over the ``before`` pixels shared with the previous
    tile, fall over the ``after`` pixels shared with the next; complementary ramps of two
    neighbours sum to one."""
    w = np.ones(length, np.float32)
    for n, sl in ((before, slice(0, before)), (after, slice(length - after, length))):
        if n > 0:
            rise = 0.5 - 0.5 * np.cos(np.pi * (np.arange(n) + 0.5) / n)
            w[sl] *= (rise if sl.start == 0 else rise[::-1]).astype(np.float32)
    return w


def _ramps(starts: List[int], tile: int) -> List[np.ndarray]:
    out = []
    for i, s in enumerate(starts):
        before = starts[i - 1] + tile - s if i > 0 else 0
        after = s + tile - starts[i + 1] if i + 1 < len(starts) else 0
        out.append(ramp(tile, before, after))
    return out


def to_uint8(x: np.ndarray) -> np.ndarray:
    """[-1, 1] -> uint8 by truncation, the reference's tensor2im (and our destruct)."""
    return np.clip((x + 1) / np.float32(2.0) * np.float32(255.0), 0, 255).astype(np.uint8)


# ------------------------------------------------------------------------- tiling
class _Grid:
    """Tile origins along one axis, the blending ramp of each tile, and the part of the axis
    each tile owns (overlaps split in the middle, on multiples of the divisor)."""

    def __init__(self, length, tile, overlap, divisor):
        self.tile = tile
        self.starts = tile_starts(length, tile, overlap, divisor)
        self.ramps = _ramps(self.starts, tile)
        cuts = [(a + tile + b) // 2 // divisor * divisor
                for a, b in zip(self.starts, self.starts[1:])]
        bounds = [0] + cuts + [length]
        self.owned = [(bounds[i] - s, bounds[i + 1] - s) for i, s in enumerate(self.starts)]


def _tile_batches(padded, ys: _Grid, xs: _Grid, batch_size):
    """(row, columns, tiles) for every batch of tiles, row by row."""
    for r, y in enumerate(ys.starts):
        for i in range(0, len(xs.starts), batch_size):
            cols = range(i, min(i + batch_size, len(xs.starts)))
            yield r, cols, [padded[y:y + ys.tile, xs.starts[c]:xs.starts[c] + xs.tile]
                            for c in cols]


class _Stop(Exception):
    """Ends a forward pass once the layer being measured has seen its input."""


def full_resolution_stats(net: nn.Module, padded, ys: _Grid, xs: _Grid,
                          order: List[nn.Module], batch_size, to_tensor) -> NormStats:
    """Every instance norm's input mean and variance over the whole image at full size,
    streamed tile by tile, each pixel counted once (from the tile that owns it).

    Layer k's statistics depend on how layers before it normalised, so the layers are
    measured one after another (``order`` is the order the network calls them in): pass k
    normalises layers < k with their measured statistics and stops at layer k. The passes
    grow with the number of norm layers: about 5 untiled translations' time for ResNet-9.
    """
    exact: NormStats = {}
    owned = []
    for target in order:
        total = squares = 0.0
        count = 0

        def forward(module, x):
            nonlocal total, squares, count
            if module in exact:
                mean, var = exact[module]
                return _normalise(module, x, mean, var)
            if module is not target:
                raise RuntimeError('instance norms were called in another order than '
                                   'in the first pass')
            fy, fx = ys.tile // x.shape[2], xs.tile // x.shape[3]  # this map's stride
            for b, ((y0, y1), (x0, x1)) in enumerate(owned):
                part = x[b, :, y0 // fy:y1 // fy, x0 // fx:x1 // fx].double()
                total = total + part.sum((1, 2))
                squares = squares + (part * part).sum((1, 2))
                count += part.shape[1] * part.shape[2]
            raise _Stop

        with _patched_forward(net, forward):
            for r, cols, tiles in _tile_batches(padded, ys, xs, batch_size):
                owned[:] = [(ys.owned[r], xs.owned[c]) for c in cols]
                try:
                    net(to_tensor(tiles))
                except _Stop:
                    pass
        mean = total / count
        var = (squares / count - mean * mean).clamp_(min=0)
        exact[target] = (mean.float()[None], var.float()[None])
    return exact


@torch.inference_mode()
def translate_tiled(net: nn.Module, image: np.ndarray, divisor: int, tile_size: int = 512,
                    tile_overlap: int = 64, stats_max_pixels: int = 1024 * 1024,
                    stats: str = 'downscaled', batch_size: int = 1,
                    device='cpu') -> np.ndarray:
    """Translate one HxWxC uint8 image (channels as the network takes them) in tiles.

    ``net`` maps a [-1, 1] NCHW batch whose sides are multiples of ``divisor`` to its
    [-1, 1] output.
    ``stats``: 'downscaled' (one pass over the image scaled down to ``stats_max_pixels``;
    exact when the image is no larger) or 'exact' (streamed at full size, slow).
    Returns the HxWxC_out uint8 translation.
    """
    h, w = image.shape[:2]
    smallest = min_side(net, divisor)
    pads = pad_amounts(h, w, divisor, smallest)
    padded = pad_array(image, pads)
    hp, wp = padded.shape[:2]
    tile = max(smallest, tile_size // divisor * divisor)
    overlap = min(tile - divisor, max(0, -(-tile_overlap // divisor) * divisor))
    ys = _Grid(hp, min(tile, hp), overlap, divisor)
    xs = _Grid(wp, min(tile, wp), overlap, divisor)
    to_tensor = _tensor_maker(device)

    # pass 1: instance-norm statistics of the whole image (scaled down if it is large); for
    # exact statistics it only tells the order of the norm layers, so a tile's size will do
    if stats == 'exact':
        stats_max_pixels = min(stats_max_pixels, ys.tile * xs.tile)
    scale = min(1.0, math.sqrt(stats_max_pixels / float(hp * wp)))
    small = padded
    if scale < 1.0:
        small = cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))),
                           interpolation=cv2.INTER_AREA).reshape(
            max(1, round(h * scale)), max(1, round(w * scale)), image.shape[2])
        small = pad_array(small, pad_amounts(*small.shape[:2], divisor, smallest))
    with record_norm_stats(net) as norm_stats:
        out_channels = net(to_tensor([small])).shape[1]
    if scale < 1.0 and stats == 'exact':
        norm_stats = full_resolution_stats(net, padded, ys, xs, list(norm_stats),
                                           batch_size, to_tensor)

    # last pass: tiles normalised with those statistics, blended band by band
    th = ys.tile
    result = np.empty((h, w, out_channels), np.uint8)
    top, _, left, _ = pads
    band_y = ys.starts[0]
    acc = np.zeros((out_channels, th, wp), np.float32)
    wsum = np.zeros((th, wp), np.float32)

    def emit(y0, y1):
        """Finish padded rows [y0, y1) of the band into the (cropped) result."""
        r0, r1 = max(y0, top), min(y1, top + h)
        if r0 < r1:
            a, b = r0 - band_y, r1 - band_y
            rows = acc[:, a:b, left:left + w] / wsum[a:b, left:left + w]
            result[r0 - top:r1 - top] = to_uint8(rows.transpose(1, 2, 0))

    with fixed_norm_stats(net, norm_stats):
        for r, cols, tiles in _tile_batches(padded, ys, xs, batch_size):
            y = ys.starts[r]
            if y != band_y:  # rows above y are final: write them out, slide the band down
                emit(band_y, y)
                shift = y - band_y
                acc = np.concatenate([acc[:, shift:], np.zeros_like(acc[:, :shift])], 1)
                wsum = np.concatenate([wsum[shift:], np.zeros_like(wsum[:shift])], 0)
                band_y = y
            out = net(to_tensor(tiles)).float().cpu().numpy()
            for j, c in enumerate(cols):
                x = xs.starts[c]
                weight = ys.ramps[r][:, None] * xs.ramps[c][None, :]
                acc[:, :, x:x + xs.tile] += out[j] * weight
                wsum[:, x:x + xs.tile] += weight
        emit(band_y, band_y + th)
    return result


def _tensor_maker(device):
    def to_tensor(arrays):
        x = torch.from_numpy(np.stack(arrays)).to(device).permute(0, 3, 1, 2).float()
        return (x / 255 - 0.5) / 0.5
    return to_tensor
