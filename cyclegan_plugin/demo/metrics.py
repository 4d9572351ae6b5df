"""Metrics of the mini horse2zebra demo data (see :mod:`cyclegan_plugin.demo.data`).

Why: FID on 100 tiny synthetic images says little; the demo data come with masks and
ground truth, so we can measure directly what CycleGAN should do:

* background preservation ``bg_l1_a2b`` / ``bg_l1_b2a``: mean absolute difference between
  the input and its translation over the background, in [0, 255] grey levels (0 = the
  background is kept exactly). Background = pixels outside the animal mask; the demo masks
  hold every pixel the animal covers at all, so the background of an input and of its
  ground-truth translation are identical (optionally dilate the mask by ``bg_margin``).
* ``psnr_b2a`` / ``l1_b2a`` (and ``psnr_a2b`` / ``l1_a2b``): fake_A against ``testB_gt_A``
  (fake_B against ``testA_gt_B``) over the whole image; PSNR in dB with peak 255, per image
  capped at 100 dB (a perfect match would be +inf) and averaged over images; L1 in [0, 255].
* ``stripe_a2b``: how zebra-like the body of fake_B is. The raw value is the mean absolute
  local contrast of the luminance inside the animal mask eroded by one pixel:
  ``|L - G_sigma(L)|`` where ``G_sigma`` is a Gaussian blur normalised over the mask (only
  body pixels are averaged, so grass and the silhouette edge do not leak in), sigma = size/32.
  Stripes give a large value, a smooth brown coat a small one. The raw value is mapped
  linearly so that the mean over the real testA images is 0 and over the real testB images
  is 1 (statistics computed from ``data_root`` on first use). ``stripe_b2a`` is the same
  score of fake_A (should go to 0), ``stripe_real_A`` / ``stripe_real_B`` are the scores of
  the evaluated real images (about 0 and 1: a sanity check).
* ``stripe_period_a2b``: the stripes' period in pixels, mean over the fake zebras
  (``stripe_period_real_B``: the same of the real test zebras): the period of the strongest
  Fourier component of the body's luminance. The stripe score depends on it: the blur
  of ``stripe_raw`` keeps more of wide stripes, so real zebras of periods above 6.3 px score
  about 0.93, of periods under 5.2 px about 1.02 (demo test set). A generator is not told the
  period (a horse does not show it) and ends a run with about one period for all its zebras.
* ``stripe_softness_a2b``: the share of the body's pixels (mask eroded by two pixels) whose
  luminance lies between 30% and 70% of the way from the body's 5th to its 95th percentile:
  stripes with soft edges, and speckle inside the white stripes, have more of them
  (``stripe_softness_real_B``: the same of the real test zebras, about 0.16). Over 38 demo
  runs it accounted for three quarters of the spread of ``stripe_a2b``.
* ``rec_l1_A`` / ``rec_l1_B``: cycle reconstruction error, whole image, [0, 255].
* ``checker_a2b`` / ``checker_b2a``: checkerboard artifacts of fake_B / fake_A over the
  background, in grey levels (``checker_real_A`` / ``checker_real_B``: the same of the real
  images, about 0). Transposed convolutions of stride 2 add a pattern of period 2 locked to
  the pixel grid (Odena et al., "Deconvolution and Checkerboard Artifacts", Distill 2016):
  the amplitude of the luminance's three period-2 components, ``(-1)^(x+y)``, ``(-1)^x``
  and ``(-1)^y``, estimated over the background pixels, is that pattern's amplitude. Grass
  and sky texture have no fixed phase on the grid and mostly average out (a smooth image
  gives 0; the demo's real backgrounds about 1.5, their noise floor).
"""
import os
from typing import Dict, Optional, Sequence, Tuple

import cv2
import numpy as np

from cyclegan_plugin.io import read_image
from cyclegan_plugin.registry import METRICS

try:
    from mmengine.evaluator import BaseMetric
except ImportError:  # pragma: no cover - mmengine is a hard dependency of the package
    BaseMetric = object

PSNR_CAP = 100.0


# --------------------------------------------------------------------------- pure numpy
def _as_float(img: np.ndarray) -> np.ndarray:
    return np.asarray(img, dtype=np.float64)


def _bool_mask(mask: np.ndarray) -> np.ndarray:
    mask = np.asarray(mask)
    if mask.ndim == 3:
        mask = mask[..., 0]
    if mask.dtype == bool:
        return mask
    return mask > (127 if mask.dtype == np.uint8 else 0.5)


def background_mask(mask: np.ndarray, margin: int = 0) -> np.ndarray:
    """Background pixels: outside the animal mask dilated by ``margin`` pixels."""
    fg = _bool_mask(mask).astype(np.uint8)
    if margin > 0:
        fg = cv2.dilate(fg, np.ones((2 * margin + 1,) * 2, np.uint8))
    return fg == 0


def background_l1(src: np.ndarray, out: np.ndarray, mask: np.ndarray, margin: int = 0) -> float:
    """Mean |src - out| over the background (HxWx3 images, [0, 255]); NaN if no background."""
    bg = background_mask(mask, margin)
    if not bg.any():
        return float('nan')
    return float(np.abs(_as_float(src) - _as_float(out))[bg].mean())


def l1(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of two images, in their units ([0, 255] for uint8)."""
    return float(np.abs(_as_float(a) - _as_float(b)).mean())


def psnr(a: np.ndarray, b: np.ndarray, peak: float = 255.0, cap: float = PSNR_CAP) -> float:
    """PSNR in dB, capped at ``cap`` (identical images give ``cap`` instead of +inf)."""
    mse = float(((_as_float(a) - _as_float(b)) ** 2).mean())
    if mse <= 0:
        return float(cap)
    return float(min(cap, 10.0 * np.log10(peak * peak / mse)))


def luminance(img: np.ndarray) -> np.ndarray:
    """Rec. 601 luma of an RGB HxWx3 image, float64 in the image's units."""
    img = _as_float(img)
    return img[..., 0] * 0.299 + img[..., 1] * 0.587 + img[..., 2] * 0.114


def stripe_raw(img: np.ndarray, mask: np.ndarray, sigma: Optional[float] = None) -> float:
    """Un-normalised stripe score: mean |L - masked Gaussian blur of L| inside the eroded mask.

    ``sigma`` defaults to ``size / 32`` (2 px at 64x64: stripes of period 3.5-7 px are
    mostly removed by the blur, smooth shading is kept). NaN if the eroded mask is empty.
    """
    lum = luminance(img)
    fg = _bool_mask(mask).astype(np.uint8)
    inner = cv2.erode(fg, np.ones((3, 3), np.uint8)).astype(bool)
    if not inner.any():
        return float('nan')
    sigma = max(1.0, min(lum.shape) / 32.0) if sigma is None else float(sigma)
    m = fg.astype(np.float64)
    num = cv2.GaussianBlur(lum * m, (0, 0), sigma, borderType=cv2.BORDER_CONSTANT)
    den = cv2.GaussianBlur(m, (0, 0), sigma, borderType=cv2.BORDER_CONSTANT)
    local_mean = num / np.maximum(den, 1e-6)
    return float(np.abs(lum - local_mean)[inner].mean())


def stripe_period(img: np.ndarray, mask: np.ndarray) -> float:
    """The period in pixels of the strongest stripe pattern in ``img``'s animal: the peak of
    the power spectrum of its luminance (mean removed, zero outside ``mask``, the image
    zero-padded to twice its size for a finer frequency grid), among periods shorter than a
    fifth of the image (longer ones are shading). NaN if the body is flat or empty."""
    lum = luminance(img)
    inside = _bool_mask(mask)
    if not inside.any():
        return float('nan')
    body = np.where(inside, lum - lum[inside].mean(), 0.0)
    h, w = body.shape
    power = np.abs(np.fft.rfft2(body, s=(2 * h, 2 * w))) ** 2
    fy = np.fft.fftfreq(2 * h)[:, None]
    fx = np.fft.rfftfreq(2 * w)[None, :]
    freq = np.hypot(fx, fy)
    power[freq <= 5.0 / min(h, w)] = 0.0
    if not power.max() > 0:
        return float('nan')
    return float(1.0 / freq.flat[int(power.argmax())])


def stripe_softness(img: np.ndarray, mask: np.ndarray, low: float = 0.3,
                    high: float = 0.7) -> float:
    """Share of the body's pixels (``mask`` eroded by two pixels) at mid-grey: luminance
    between ``low`` and ``high`` of the way from the body's 5th to its 95th percentile. Sharp
    black-and-white stripes leave only their edges there; soft edges and speckle add to it.
    NaN if the eroded mask is empty or the body is flat."""
    lum = luminance(img)
    inner = cv2.erode(_bool_mask(mask).astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    if not inner.any():
        return float('nan')
    body = lum[inner]
    lo, hi = np.percentile(body, [5, 95])
    if not hi > lo:
        return float('nan')
    t = (body - lo) / (hi - lo)
    return float(((t > low) & (t < high)).mean())


def checkerboard(img: np.ndarray, mask: Optional[np.ndarray] = None, margin: int = 0) -> float:
    """Amplitude (grey levels) of the period-2 pattern in the luminance of ``img`` over its
    background (outside ``mask`` dilated by ``margin``; the whole image without a mask): the
    root of the summed squares of the least-squares amplitudes of ``(-1)^(x+y)``,
    ``(-1)^x`` and ``(-1)^y``. NaN if there is no background."""
    lum = luminance(img)
    where = (np.ones(lum.shape, bool) if mask is None
             else background_mask(_resize_like(np.asarray(mask), lum.shape, True), margin))
    if not where.any():
        return float('nan')
    y, x = np.nonzero(where)
    values = lum[where] - lum[where].mean()
    energy = 0.0
    for sign in ((-1.0) ** (x + y), (-1.0) ** x, (-1.0) ** y):
        sign = sign - sign.mean()  # an unbalanced background would leak its mean in
        power = float((sign * sign).sum())
        if power > 0:
            energy += (float((values * sign).sum()) / power) ** 2
    return float(np.sqrt(energy))


def normalise_stripe(raw: float, ref: Tuple[float, float]) -> float:
    """Map a raw stripe value linearly so that ``ref = (mean real A, mean real B)`` -> (0, 1)."""
    lo, hi = ref
    return float((raw - lo) / max(hi - lo, 1e-6))


def stripe_reference(data_root: str, sigma: Optional[float] = None) -> Tuple[float, float]:
    """Mean raw stripe value of the real testA and testB images (with their own masks)."""
    ref = []
    for domain in 'AB':
        folder = os.path.join(data_root, f'test{domain}')
        names = sorted(n for n in os.listdir(folder) if n.endswith('.png'))
        if not names:
            raise FileNotFoundError(f'no PNG images in {folder}')
        masks = os.path.join(data_root, f'test{domain}_mask')
        vals = [stripe_raw(read_image(os.path.join(folder, n)),
                           read_image(os.path.join(masks, n), 'L'), sigma) for n in names]
        ref.append(float(np.nanmean(vals)))
    return ref[0], ref[1]


def _resize_like(img: np.ndarray, shape: Tuple[int, int], nearest: bool) -> np.ndarray:
    if img.shape[:2] == tuple(shape):
        return img
    interp = cv2.INTER_NEAREST if nearest else cv2.INTER_AREA
    return cv2.resize(img, (shape[1], shape[0]), interpolation=interp)


def _to_hwc_uint8(x, key: str) -> np.ndarray:
    """A (3, H, W) uint8 torch tensor / array -> (H, W, 3) uint8 numpy array."""
    if hasattr(x, 'detach'):
        x = x.detach().cpu().numpy()
    x = np.asarray(x)
    if x.dtype != np.uint8:
        raise TypeError(f'MiniHorse2ZebraMetric expects uint8 images, got {x.dtype} for {key!r}')
    if x.ndim != 3 or x.shape[0] != 3:
        raise ValueError(f'MiniHorse2ZebraMetric expects (3, H, W) images, got {x.shape} '
                         f'for {key!r}')
    return np.ascontiguousarray(x.transpose(1, 2, 0))


# --------------------------------------------------------------------------- MMEngine metric
@METRICS.register_module()
class MiniHorse2ZebraMetric(BaseMetric):
    """Background preservation, ground-truth PSNR/L1, stripe score and checkerboard
    artifacts on mini horse2zebra.

    Args:
        data_root: the demo data folder (holds testA/, testB/, test*_mask/, testB_gt_A/,
            optionally testA_gt_B/). Masks and ground truth are looked up by the file name of
            ``img_A_path`` / ``img_B_path``.
        stripe_ref: ``(raw mean of real A, raw mean of real B)``; computed from
            ``data_root`` on first use when None.
        bg_margin: pixels by which the mask is dilated before taking the background.

    Each data sample is a dict with uint8 (3, H, W) RGB tensors ``real_A``, ``fake_B``,
    ``rec_A``, ``real_B``, ``fake_A``, ``rec_B`` and the paths ``img_A_path``, ``img_B_path``.
    Images repeated by the test set (length max(|A|, |B|)) are counted once, by path.
    Metric names get the prefix ``h2z/`` (``prefix`` argument to change it).
    """

    default_prefix = 'h2z'

    def __init__(self, data_root: str, stripe_ref: Optional[Sequence[float]] = None,
                 bg_margin: int = 0, collect_device: str = 'cpu',
                 prefix: Optional[str] = None, collect_dir: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix, collect_dir=collect_dir)
        self.data_root = str(data_root)
        self.bg_margin = int(bg_margin)
        self._stripe_ref = None if stripe_ref is None else tuple(float(v) for v in stripe_ref)

    @property
    def stripe_ref(self) -> Tuple[float, float]:
        if self._stripe_ref is None:
            self._stripe_ref = stripe_reference(self.data_root)
        return self._stripe_ref

    def _ref_file(self, folder: str, path: str) -> str:
        return os.path.join(self.data_root, folder, os.path.basename(path))

    def _direction(self, domain: str, sample: dict) -> Tuple[str, Dict[str, float]]:
        """Per-image values of the translation of the real ``domain`` image of a sample."""
        other = 'B' if domain == 'A' else 'A'
        path = str(sample[f'img_{domain}_path'])
        real = _to_hwc_uint8(sample[f'real_{domain}'], f'real_{domain}')
        fake = _to_hwc_uint8(sample[f'fake_{other}'], f'fake_{other}')
        rec = _to_hwc_uint8(sample[f'rec_{domain}'], f'rec_{domain}')
        shape = real.shape[:2]
        mask = read_image(self._ref_file(f'test{domain}_mask', path), 'L')
        mask = _resize_like(mask, shape, True)
        d = 'a2b' if domain == 'A' else 'b2a'
        ref = self.stripe_ref
        vals = {
            f'bg_l1_{d}': background_l1(real, fake, mask, self.bg_margin),
            f'stripe_{d}': normalise_stripe(stripe_raw(fake, mask), ref),
            f'stripe_real_{domain}': normalise_stripe(stripe_raw(real, mask), ref),
            # the period of the zebras: fake ones from horses, real ones of the test set
            ('stripe_period_a2b' if domain == 'A' else 'stripe_period_real_B'):
                stripe_period(fake if domain == 'A' else real, mask),
            # and how soft their stripes are
            ('stripe_softness_a2b' if domain == 'A' else 'stripe_softness_real_B'):
                stripe_softness(fake if domain == 'A' else real, mask),
            f'rec_l1_{domain}': l1(real, rec),
            f'checker_{d}': checkerboard(fake, mask, self.bg_margin),
            f'checker_real_{domain}': checkerboard(real, mask, self.bg_margin),
        }
        gt_path = self._ref_file(f'test{domain}_gt_{other}', path)
        if os.path.isfile(gt_path):
            gt = _resize_like(read_image(gt_path), shape, False)
            vals[f'psnr_{d}'] = psnr(fake, gt)
            vals[f'l1_{d}'] = l1(fake, gt)
        return path, vals

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Store, per sample, the per-image values of both directions keyed by input path."""
        for sample in data_samples:
            self.results.append({domain: self._direction(domain, sample) for domain in 'AB'})

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """Average the per-image values over unique input images of each direction."""
        per_key: Dict[str, list] = {}
        for domain in 'AB':
            seen = set()
            for res in results:
                path, vals = res[domain]
                if path in seen:
                    continue
                seen.add(path)
                for k, v in vals.items():
                    per_key.setdefault(k, []).append(v)
        out = {}
        for k in sorted(per_key):
            arr = np.asarray(per_key[k], np.float64)
            arr = arr[~np.isnan(arr)]
            out[k] = float(arr.mean()) if arr.size else float('nan')
        return out
