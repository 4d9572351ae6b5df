"""A test hook that poisons one generator weight with NaN for one iteration
(``PoisonOnceHook(iteration=k)``), so the real Runner meets a non-finite loss there."""
import torch
from mmengine.hooks import Hook

from cyclegan_plugin.registry import HOOKS


@HOOKS.register_module()
class PoisonOnceHook(Hook):

    def __init__(self, iteration: int):
        self.iteration = iteration  # 1-based, as the log counts
        self._saved = None

    def _weight(self, runner):
        model = runner.model.module if hasattr(runner.model, 'module') else runner.model
        return model.generators['a2b'].model[1].weight

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter + 1 == self.iteration:
            weight = self._weight(runner)
            self._saved = weight.detach().clone()
            with torch.no_grad():
                weight.fill_(float('nan'))

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if self._saved is not None:
            with torch.no_grad():
                self._weight(runner).copy_(self._saved)
            self._saved = None
