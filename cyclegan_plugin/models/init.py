"""Weight initialisation of the reference (networks.init_weights).

Every Conv/Linear weight is drawn from the chosen scheme (biases zeroed); BatchNorm weights
from N(1, gain). Draws come from the global torch RNG in module order, so a seeded build
reproduces the reference's initial weights.
"""
from torch import nn
from torch.nn import init

INIT_TYPES = ('normal', 'xavier', 'kaiming', 'orthogonal')


def init_weights(net: nn.Module, init_type: str = 'normal', gain: float = 0.02) -> nn.Module:
    if init_type not in INIT_TYPES:
        raise ValueError(f'init type must be one of {INIT_TYPES}, got {init_type!r}')

    def init_func(m):
        classname = m.__class__.__name__
        if hasattr(m, 'weight') and ('Conv' in classname or 'Linear' in classname):
            if init_type == 'normal':
                init.normal_(m.weight.data, 0.0, gain)
            elif init_type == 'xavier':
                init.xavier_normal_(m.weight.data, gain=gain)
            elif init_type == 'kaiming':
                init.kaiming_normal_(m.weight.data, a=0, mode='fan_in')
            else:
                init.orthogonal_(m.weight.data, gain=gain)
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
