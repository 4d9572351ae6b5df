from .gan_loss import GAN_MODES, GANLoss, gradient_penalty, r1_penalty

__all__ = ['GAN_MODES', 'GANLoss', 'gradient_penalty', 'r1_penalty']
