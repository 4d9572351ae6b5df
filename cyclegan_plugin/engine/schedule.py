"""The reference's run length and learning-rate policy, counted in epochs of the training data.

The reference trains ``n_epochs + n_epochs_decay`` epochs of ``max(|A|, |B|)`` images and
steps its 'linear' policy once per epoch (``models/networks.py``, ``get_scheduler``). We keep
MMEngine's iteration-based loop (exact resume, iteration-based hooks) and count its length and
the schedule in epochs of the training loader, so the data set is the one source of the epoch
length and a config never copies it by hand.
"""
import math
from typing import List, Optional, Tuple, Union

from mmengine.optim.scheduler.lr_scheduler import LRSchedulerMixin
from mmengine.optim.scheduler.param_scheduler import INF, _ParamScheduler
from mmengine.runner import IterBasedTrainLoop

from ..registry import LOOPS, PARAM_SCHEDULERS


@LOOPS.register_module()
class EpochsIterBasedTrainLoop(IterBasedTrainLoop):
    """MMEngine's ``IterBasedTrainLoop``, whose length may be given in epochs.

    Args:
        max_epochs: the run's length in epochs of ``epoch_length`` iterations.
        max_iters: the run's length in iterations; when given it wins over ``max_epochs``
            (so ``--cfg-options train_cfg.max_iters=N`` sets the length of any config).
        epoch_length: iterations per epoch; default the training loader's length,
            ``ceil(max(|A|, |B|) / batch_size)``, as the reference counts an epoch.
        val_begin, val_interval, dynamic_intervals: as ``IterBasedTrainLoop`` (iterations).

    ``max_epochs`` of this loop (what MMEngine passes schedulers as their default ``end``)
    is the run's length in epochs, fractional when ``max_iters`` is not a whole number of
    epochs.
    """

    def __init__(self, runner, dataloader, max_epochs: Optional[float] = None,
                 max_iters: Optional[int] = None, epoch_length: Optional[int] = None,
                 val_begin: int = 1, val_interval: int = 1000,
                 dynamic_intervals: Optional[List[Tuple[int, int]]] = None) -> None:
        if max_epochs is None and max_iters is None:
            raise ValueError('give the run length: train_cfg.max_epochs or train_cfg.max_iters')
        super().__init__(runner, dataloader, max_iters=1, val_begin=val_begin,
                         val_interval=val_interval, dynamic_intervals=dynamic_intervals)
        self.epoch_length = int(epoch_length) if epoch_length else len(self.dataloader)
        if self.epoch_length < 1:
            raise ValueError(f'epoch_length must be positive, got {self.epoch_length}')
        if max_iters is None:
            max_iters = max_epochs * self.epoch_length
            if max_iters != int(max_iters):
                raise ValueError(f'max_epochs={max_epochs} of {self.epoch_length} iterations '
                                 'is not a whole number of iterations: give max_iters')
        if int(max_iters) != max_iters or max_iters < 1:
            raise ValueError(f'max_iters must be a positive whole number, got {max_iters}')
        self._max_iters = int(max_iters)
        self._max_epochs = self._max_iters / self.epoch_length


@PARAM_SCHEDULERS.register_module()
class ReferenceLinearLR(LRSchedulerMixin, _ParamScheduler):
    """The reference's 'linear' policy: the learning rate is constant for ``n_epochs``, then
    lowered once per epoch for ``n_epochs_decay`` epochs. In (0-based) epoch ``e``::

        lr = base_lr * (1 - max(0, e + 1 - n_epochs) / (n_epochs_decay + 1))

    (``get_scheduler`` with ``epoch_count=1``), so the last epoch trains at
    ``base_lr / (n_epochs_decay + 1)``, not 0.

    Left unset, ``n_epochs`` is half of the run ``[begin, end)`` (rounded down) and
    ``n_epochs_decay`` the rest: the paper's 100 + 100 of 200 epochs, and a full schedule for
    any other length. Give both to pin them. ``decay_fraction`` (opt-in; 0.5 is the paper)
    is the share of the run the decay takes when they are left unset: 0.75 keeps the rate
    constant for the first quarter only, 1 lowers it from the first epoch.

    In an iteration-based loop give it in epochs with ``by_epoch=True,
    convert_to_iter_based=True``: MMEngine then builds it with the training loader's length
    as ``epoch_length`` (unless the config sets one), and the rate changes once every
    ``epoch_length`` iterations. With ``by_epoch=False`` and no conversion an epoch is one
    iteration: a per-iteration linear decay to ``base_lr / (n_epochs_decay + 1)``.
    The value is computed from the initial rate (closed form), not chained.
    """

    def __init__(self, optimizer, n_epochs: Optional[int] = None,
                 n_epochs_decay: Optional[int] = None, epoch_length: int = 1,
                 begin: int = 0, end: Union[int, float] = INF, last_step: int = -1,
                 by_epoch: bool = True, verbose: bool = False, decay_fraction: float = 0.5):
        if not 0.0 <= decay_fraction <= 1.0:
            raise ValueError(f'decay_fraction must lie in [0, 1], got {decay_fraction}')
        self.epoch_length = int(epoch_length)
        if self.epoch_length < 1:
            raise ValueError(f'epoch_length must be positive, got {epoch_length}')
        if end != INF:
            end = int(round(end))
        if n_epochs is None or n_epochs_decay is None:
            if end == INF:
                raise ValueError('ReferenceLinearLR needs n_epochs and n_epochs_decay, or an '
                                 'end (the run length MMEngine gives by default)')
            total = math.ceil((end - begin) / self.epoch_length)
            if n_epochs is None:  # decay_fraction 0.5: total // 2, the paper's half
                n_epochs = math.floor(total * (1.0 - decay_fraction))
            n_epochs_decay = total - n_epochs if n_epochs_decay is None else n_epochs_decay
        if n_epochs < 0 or n_epochs_decay < 0:
            raise ValueError(f'n_epochs and n_epochs_decay must be >= 0, got {n_epochs} and '
                             f'{n_epochs_decay}')
        self.n_epochs, self.n_epochs_decay = int(n_epochs), int(n_epochs_decay)
        super().__init__(optimizer, begin=begin, end=end, last_step=last_step,
                         by_epoch=by_epoch, verbose=verbose)

    @classmethod
    def build_iter_from_epoch(cls, *args, begin=0, end=INF, by_epoch=True, epoch_length=None,
                              **kwargs):
        """The iteration-based scheduler of an epoch-based config: begin and end in
        iterations, one step of the schedule per ``epoch_length`` iterations."""
        if not by_epoch or not epoch_length or epoch_length < 1:
            raise ValueError('convert_to_iter_based needs by_epoch=True and a positive '
                             f'epoch_length, got by_epoch={by_epoch}, '
                             f'epoch_length={epoch_length}')
        end = INF if end == INF else end * epoch_length
        return cls(*args, begin=int(round(begin * epoch_length)), end=end, by_epoch=False,
                   epoch_length=epoch_length, **kwargs)

    def factor(self, epoch: int) -> float:
        """The reference's ``lambda_rule``: the rate's multiple in (0-based) ``epoch``."""
        return 1.0 - max(0, epoch + 1 - self.n_epochs) / float(self.n_epochs_decay + 1)

    def _get_value(self):
        factor = self.factor(self.last_step // self.epoch_length)
        return [base * factor for base in self.base_values]
