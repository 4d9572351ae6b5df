"""Distributed training of CycleGAN: one DistributedDataParallel per network.

MMEngine's MMSeparateDistributedDataParallel wraps each top-level child of a model; ours are
ModuleDicts (``generators``, ``discriminators``), which DDP cannot call or index. This wrapper
wraps every network inside them instead, so each ``generators['a2b'](x)`` goes through its own
DDP and its gradients are averaged across processes. Those DDPs stay out of the state dict
(``generators.a2b.model.1.weight``, not ``generators.a2b.module.model.1.weight``): MMEngine
saves the model's state dict as it is but loads by the unwrapped names, so with the DDPs' own
names a distributed run's checkpoint would load nothing on resume (silently: loading is not
strict) and would not load into a plain model for testing. On CPU (gloo) the DDPs get no
device ids.
"""
from mmengine.device import get_device
from mmengine.model import MMDistributedDataParallel, MMSeparateDistributedDataParallel
from torch.nn.parallel import DistributedDataParallel

from ..registry import MODEL_WRAPPERS

NETWORK_GROUPS = ('generators', 'discriminators')


class _NetworkDDP(MMDistributedDataParallel):
    """The DDP of one network, absent from state dicts: they hold the network's own keys."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._register_load_state_dict_pre_hook(_into_module)

    def state_dict(self, destination=None, prefix='', keep_vars=False):
        return self.module.state_dict(destination=destination, prefix=prefix,
                                      keep_vars=keep_vars)


def _into_module(state_dict, prefix, *args):
    """torch's load_state_dict through a _NetworkDDP: ``<prefix>x`` -> ``<prefix>module.x``
    (MMEngine's loader skips wrappers itself and never gets here)."""
    for key in [k for k in state_dict
                if k.startswith(prefix) and not k.startswith(prefix + 'module.')]:
        state_dict[prefix + 'module.' + key[len(prefix):]] = state_dict.pop(key)


@MODEL_WRAPPERS.register_module()
class CycleGANDistributedDataParallel(MMSeparateDistributedDataParallel):

    def __init__(self, module, broadcast_buffers=False, find_unused_parameters=False,
                 **kwargs):
        # as MMSeparateDistributedDataParallel: a container, not a DDP of its own
        super(DistributedDataParallel, self).__init__()
        self.module = module
        device = get_device()
        module.to(device)
        if not str(device).startswith('cuda'):
            kwargs['device_ids'] = None
            kwargs.pop('output_device', None)
        for group_name in NETWORK_GROUPS:
            group = getattr(module, group_name)
            for name, net in list(group._modules.items()):
                if any(p.requires_grad for p in net.parameters()):
                    group._modules[name] = _NetworkDDP(
                        module=net, broadcast_buffers=broadcast_buffers,
                        find_unused_parameters=find_unused_parameters, **kwargs)

    def _ddps(self):
        for group_name in NETWORK_GROUPS:
            for net in getattr(self.module, group_name).values():
                if isinstance(net, DistributedDataParallel):
                    yield net

    def no_sync(self):
        from contextlib import ExitStack, contextmanager

        @contextmanager
        def all_no_sync():
            with ExitStack() as stack:
                for ddp in self._ddps():
                    stack.enter_context(ddp.no_sync())
                yield
        return all_no_sync()

    def train(self, mode: bool = True):
        self.training = mode
        self.module.train(mode)
        return self


