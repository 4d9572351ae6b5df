"""FID / KID (and optional IS) of both translation directions as an MMEngine metric.

Protocol (MMagic's TransFID): FID_a2b compares the translated testA images (fake_B) with the
real testB images; FID_b2a compares fake_A with the real testA images. Features are those of
pytorch-fid's Inception (see :mod:`.inception`), so the numbers match pytorch-fid run on the same
images saved as PNG.

Contract with the model: every element of ``data_samples`` (what val_step/test_step returns) is
a dict with ``real_A, fake_B, rec_A, real_B, fake_A, rec_B`` (uint8 tensors (3, H, W), RGB) and
``img_A_path, img_B_path`` (str). The test dataset has max(|A|, |B|) items and repeats the smaller
domain, so every image is counted once per path.
"""
import logging
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from ..registry import METRICS
from .fid import (compute_statistics, default_batch_size, default_stats_cache_dir,
                  folder_statistics, frechet_distance, inception_features, inception_score,
                  kernel_inception_distance, load_stats)
from .inception import load_inception

__all__ = ['TranslationFIDKID', 'TranslationFID', 'TranslationKID']

# direction -> (fake image key, key of the path naming it, real domain compared with)
_DIRECTIONS = {'a2b': ('fake_B', 'img_A_path', 'B'), 'b2a': ('fake_A', 'img_B_path', 'A')}
_REAL = {'A': ('real_A', 'img_A_path'), 'B': ('real_B', 'img_B_path')}


@METRICS.register_module()
class TranslationFIDKID(BaseMetric):
    """FID and KID of fake_B vs real B (``*_a2b``) and fake_A vs real A (``*_b2a``).

    One metric for both so that every image goes through Inception once. Keys: ``FID_a2b``,
    ``FID_b2a``, ``KID_a2b``, ``KID_b2a``, ``KID_a2b_std``, ``KID_b2a_std`` (and ``IS_a2b``,
    ``IS_b2a``, ``IS_*_std`` with ``inception_score=True``), unprefixed unless ``prefix`` is
    set (then ``'<prefix>/FID_a2b'``). Lower is better: use
    ``CheckpointHook(save_best='FID_a2b', rule='less')`` (MMEngine cannot infer the rule).

    Args:
        fid, kid: which distances to report.
        inception_score: also report the IS of the fakes (monitoring only, see docs), over
            ``is_splits`` splits (needs at least that many images).
        dims: Inception feature size (64, 192, 768 or 2048; published FIDs use 2048).
        directions: subset of ('a2b', 'b2a').
        inception_weights: path of pytorch-fid's weights; None = :func:`load_inception`'s search.
        device: where Inception runs; None = CUDA if available, else CPU.
        batch_size: images per Inception forward; None: 10 on the CPU, 50 on a GPU
            (:func:`~cyclegan_plugin.evaluation.fid.default_batch_size`).
        kid_subsets, kid_subset_size, kid_seed: KID's random subsets (size lowered, with a
            warning, to the number of images when fewer).
        real_stats_A/B: a stats .npz (``tools/eval_fid.py --save-stats``) of the real test
            folder; KID needs its ``features`` array.
        real_folder_A/B: a real image folder whose statistics are computed once and cached in
            ``stats_cache_dir`` (default ~/.cache/cyclegan_plugin/fid_stats).
        Without either, real images are taken from the samples' real_A/real_B.
    """

    default_prefix = ''  # '' (not None): unprefixed keys and no "prefix is not set" warning

    def __init__(self, fid: bool = True, kid: bool = True, inception_score: bool = False,
                 is_splits: int = 10, dims: int = 2048, directions: Sequence[str] = ('a2b', 'b2a'),
                 inception_weights: Optional[str] = None, device: Optional[str] = None,
                 batch_size: Optional[int] = None, kid_subsets: int = 100, kid_subset_size: int = 1000,
                 kid_seed: int = 0, real_stats_A: Optional[str] = None,
                 real_stats_B: Optional[str] = None, real_folder_A: Optional[str] = None,
                 real_folder_B: Optional[str] = None, stats_cache_dir: Optional[str] = None,
                 num_workers: Optional[int] = None, collect_device: str = 'cpu',
                 prefix: Optional[str] = None, collect_dir: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix, collect_dir=collect_dir)
        if not (fid or kid or inception_score):
            raise ValueError('nothing to compute: enable fid, kid or inception_score')
        unknown = set(directions) - set(_DIRECTIONS)
        if unknown or not directions:
            raise ValueError(f'directions must be a non-empty subset of {tuple(_DIRECTIONS)}, '
                             f'got {directions}')
        for domain, (stats, folder) in {'A': (real_stats_A, real_folder_A),
                                        'B': (real_stats_B, real_folder_B)}.items():
            if stats is not None and folder is not None:
                raise ValueError(f'give real_stats_{domain} or real_folder_{domain}, not both')
        self.fid, self.kid, self.inception_score = fid, kid, inception_score
        self.is_splits = is_splits
        self.dims = int(dims)
        self.directions = tuple(directions)
        self.inception_weights = inception_weights
        self.device = device
        self.batch_size = batch_size
        self.kid_subsets, self.kid_subset_size = kid_subsets, kid_subset_size
        self.kid_seed = kid_seed
        self.real_stats_paths = {'A': real_stats_A, 'B': real_stats_B}
        self.real_folders = {'A': real_folder_A, 'B': real_folder_B}
        self.stats_cache_dir = stats_cache_dir
        self.num_workers = num_workers
        self._inception = None
        self._real_stats: Dict[str, dict] = {}  # domain -> stats from a file/folder, kept
        self._seen: Dict[Tuple[str, str], dict] = {}  # (image key, path) -> features, per run

    # ---------------------------------------------------------------------------- helpers
    @property
    def inception(self):
        """The Inception network, loaded on first use (so building a config stays cheap)."""
        if self._inception is None:
            device = self.device or ('cuda' if torch.cuda.is_available() else 'cpu')
            self._inception = load_inception(self.inception_weights, device=device)
        return self._inception

    def _real_domains(self) -> List[str]:
        return sorted({_DIRECTIONS[d][2] for d in self.directions})

    def _image_keys(self) -> Dict[str, str]:
        """Image key -> path key of every image that needs features from the samples."""
        keys = {_DIRECTIONS[d][0]: _DIRECTIONS[d][1] for d in self.directions}
        for domain in self._real_domains():
            if self.real_stats_paths[domain] is None and self.real_folders[domain] is None:
                keys[_REAL[domain][0]] = _REAL[domain][1]
        return keys

    def _features(self, images: List[torch.Tensor]) -> List[dict]:
        """Per-image {'feat', 'logits'?} for uint8 CHW tensors, batched by image size."""
        out: List[Optional[dict]] = [None] * len(images)
        by_shape: Dict[tuple, List[int]] = {}
        for i, img in enumerate(images):
            by_shape.setdefault(tuple(img.shape), []).append(i)
        for idx in by_shape.values():
            batch = self.batch_size or default_batch_size(next(self.inception.parameters()).device)
            for start in range(0, len(idx), batch):
                chunk = idx[start:start + batch]
                feats = inception_features(self.inception, torch.stack([images[i] for i in chunk]),
                                           dims=(self.dims,), logits=self.inception_score)
                for j, i in enumerate(chunk):
                    out[i] = {'feat': feats[self.dims][j]}
                    if self.inception_score:
                        out[i]['logits'] = feats['logits'][j]
        return out

    @staticmethod
    def _as_uint8_image(value, name: str) -> torch.Tensor:
        t = torch.as_tensor(value)
        if t.dtype != torch.uint8 or t.ndim != 3 or t.shape[0] != 3:
            raise TypeError(f'{name} must be a uint8 (3, H, W) RGB tensor, got '
                            f'{t.dtype} {tuple(t.shape)}')
        return t.cpu()

    # ---------------------------------------------------------------------------- metric API
    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Compute Inception features of this batch's images now (not at the end), so only
        features are kept; an image seen before (same path) is not recomputed. One result
        entry per sample, self-contained, so MMEngine's truncation of padded samples is safe.
        """
        keys = self._image_keys()
        samples = [s.to_dict() if hasattr(s, 'to_dict') else s for s in data_samples]
        for s in samples:
            missing = sorted({k for kv in keys.items() for k in kv} - set(s))
            if missing:
                raise KeyError(f'{type(self).__name__} needs {missing} in every data sample '
                               '(images are deduplicated by path); got keys ' + str(sorted(s)))
        todo, todo_images, queued = [], [], set()
        for s in samples:
            for key, path_key in keys.items():
                ident = (key, str(s[path_key]))
                if ident not in self._seen and ident not in queued:
                    queued.add(ident)
                    todo.append(ident)
                    todo_images.append(self._as_uint8_image(s[key], key))
        for ident, feats in zip(todo, self._features(todo_images) if todo else []):
            self._seen[ident] = feats
        for s in samples:
            entry = {}
            for key, path_key in keys.items():
                path = str(s[path_key])
                entry[key] = (path, self._seen[(key, path)])
            self.results.append(entry)

    def evaluate(self, size: int) -> dict:
        try:
            return super().evaluate(size)
        finally:
            self._seen.clear()  # the next validation run starts from scratch (weights changed)

    def _real_domain_stats(self, domain: str) -> dict:
        """Stats (mu, sigma, features or None) of a real domain given as a file or folder."""
        if domain not in self._real_stats:
            if self.real_stats_paths[domain] is not None:
                stats = load_stats(self.real_stats_paths[domain])
                if len(stats['mu']) != self.dims:
                    raise ValueError(f'{self.real_stats_paths[domain]} holds {len(stats["mu"])}-d '
                                     f'statistics, the metric uses dims={self.dims}')
            else:
                cache = self.stats_cache_dir or default_stats_cache_dir()
                stats = folder_statistics(self.real_folders[domain], self.inception, self.dims,
                                          cache_dir=cache, batch_size=self.batch_size,
                                          num_workers=self.num_workers, progress=False)
            self._real_stats[domain] = stats
        return self._real_stats[domain]

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        # Deduplicate by path (also across ranks) and sort by path: order-independent results.
        by_key: Dict[str, Dict[str, dict]] = {}
        for entry in results:
            for key, (path, feats) in entry.items():
                by_key.setdefault(key, {}).setdefault(path, feats)

        def stack(key, field='feat'):
            items = by_key[key]
            return np.stack([items[p][field] for p in sorted(items)]).astype(np.float64)

        metrics = {}
        for direction in self.directions:
            fake_key, _, domain = _DIRECTIONS[direction]
            fake = stack(fake_key)
            real_key = _REAL[domain][0]
            if real_key in by_key:
                real = stack(real_key)
                real_mu, real_sigma = compute_statistics(real) if self.fid else (None, None)
            else:
                stats = self._real_domain_stats(domain)
                real, real_mu, real_sigma = stats['features'], stats['mu'], stats['sigma']
            print_log(f'{type(self).__name__} {direction}: {len(fake)} translated vs '
                      f'{len(real) if real is not None else "cached"} real images',
                      logger='current')
            if self.fid:
                metrics[f'FID_{direction}'] = frechet_distance(*compute_statistics(fake),
                                                               real_mu, real_sigma)
            if self.kid:
                if real is None:
                    print_log(f'KID_{direction} skipped: the real-domain {domain} statistics '
                              'file has no features', logger='current', level=logging.WARNING)
                else:
                    kid = kernel_inception_distance(
                        fake, np.asarray(real, np.float64), num_subsets=self.kid_subsets,
                        subset_size=self.kid_subset_size, seed=self.kid_seed)
                    metrics[f'KID_{direction}'] = kid['mean']
                    metrics[f'KID_{direction}_std'] = kid['std']
            if self.inception_score:
                mean, std = inception_score(stack(fake_key, 'logits'), self.is_splits)
                metrics[f'IS_{direction}'] = mean
                metrics[f'IS_{direction}_std'] = std
        return metrics


@METRICS.register_module()
class TranslationFID(TranslationFIDKID):
    """FID only (``FID_a2b``, ``FID_b2a``); prefer TranslationFIDKID to get KID as well
    from the same forward passes."""

    def __init__(self, **kwargs):
        kwargs.setdefault('kid', False)
        super().__init__(**kwargs)


@METRICS.register_module()
class TranslationKID(TranslationFIDKID):
    """KID only (``KID_a2b``, ``KID_b2a`` and their ``_std``)."""

    def __init__(self, **kwargs):
        kwargs.setdefault('fid', False)
        super().__init__(**kwargs)
