"""Deterministic generator of the demo data set "mini horse2zebra".

Why: the demo must show a CycleGAN learning horse -> zebra on a 2-core CPU in minutes, so
the data are tiny (64x64 by default), generated rather than downloaded, bit-for-bit
reproducible, and built so the translation is visibly learnable: the same horse silhouette
on textured grass, filled with smooth brown (domain A) or with black-and-white stripes
(domain B). A and B are independent random draws (unpaired), as in the paper.

Layout under ``root`` (reference CycleGAN layout plus evaluation-only extras)::

    trainA/ trainB/ testA/ testB/      RGB PNGs  horse_0000.png ... / zebra_0000.png ...
    testA_mask/ testB_mask/            uint8 PNG, 255 = any pixel the animal covers, else 0
    testB_gt_A/                        each testB scene rendered as a horse (B->A truth)
    testA_gt_B/                        each testA scene rendered as a zebra (A->B truth)
    meta.json                          generator version, seed, size, counts (written last)

Each image is drawn from its own RNG seeded with ``(seed, domain, split, index)``, so the
result does not depend on the order or number of workers. Rendering is numpy/cv2 only (no
torch). The scene is rendered at 4x supersampling and area-downsampled so that stripes
and silhouette edges are anti-aliased at 64x64.
"""
import json
import logging
import os
import re
import time
from typing import Dict, Optional, Tuple

import cv2
import numpy as np

from ..io import atomic_write, encode_png

logger = logging.getLogger(__name__)

GENERATOR = 'cyclegan_plugin.mini_horse2zebra'
GENERATOR_VERSION = 1
SUPERSAMPLE = 4
DOMAINS = {'A': (0, 'horse'), 'B': (1, 'zebra')}
SPLITS = {'train': 0, 'test': 1}
IMAGE_DIRS = ('trainA', 'trainB', 'testA', 'testB')
EVAL_DIRS = ('testA_mask', 'testB_mask', 'testB_gt_A', 'testA_gt_B')

_SILHOUETTE_CACHE: Dict[str, Tuple[np.ndarray, str]] = {}


# --------------------------------------------------------------------------- silhouette
def _fallback_silhouette() -> np.ndarray:
    """A horse drawn with cv2 polygons/ellipses (used when scikit-image is missing).

    Same orientation as ``skimage.data.horse()`` (facing right), 328x400, True = horse.
    """
    img = np.zeros((328, 400), np.uint8)
    cv2.ellipse(img, (190, 140), (115, 50), 0, 0, 360, 255, -1)          # barrel
    cv2.ellipse(img, (90, 135), (50, 45), 0, 0, 360, 255, -1)            # hindquarters
    cv2.fillPoly(img, [np.array([[250, 120], [285, 40], [330, 25],       # neck
                                 [335, 55], [300, 110], [290, 160]], np.int32)], 255)
    cv2.fillPoly(img, [np.array([[315, 20], [345, 12], [385, 85],        # head
                                 [372, 100], [350, 92], [320, 60]], np.int32)], 255)
    cv2.fillPoly(img, [np.array([[330, 22], [345, 5], [348, 22]], np.int32)], 255)  # ear
    for x0, lean in ((70, -6), (110, 4), (245, 0), (275, 6)):            # legs
        cv2.fillPoly(img, [np.array([[x0 - 12, 170], [x0 + 12, 170],
                                     [x0 + 8 + lean, 300], [x0 - 6 + lean, 300]],
                                    np.int32)], 255)
    cv2.fillPoly(img, [np.array([[45, 110], [30, 150], [20, 240],        # tail
                                 [38, 245], [50, 170], [62, 125]], np.int32)], 255)
    return img > 0


def load_silhouette() -> Tuple[np.ndarray, str]:
    """The horse silhouette (bool, True = horse, cropped to its bounding box) and its source.

    ``skimage.data.horse()`` is True on the background, so it is inverted here. If
    scikit-image is not installed a cv2-drawn horse is used instead and a warning is logged,
    because the generated data then differ (the source is recorded in meta.json).
    """
    if 'sil' not in _SILHOUETTE_CACHE:
        try:
            from skimage.data import horse
            sil, source = ~np.asarray(horse(), bool), 'skimage.data.horse'
        except ImportError:
            logger.warning('scikit-image is not installed: the mini horse2zebra demo data use '
                           'a cv2-drawn horse silhouette and differ from the reference set')
            sil, source = _fallback_silhouette(), 'cv2-fallback'
        ys, xs = np.nonzero(sil)
        sil = sil[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
        _SILHOUETTE_CACHE['sil'] = (np.ascontiguousarray(sil), source)
    return _SILHOUETTE_CACHE['sil']


# --------------------------------------------------------------------------- rendering
def _smooth_noise(rng: np.random.Generator, shape: Tuple[int, int], cells: int) -> np.ndarray:
    """Low-frequency noise in about [-1, 1]: a random ``cells x cells`` grid, cubic-upsampled."""
    grid = rng.uniform(-1.0, 1.0, (cells, cells)).astype(np.float32)
    return cv2.resize(grid, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC)


def render_background(rng: np.random.Generator, hr: int, size: int) -> np.ndarray:
    """Textured grass with an optional sky band and tree line, float32 RGB (hr, hr, 3).

    Every image gets its own green, brightness gradient, blotches and grass blades so that
    the background is varied (a generator must learn to keep it, not to paint it).
    """
    k = hr / size
    ys = np.arange(hr, dtype=np.float32)[:, None]
    img = np.empty((hr, hr, 3), np.float32)

    horizon = int(hr * rng.uniform(0.12, 0.35)) if rng.random() < 0.7 else 0
    # grass: base green + vertical gradient + low/mid-frequency blotches
    base = np.array([rng.uniform(45, 110), rng.uniform(105, 165), rng.uniform(25, 70)],
                    np.float32)
    grad = rng.uniform(-0.25, 0.15)
    t = (ys - horizon) / max(hr - horizon, 1)
    shade = 1.0 + grad * t + 0.12 * _smooth_noise(rng, (hr, hr), 5) \
        + 0.06 * _smooth_noise(rng, (hr, hr), 14)
    img[:] = base[None, None, :] * shade[..., None]
    # grass blades: short, mostly vertical strokes, darker or lighter than the base
    n_blades = int(rng.integers(120, 260) * (size / 64) ** 2)
    bx = rng.uniform(0, hr, n_blades)
    by = rng.uniform(horizon, hr + 2 * k, n_blades)
    blen = rng.uniform(1.0, 3.5, n_blades) * k * (0.6 + 0.6 * (by / hr))
    bang = rng.normal(0.0, 0.35, n_blades)
    bdelta = rng.choice([-1.0, 1.0], n_blades, p=[0.6, 0.4]) * rng.uniform(15, 40, n_blades)
    bthick = rng.integers(1, 3, n_blades)
    blades = np.zeros((hr, hr), np.float32)
    for i in range(n_blades):
        p0 = (int(bx[i]), int(by[i]))
        p1 = (int(bx[i] + blen[i] * np.sin(bang[i])), int(by[i] - blen[i] * np.cos(bang[i])))
        cv2.line(blades, p0, p1, float(bdelta[i]), int(bthick[i]), cv2.LINE_AA)
    img += blades[..., None] * np.array([0.7, 1.0, 0.5], np.float32)

    if horizon > 0:
        top = np.array([rng.uniform(90, 140), rng.uniform(140, 185), rng.uniform(205, 240)],
                       np.float32)
        low = np.array([rng.uniform(185, 220), rng.uniform(205, 230), rng.uniform(225, 245)],
                       np.float32)
        s = (ys[:horizon] / horizon)[..., None]
        sky = top * (1 - s) + low * s + 8.0 * _smooth_noise(rng, (horizon, hr), 4)[..., None]
        img[:horizon] = np.broadcast_to(sky, (horizon, hr, 3))
        if rng.random() < 0.6:     # a dark tree line on the horizon
            tree = np.array([rng.uniform(20, 50), rng.uniform(55, 90), rng.uniform(20, 45)],
                            np.float32)
            line = np.zeros((hr, hr), np.float32)
            for _ in range(int(rng.integers(3, 8))):
                cx, r = int(rng.uniform(0, hr)), int(rng.uniform(0.04, 0.12) * hr)
                cv2.ellipse(line, (cx, horizon), (r, int(r * rng.uniform(0.5, 0.9))), 0,
                            180, 360, 1.0, -1, cv2.LINE_AA)
            img = img * (1 - line[..., None]) + tree * line[..., None]
    return img


def sample_pose(rng: np.random.Generator, sil_shape: Tuple[int, int], hr: int) -> np.ndarray:
    """A random 2x3 affine map from silhouette pixels to the ``hr`` canvas.

    Random horizontal flip, scale chosen so the horse covers ~16-30% of the image (its
    coverage mask, edges included, ~20-33%), a small rotation (+-12 deg) and a shift that
    keeps the whole horse in frame.
    """
    h, w = sil_shape
    flip = rng.random() < 0.5
    area_frac = rng.uniform(0.16, 0.30)
    angle = np.deg2rad(rng.uniform(-12.0, 12.0))
    fill = _silhouette_fill()
    scale = np.sqrt(area_frac * hr * hr / (fill * h * w))
    c, s = np.cos(angle), np.sin(angle)
    # rotated bounding box of the scaled silhouette; shrink if it would leave the frame
    bw = scale * (abs(c) * w + abs(s) * h)
    bh = scale * (abs(s) * w + abs(c) * h)
    shrink = min(1.0, 0.96 * hr / max(bw, bh))
    scale, bw, bh = scale * shrink, bw * shrink, bh * shrink
    cx = rng.uniform(bw / 2, hr - bw / 2)
    cy = rng.uniform(bh / 2, hr - bh / 2)
    fx = -1.0 if flip else 1.0
    # p_out = R @ S @ F @ (p - centre) + (cx, cy)
    a = scale * np.array([[c * fx, -s], [s * fx, c]])
    t = np.array([cx, cy]) - a @ np.array([(w - 1) / 2, (h - 1) / 2])
    return np.hstack([a, t[:, None]]).astype(np.float64)


def _silhouette_fill() -> float:
    sil, _ = load_silhouette()
    return float(sil.mean())


def _shading(rng: np.random.Generator, hr: int) -> np.ndarray:
    """Mild multiplicative body shading (~0.85-1.12): a gradient plus smooth blotches."""
    ang = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:hr, 0:hr].astype(np.float32) / hr - 0.5
    grad = (np.cos(ang) * xx + np.sin(ang) * yy) * rng.uniform(0.1, 0.25)
    return (1.0 + grad + 0.05 * _smooth_noise(rng, (hr, hr), 4)).astype(np.float32)


# chestnut, bay, dark bay, light brown, sorrel
_BROWNS = np.array([[150, 82, 42], [118, 66, 36], [88, 52, 32], [165, 118, 72],
                    [170, 96, 50]], np.float64)


def sample_fill_params(rng: np.random.Generator, size: int) -> dict:
    """Random brown coat and stripe parameters of one scene (both are drawn for every scene
    so that a scene can be rendered in either domain with the same RNG stream)."""
    i, j = rng.choice(len(_BROWNS), 2, replace=False)
    w = rng.uniform(0.0, 0.5)
    brown = (_BROWNS[i] * (1 - w) + _BROWNS[j] * w) * rng.uniform(0.88, 1.12)
    period = max(3.0, size * rng.uniform(0.055, 0.11))          # in output pixels
    return dict(
        brown=np.clip(brown, 0, 255).astype(np.float32),
        stripe_angle=rng.uniform(0, np.pi),
        stripe_period=period,
        stripe_phase=rng.uniform(0, 1),
        stripe_wobble=rng.uniform(0.0, 0.6),
        stripe_wobble_phase=rng.uniform(0, 2 * np.pi),
        stripe_dark=np.array([rng.uniform(15, 40)] * 3, np.float32),
        stripe_light=np.array([rng.uniform(225, 248), rng.uniform(220, 245),
                               rng.uniform(210, 235)], np.float32),
    )


def render_fill(params: dict, kind: str, shade: np.ndarray, pose: np.ndarray,
                hr: int, size: int) -> np.ndarray:
    """The animal's coat over the whole canvas, float32 RGB: 'horse' = shaded brown,
    'zebra' = black/white stripes (angle, period and phase fixed to the body via ``pose``)."""
    if kind == 'horse':
        return params['brown'][None, None, :] * shade[..., None]
    k = hr / size
    yy, xx = np.mgrid[0:hr, 0:hr].astype(np.float32)
    # stripe coordinates relative to the body centre, so stripes move with the horse
    xx -= pose[0, 2]
    yy -= pose[1, 2]
    th = params['stripe_angle']
    u = np.cos(th) * xx + np.sin(th) * yy
    v = -np.sin(th) * xx + np.cos(th) * yy
    period = params['stripe_period'] * k
    wob = params['stripe_wobble'] * np.sin(2 * np.pi * v / (3.0 * period)
                                           + params['stripe_wobble_phase'])
    wave = np.sin(2 * np.pi * (u / period + params['stripe_phase']) + wob)
    t = np.clip(0.5 + 1.5 * wave, 0.0, 1.0)[..., None]
    coat = params['stripe_dark'] * (1 - t) + params['stripe_light'] * t
    return coat * (0.5 + 0.5 * shade[..., None])


def render_scene(seed: int, domain: str, split: str, index: int, size: int = 64,
                 render_other: bool = False) -> dict:
    """Render one scene of ``domain`` ('A' horse or 'B' zebra), fully determined by
    ``(seed, domain, split, index)``.

    Returns ``{'image': uint8 RGB (size, size, 3), 'mask': uint8 0/255 (size, size)}`` and,
    if ``render_other``, ``'other'``: the same scene (background, pose, noise) with the
    other domain's coat (the ground truth of a translation).
    """
    sil, _ = load_silhouette()
    hr = size * SUPERSAMPLE
    rng = np.random.default_rng([int(seed), DOMAINS[domain][0], SPLITS[split], int(index)])
    bg = render_background(rng, hr, size)
    pose = sample_pose(rng, sil.shape, hr)
    params = sample_fill_params(rng, size)
    shade = _shading(rng, hr)
    grain = rng.normal(0.0, rng.uniform(1.5, 3.5), (size, size, 3)).astype(np.float32)

    alpha = cv2.warpAffine(sil.astype(np.float32), pose, (hr, hr), flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=0)[..., None]
    alpha_lr = cv2.resize(alpha[..., 0], (size, size), interpolation=cv2.INTER_AREA)

    def compose(kind):
        img = bg * (1 - alpha) + render_fill(params, kind, shade, pose, hr, size) * alpha
        img = cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA) + grain
        return np.clip(np.rint(img), 0, 255).astype(np.uint8)

    own, other = DOMAINS[domain][1], DOMAINS['B' if domain == 'A' else 'A'][1]
    # the mask holds every pixel the animal touches (any coverage), so that outside it the
    # image and its other-coat rendering are identical (exact background ground truth)
    out = dict(image=compose(own), mask=np.where(alpha_lr > 0, 255, 0).astype(np.uint8))
    if render_other:
        out['other'] = compose(other)
    return out


# --------------------------------------------------------------------------- data set
def _file_name(domain: str, index: int) -> str:
    return f'{DOMAINS[domain][1]}_{index:04d}.png'


_NAME_RE = re.compile(r'^(horse|zebra)_\d{4,}\.png$')


def _write_png(path: str, image: np.ndarray) -> None:
    # plain writes: meta.json, written last and atomically, marks the set complete
    with open(path, 'wb') as f:
        f.write(encode_png(image))


def _expected_counts(num_train: int, num_test: int) -> Dict[str, int]:
    counts = {'trainA': num_train, 'trainB': num_train, 'testA': num_test, 'testB': num_test}
    counts.update({d: num_test for d in EVAL_DIRS})
    return counts


def _count_files(root: str, sub: str) -> int:
    path = os.path.join(root, sub)
    if not os.path.isdir(path):
        return 0
    return sum(1 for n in os.listdir(path) if _NAME_RE.match(n))


def _meta(size: int, num_train: int, num_test: int, seed: int) -> dict:
    return dict(generator=GENERATOR, version=GENERATOR_VERSION, seed=int(seed), size=int(size),
                num_train=int(num_train), num_test=int(num_test),
                silhouette=load_silhouette()[1], supersample=SUPERSAMPLE,
                counts=_expected_counts(num_train, num_test))


def _read_meta(root: str) -> Optional[dict]:
    try:
        with open(os.path.join(root, 'meta.json'), encoding='utf-8') as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def build_demo_dataset(root: str, size: int = 64, num_train: int = 400, num_test: int = 100,
                       seed: int = 0, force: bool = False) -> dict:
    """Generate the mini horse2zebra set under ``root`` (see the module docstring) and
    return a summary dict.

    If ``root/meta.json`` already describes an identical set (same generator version, seed,
    size, counts, silhouette source) and all files are present, nothing is written and the
    summary has ``skipped=True``; ``force=True`` regenerates. Only files that this generator
    names (``horse_NNNN.png``/``zebra_NNNN.png`` in its own sub-folders) are ever deleted, and a
    folder that already holds such files without our meta.json is refused unless ``force``.
    """
    if size < 16 or num_train < 0 or num_test < 0:
        raise ValueError(f'bad demo data parameters: size={size} (>=16), '
                         f'num_train={num_train}, num_test={num_test} (>=0)')
    start = time.perf_counter()
    root = os.path.abspath(root)
    meta = _meta(size, num_train, num_test, seed)
    summary = dict(root=root, **{k: meta[k] for k in ('seed', 'size', 'num_train', 'num_test',
                                                      'silhouette', 'version', 'counts')})
    old = _read_meta(root)
    if old is not None and old.get('generator') != GENERATOR:
        old = None
    if not force and old == meta and all(
            _count_files(root, sub) == n for sub, n in meta['counts'].items()):
        summary.update(skipped=True, seconds=time.perf_counter() - start)
        return summary
    if old is None and not force and any(_count_files(root, sub) for sub in meta['counts']):
        raise FileExistsError(f'{root} holds image files but no meta.json of this generator; '
                              'pass force=True to overwrite them')

    # invalidate first, so an interrupted run never looks complete
    if os.path.exists(os.path.join(root, 'meta.json')):
        os.remove(os.path.join(root, 'meta.json'))
    for sub in IMAGE_DIRS + EVAL_DIRS:
        path = os.path.join(root, sub)
        os.makedirs(path, exist_ok=True)
        for name in os.listdir(path):
            if _NAME_RE.match(name):
                os.remove(os.path.join(path, name))

    for split, num in (('train', num_train), ('test', num_test)):
        for domain in ('A', 'B'):
            other = 'B' if domain == 'A' else 'A'
            for i in range(num):
                name = _file_name(domain, i)
                out = render_scene(seed, domain, split, i, size, render_other=split == 'test')
                _write_png(os.path.join(root, f'{split}{domain}', name), out['image'])
                if split == 'test':
                    _write_png(os.path.join(root, f'test{domain}_mask', name), out['mask'])
                    _write_png(os.path.join(root, f'test{domain}_gt_{other}', name),
                               out['other'])

    atomic_write(os.path.join(root, 'meta.json'),
                 (json.dumps(meta, indent=2, sort_keys=True) + '\n').encode('utf-8'))
    summary.update(skipped=False, seconds=time.perf_counter() - start)
    return summary
