"""Hooks that make CycleGAN training resumable exactly and its results visible."""
import html
import logging
import os
import random
from typing import Optional

import cv2
import numpy as np
import torch
from mmengine.dist import gather_object, get_rank, get_world_size
from mmengine.hooks import CheckpointHook, Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.runner.loops import _InfiniteDataloaderIterator
from torch.utils.data.dataloader import _DatasetKind, _SingleProcessDataLoaderIter

from ..registry import HOOKS
from .checkpoint import AtomicLocalBackend

DATA_KEY = 'random_states'
RANKS_KEY = 'rank_states'
EXTRA_STATE_SUFFIX = '_extra_state'  # torch's key suffix for get_extra_state()


def get_random_states() -> dict:
    """Python, NumPy and torch (CPU and CUDA) generator states, as tensors and plain types so
    the checkpoint still loads with weights_only=True."""
    version, internal, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state()
    states = dict(python=dict(version=version, state=torch.tensor(internal, dtype=torch.int64),
                              gauss=gauss),
                  numpy=dict(name=name, keys=torch.from_numpy(keys.astype(np.int64)),
                             pos=int(pos), has_gauss=int(has_gauss), cached=float(cached)),
                  torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states['cuda'] = torch.cuda.get_rng_state_all()
    return states


def set_random_states(states: dict) -> None:
    py = states['python']
    random.setstate((py['version'], tuple(py['state'].tolist()), py['gauss']))
    npst = states['numpy']
    np.random.set_state((npst['name'], npst['keys'].numpy().astype(np.uint32), npst['pos'],
                         npst['has_gauss'], npst['cached']))
    torch.set_rng_state(states['torch'])
    if 'cuda' in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states['cuda'])


class _ResumedDataIterator:
    """Wraps the train loop's data iterator on resume.

    MMEngine moves the data order past the iterations already done by calling ``next()``
    once for each of them, which reads and decodes every one of those images again. When the
    loader reads in this process (no workers) from a map-style data set, the images and the
    random numbers drawn for them are thrown away (the random states are put back below), so
    only the sampler's position matters: those calls then advance the sampler alone. With
    workers they read the data as MMEngine does: each worker's random stream moves on with the
    items it prepares, and it lives in the worker, not in the checkpoint.

    Just before the first real batch, the random states are put back as they were when the
    checkpoint was written.
    """

    def __init__(self, iterator, replayed: int, states: dict):
        self._iterator, self._replayed, self._states = iterator, replayed, states
        self._skip = _can_skip_reading(iterator)

    def __next__(self):
        if self._replayed > 0:
            self._replayed -= 1
            if self._skip and _advance_sampler(self._iterator):
                return None  # the loop throws replayed batches away
            return next(self._iterator)
        if self._states is not None:
            set_random_states(self._states)
            self._states = None
        return next(self._iterator)

    def __iter__(self):
        return self

    def __getattr__(self, name):
        return getattr(self._iterator, name)


def _can_skip_reading(iterator) -> bool:
    """Whether ``iterator`` is MMEngine's infinite iterator over a loader that reads a
    map-style data set in this process (``num_workers=0``)."""
    inner = getattr(iterator, '_iterator', None)
    return (isinstance(iterator, _InfiniteDataloaderIterator)
            and isinstance(inner, _SingleProcessDataLoaderIter)
            and inner._dataset_kind == _DatasetKind.Map)


def _advance_sampler(iterator) -> bool:
    """Take the next batch of indices without fetching it, as ``next()`` would have. False at
    the end of the sampler's epoch: the caller then reads the batch, which lets MMEngine's
    iterator start the next epoch its own way."""
    inner = iterator._iterator
    try:
        inner._next_index()
    except StopIteration:
        return False
    inner._num_yielded += 1
    return True


def _checkpoint_due(runner, by_epoch: bool) -> bool:
    """Whether a CheckpointHook of the runner writes a checkpoint at the end of the current
    iteration (``by_epoch=False``) or epoch: its own conditions."""
    for hook in runner.hooks:
        if not isinstance(hook, CheckpointHook) or hook.by_epoch != by_epoch:
            continue
        if by_epoch:
            due = hook.every_n_epochs(runner, hook.interval, hook.save_begin) or (
                hook.save_last and hook.is_last_train_epoch(runner))
        else:
            due = hook.every_n_train_iters(runner, hook.interval, hook.save_begin) or (
                hook.save_last and hook.is_last_train_iter(runner))
        if due:
            return True
    return False


@HOOKS.register_module()
class RandomStateHook(Hook):
    """Save the random generators' states in every checkpoint; restore them on resume.

    The image pools draw from Python's ``random`` (as in the reference) and the data pipeline
    from NumPy/Python too; with the pools themselves in the model's state dict, this makes a
    resumed run draw exactly what an uninterrupted one would.

    In distributed training each process has its own random states and its own pools (it
    sees other images), but only rank 0 writes the checkpoint. When a checkpoint is due,
    every process sends its states and its model's extra state (the pools) to rank 0, which
    stores them under ``rank_states``; on resume each process takes its own back. A
    checkpoint written by a different number of processes gives every process rank 0's.

    Its priority puts it after the other hooks of an iteration, so nothing draws between the
    capture and the save, and before the CheckpointHook (VERY_LOW), which writes the file.
    """

    priority = 85

    def __init__(self):
        self._pending: Optional[dict] = None  # the states to restore
        self._saved_by: Optional[int] = None  # processes that wrote the loaded checkpoint
        self._gathered = None  # (iteration or epoch, by_epoch, [per-rank states]) on rank 0

    def _rank_state(self, runner) -> dict:
        state = dict(random_states=get_random_states())
        if get_rank() != 0:  # rank 0's pools are the checkpoint's own state dict
            model = runner.model.module if is_model_wrapper(runner.model) else runner.model
            state['extra_state'] = {k: v for k, v in model.state_dict().items()
                                    if k.endswith(EXTRA_STATE_SUFFIX)}
        return state

    def _gather_if_due(self, runner, by_epoch: bool) -> None:
        if get_world_size() > 1 and _checkpoint_due(runner, by_epoch):
            step = runner.epoch if by_epoch else runner.iter
            self._gathered = (step, by_epoch, gather_object(self._rank_state(runner), dst=0))

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self._gather_if_due(runner, by_epoch=False)

    def after_train_epoch(self, runner) -> None:
        self._gather_if_due(runner, by_epoch=True)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint[DATA_KEY] = get_random_states()
        if self._gathered is not None:
            step, by_epoch, states = self._gathered
            if step == (runner.epoch if by_epoch else runner.iter):
                checkpoint[RANKS_KEY] = states
            self._gathered = None

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self._pending = checkpoint.get(DATA_KEY)
        per_rank = checkpoint.get(RANKS_KEY)
        self._saved_by = len(per_rank) if per_rank else 1
        if per_rank and self._saved_by == get_world_size():
            own = per_rank[get_rank()]
            checkpoint['state_dict'].update(own.get('extra_state', {}))
            self._pending = own['random_states']

    def before_train(self, runner) -> None:
        loop = runner.train_loop
        if self._saved_by is not None and loop.iter > 0:  # resumed: say what is not exact
            if self._pending is None:
                print_log('the checkpoint holds no random states: the resumed run will draw '
                          'differently from an uninterrupted one', logger='current',
                          level=logging.WARNING)
            elif self._saved_by != get_world_size():
                print_log(f'the checkpoint holds the random states and image pools of '
                          f'{self._saved_by} process(es), this run has {get_world_size()}: '
                          "each process continues from rank 0's, so the resumed run draws "
                          'differently from an uninterrupted one', logger='current',
                          level=logging.WARNING)
        if self._pending is None:
            return
        if hasattr(loop, 'dataloader_iterator'):
            loop.dataloader_iterator = _ResumedDataIterator(loop.dataloader_iterator,
                                                            loop.iter, self._pending)
        else:
            set_random_states(self._pending)
        self._pending = None


GRID_ROWS = (('real_A', 'fake_B', 'rec_A', 'idt_B'), ('real_B', 'fake_A', 'rec_B', 'idt_A'))


@HOOKS.register_module()
class CycleGANVisualizationHook(Hook):
    """Every ``interval`` training iterations, and on the first validation batch, draw the
    reference's grid through MMEngine's Visualizer (so Local, Tensorboard and Wandb backends
    work by config alone):

        real_A | fake_B | rec_A | idt_B
        real_B | fake_A | rec_B | idt_A

    for the first image of the batch (validation outputs carry no identity images). It runs
    the generators under no_grad and draws no random numbers, so it changes no result.
    """

    priority = 'LOW'

    def __init__(self, interval: int = 1000, on_val: bool = True, name: str = 'translations'):
        self.interval, self.on_val, self.name = interval, on_val, name

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if self.interval <= 0 or not self.every_n_train_iters(runner, self.interval):
            return
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        was_training = model.training
        model.eval()
        with torch.no_grad():
            data = model.data_preprocessor(data_batch, False)
            real_A, real_B = data['inputs']['img_A'][:1], data['inputs']['img_B'][:1]
            # the model's own forward, in the reference's order (as train_step runs it)
            images = model.forward_generators(real_A, real_B,
                                              identity=real_A.shape[1] == real_B.shape[1])
            images.update(real_A=real_A, real_B=real_B)
            images = {k: model.data_preprocessor.destruct(v)[0] for k, v in images.items()}
        model.train(was_training)
        runner.visualizer.add_image(self.name, translation_grid(images), step=runner.iter + 1)

    def after_val_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if self.on_val and batch_idx == 0 and outputs:
            runner.visualizer.add_image(f'val_{self.name}', translation_grid(outputs[0]),
                                        step=runner.iter)


def translation_grid(images: dict) -> np.ndarray:
    """uint8 (C, H, W) RGB tensors by name -> one HxWx3 RGB grid in GRID_ROWS order; names
    missing from ``images`` (identity images at validation) are left out of every row."""
    columns = [i for i in range(len(GRID_ROWS[0]))
               if all(row[i] in images for row in GRID_ROWS)]
    rows = []
    for row in GRID_ROWS:
        tiles = [images[row[i]].permute(1, 2, 0).cpu().numpy() for i in columns]
        tiles = [np.repeat(t, 3, axis=2) if t.shape[2] == 1 else t for t in tiles]
        rows.append(np.concatenate(tiles, axis=1))
    return np.ascontiguousarray(np.concatenate(rows, axis=0))


GALLERY_COLUMNS = ('real_A', 'fake_B', 'rec_A', 'real_B', 'fake_A', 'rec_B')


@HOOKS.register_module()
class SaveTranslationsHook(Hook):
    """Write every test/val translation as PNG files and an index.html gallery (one row per
    test image: real_A, fake_B, rec_A, real_B, fake_A, rec_B, as the reference's page).

    Args:
        out_dir: where to write; relative paths go under the runner's work_dir.
        phases: 'test' and/or 'val'.
    """

    priority = 'LOW'

    def __init__(self, out_dir: str = 'translations', phases=('test',)):
        self.out_dir = out_dir
        self.phases = tuple(phases)
        self._rows = []
        self._root = None

    def _start(self, runner, phase):
        root = self.out_dir if os.path.isabs(self.out_dir) else os.path.join(
            runner.work_dir, self.out_dir)
        if phase == 'val':
            root = os.path.join(root, f'iter_{runner.iter}')
        self._root = root
        os.makedirs(os.path.join(root, 'images'), exist_ok=True)
        self._rows = []

    def before_test_epoch(self, runner):
        if 'test' in self.phases:
            self._start(runner, 'test')

    def before_val_epoch(self, runner):
        if 'val' in self.phases:
            self._start(runner, 'val')

    def _write(self, outputs, data_batch):
        if self._root is None:
            return
        for out in outputs:
            row = {}
            for key in GALLERY_COLUMNS:
                if key not in out:
                    continue
                domain = _source_domain(key)
                path = out.get(f'img_{domain}_path')
                stem = (os.path.splitext(os.path.basename(path))[0] if path
                        else f'{len(self._rows):05d}_{domain}')
                name = f'{stem}_{key}.png'
                image = out[key].permute(1, 2, 0).numpy()
                if image.shape[2] == 3:
                    image = image[:, :, ::-1]  # RGB -> BGR for cv2
                cv2.imwrite(os.path.join(self._root, 'images', name), image)
                row[key] = name
            self._rows.append(row)

    def after_test_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if 'test' in self.phases:
            self._write(outputs or [], data_batch)

    def after_val_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if 'val' in self.phases:
            self._write(outputs or [], data_batch)

    def _finish(self, runner):
        if self._root is None:
            return
        path = os.path.join(self._root, 'index.html')
        write_gallery(path, self._rows, GALLERY_COLUMNS, title=f'{runner.experiment_name}')
        n = sum(len(r) for r in self._rows)
        print_log(f'wrote {n} images of {len(self._rows)} test rows and the gallery {path}',
                  logger='current')
        self.last_gallery = path
        self._root = None

    def after_test_epoch(self, runner, metrics=None):
        self._finish(runner)

    def after_val_epoch(self, runner, metrics=None):
        self._finish(runner)


def _source_domain(key: str) -> str:
    """The domain of the real image an output starts from: real_A, fake_B, rec_A from A."""
    return {'fake_B': 'A', 'fake_A': 'B'}.get(key, key[-1])


def write_gallery(path: str, rows, columns, title: str = 'translations') -> None:
    """A static HTML table of image files (relative to images/), one row per test image."""
    lines = ['<!DOCTYPE html>', '<html><head><meta charset="utf-8">',
             f'<title>{html.escape(title)}</title>',
             '<style>body{font-family:sans-serif} td{text-align:center;padding:4px}'
             ' img{width:256px;image-rendering:pixelated}</style></head><body>',
             f'<h1>{html.escape(title)}</h1>', '<table>',
             '<tr>' + ''.join(f'<th>{html.escape(c)}</th>' for c in columns) + '</tr>']
    for row in rows:
        cells = []
        for c in columns:
            if c in row:
                src = html.escape('images/' + row[c])
                cells.append(f'<td><a href="{src}"><img src="{src}"></a><br>'
                             f'{html.escape(row[c])}</td>')
            else:
                cells.append('<td></td>')
        lines.append('<tr>' + ''.join(cells) + '</tr>')
    lines += ['</table>', '</body></html>']
    AtomicLocalBackend().put_text('\n'.join(lines), path)
