"""Every test / validation translation as PNG files and an index.html gallery."""
import os

from mmengine.hooks import Hook
from mmengine.logging import print_log

from ...io import atomic_write, encode_png, write_gallery, write_preview
from ...registry import HOOKS

GALLERY_COLUMNS = ('real_A', 'fake_B', 'rec_A', 'real_B', 'fake_A', 'rec_B')


@HOOKS.register_module()
class SaveTranslationsHook(Hook):
    """Write every test/val translation as PNG files and an index.html gallery (one row per
    test image: real_A, fake_B, rec_A, real_B, fake_A, rec_B, as the reference's page).

    ``gallery.png`` beside it shows the first ``preview_rows`` rows in one picture.

    Args:
        out_dir: where to write; relative paths go under the runner's work_dir.
        phases: 'test' and/or 'val'.
        preview_rows: rows in gallery.png (0: none).
    """

    priority = 'LOW'

    def __init__(self, out_dir: str = 'translations', phases=('test',), preview_rows: int = 4):
        self.out_dir = out_dir
        self.phases = tuple(phases)
        self.preview_rows = preview_rows
        self._rows = []
        self._preview = []
        self._root = None

    def _start(self, runner, phase):
        root = self.out_dir if os.path.isabs(self.out_dir) else os.path.join(
            runner.work_dir, self.out_dir)
        if phase == 'val':
            root = os.path.join(root, f'iter_{runner.iter}')
        self._root = root
        os.makedirs(os.path.join(root, 'images'), exist_ok=True)
        self._rows, self._preview = [], []

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
            row, images = {}, {}
            for key in GALLERY_COLUMNS:
                if key not in out:
                    continue
                domain = _source_domain(key)
                path = out.get(f'img_{domain}_path')
                stem = (os.path.splitext(os.path.basename(path))[0] if path
                        else f'{len(self._rows):05d}_{domain}')
                name = f'{stem}_{key}.png'
                images[key] = out[key].permute(1, 2, 0).numpy()
                atomic_write(os.path.join(self._root, 'images', name), encode_png(images[key]))
                row[key] = f'images/{name}'
            self._rows.append(row)
            if len(self._preview) < self.preview_rows and images:
                self._preview.append(images)

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
        if self._preview:
            write_preview(os.path.join(self._root, 'gallery.png'), self._preview,
                          GALLERY_COLUMNS)
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
