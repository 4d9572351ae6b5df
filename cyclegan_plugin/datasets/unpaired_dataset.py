"""Unpaired two-domain image folders, the reference's ``UnalignedDataset`` for MMEngine."""
import bisect
import logging
import math
import os
import random
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmengine.dataset import BaseDataset, Compose
from mmengine.logging import print_log

from ..io import IMG_EXTENSIONS, BadImageError, list_images
from ..registry import DATASETS, TRANSFORMS, build

from . import transforms as _transforms  # noqa: F401  (registers LoadImage, PackImage...)

_PHASE_WORDS = {'train': 'training', 'test': 'test', 'val': 'validation'}
_LAYOUT = '(the reference layout: trainA/, trainB/, testA/, testB/)'


def _fix_or_skip(phase: str) -> str:
    loader = 'train_dataloader' if phase == 'train' else 'test_dataloader'
    return ('fix or remove the file, or skip bad images with a warning: skip_bad_images=True '
            f'in the dataset config (tools/train.py / test.py: --cfg-options '
            f'{loader}.dataset.skip_bad_images=True)')


def make_dataset(folder: str, max_dataset_size: float = math.inf) -> List[str]:
    """Sorted paths of the image files under ``folder``, recursively, without opening them.

    Files are picked by extension only (``IMG_EXTENSIONS``, any case): other files (notes,
    ``.gif``, ``.txt``...) are not listed; a non-image with an image extension is found
    when it is loaded, with an error naming it. ``os.scandir`` reads the file type from the
    directory entry, so 100,000 files list in well under a second. Like the reference,
    symbolic links to folders inside ``folder`` are not followed. Paths are sorted before
    ``max_dataset_size`` cuts the list, so the subset does not depend on the file system's
    order.
    """
    images = list_images(folder, recursive=True)
    if max_dataset_size < len(images):
        images = images[:int(max_dataset_size)]
    return images


def _build_transforms(pipeline: Sequence[Union[dict, Callable]]) -> List[Callable]:
    """Build configs with our registry, so our transforms resolve without a default scope
    (mmcv's still resolve through the parent registry)."""
    return [build(TRANSFORMS, t) if isinstance(t, dict) else t for t in pipeline]


@DATASETS.register_module()
class UnpairedImageDataset(BaseDataset):
    """Two unpaired image folders, domain A and domain B (the reference's ``UnalignedDataset``).

    Layout: ``data_root/<phase>A`` and ``data_root/<phase>B`` (``trainA``, ``trainB``,
    ``testA``, ``testB``), searched recursively for the reference's image extensions.
    ``len`` is ``max(|A|, |B|)``; item ``i`` pairs ``A[i % |A|]`` with a random B image
    (``random.randint`` as in the reference, so every epoch sees new pairs), or with
    ``B[i % |B|]`` when ``serial_batches`` or ``test_mode`` (reproducible evaluation).

    Args:
        data_root: the data set folder (``data/horse2zebra``).
        phase: 'train' or 'test': picks ``<phase>A`` / ``<phase>B``.
        folder_A, folder_B: explicit folders instead of ``<phase>A`` / ``<phase>B``;
            relative ones are joined to ``data_root``.
        direction: 'AtoB', or 'BtoA' to swap the two folders, so that ``img_A`` is always
            the generators' input domain.
        serial_batches: pair ``A[i]`` with ``B[i % |B|]`` instead of a random B.
        max_dataset_size: keep only the first N (sorted) images of each domain.
        pipeline: transform configs run on each image separately, from
            ``{'img_path': path}``, with independent random parameters per domain; it must
            end with ``PackImage``. See ``transforms.build_pipeline``.
        pipeline_B: a different pipeline for ``img_B`` (e.g. when ``output_nc`` differs
            from ``input_nc``); ``None`` uses ``pipeline``.
        skip_bad_images: what to do with a file the pipeline cannot use (empty, truncated,
            not an image, smaller than the crop: a ``BadImageError``). False: stop with an
            error naming the file. True: take the next file of the same domain instead
            (sorted order, wrapping around), warn once per bad file, and remember it in
            ``bad_images`` so that it is not read again. The replacement is deterministic
            and draws no extra random numbers: the random B partner is drawn once, before
            loading, and a bad file fails in ``LoadImage`` (or ``RandomCrop``), before the
            random transforms of our pipelines, so the run is the one a data set with the
            next file in place of the bad one would give. With DataLoader workers, each
            worker process keeps its own ``bad_images`` and warns once per file it meets.
        test_mode, lazy_init, serialize_data, max_refetch, metainfo: as in
            ``mmengine.dataset.BaseDataset``. Bad files are not left to BaseDataset's
            refetch (``prepare_data`` returning ``None``): it draws a random index with
            NumPy, which would shift the transforms' random numbers, and it refuses to
            refetch in ``test_mode``.

    Items are ``{'inputs': {'img_A', 'img_B'}, 'data_samples': {'img_A_path',
    'img_B_path'}}`` with ``uint8`` CHW RGB tensors (see ``transforms``).
    """

    def __init__(self,
                 data_root: Optional[str] = None,
                 phase: str = 'train',
                 folder_A: Optional[str] = None,
                 folder_B: Optional[str] = None,
                 direction: str = 'AtoB',
                 serial_batches: bool = False,
                 max_dataset_size: Optional[float] = None,
                 pipeline: Sequence[Union[dict, Callable]] = (),
                 pipeline_B: Optional[Sequence[Union[dict, Callable]]] = None,
                 skip_bad_images: bool = False,
                 test_mode: bool = False,
                 lazy_init: bool = False,
                 serialize_data: bool = True,
                 max_refetch: int = 1000,
                 metainfo: Optional[dict] = None):
        if direction not in ('AtoB', 'BtoA'):
            raise ValueError(f"direction must be 'AtoB' or 'BtoA', got {direction!r}")
        if data_root is None and (folder_A is None or folder_B is None):
            raise ValueError('give data_root (with <phase>A and <phase>B folders), or both '
                             'folder_A and folder_B')
        self.phase = phase
        self.direction = direction
        self.serial_batches = serial_batches
        self.max_dataset_size = math.inf if max_dataset_size is None else max_dataset_size
        self.skip_bad_images = skip_bad_images
        # path -> reason, in the order found (in this process: each worker has its own)
        self.bad_images: Dict[str, str] = {}
        # (domain letter, folder) for the messages; BtoA swaps the folders, not the letters'
        # meaning: img_A comes from the folder the user filled with domain-B images.
        root = data_root or ''
        self.dir_A = ('A', os.path.join(root, folder_A if folder_A else f'{phase}A'))
        self.dir_B = ('B', os.path.join(root, folder_B if folder_B else f'{phase}B'))
        if direction == 'BtoA':
            self.dir_A, self.dir_B = self.dir_B, self.dir_A
        self.A_paths: List[str] = []
        self.B_paths: List[str] = []
        self.pipeline_B = None if pipeline_B is None else Compose(_build_transforms(pipeline_B))
        super().__init__(data_root=data_root, pipeline=_build_transforms(pipeline),
                         test_mode=test_mode, lazy_init=lazy_init,
                         serialize_data=serialize_data, max_refetch=max_refetch,
                         metainfo=metainfo)

    @property
    def A_size(self) -> int:
        return len(self.A_paths)

    @property
    def B_size(self) -> int:
        return len(self.B_paths)

    def _list_folder(self, domain: Tuple[str, str]) -> List[str]:
        """List one folder, or explain what is expected there."""
        letter, folder = domain
        what = (f'put the domain-{letter} {_PHASE_WORDS.get(self.phase, self.phase)} images '
                f'in {folder} {_LAYOUT}')
        if not os.path.isdir(folder):
            raise FileNotFoundError(f'image folder {folder} does not exist: {what}')
        paths = make_dataset(folder, self.max_dataset_size)
        if not paths:
            raise FileNotFoundError(
                f'no images in {folder} (searched recursively for '
                f'{" ".join(IMG_EXTENSIONS)}, any case): {what}')
        return paths

    def load_data_list(self) -> List[dict]:
        """List both folders (no decoding) and return the serial pairs.

        Entry ``i`` is ``{'img_A_path': A[i % |A|], 'img_B_path': B[i % |B|]}``; random
        partners are drawn from ``self.B_paths`` at access time.
        """
        self.A_paths = self._list_folder(self.dir_A)
        self.B_paths = self._list_folder(self.dir_B)
        n_a, n_b = len(self.A_paths), len(self.B_paths)
        return [dict(img_A_path=self.A_paths[i % n_a], img_B_path=self.B_paths[i % n_b])
                for i in range(max(n_a, n_b))]

    def _load(self, pipeline: Compose, path: str) -> Optional[torch.Tensor]:
        results = pipeline(dict(img_path=path))
        if results is None:  # a transform asked to skip this image
            return None
        img = results['img']
        if not isinstance(img, torch.Tensor):
            raise TypeError(f"the pipeline returned a {type(img).__name__} for {path}; "
                            "end it with dict(type='PackImage')")
        return img

    def _load_or_skip(self, pipeline: Compose, domain: Tuple[str, str], paths: List[str],
                      path: str) -> Tuple[str, Optional[torch.Tensor]]:
        """Load ``path``; if it is bad, raise naming it or, with ``skip_bad_images``, load
        the next good file of ``paths`` (sorted, so ``bisect`` finds where to go on)."""
        if not self.skip_bad_images:
            try:
                return path, self._load(pipeline, path)
            except BadImageError as err:
                raise type(err)(err.path, f'{err.reason}; {_fix_or_skip(self.phase)}') \
                    from err.__cause__
        start = bisect.bisect_left(paths, path)
        for k in range(len(paths)):
            candidate = paths[(start + k) % len(paths)]
            if candidate in self.bad_images:
                continue
            try:
                return candidate, self._load(pipeline, candidate)
            except BadImageError as err:
                self.bad_images[candidate] = err.reason
                print_log(f'skip_bad_images: skipping {err} (reported once; '
                          f'{len(self.bad_images)} bad file(s) so far)',
                          logger='current', level=logging.WARNING)
        letter, folder = domain
        raise RuntimeError(f'skip_bad_images: none of the {len(paths)} domain-{letter} '
                           f'images in {folder} can be used (see the warnings above)')

    def prepare_data(self, idx: int) -> Optional[dict]:
        """Load ``A[idx % |A|]`` and its B partner through the pipeline, each on its own.

        Returns ``None`` (BaseDataset then tries another index in training) if a transform
        returned ``None``. A bad file raises, or is replaced (``skip_bad_images``).
        """
        info = self.get_data_info(idx)
        A_path = info['img_A_path']
        if self.serial_batches or self.test_mode:
            B_path = info['img_B_path']
        else:
            B_path = self.B_paths[random.randint(0, self.B_size - 1)]
        A_path, img_A = self._load_or_skip(self.pipeline, self.dir_A, self.A_paths, A_path)
        B_path, img_B = self._load_or_skip(self.pipeline_B or self.pipeline, self.dir_B,
                                           self.B_paths, B_path)
        if img_A is None or img_B is None:
            return None
        return dict(inputs=dict(img_A=img_A, img_B=img_B),
                    data_samples=dict(img_A_path=A_path, img_B_path=B_path))
