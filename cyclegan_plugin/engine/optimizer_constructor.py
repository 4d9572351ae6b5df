"""One optimizer wrapper per network group, as a GAN needs (MMEngine ships no such
constructor; its DefaultOptimWrapperConstructor builds one optimizer for a whole model).

    optim_wrapper = dict(
        constructor='CycleGANOptimWrapperConstructor',
        generators=dict(optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999))),
        discriminators=dict(optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999))))

Each key names a submodule of the model (``model.generators``...); its value is an ordinary
optim-wrapper config (``type='AmpOptimWrapper'`` for mixed precision, which also works on
CPUs with native bf16, see ``amp.py``; ``paramwise_cfg``...).
"""
import warnings

from mmengine.model import is_model_wrapper
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapperDict
from mmengine.registry import DefaultScope

from ..registry import OPTIM_WRAPPER_CONSTRUCTORS, SCOPE
from .amp import resolve_amp


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class CycleGANOptimWrapperConstructor:

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg=None):
        if not isinstance(optim_wrapper_cfg, dict) or not optim_wrapper_cfg:
            raise TypeError('optim_wrapper must map submodule names (e.g. generators, '
                            f'discriminators) to optim-wrapper configs, got {optim_wrapper_cfg!r}')
        self.optim_wrapper_cfg = optim_wrapper_cfg
        self.paramwise_cfg = paramwise_cfg

    def __call__(self, model) -> OptimWrapperDict:
        if is_model_wrapper(model):
            model = model.module
        wrappers = {}
        for name, cfg in self.optim_wrapper_cfg.items():
            if not isinstance(cfg, dict) or 'optimizer' not in cfg:
                raise KeyError(f'optim_wrapper.{name} needs an optimizer config, got {cfg!r}')
            module = getattr(model, name, None)
            if module is None:
                raise KeyError(f'optim_wrapper.{name}: the model has no submodule {name!r} '
                               f'(it has {[n for n, _ in model.named_children()]})')
            device = next(module.parameters()).device
            cfg = resolve_amp(dict(cfg), device)
            paramwise = cfg.pop('paramwise_cfg', self.paramwise_cfg)
            # in our scope whatever the host's: an unprefixed 'Adam' or 'OptimWrapper' then
            # resolves through our registries to MMEngine's, never to a host's own
            with DefaultScope.overwrite_default_scope(SCOPE):
                wrappers[name] = build_with_fused_fallback(
                    lambda c: DefaultOptimWrapperConstructor(c, paramwise)(module), cfg, name)
        return OptimWrapperDict(**wrappers)


def build_with_fused_fallback(build, cfg: dict, name: str):
    """``build(cfg)``; where the optimizer asks for ``fused=True`` and this torch has no fused
    kernel for the parameters' device (CPUs before torch 2.4), the same optimizer without it,
    with a warning: fused Adam only changes the speed (its updates are the loop's to
    rounding), so a config that asks for it still trains everywhere."""
    try:
        return build(cfg)
    except RuntimeError as error:
        if not cfg['optimizer'].get('fused') or 'fused' not in str(error):
            raise
        warnings.warn(f'optim_wrapper.{name}: fused=True is not supported here ({error}); '
                      'training with the unfused optimizer (the same updates, slower)')
        return build(dict(cfg, optimizer=dict(cfg['optimizer'], fused=False)))
