"""Weight initialisation of the reference (networks.init_weights).

Every Conv/Linear weight is drawn from the chosen scheme (biases zeroed); BatchNorm weights
from N(1, gain). Draws come from the global torch RNG in module order, so a seeded build
reproduces the reference's initial weights. A weight under a parametrization (spectral
norm) is drawn into its stored original, the tensor the optimizer updates.
"""
from torch import nn
from torch.nn import init
from torch.nn.utils import parametrize

INIT_TYPES = ('normal', 'xavier', 'kaiming', 'orthogonal')


def stored_weight(m: nn.Module):
    """The weight tensor a module keeps: its parametrization's original if it has one."""
    if parametrize.is_parametrized(m, 'weight'):
        return m.parametrizations.weight.original.data
    return m.weight.data


def init_weights(net: nn.Module, init_type: str = 'normal', gain: float = 0.02) -> nn.Module:
    if init_type not in INIT_TYPES:
        raise ValueError(f'init type must be one of {INIT_TYPES}, got {init_type!r}')

    def init_func(m):
        classname = m.__class__.__name__
        if hasattr(m, 'weight') and ('Conv' in classname or 'Linear' in classname):
            weight = stored_weight(m)
            if init_type == 'normal':
                init.normal_(weight, 0.0, gain)
            elif init_type == 'xavier':
                init.xavier_normal_(weight, gain=gain)
            elif init_type == 'kaiming':
                init.kaiming_normal_(weight, a=0, mode='fan_in')
            else:
                init.orthogonal_(weight, gain=gain)
            if getattr(m, 'bias', None) is not None:
                init.constant_(m.bias.data, 0.0)
        elif 'BatchNorm2d' in classname:
            init.normal_(m.weight.data, 1.0, gain)
            init.constant_(m.bias.data, 0.0)

    net.apply(init_func)
    return net


def apply_init_cfg(net: nn.Module, init_cfg) -> nn.Module:
    """Apply ``init_cfg=dict(type='normal', gain=0.02)``; ``None`` keeps PyTorch's defaults."""
    if init_cfg is None:
        return net
    cfg = dict(init_cfg)
    return init_weights(net, cfg.pop('type', 'normal'), **cfg)
