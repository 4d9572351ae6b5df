"""An exponential moving average of the generators only, for MMEngine's ``EMAHook``.

Why: a GAN generator's weights oscillate around a good solution from one update to the next;
their running average translates with less speckle and texture noise than any single
iterate (Yazıcı et al., "The Unusual Effectiveness of Averaging in GAN Training", ICLR 2019;
Karras et al. average ProGAN's and StyleGAN's generators the same way).

``EMAHook`` averages the whole model it is given. Here only the parameters under
``averaged`` (the generators) are averaged and stored: the discriminators are used in
training only, where the hook never puts the average. What the hook does with this:

* validation and test run on the averaged generators (it swaps them in and back);
* every checkpoint's ``state_dict`` holds the averaged generators (the trained ones go to
  ``ema_state_dict``), so translation, export and conversion read the average with no extra
  step, and the discriminators and image pools stay the trained ones;
* ``--resume`` restores both (the hook swaps them back before the model loads).

Config: ``custom_hooks=[..., dict(type='mmengine.EMAHook',
ema_type='cyclegan_plugin.GeneratorEMA', momentum=0.001)]``. The hook's ``strict_load``
must stay False (its default): this average holds the generators' entries only.
"""
from collections import OrderedDict

from mmengine.model import ExponentialMovingAverage

from ..registry import MODELS


@MODELS.register_module()
class GeneratorEMA(ExponentialMovingAverage):
    """``momentum``: the weight of the newest weights; ``(1 - momentum) ** t`` is what is left
    of the weights of ``t`` updates ago (0.001: the last ~700 updates make half the average).

    The discriminators' copies in ``self.module`` are never updated: ``EMAHook`` swaps them
    in with the generators before validation and back after it, and validation does not
    use them, so they need not be current.
    """

    def __init__(self, model, momentum: float = 0.001, interval: int = 1, device=None,
                 update_buffers: bool = False, averaged: str = 'generators.'):
        super().__init__(model, momentum=momentum, interval=interval, device=device,
                         update_buffers=update_buffers)
        self.averaged = averaged
        self.avg_parameters = {k: p for k, p in self.avg_parameters.items()
                               if k.startswith(averaged)}
        if not self.avg_parameters:
            raise ValueError(f'GeneratorEMA: the model has no parameters under {averaged!r}')

    def state_dict(self, *args, destination=None, prefix='', keep_vars=False):
        """The step count and the averaged entries only (``module.generators...``)."""
        full = super().state_dict(*args, destination=destination, prefix=prefix,
                                  keep_vars=keep_vars)
        kept = (f'{prefix}steps', f'{prefix}module.{self.averaged}')
        return OrderedDict((k, v) for k, v in full.items()
                           if k == kept[0] or k.startswith(kept[1]))
