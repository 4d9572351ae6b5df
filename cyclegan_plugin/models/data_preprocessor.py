"""uint8 images from the data pipeline -> float RGB in [-1, 1] (NCHW), and back.

mmcv decodes colour images as BGR; the reference's networks, and every checkpoint trained with
it, see RGB. The scaling is the reference's ToTensor + Normalize(0.5, 0.5) in the same
operations, so inputs are bit-identical to the reference's.
"""
from typing import List, Sequence, Union

import torch
from mmengine.model import BaseDataPreprocessor

from ..registry import MODELS

IMAGE_KEYS = ('img_A', 'img_B')


@MODELS.register_module()
class CycleGANDataPreprocessor(BaseDataPreprocessor):

    def __init__(self, bgr_to_rgb=True, non_blocking=False):
        super().__init__(non_blocking)
        self.bgr_to_rgb = bgr_to_rgb

    def forward(self, data: dict, training: bool = False) -> dict:
        data = self.cast_data(data)
        inputs = {key: self.normalize(self.stack(data['inputs'][key], key))
                  for key in IMAGE_KEYS if key in data['inputs']}
        return dict(inputs=inputs, data_samples=data.get('data_samples'))

    @staticmethod
    def stack(images: Union[torch.Tensor, Sequence[torch.Tensor]], key: str) -> torch.Tensor:
        if isinstance(images, torch.Tensor):
            return images if images.dim() == 4 else images.unsqueeze(0)
        sizes = {tuple(im.shape) for im in images}
        if len(sizes) > 1:
            raise ValueError(f'cannot batch {key} images of different sizes {sorted(sizes)}: '
                             'crop or resize them to one size in the pipeline, or use '
                             'batch_size=1')
        return torch.stack(list(images))

    def normalize(self, images: torch.Tensor) -> torch.Tensor:
        if images.dtype != torch.uint8:
            raise TypeError(f'expected uint8 images, got {images.dtype}')
        if self.bgr_to_rgb and images.shape[1] == 3:
            images = images.flip(1)
        return (images.float() / 255 - 0.5) / 0.5

    @staticmethod
    def destruct(images: torch.Tensor) -> torch.Tensor:
        """[-1, 1] float -> uint8 RGB, truncating like the reference's tensor2im."""
        return ((images.detach().float() + 1) / 2.0 * 255.0).clamp_(0, 255).to(torch.uint8)

    def to_images(self, images: torch.Tensor) -> List[torch.Tensor]:
        return list(self.destruct(images).cpu())
