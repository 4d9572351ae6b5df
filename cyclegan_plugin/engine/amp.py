"""Mixed precision wherever the model runs.

MMEngine's ``AmpOptimWrapper`` (autocast + GradScaler) needs CUDA. A config that asks for it
keeps it on CUDA; on a CPU with native bf16 (AVX512-BF16 / AMX) it becomes
``CPUAmpOptimWrapper`` (bf16 autocast; bf16 has fp32's range, so no loss scaling); on any
other CPU it falls back to fp32 with a warning rather than running emulated bf16 slowly.
"""
import warnings
from contextlib import contextmanager

import torch
from mmengine.optim import OptimWrapper

from ..registry import OPTIM_WRAPPERS

AMP_TYPES = ('AmpOptimWrapper', 'mmengine.AmpOptimWrapper', 'CPUAmpOptimWrapper',
             'cyclegan_plugin.CPUAmpOptimWrapper')


def cpu_has_native_bf16() -> bool:
    """True where oneDNN runs bf16 convolutions natively (AVX512-BF16 or AMX)."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


@OPTIM_WRAPPERS.register_module()
class CPUAmpOptimWrapper(OptimWrapper):
    """bf16 autocast on the CPU; parameters, gradients and optimizer states stay fp32."""

    def __init__(self, *args, dtype='bfloat16', **kwargs):
        super().__init__(*args, **kwargs)
        if dtype not in ('bfloat16', torch.bfloat16):
            raise ValueError(f'CPUAmpOptimWrapper runs bf16 only, got dtype={dtype!r}')
        self.cast_dtype = torch.bfloat16

    @contextmanager
    def optim_context(self, model):
        with super().optim_context(model), torch.autocast('cpu', dtype=torch.bfloat16):
            yield


def use_amp(optim_wrapper_cfg: dict, dtype: str = 'bfloat16') -> None:
    """Ask for mixed precision in a model's ``optim_wrapper`` config, in place (train.py's
    ``--amp``): each optimizer wrapper becomes MMEngine's AmpOptimWrapper (bf16, or fp16 with
    a dynamic loss scale), which the constructor turns into what the device runs
    (:func:`resolve_amp`)."""
    subs = [v for v in optim_wrapper_cfg.values() if isinstance(v, dict) and 'optimizer' in v]
    for sub in subs or [optim_wrapper_cfg]:
        sub['type'] = 'mmengine.AmpOptimWrapper'
        sub['dtype'] = dtype
        sub.setdefault('loss_scale', 'dynamic')


def resolve_amp(cfg: dict, device: torch.device) -> dict:
    """The optim-wrapper config that gives mixed precision on ``device`` (see module doc)."""
    if cfg.get('type') not in AMP_TYPES:
        return cfg
    if device.type == 'cuda':
        if 'CPU' in cfg['type']:
            cfg = dict(cfg, type='mmengine.AmpOptimWrapper')
        return cfg
    cfg = {k: v for k, v in cfg.items() if k not in ('loss_scale', 'type')}
    dtype = cfg.pop('dtype', None)
    if device.type == 'cpu' and cpu_has_native_bf16():
        if dtype not in (None, 'bfloat16', torch.bfloat16):
            warnings.warn(f'mixed precision on the CPU runs in bf16, not {dtype}')
        return dict(cfg, type='cyclegan_plugin.CPUAmpOptimWrapper', dtype='bfloat16')
    warnings.warn(f'mixed precision asked for, but this {device.type} has no native bf16 '
                  '(AVX512-BF16 or AMX) and fp16 autocast needs CUDA: training in fp32')
    return dict(cfg, type='mmengine.OptimWrapper')
