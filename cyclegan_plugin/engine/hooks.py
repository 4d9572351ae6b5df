"""Hooks that make CycleGAN training resumable exactly and its results visible."""
import html
import os
import random
from typing import Optional

import cv2
import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from ..registry import HOOKS
from .checkpoint import AtomicLocalBackend

DATA_KEY = 'random_states'


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


class _RestoreBeforeNext:
    """Wraps the train loop's data iterator: after the loop has replayed the data of the
    iterations already done (MMEngine re-reads them on resume), put the random states back
    as they were when the checkpoint was written, just before the next real batch is read."""

    def __init__(self, iterator, replayed: int, states: dict):
        self._iterator, self._replayed, self._states = iterator, replayed, states

    def __next__(self):
        if self._states is not None and self._replayed == 0:
            set_random_states(self._states)
            self._states = None
        self._replayed -= 1
        return next(self._iterator)

    def __iter__(self):
        return self

    def __getattr__(self, name):
        return getattr(self._iterator, name)


@HOOKS.register_module()
class RandomStateHook(Hook):
    """Save the random generators' states in every checkpoint; restore them on resume.

    The image pools draw from Python's ``random`` (as in the reference) and the data pipeline
    from NumPy/Python too; with the pools themselves in the model's state dict, this makes a
    resumed run draw exactly what an uninterrupted one would.
    """

    priority = 'VERY_LOW'

    def __init__(self):
        self._pending: Optional[dict] = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint[DATA_KEY] = get_random_states()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self._pending = checkpoint.get(DATA_KEY)
        if self._pending is None:
            print_log('the checkpoint holds no random states: the resumed run will draw '
                      'differently from an uninterrupted one', logger='current')

    def before_train(self, runner) -> None:
        if self._pending is None:
            return
        loop = runner.train_loop
        replayed = loop.iter if hasattr(loop, 'dataloader_iterator') else 0
        if hasattr(loop, 'dataloader_iterator'):
            loop.dataloader_iterator = _RestoreBeforeNext(loop.dataloader_iterator, replayed,
                                                          self._pending)
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
