"""A test hook that poisons one generator weight with NaN for one iteration
(``PoisonOnceHook(iteration=k)``, in process ``rank`` only if given), so the real Runner
meets a non-finite loss there."""
from typing import Optional

import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook

from cyclegan_plugin.registry import HOOKS


@HOOKS.register_module()
class PoisonOnceHook(Hook):

    def __init__(self, iteration: int, rank: Optional[int] = None):
        self.iteration = iteration  # 1-based, as the log counts
        self.rank = rank
        self._saved = None

    def _weight(self, runner):
        model = runner.model.module if hasattr(runner.model, 'module') else runner.model
        net = model.generators['a2b']
        net = getattr(net, 'module', net)  # past the network's own DDP, if any
        return net.model[1].weight

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter + 1 == self.iteration and self.rank in (None, get_rank()):
            weight = self._weight(runner)
            self._saved = weight.detach().clone()
            with torch.no_grad():
                weight.fill_(float('nan'))

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if self._saved is not None:
            with torch.no_grad():
                self._weight(runner).copy_(self._saved)
            self._saved = None
