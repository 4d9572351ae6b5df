"""The history of generated images the discriminators train on (Shrivastava et al. 2017).

Reference semantics, per image of the batch: size 0 passes through; until the pool is full,
store the image and return it; once full, with probability 0.5 return a stored image and put
the new one in its place, else return the new one. Draws come from Python's ``random`` (the
global stream, as in the reference) unless an ``rng`` is given.

The pool is a module whose contents travel in ``state_dict()`` as extra state, so a training
checkpoint holds it and resume continues with the same history.
"""
import random

import torch
from torch import nn


class ImagePool(nn.Module):

    def __init__(self, pool_size=50, rng=None):
        super().__init__()
        if pool_size < 0:
            raise ValueError(f'pool_size must be >= 0, got {pool_size}')
        self.pool_size = pool_size
        self.rng = rng  # None: the global stream, looked up at each draw (the model deep-copies)
        self.images = []

    def __len__(self):
        return len(self.images)

    @torch.no_grad()
    def query(self, images):
        if self.pool_size == 0:
            return images
        rng = random if self.rng is None else self.rng
        returned = []
        for image in images.detach():
            # a copy: the generator's output buffer may be reused (CUDA graphs of
            # torch.compile(mode='reduce-overhead')) while the pool still holds the image
            image = image.unsqueeze(0).clone()
            if len(self.images) < self.pool_size:
                self.images.append(image)
                returned.append(image)
            elif rng.uniform(0, 1) > 0.5:
                i = rng.randint(0, self.pool_size - 1)
                returned.append(self.images[i].to(image.device, copy=True))
                self.images[i] = image
            else:
                returned.append(image)
        return torch.cat(returned, 0)

    def get_extra_state(self) -> torch.Tensor:
        """The held images as one (N, C, H, W) tensor (empty when none): a plain tensor, so
        checkpoints load with weights_only=True and MMEngine can broadcast the state dict."""
        if not self.images:
            return torch.empty(0)
        return torch.cat([im.to(self.images[0].device) for im in self.images], 0).cpu()

    def set_extra_state(self, state: torch.Tensor) -> None:
        # stored on the CPU here; a returned image moves to the device of the query
        self.images = [] if state.numel() == 0 else list(state.split(1))[:self.pool_size]

    def _apply(self, fn, *args, **kwargs):
        """Move stored images along with .to()/.cuda() of the model."""
        self.images = [fn(im) for im in self.images]
        return super()._apply(fn, *args, **kwargs)

    def extra_repr(self):
        return f'pool_size={self.pool_size}, held={len(self.images)}'
