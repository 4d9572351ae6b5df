"""A stand-in for a user's own MMEngine project: its own registry scope, its own model, and
nothing of cyclegan_plugin but what its configs import by name."""
from mmengine.model import BaseModel
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import Registry
import torch.nn.functional as F

MODELS = Registry('model', parent=MMENGINE_MODELS, scope='host_pkg',
                  locations=['host_pkg'])


@MODELS.register_module()
class Restorer(BaseModel):
    """The host's own model, with a CycleGAN generator inside it (built from its config)."""

    def __init__(self, generator):
        super().__init__()
        self.generator = MODELS.build(generator)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.generator(inputs)
        if mode == 'loss':
            return dict(loss_l1=F.l1_loss(out, inputs))
        return out


@MODELS.register_module()
class CycleGAN(BaseModel):
    """A host model of the same name as ours (as MMagic registers its own ``CycleGAN``):
    configs that say ``cyclegan_plugin.CycleGAN`` must never get this one."""

    def __init__(self, *args, **kwargs):
        raise AssertionError('the host CycleGAN was built instead of cyclegan_plugin.CycleGAN')
