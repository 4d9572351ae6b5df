"""Adversarial objectives of the reference (GANLoss) plus hinge and the relativistic average
LSGAN, and the WGAN-GP penalty.

Discriminators output logits; each mode turns a prediction map and a target (real or fake)
into a scalar. 'lsgan' (the paper's default) is MSE to 1/0, 'vanilla' BCE with logits.
'ralsgan' compares real and fake predictions with each other instead
(:meth:`GANLoss.relativistic_loss`).
"""
import torch
from torch import nn
import torch.nn.functional as F

from ...registry import MODELS

GAN_MODES = ('lsgan', 'vanilla', 'wgangp', 'hinge', 'ralsgan')


@MODELS.register_module()
class GANLoss(nn.Module):

    def __init__(self, gan_mode='lsgan', target_real_label=1.0, target_fake_label=0.0):
        super().__init__()
        if gan_mode not in GAN_MODES:
            raise ValueError(f'gan_mode must be one of {GAN_MODES}, got {gan_mode!r}')
        self.gan_mode = gan_mode
        # not persistent: labels are configuration, not weights of a checkpoint
        self.register_buffer('real_label', torch.tensor(target_real_label), persistent=False)
        self.register_buffer('fake_label', torch.tensor(target_fake_label), persistent=False)

    def target_tensor(self, prediction, target_is_real):
        label = self.real_label if target_is_real else self.fake_label
        return label.to(prediction.dtype).expand_as(prediction)

    @property
    def relativistic(self) -> bool:
        """Whether the loss takes real and fake predictions together (relativistic_loss)."""
        return self.gan_mode == 'ralsgan'

    def relativistic_loss(self, pred_real, pred_fake, is_disc):
        """The relativistic average LSGAN (Jolicoeur-Martineau, ICLR 2019; ESRGAN's adversarial
        loss): the discriminator asks every real patch to score 1 above the mean fake patch and
        every fake patch 1 below the mean real one, the generator the reverse, so its images
        are judged against the real ones instead of against a fixed target. The mean of the two
        terms: 1 for each side when the discriminator cannot tell them apart (D = 0), as
        LSGAN's generator term."""
        pred_real, pred_fake = pred_real.float(), pred_fake.float()  # as mse_loss under autocast
        sign = 1.0 if is_disc else -1.0
        real_term = ((pred_real - pred_fake.mean() - sign) ** 2).mean()
        fake_term = ((pred_fake - pred_real.mean() + sign) ** 2).mean()
        return (real_term + fake_term) * 0.5

    def forward(self, prediction, target_is_real, is_disc=False):
        """``is_disc`` matters only for hinge, whose generator term is -mean(D(fake))."""
        if self.relativistic:
            raise ValueError("gan_mode 'ralsgan' compares real and fake predictions: call "
                             'relativistic_loss(pred_real, pred_fake, is_disc)')
        if self.gan_mode == 'lsgan':
            return F.mse_loss(prediction, self.target_tensor(prediction, target_is_real))
        if self.gan_mode == 'vanilla':
            return F.binary_cross_entropy_with_logits(
                prediction, self.target_tensor(prediction, target_is_real))
        if self.gan_mode == 'hinge' and is_disc:
            margin = 1 - prediction if target_is_real else 1 + prediction
            return F.relu(margin).mean()
        return -prediction.mean() if target_is_real else prediction.mean()


def gradient_penalty(netD, real, fake, kind='mixed', constant=1.0):
    """WGAN-GP term E[(||grad D(x)||_2 - constant)^2] on real, fake or mixed samples x
    (Gulrajani et al. 2017; the reference's cal_gradient_penalty without its lambda)."""
    if kind == 'real':
        x = real
    elif kind == 'fake':
        x = fake
    elif kind == 'mixed':
        alpha = torch.rand(real.shape[0], 1, 1, 1, device=real.device, dtype=real.dtype)
        x = alpha * real + (1 - alpha) * fake
    else:
        raise ValueError(f"kind must be 'real', 'fake' or 'mixed', got {kind!r}")
    x = x.detach().requires_grad_(True)
    out = netD(x)
    grad, = torch.autograd.grad(out, x, grad_outputs=torch.ones_like(out),
                                create_graph=True, retain_graph=True)
    grad = grad.reshape(grad.shape[0], -1)
    return ((grad + 1e-16).norm(2, dim=1) - constant).pow(2).mean()


def r1_penalty(pred_real, real):
    """R1 (Mescheder et al. 2018): the mean over the batch of ``||grad_x D(x)||^2`` at the real
    images ``real`` (which must require grad), ``D(x)`` being the mean of each image's patch
    scores ``pred_real``; differentiable (create_graph) so the discriminator's step lowers it.
    Without the gamma / 2."""
    scores = pred_real.float().mean(dim=tuple(range(1, pred_real.dim())))
    grad, = torch.autograd.grad(scores.sum(), real, create_graph=True)
    return grad.float().pow(2).reshape(grad.shape[0], -1).sum(dim=1).mean()
