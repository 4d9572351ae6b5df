"""Exact resume: the random generators' states in every checkpoint, restored on resume.

The image pools draw from Python's ``random`` (as in the reference) and the data pipeline from
NumPy / Python too; with the pools in the model's state dict, this makes a resumed run draw
exactly what an uninterrupted one would. The few MMEngine and DataLoader internals this needs
are reached through :mod:`cyclegan_plugin.engine.internals`, which checks they still exist.
"""
import logging
import random
from typing import Optional

import numpy as np
import torch
from mmengine.dist import gather_object, get_rank, get_world_size
from mmengine.hooks import CheckpointHook, Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from ...registry import HOOKS
from ..internals import advance_sampler, reads_in_this_process

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
        self._skip = reads_in_this_process(iterator)

    def __next__(self):
        if self._replayed > 0:
            self._replayed -= 1
            if self._skip and advance_sampler(self._iterator):
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
