"""The FID Inception-v3 of pytorch-fid, written out in plain torch (no torchvision needed).

Why our own module: FID numbers are only comparable with published ones when the *exact* network
of pytorch-fid (itself a port of the TensorFlow FID graph) is used. That network is torchvision's
Inception3 (1008 classes, no aux head) with pytorch-fid's FIDInceptionA/C/E blocks, whose pooling
branches differ from torchvision's. The module and key names below mirror torchvision's, so the
state dict has exactly pytorch-fid's keys, and ``pt_inception-2015-12-05-6726825d.pth`` loads
unchanged with ``strict=True``.

Inputs are float images in [0, 1], NCHW, RGB, any size. Like pytorch-fid we resize the whole batch
to 299x299 with bilinear interpolation (align_corners=False, no antialias) and map to [-1, 1].
"""
import math
import os
import zipfile
from collections import OrderedDict
from typing import Dict, Iterable, Optional, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = [
    'FIDInceptionV3', 'load_inception', 'locate_weights', 'InceptionWeightsNotFound',
    'seeded_inception_state_dict', 'FID_WEIGHTS_URL', 'FID_WEIGHTS_FILENAME', 'WEIGHTS_ENV',
    'BLOCK_INDEX_BY_DIM',
]

FID_WEIGHTS_URL = ('https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/'
                   'pt_inception-2015-12-05-6726825d.pth')
FID_WEIGHTS_FILENAME = 'pt_inception-2015-12-05-6726825d.pth'
WEIGHTS_ENV = 'CYCLEGAN_INCEPTION_WEIGHTS'

# pytorch-fid's block index for each feature size: 64 after the first max pool, 192 after the
# second, 768 after Mixed_6e, 2048 after Mixed_7c (+ global average pool).
BLOCK_INDEX_BY_DIM = {64: 0, 192: 1, 768: 2, 2048: 3}


class BasicConv2d(nn.Module):
    """Conv (no bias) -> BatchNorm(eps=1e-3, running stats) -> ReLU, as torchvision.

    After :meth:`fuse_batchnorm` an eval-mode forward runs one convolution with the
    BatchNorm folded into its weight and bias (``fused_weight``/``fused_bias``: buffers that
    are not saved, so the state dict keeps pytorch-fid's keys)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride,
                              padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)
        self.register_buffer('fused_weight', None, persistent=False)
        self.register_buffer('fused_bias', None, persistent=False)

    @torch.no_grad()
    def fuse_batchnorm(self, enabled: bool = True) -> None:
        """Fold the BatchNorm's running statistics into the convolution (or undo it)."""
        if not enabled:
            self.fused_weight = self.fused_bias = None
            return
        bn = self.bn
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)  # y = conv * scale + shift
        weight = self.conv.weight * scale.reshape(-1, 1, 1, 1)
        if self.conv.weight.is_contiguous(memory_format=torch.channels_last):
            weight = weight.contiguous(memory_format=torch.channels_last)
        self.fused_weight = weight
        self.fused_bias = bn.bias - bn.running_mean * scale

    def forward(self, x):
        if self.fused_weight is not None and not self.training:
            return F.relu(F.conv2d(x, self.fused_weight, self.fused_bias, self.conv.stride,
                                   self.conv.padding), inplace=True)
        return F.relu(self.bn(self.conv(x)), inplace=True)


def _avg_pool_branch(x):
    # The FID graph's average pools ignore the zero padding (TF 'SAME' semantics).
    return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)


class FIDInceptionA(nn.Module):
    """Mixed_5b/5c/5d: torchvision's InceptionA with a count_include_pad=False average pool."""

    def __init__(self, in_channels: int, pool_features: int):
        super().__init__()
        self.branch1x1 = BasicConv2d(in_channels, 64, 1)
        self.branch5x5_1 = BasicConv2d(in_channels, 48, 1)
        self.branch5x5_2 = BasicConv2d(48, 64, 5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 64, 1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, 3, padding=1)
        self.branch_pool = BasicConv2d(in_channels, pool_features, 1)

    def forward(self, x):
        b1 = self.branch1x1(x)
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        bp = self.branch_pool(_avg_pool_branch(x))
        return torch.cat([b1, b5, b3, bp], 1)


class InceptionB(nn.Module):
    """Mixed_6a (grid reduction 35 -> 17), unchanged from torchvision."""

    def __init__(self, in_channels: int):
        super().__init__()
        self.branch3x3 = BasicConv2d(in_channels, 384, 3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 64, 1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, 3, stride=2)

    def forward(self, x):
        b3 = self.branch3x3(x)
        bd = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        bp = F.max_pool2d(x, kernel_size=3, stride=2)
        return torch.cat([b3, bd, bp], 1)


class FIDInceptionC(nn.Module):
    """Mixed_6b..6e: torchvision's InceptionC with a count_include_pad=False average pool."""

    def __init__(self, in_channels: int, channels_7x7: int):
        super().__init__()
        c7 = channels_7x7
        self.branch1x1 = BasicConv2d(in_channels, 192, 1)
        self.branch7x7_1 = BasicConv2d(in_channels, c7, 1)
        self.branch7x7_2 = BasicConv2d(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(c7, 192, (7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2d(in_channels, c7, 1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(c7, 192, (1, 7), padding=(0, 3))
        self.branch_pool = BasicConv2d(in_channels, 192, 1)

    def forward(self, x):
        b1 = self.branch1x1(x)
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        bd = self.branch7x7dbl_1(x)
        for conv in (self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4,
                     self.branch7x7dbl_5):
            bd = conv(bd)
        bp = self.branch_pool(_avg_pool_branch(x))
        return torch.cat([b1, b7, bd, bp], 1)


class InceptionD(nn.Module):
    """Mixed_7a (grid reduction 17 -> 8), unchanged from torchvision."""

    def __init__(self, in_channels: int):
        super().__init__()
        self.branch3x3_1 = BasicConv2d(in_channels, 192, 1)
        self.branch3x3_2 = BasicConv2d(192, 320, 3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(in_channels, 192, 1)
        self.branch7x7x3_2 = BasicConv2d(192, 192, (1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(192, 192, (7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(192, 192, 3, stride=2)

    def forward(self, x):
        b3 = self.branch3x3_2(self.branch3x3_1(x))
        b7 = self.branch7x7x3_4(self.branch7x7x3_3(self.branch7x7x3_2(self.branch7x7x3_1(x))))
        bp = F.max_pool2d(x, kernel_size=3, stride=2)
        return torch.cat([b3, b7, bp], 1)


class FIDInceptionE(nn.Module):
    """Mixed_7b (average pool, count_include_pad=False) and Mixed_7c (max pool): the FID graph
    uses a max pool in the last block's pooling branch, torchvision an average pool."""

    def __init__(self, in_channels: int, pool: str):
        super().__init__()
        assert pool in ('avg', 'max')
        self.pool = pool
        self.branch1x1 = BasicConv2d(in_channels, 320, 1)
        self.branch3x3_1 = BasicConv2d(in_channels, 384, 1)
        self.branch3x3_2a = BasicConv2d(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(384, 384, (3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 448, 1)
        self.branch3x3dbl_2 = BasicConv2d(448, 384, 3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(384, 384, (3, 1), padding=(1, 0))
        self.branch_pool = BasicConv2d(in_channels, 192, 1)

    def forward(self, x):
        b1 = self.branch1x1(x)
        b3 = self.branch3x3_1(x)
        b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
        bd = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        bd = torch.cat([self.branch3x3dbl_3a(bd), self.branch3x3dbl_3b(bd)], 1)
        if self.pool == 'avg':
            pooled = _avg_pool_branch(x)
        else:
            pooled = F.max_pool2d(x, kernel_size=3, stride=1, padding=1)
        bp = self.branch_pool(pooled)
        return torch.cat([b1, b3, bd, bp], 1)


def _refold_after_load(model: 'FIDInceptionV3', incompatible_keys) -> None:
    """Weights loaded into a fused network replace the folded copies too."""
    if model.batchnorm_fused:
        model.fuse_batchnorm(True)


class FIDInceptionV3(nn.Module):
    """pytorch-fid's FID Inception-v3, returning several feature sizes from one forward pass.

    ``forward(x, dims=(2048,), logits=False)`` returns a dict ``{dim: (N, dim) float tensor}``
    and, with ``logits=True``, ``'logits'``: the (N, 1008) output of ``fc`` (for the Inception
    Score; index 0 is the TF graph's "background" class). Only the blocks needed for the largest
    requested output are run.
    """

    def __init__(self):
        super().__init__()
        # Attribute order = state dict order = pytorch-fid's key order.
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, 3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, 3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, 3, padding=1)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, 1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, 3)
        self.Mixed_5b = FIDInceptionA(192, pool_features=32)
        self.Mixed_5c = FIDInceptionA(256, pool_features=64)
        self.Mixed_5d = FIDInceptionA(288, pool_features=64)
        self.Mixed_6a = InceptionB(288)
        self.Mixed_6b = FIDInceptionC(768, channels_7x7=128)
        self.Mixed_6c = FIDInceptionC(768, channels_7x7=160)
        self.Mixed_6d = FIDInceptionC(768, channels_7x7=160)
        self.Mixed_6e = FIDInceptionC(768, channels_7x7=192)
        self.Mixed_7a = InceptionD(768)
        self.Mixed_7b = FIDInceptionE(1280, pool='avg')
        self.Mixed_7c = FIDInceptionE(2048, pool='max')
        self.fc = nn.Linear(2048, 1008)
        self.channels_last = False
        self.batchnorm_fused = False
        self.register_load_state_dict_post_hook(_refold_after_load)
        self.eval()

    def fuse_batchnorm(self, enabled: bool = True) -> 'FIDInceptionV3':
        """Fold every BatchNorm into its convolution for eval-mode forwards: ~13% faster on
        CPU (one pass over each activation instead of three). The product is rounded once
        more, so features move by ~1e-6 (~1e-7 relative), far inside the 5e-5 tolerance
        against pytorch-fid. Loading a state dict refreshes the folded weights; change the
        weights in any other way and call this again. Training-mode forwards never use them.
        A bare FIDInceptionV3 is unfused like pytorch-fid; :func:`load_inception` fuses."""
        self.batchnorm_fused = bool(enabled)
        for module in self.modules():
            if isinstance(module, BasicConv2d):
                module.fuse_batchnorm(enabled)
        return self

    def use_channels_last(self, enabled: bool = True) -> 'FIDInceptionV3':
        """Run in channels_last (NHWC) memory format: 1.6-2x faster on CPU, mostly because
        NCHW pooling is slow there. Convolutions then round differently (features move by
        ~1e-6, far inside the 5e-5 tolerance against pytorch-fid). A bare FIDInceptionV3 is
        NCHW like pytorch-fid; :func:`load_inception` switches this on by default."""
        self.channels_last = bool(enabled)
        fmt = torch.channels_last if enabled else torch.contiguous_format
        return self.to(memory_format=fmt)  # folded weights (buffers) follow

    def _blocks(self):
        """pytorch-fid's four blocks (its InceptionV3.blocks), as callables."""
        pool = lambda x: F.max_pool2d(x, kernel_size=3, stride=2)  # noqa: E731
        return [
            [self.Conv2d_1a_3x3, self.Conv2d_2a_3x3, self.Conv2d_2b_3x3, pool],
            [self.Conv2d_3b_1x1, self.Conv2d_4a_3x3, pool],
            [self.Mixed_5b, self.Mixed_5c, self.Mixed_5d, self.Mixed_6a, self.Mixed_6b,
             self.Mixed_6c, self.Mixed_6d, self.Mixed_6e],
            [self.Mixed_7a, self.Mixed_7b, self.Mixed_7c],
        ]

    @staticmethod
    def preprocess(x: torch.Tensor) -> torch.Tensor:
        """[0, 1] images of any size -> 299x299 in [-1, 1], exactly as pytorch-fid does it."""
        x = F.interpolate(x, size=(299, 299), mode='bilinear', align_corners=False)
        return 2 * x - 1

    def forward(self, x: torch.Tensor, dims: Iterable[int] = (2048,),
                logits: bool = False) -> Dict[Union[int, str], torch.Tensor]:
        dims = sorted(set(int(d) for d in dims))
        for d in dims:
            if d not in BLOCK_INDEX_BY_DIM:
                raise ValueError(f'dims must be among {sorted(BLOCK_INDEX_BY_DIM)}, got {d}')
        last = 3 if logits else max(BLOCK_INDEX_BY_DIM[d] for d in dims)
        wanted = {BLOCK_INDEX_BY_DIM[d]: d for d in dims}

        x = self.preprocess(x)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        out: Dict[Union[int, str], torch.Tensor] = {}
        for idx, block in enumerate(self._blocks()[:last + 1]):
            for layer in block:
                x = layer(x)
            if idx in wanted:
                feat = x
                if feat.shape[2] != 1 or feat.shape[3] != 1:
                    feat = F.adaptive_avg_pool2d(feat, output_size=(1, 1))
                out[wanted[idx]] = feat.flatten(1)
        if logits:
            pooled = F.adaptive_avg_pool2d(x, output_size=(1, 1)).flatten(1)
            out['logits'] = self.fc(pooled)  # dropout of torchvision is a no-op in eval
        return out


class InceptionWeightsNotFound(FileNotFoundError):
    """The FID Inception weights are neither on disk nor downloadable."""


def _default_weights_path() -> str:
    return os.path.join(torch.hub.get_dir(), 'checkpoints', FID_WEIGHTS_FILENAME)


def _load_file(path: str):
    """torch.load a weights file on the CPU, weights only; memory-mapped when it is in
    torch's zip format (torch.save's default since 1.6): the tensors are then read from the
    page cache as the network is built instead of being copied out first."""
    return torch.load(path, map_location='cpu', weights_only=True,
                      mmap=zipfile.is_zipfile(path))


def locate_weights(weights: Optional[str] = None, download: bool = True) -> str:
    """The path of the FID Inception weights, from the first place that has them (see
    :func:`load_inception`); a download goes into torch's hub cache. Raises
    :class:`InceptionWeightsNotFound` naming every place when none has them, so tools can
    check before a run rather than at its first validation."""
    if weights is not None:
        if not os.path.isfile(weights):
            raise InceptionWeightsNotFound(f'FID Inception weights not found: {weights}')
        return weights
    env = os.environ.get(WEIGHTS_ENV)
    if env:
        if not os.path.isfile(env):
            raise InceptionWeightsNotFound(
                f'{WEIGHTS_ENV}={env} but that file does not exist')
        return env
    hub_path = _default_weights_path()
    if os.path.isfile(hub_path):
        return hub_path
    error = 'download disabled'
    if download:
        try:
            os.makedirs(os.path.dirname(hub_path), exist_ok=True)
            torch.hub.download_url_to_file(FID_WEIGHTS_URL, hub_path, progress=True)
            return hub_path
        except Exception as e:  # offline, proxy, HTTP error...: all end in the message below
            error = f'{type(e).__name__}: {e}'
    raise InceptionWeightsNotFound(
        f'FID Inception weights {FID_WEIGHTS_FILENAME} (pytorch-fid\'s, ~96 MB) are not '
        f'available and could not be downloaded ({error}).\n'
        f'Get it from {FID_WEIGHTS_URL} and either\n'
        f'  * put it at {hub_path} (torch hub cache; $TORCH_HOME moves it), or\n'
        f'  * set {WEIGHTS_ENV}=/path/to/{FID_WEIGHTS_FILENAME}, or\n'
        f'  * pass its path explicitly (inception_weights=... / --inception-weights).')


def load_inception(weights: Optional[str] = None, device: Union[str, torch.device] = 'cpu',
                   download: bool = True, channels_last: bool = True,
                   fuse_batchnorm: bool = True) -> FIDInceptionV3:
    """Build the FID Inception in eval mode with pytorch-fid's weights, frozen.

    Looks for the weights in this order: ``weights`` (a path), ``$CYCLEGAN_INCEPTION_WEIGHTS``,
    ``<torch.hub.get_dir()>/checkpoints/pt_inception-2015-12-05-6726825d.pth`` (where pytorch-fid
    itself caches them), then a download of pytorch-fid's release file. Raises
    :class:`InceptionWeightsNotFound` with all of these places named when none works.
    ``channels_last``: see :meth:`FIDInceptionV3.use_channels_last` (1.6-2x faster on CPU);
    ``fuse_batchnorm``: see :meth:`FIDInceptionV3.fuse_batchnorm` (~13% faster on CPU).
    The weights file is memory-mapped when torch.save wrote it (zip format) and the network is
    built on the meta device and given the file's tensors (no random initialisation first).
    """
    state = _load_file(locate_weights(weights, download))
    with torch.device('meta'):  # no random initialisation of 24M parameters to overwrite
        model = FIDInceptionV3()
    model.load_state_dict(state, strict=True, assign=True)
    model.float()  # a no-op for pytorch-fid's float32 file; assign=True keeps a file's dtype
    model.requires_grad_(False)
    model.fuse_batchnorm(fuse_batchnorm)
    model.use_channels_last(channels_last)
    return model.eval().to(device)


def seeded_inception_state_dict(seed: int = 2024) -> 'OrderedDict[str, torch.Tensor]':
    """Pseudo-random FID Inception weights by the reference fixtures' rule (their fid/README.md,
    section 1), for tests and benchmarks where pytorch-fid's file cannot be downloaded.

    Conv weights ~ N(0, 2/fan_in) and fc.weight ~ N(0, 1/2048), drawn in key order from one
    torch generator; BatchNorm is identity-like. The features mean nothing as image statistics
    but exercise every layer, so an implementation can be compared number for number with
    pytorch-fid run on the same weights (the same keys: save it where pytorch-fid looks).
    """
    with torch.device('meta'):
        shapes = [(k, tuple(v.shape)) for k, v in FIDInceptionV3().state_dict().items()]
    g = torch.Generator().manual_seed(seed)
    state = OrderedDict()
    for key, shape in shapes:
        if key.endswith('.num_batches_tracked'):
            t = torch.tensor(0, dtype=torch.long)
        elif key.endswith('.bn.running_mean') or key.endswith('.bn.bias') or key == 'fc.bias':
            t = torch.zeros(shape)
        elif key.endswith('.bn.running_var') or key.endswith('.bn.weight'):
            t = torch.ones(shape)
        elif key.endswith('.conv.weight'):
            t = torch.randn(shape, generator=g) * math.sqrt(2.0 / (shape[1] * shape[2] * shape[3]))
        elif key == 'fc.weight':
            t = torch.randn(shape, generator=g) * math.sqrt(1.0 / 2048)
        else:  # pragma: no cover - the architecture has no other kind of tensor
            raise KeyError(f'no rule for {key}')
        state[key] = t
    return state
