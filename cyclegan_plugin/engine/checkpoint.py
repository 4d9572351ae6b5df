"""Training checkpoints that load with ``torch.load(weights_only=True)``.

MMEngine stores its message hub as pickled HistoryBuffer objects, whose pickles call
``getattr`` and NumPy internals: torch>=2.6 refuses them with weights_only=True (MMEngine
0.10.7 then cannot resume), and allowing them would let a file run code. ``SafeCheckpointHook``
stores those objects as tensors and plain types instead, and turns them back on load, so our
checkpoints need no unpickling of code at all. The loader below is registered as MMEngine's
loader for local files: it serves ``resume`` and ``load_from``, and loads a foreign MMEngine
checkpoint with full unpickling only when told the file is trusted.
"""
import os
import os.path as osp
import re
import tempfile

import numpy as np
import torch
from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend, register_backend
from mmengine.hooks import CheckpointHook, Hook
from mmengine.logging import print_log
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner import CheckpointLoader

from ..registry import HOOKS

_BUFFER, _ARRAY = '__history_buffer__', '__ndarray__'


def to_safe(obj):
    """HistoryBuffer, NumPy arrays and scalars -> tensors and plain Python values."""
    if isinstance(obj, HistoryBuffer):
        log, count = obj.data
        return {_BUFFER: True, 'max_length': obj.max_length,
                'log': torch.from_numpy(np.asarray(log, dtype=np.float64)),
                'count': torch.from_numpy(np.asarray(count, dtype=np.int64))}
    if isinstance(obj, np.ndarray):
        return {_ARRAY: torch.from_numpy(np.ascontiguousarray(obj))}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, dict):
        return type(obj)((k, to_safe(v)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_safe(v) for v in obj)
    return obj


def from_safe(obj):
    """The inverse of :func:`to_safe`."""
    if isinstance(obj, dict):
        if obj.get(_BUFFER) is True:
            buffer = HistoryBuffer(max_length=obj['max_length'])
            for value, count in zip(obj['log'].tolist(), obj['count'].tolist()):
                buffer.update(value, count)
            return buffer
        if set(obj) == {_ARRAY}:
            return obj[_ARRAY].numpy()
        return type(obj)((k, from_safe(v)) for k, v in obj.items())
    if isinstance(obj, list):
        return [from_safe(v) for v in obj]
    return obj


@HOOKS.register_module()
class SafeCheckpointHook(Hook):
    """Store the message hub as tensors and plain values (see the module docstring)."""

    priority = 'VERY_LOW'

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if 'message_hub' in checkpoint:
            checkpoint['message_hub'] = to_safe(checkpoint['message_hub'])
        if 'meta' in checkpoint:
            checkpoint['meta'] = to_safe(checkpoint['meta'])

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if 'message_hub' in checkpoint:
            checkpoint['message_hub'] = from_safe(checkpoint['message_hub'])

    def before_train(self, runner) -> None:
        """Clear what killed saves left behind (a whole checkpoint's size each), and warn
        when a kill during a save would leave no checkpoint at all: with ``max_keep_ckpts=1``
        MMEngine deletes the previous checkpoint before it writes the next."""
        if not is_main_process():
            return
        folders = {runner.work_dir}
        for hook in runner.hooks:
            if isinstance(hook, CheckpointHook):
                if isinstance(getattr(hook, 'out_dir', None), str):
                    folders.add(hook.out_dir)
                if hook.max_keep_ckpts == 1:
                    print_log('CheckpointHook keeps 1 checkpoint: MMEngine deletes it before '
                              'writing the next, so a run killed during that save has none '
                              'to resume from; keep 2 or more', logger='current', level=30)
        for folder in sorted(folders):
            for path in remove_interrupted_writes(folder):
                print_log(f'removed {path}, left by a save that was interrupted',
                          logger='current')


def load_checkpoint_file(path, map_location='cpu', trusted=False):
    """Load a checkpoint with weights_only=True; ``trusted=True`` allows full unpickling
    (needed for MMEngine checkpoints written without SafeCheckpointHook, e.g. MMagic's)."""
    try:
        return torch.load(path, map_location=map_location, weights_only=not trusted)
    except FileNotFoundError:
        raise
    except Exception as err:
        hint = ('the file may be truncated or damaged: resume from an earlier checkpoint'
                if 'Weights only load failed' not in str(err) else
                'it holds Python objects beyond tensors (an MMEngine checkpoint written '
                'without SafeCheckpointHook?); unpickling them can run code, so it is '
                'loaded only when you trust its source (trusted=True / --trust-checkpoint)')
        raise RuntimeError(f'cannot load checkpoint {path}: {hint}. ({err})') from err


@CheckpointLoader.register_scheme(prefixes='', force=True)
def _load_local(filename, map_location):
    return load_checkpoint_file(filename, map_location)


_TMP_SUFFIX = '.tmp'
# AtomicLocalBackend's temporary files: '.' + target name + '.' + mkstemp's 8 characters
_TMP_NAME = re.compile(r'\..+\.[a-z0-9_]{8}' + re.escape(_TMP_SUFFIX))


@register_backend('cyclegan_atomic_local')
class AtomicLocalBackend(LocalBackend):
    """Local files written whole or not at all: a temporary file in the same folder, flushed
    to disk, then renamed over the target. A run killed during a save leaves the previous
    checkpoint intact instead of a truncated one. Used by the configs' CheckpointHook
    (``backend_args=dict(backend='cyclegan_atomic_local')``)."""

    def put(self, obj: bytes, filepath) -> None:
        filepath = str(filepath)
        folder = osp.dirname(osp.abspath(filepath))
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix='.' + osp.basename(filepath) + '.',
                                   suffix=_TMP_SUFFIX)
        try:
            with os.fdopen(fd, 'wb') as f:
                f.write(obj)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, filepath)
        except BaseException:
            if osp.exists(tmp):
                os.remove(tmp)
            raise

    def put_text(self, obj: str, filepath, encoding: str = 'utf-8') -> None:
        self.put(obj.encode(encoding), filepath)


def remove_interrupted_writes(folder) -> list:
    """Delete the temporary files that AtomicLocalBackend leaves in ``folder`` when its
    process dies before the rename; returns their paths."""
    removed = []
    for name in os.listdir(folder) if osp.isdir(folder) else []:
        path = osp.join(folder, name)
        if _TMP_NAME.fullmatch(name) and osp.isfile(path):
            os.remove(path)
            removed.append(path)
    return removed


def newest_loadable_checkpoint(work_dir):
    """The newest ``iter_*.pth`` / ``epoch_*.pth`` of a work dir that loads; damaged ones
    are named in a warning and passed over. None when there is none."""
    found = []
    for name in os.listdir(work_dir) if osp.isdir(work_dir) else []:
        m = re.fullmatch(r'(iter|epoch)_(\d+)\.pth', name)
        if m:
            found.append((int(m.group(2)), osp.join(work_dir, name)))
    for _, path in sorted(found, reverse=True):
        try:
            load_checkpoint_file(path)
            return path
        except Exception as err:  # noqa: BLE001  (any damage: skip to the next one)
            print_log(f'skipping damaged checkpoint {path}: {err}', logger='current',
                      level=30)
    return None
