"""Training checkpoints that load with ``torch.load(weights_only=True)``.

MMEngine stores its message hub as pickled HistoryBuffer objects, whose pickles call
``getattr`` and NumPy internals: torch>=2.6 refuses them with weights_only=True (MMEngine
0.10.7 then cannot resume), and allowing them would let a file run code. ``SafeCheckpointHook``
stores those objects as tensors and plain types instead, and turns them back on load, so our
checkpoints need no unpickling of code at all: MMEngine's own loader resumes them as they are.
"""
import numpy as np
import torch
from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook, Hook
from mmengine.logging import print_log
from mmengine.logging.history_buffer import HistoryBuffer

from ...io.files import remove_interrupted_writes
from ...registry import HOOKS

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
