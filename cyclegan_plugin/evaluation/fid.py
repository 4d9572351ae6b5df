"""FID / KID / IS maths and Inception feature extraction, matching pytorch-fid 0.3.0.

Everything that decides the numbers follows pytorch-fid step by step (see docs/evaluation.md):
sorted file list, RGB images as uint8/255 float32, batch-resized inside the network, float32
features stored as float64, ``np.cov(rowvar=False)``. Deviating from any of these shifts FID by
far more than float noise. The trace of the matrix square root is by default taken from
symmetric eigenvalue problems (``frechet_distance(method='eigh')``, within 4.4e-8 relative of
pytorch-fid's FID on the fixtures and 4-20x faster at 2048-d); ``method='sqrtm'`` is
pytorch-fid's scipy ``sqrtm`` with its retry and imaginary-part check.
"""
import contextlib
import hashlib
import os
import time
import warnings
from pathlib import Path
from typing import Dict, Iterable, List, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F

# The package's one image reader and extension list (PIL's Image.open(p).convert('RGB'), as
# pytorch-fid reads); re-exported here as fid.read_image / fid.IMAGE_EXTENSIONS.
from ..io.images import IMG_EXTENSIONS, BadImageError, is_image_file, read_image

__all__ = [
    'IMAGE_EXTENSIONS', 'FID_METHODS', 'frechet_distance', 'compute_statistics',
    'fid_from_features', 'kid_subsets', 'kernel_inception_distance', 'inception_score',
    'list_images', 'read_image', 'images_to_float', 'inception_features', 'FolderFeatures', 'extract_folder_features',
    'folder_fingerprint', 'inception_fingerprint', 'save_stats', 'load_stats',
    'folder_statistics', 'default_stats_cache_dir', 'default_batch_size',
]

#: The extensions listed: cyclegan_plugin.io's IMG_EXTENSIONS (pytorch-fid's, which it globs in
#: lower case; any case here).
IMAGE_EXTENSIONS = IMG_EXTENSIONS

PathLike = Union[str, os.PathLike]


# --------------------------------------------------------------------------------------------
# Statistics
# --------------------------------------------------------------------------------------------

def compute_statistics(features: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """mu and sigma of (N, D) features in float64 (sigma divides by N - 1, as pytorch-fid)."""
    act = np.asarray(features, dtype=np.float64)
    if act.ndim != 2 or act.shape[0] < 2:
        raise ValueError(f'need (N>=2, D) features for statistics, got shape {act.shape}')
    return np.mean(act, axis=0), np.cov(act, rowvar=False)


#: ``frechet_distance`` methods: the default ``'eigh'`` and pytorch-fid's ``'sqrtm'``.
FID_METHODS = ('eigh', 'sqrtm')
# pytorch-fid accepts a complex sqrtm when its diagonal's imaginary parts are within 1e-3
_IMAG_ATOL = 1e-3


def frechet_distance(mu1, sigma1, mu2, sigma2, eps: float = 1e-6, method: str = 'eigh') -> float:
    """Frechet distance between N(mu1, sigma1) and N(mu2, sigma2), as pytorch-fid reports it.

    ``|mu1-mu2|^2 + tr(s1) + tr(s2) - 2 tr(sqrtm(s1 s2))`` in float64. Two ways to get the
    trace term (same value within the fixture tolerance, see docs/evaluation.md):

    * ``method='eigh'`` (default; 2048-d: 2-5 s on 2 cores instead of 8-90 s): the sum of
      square roots of the eigenvalues of ``S s2 S``, where ``S = s1^(1/2)`` is the symmetric
      square root from ``eigh(s1)`` (eigenvalues clipped at 0). ``S s2 S`` is similar to
      ``s1 s2``, so its eigenvalues are those of ``s1 s2`` and this is ``tr(sqrtm(s1 s2))``
      without a general (Schur) matrix square root. Only symmetric eigenproblems: rounding
      makes some eigenvalues of ``S s2 S`` slightly negative, they are clipped to 0. A
      negative eigenvalue whose square root exceeds 1e-3 (the imaginary part pytorch-fid
      refuses) raises ``ValueError('Imaginary component ...')``; so does such an eigenvalue of
      ``s1`` (then not a covariance; pytorch-fid would accept ``s1 = s2 = -I``, this does
      not). If the result is not finite, ``eps`` is added to both diagonals and it is redone,
      with pytorch-fid's warning. Singular covariances (fewer images than dims) need no
      special case: like scipy's sqrtm, the D x D computation then adds the square roots of
      rounding-level eigenvalues, which is why it stays this close to pytorch-fid (on the
      reference fixtures 4.4e-8 relative, tolerance 1e-5; see docs/evaluation.md). Computing
      only the non-zero eigenvalues would be closer to exact arithmetic but farther from
      pytorch-fid (5.7e-5 relative on 2 x 100 photos at 2048-d).
    * ``method='sqrtm'``: pytorch-fid's algorithm step by step, with scipy's ``sqrtm``. When
      sqrtm is not finite (singular product) ``eps`` is added to both diagonals and it is
      redone; a complex result is accepted (real part) only if its diagonal's imaginary parts
      are within 1e-3 of zero. Covariances of fewer images than dims are singular: scipy then
      warns ("Matrix is singular"), and the value is still what pytorch-fid reports.
    """
    if method not in FID_METHODS:
        raise ValueError(f'method must be one of {FID_METHODS}, got {method!r}')
    mu1 = np.atleast_1d(np.asarray(mu1, np.float64))
    mu2 = np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1 = np.atleast_2d(np.asarray(sigma1, np.float64))
    sigma2 = np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape:
        raise ValueError(f'mean vectors differ in length: {mu1.shape} vs {mu2.shape}')
    if sigma1.shape != sigma2.shape:
        raise ValueError(f'covariances differ in shape: {sigma1.shape} vs {sigma2.shape}')

    diff = mu1 - mu2
    trace_term = _trace_sqrt_eigh if method == 'eigh' else _trace_sqrt_sqrtm
    tr_covmean = trace_term(sigma1, sigma2, eps)
    return float(diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * tr_covmean)


def _singular_product_warning(eps: float) -> None:
    warnings.warn(f'fid calculation produces singular product; adding {eps} to diagonal '
                  'of cov estimates')


def _trace_sqrt_sqrtm(sigma1: np.ndarray, sigma2: np.ndarray, eps: float) -> float:
    """tr(sqrtm(sigma1 sigma2)) exactly as pytorch-fid computes it (scipy's sqrtm)."""
    from scipy import linalg  # imported here: 0.3-0.7 s of start-up that 'eigh' does not need
    covmean = linalg.sqrtm(sigma1.dot(sigma2))
    if not np.isfinite(covmean).all():
        _singular_product_warning(eps)
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = linalg.sqrtm((sigma1 + offset).dot(sigma2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            m = np.max(np.abs(covmean.imag))
            raise ValueError(f'Imaginary component {m}')
        covmean = covmean.real
    return np.trace(covmean)


def _eigvals_sqrt_product(sigma1: np.ndarray, sigma2: np.ndarray) -> np.ndarray:
    """Eigenvalues of sigma1^(1/2) sigma2 sigma1^(1/2) (= those of sigma1 sigma2), with
    sigma1^(1/2) from eigh. Raises ValueError when sigma1 is clearly indefinite."""
    s1 = (sigma1 + sigma1.T) / 2  # eigh reads one triangle: make both count, as sqrtm does
    s2 = (sigma2 + sigma2.T) / 2
    w, v = np.linalg.eigh(s1)
    if not np.isfinite(w).all():
        return np.array([np.nan])
    if w[0] < 0 and np.sqrt(-w[0]) > _IMAG_ATOL:  # sigma1^(1/2) itself would be complex
        raise ValueError(f'Imaginary component {np.sqrt(-w[0])} (sigma1 has the eigenvalue '
                         f'{w[0]:.3g}: not a covariance matrix)')
    root = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    return np.linalg.eigvalsh(root @ s2 @ root)


def _trace_sqrt_eigh(sigma1: np.ndarray, sigma2: np.ndarray, eps: float) -> float:
    """tr(sqrtm(sigma1 sigma2)) from symmetric eigenvalue problems (see frechet_distance)."""
    def eigenvalues(a, b):
        try:
            return _eigvals_sqrt_product(a, b)
        except np.linalg.LinAlgError:  # no convergence (e.g. non-finite input): as not finite
            return np.array([np.nan])

    lam = eigenvalues(sigma1, sigma2)
    if not np.isfinite(lam).all():
        _singular_product_warning(eps)
        offset = np.eye(sigma1.shape[0]) * eps
        lam = eigenvalues(sigma1 + offset, sigma2 + offset)
    if lam.size and lam.min() < 0 and np.sqrt(-lam.min()) > _IMAG_ATOL:
        raise ValueError(f'Imaginary component {np.sqrt(-lam.min())}')
    return float(np.sqrt(np.clip(lam, 0, None)).sum())


def fid_from_features(features1: np.ndarray, features2: np.ndarray,
                      method: str = 'eigh') -> float:
    """FID between two (N, D) feature sets (``method``: see :func:`frechet_distance`)."""
    return frechet_distance(*compute_statistics(features1), *compute_statistics(features2),
                            method=method)


def kid_subsets(n1: int, n2: int, num_subsets: int = 100, subset_size: int = 1000,
                seed: int = 0) -> Tuple[np.ndarray, np.ndarray, int]:
    """Row indices of the KID subsets: (idx1, idx2) of shape (num_subsets, m) and m.

    Draw order (fixed, so results are reproducible across implementations): one
    ``numpy.random.default_rng(seed)``; each round draws set 1's subset, then set 2's, each
    ``rng.choice(n, m, replace=False)``. ``m = subset_size``, lowered (with a warning) to the
    smaller set's size when that has fewer rows.
    """
    m = int(subset_size)
    if min(n1, n2) < m:
        warnings.warn(f'KID: only {min(n1, n2)} samples, lowering subset size from {m} to '
                      f'{min(n1, n2)}')
        m = min(n1, n2)
    if m < 2:
        raise ValueError(f'KID needs at least 2 samples per set, got {n1} and {n2}')
    rng = np.random.default_rng(seed)
    idx1 = np.empty((num_subsets, m), dtype=np.int64)
    idx2 = np.empty((num_subsets, m), dtype=np.int64)
    for i in range(num_subsets):
        idx1[i] = rng.choice(n1, size=m, replace=False)
        idx2[i] = rng.choice(n2, size=m, replace=False)
    return idx1, idx2, m


def _poly_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return (x @ y.T / x.shape[1] + 1) ** 3


def kernel_inception_distance(features1: np.ndarray, features2: np.ndarray,
                              num_subsets: int = 100, subset_size: int = 1000, seed: int = 0,
                              subsets: Optional[Tuple[np.ndarray, np.ndarray]] = None
                              ) -> Dict[str, object]:
    """KID: unbiased MMD^2 with the kernel (x.y/d + 1)^3, averaged over random subsets.

    Returns ``{'mean', 'std' (ddof 0), 'values' (per subset), 'subset_size'}``. ``subsets``
    (two (S, m) index arrays) replaces the random draw of :func:`kid_subsets`, e.g. to compare
    with another library on identical subsets. Computed in float64. The full kernel matrices
    are built once when that is cheaper than per-subset products (always for test-set sizes).
    """
    x = np.asarray(features1, dtype=np.float64)
    y = np.asarray(features2, dtype=np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f'KID needs (N, D) features of equal D, got {x.shape} and {y.shape}')
    if subsets is None:
        idx1, idx2, m = kid_subsets(len(x), len(y), num_subsets, subset_size, seed)
    else:
        idx1, idx2 = (np.asarray(s, dtype=np.int64) for s in subsets)
        if idx1.shape != idx2.shape or idx1.ndim != 2:
            raise ValueError(f'subset index arrays must both be (S, m), got {idx1.shape} '
                             f'and {idx2.shape}')
        m = idx1.shape[1]

    n1, n2 = len(x), len(y)
    full_cost = n1 * n1 + n2 * n2 + n1 * n2
    subset_cost = 3 * len(idx1) * m * m
    precompute = full_cost <= subset_cost and full_cost <= 3 * 4000 ** 2
    if precompute:
        kxx_all, kyy_all, kxy_all = _poly_kernel(x, x), _poly_kernel(y, y), _poly_kernel(x, y)
    values = np.empty(len(idx1), dtype=np.float64)
    for i, (ia, ib) in enumerate(zip(idx1, idx2)):
        if precompute:
            kxx, kyy = kxx_all[np.ix_(ia, ia)], kyy_all[np.ix_(ib, ib)]
            kxy = kxy_all[np.ix_(ia, ib)]
        else:
            xs, ys = x[ia], y[ib]
            kxx, kyy, kxy = _poly_kernel(xs, xs), _poly_kernel(ys, ys), _poly_kernel(xs, ys)
        values[i] = ((kxx.sum() - np.trace(kxx)) / (m * (m - 1))
                     + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
                     - 2 * kxy.sum() / (m * m))
    return {'mean': float(values.mean()), 'std': float(values.std()), 'values': values,
            'subset_size': m}


def inception_score(logits: np.ndarray, splits: int = 10) -> Tuple[float, float]:
    """Inception Score (mean, std over ``splits`` consecutive chunks) from (N, 1008) logits.

    Monitoring only: IS ignores the target domain, depends on the split count and is
    meaningless for image-to-image translation quality; never compare it across papers.
    """
    from scipy.special import log_softmax, logsumexp  # here: 0.2-0.5 s of start-up
    # Computed in log space so that probabilities underflowing to 0 give 0, not 0 * -inf.
    log_p = log_softmax(np.asarray(logits, dtype=np.float64), axis=1)
    n = len(log_p)
    if n < splits:
        raise ValueError(f'Inception Score needs at least {splits} images, got {n}')
    scores = []
    for k in range(splits):
        part = log_p[k * n // splits:(k + 1) * n // splits]
        log_py = logsumexp(part, axis=0) - np.log(len(part))  # log of the marginal p(y)
        kl = (np.exp(part) * (part - log_py)).sum(axis=1).mean()
        scores.append(np.exp(kl))
    return float(np.mean(scores)), float(np.std(scores))


# --------------------------------------------------------------------------------------------
# Images -> features
# --------------------------------------------------------------------------------------------

def list_images(folder: PathLike) -> List[Path]:
    """Sorted image files of a folder (not recursive), as pytorch-fid lists them.

    Image files are those :func:`cyclegan_plugin.io.is_image_file` accepts (the extensions of
    :data:`IMAGE_EXTENSIONS`, any case). Other files are skipped with a warning; a missing
    folder or one without images is an error.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f'image folder not found: {folder}')
    files, skipped = [], []
    for p in folder.iterdir():
        if is_image_file(p.name) and p.is_file():
            files.append(p)
        elif p.is_file():
            skipped.append(p.name)
    if skipped:
        warnings.warn(f'{folder}: skipping {len(skipped)} non-image file(s), e.g. '
                      f'{", ".join(sorted(skipped)[:3])}')
    if not files:
        raise ValueError(f'no images ({"/".join(IMAGE_EXTENSIONS)}) found in folder {folder}')
    return sorted(files)


def images_to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 (N, 3, H, W) -> float32 in [0, 1] by ``/ 255``, bit-identical to ToTensor."""
    return images.float().div(255)


class _ImageFiles(torch.utils.data.Dataset):
    """Decodes files to uint8 CHW tensors (uint8 keeps the worker->main transfer small)."""

    def __init__(self, files: Sequence[Path]):
        self.files = list(files)

    def __len__(self):
        return len(self.files)

    def __getitem__(self, i):
        try:
            image = read_image(self.files[i])
        except BadImageError as err:
            # a ValueError, as before: DataLoader workers re-raise it with its message (they
            # cannot rebuild a BadImageError), and eval_fid reports it as a bad input
            raise ValueError(str(err)) from err
        # PIL's arrays are read-only: the CHW copy is writable (torch.from_numpy warns otherwise)
        return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))


def _collate(batch: List[torch.Tensor]):
    """Stack equal-sized images; otherwise keep a list (resized one by one before the net)."""
    if all(t.shape == batch[0].shape for t in batch):
        return torch.stack(batch)
    return batch


def _to_network_input(batch, device) -> torch.Tensor:
    """A uint8 batch (tensor or list of differently sized CHW tensors) -> float [0, 1] NCHW.

    Mixed sizes are resized image by image to 299x299 here; the network's own resize is then
    an exact identity, so each image gets the same values as in an equal-sized batch.
    """
    if isinstance(batch, torch.Tensor):
        return images_to_float(batch.to(device))
    return torch.cat([
        F.interpolate(images_to_float(t.to(device)[None]), size=(299, 299), mode='bilinear',
                      align_corners=False) for t in batch])


@contextlib.contextmanager
def _full_fp32(device: torch.device):
    """Disable TF32 on CUDA while extracting: TF32 convolutions (PyTorch's cuDNN default)
    move Inception features by ~1e-3 relative, far more than the float32 reference allows."""
    if device.type != 'cuda':
        yield
        return
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


@torch.inference_mode()
def inception_features(model: torch.nn.Module, images, dims: Iterable[int] = (2048,),
                       logits: bool = False, device=None) -> Dict[Union[int, str], np.ndarray]:
    """Features of one batch of uint8 (N, 3, H, W) RGB images (or a list of CHW tensors).

    Returns ``{dim: (N, dim) float32 array}`` (plus ``'logits'`` if asked); float32 is exactly
    what the network produced, cast to float64 later as pytorch-fid does.
    """
    device = torch.device(device) if device is not None else next(model.parameters()).device
    with _full_fp32(device):
        out = model(_to_network_input(images, device), dims=tuple(dims), logits=logits)
    return {k: v.float().cpu().numpy() for k, v in out.items()}


class FolderFeatures(NamedTuple):
    """Result of :func:`extract_folder_features`. ``seconds`` is the whole extraction;
    ``decode_seconds`` the part spent waiting for decoded batches (with loader workers: worker
    start-up and decoding that did not overlap the network), ``forward_seconds`` the network's
    part (uint8 -> float, resize, forward, features to NumPy)."""
    features: Dict[Union[int, str], np.ndarray]  # dim -> (N, dim) float64; 'logits' optional
    files: List[Path]
    seconds: float
    decode_seconds: float = 0.0
    forward_seconds: float = 0.0

    @property
    def images_per_second(self) -> float:
        return len(self.files) / max(self.seconds, 1e-9)


def _default_workers() -> int:
    return min(4, os.cpu_count() or 1)


def default_batch_size(device) -> int:
    """Images per Inception forward: 50 (pytorch-fid's) on a GPU, 10 on the CPU, where the
    activations of 10 images stay in the caches (2-core AVX-512 CPU: 15 -> 22-27 images/s).
    Features do not depend on the batch beyond float rounding (no batch statistics)."""
    return 10 if torch.device(device).type == 'cpu' else 50


def extract_folder_features(folder: PathLike, model: torch.nn.Module,
                            dims: Iterable[int] = (2048,), batch_size: Optional[int] = None,
                            num_workers: Optional[int] = None, device=None, logits: bool = False,
                            progress: bool = True) -> FolderFeatures:
    """Inception features of every image of a folder, in sorted file order.

    Decoding runs in DataLoader workers, the network in batches under inference_mode, so a
    folder is read once for all requested dims; MMEngine's progress bar when ``progress``.
    """
    dims = tuple(sorted(set(int(d) for d in dims)))
    files = list_images(folder)
    device = torch.device(device) if device is not None else next(model.parameters()).device
    batch_size = batch_size or default_batch_size(device)
    workers = _default_workers() if num_workers is None else num_workers
    workers = min(workers, max(1, len(files) // batch_size))
    loader = torch.utils.data.DataLoader(
        _ImageFiles(files), batch_size=batch_size, shuffle=False, num_workers=workers,
        collate_fn=_collate, pin_memory=device.type == 'cuda')
    keys = list(dims) + (['logits'] if logits else [])
    chunks: Dict[Union[int, str], List[np.ndarray]] = {k: [] for k in keys}
    bar = None
    if progress:
        # imported here: mmengine's package import (its config, registry, rich) adds 0.5-0.7 s
        # to the start of a process that has only torch so far (eval_fid.py, 2 cores); a
        # --quiet or progress=False run does not pay it
        from mmengine.utils import ProgressBar
        bar = ProgressBar(len(files))
    start = waited = time.perf_counter()
    decode_seconds = forward_seconds = 0.0
    for batch in loader:
        got = time.perf_counter()
        decode_seconds += got - waited
        feats = inception_features(model, batch, dims, logits=logits, device=device)
        for k in keys:
            chunks[k].append(feats[k])
        waited = time.perf_counter()
        forward_seconds += waited - got
        if bar is not None:
            bar.update(len(batch))
    seconds = time.perf_counter() - start
    result = FolderFeatures({k: np.concatenate(v).astype(np.float64) for k, v in chunks.items()},
                            files, seconds, decode_seconds, forward_seconds)
    return result


# --------------------------------------------------------------------------------------------
# Statistics cache
# --------------------------------------------------------------------------------------------

def folder_fingerprint(folder: PathLike) -> str:
    """SHA-256 over the sorted image names, sizes and mtimes: changes when the folder does."""
    h = hashlib.sha256()
    for p in list_images(folder):
        st = p.stat()
        h.update(f'{p.name}\t{st.st_size}\t{st.st_mtime_ns}\n'.encode())
    return h.hexdigest()


def inception_fingerprint(model: torch.nn.Module) -> str:
    """A short id of the loaded weights, so statistics from other weights are never reused."""
    sd = model.state_dict()
    h = hashlib.sha256()
    for key in ('Conv2d_1a_3x3.conv.weight', 'Mixed_7c.branch_pool.conv.weight'):
        h.update(sd[key].detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def save_stats(path: PathLike, mu: np.ndarray, sigma: np.ndarray,
               features: Optional[np.ndarray] = None, **meta) -> None:
    """Write mu/sigma (pytorch-fid's .npz layout, so its CLI reads our files) and extras:
    ``features`` as float32 (lossless, enables KID) and scalar/str metadata."""
    arrays = {'mu': np.asarray(mu, np.float64), 'sigma': np.asarray(sigma, np.float64)}
    if features is not None:
        arrays['features'] = np.asarray(features, np.float32)
    for k, v in meta.items():
        arrays[k] = np.asarray(v)
    from ..io.files import atomic_write  # a crash never leaves a truncated cache behind
    atomic_write(path, lambda f: np.savez_compressed(f, **arrays))


def load_stats(path: PathLike) -> Dict[str, object]:
    """Read a stats .npz (ours or pytorch-fid's): mu, sigma, features (or None), metadata."""
    with np.load(path, allow_pickle=False) as f:
        out = {k: f[k] for k in f.files}
    if 'mu' not in out or 'sigma' not in out:
        raise ValueError(f'{path} holds no FID statistics (needs arrays mu and sigma)')
    out.setdefault('features', None)
    for k, v in list(out.items()):
        if isinstance(v, np.ndarray) and v.ndim == 0:
            out[k] = v.item()
    return out


def default_stats_cache_dir() -> Path:
    base = os.environ.get('XDG_CACHE_HOME') or os.path.join(os.path.expanduser('~'), '.cache')
    return Path(base) / 'cyclegan_plugin' / 'fid_stats'


def folder_statistics(folder: PathLike, model: torch.nn.Module, dims: int = 2048,
                      cache_dir: Optional[PathLike] = None, **extract_kwargs) -> Dict[str, object]:
    """mu, sigma and features of a folder, read from / written to a cache when ``cache_dir``.

    The cache file is keyed by folder content (:func:`folder_fingerprint`), dims and weights
    (:func:`inception_fingerprint`), so edits to the folder or other weights recompute it.
    """
    folder = Path(folder)
    key = f'{folder_fingerprint(folder)[:20]}_{inception_fingerprint(model)}_dims{dims}'
    cache = Path(cache_dir) / f'{folder.name}_{key}.npz' if cache_dir is not None else None
    if cache is not None and cache.is_file():
        stats = load_stats(cache)
        if stats.get('cache_key') == key:
            return stats
    feats = extract_folder_features(folder, model, dims=(dims,), **extract_kwargs)
    act = feats.features[dims]
    mu, sigma = compute_statistics(act)
    stats = {'mu': mu, 'sigma': sigma, 'features': act, 'num_images': len(act), 'dims': dims,
             'folder': str(folder), 'cache_key': key}
    if cache is not None:
        save_stats(cache, mu, sigma, features=act, num_images=len(act), dims=dims,
                   folder=str(folder), cache_key=key)
    return stats
