"""uint8 RGB images from the data pipeline -> float RGB in [-1, 1] (NCHW), and back.

The scaling is the reference's ToTensor + Normalize(0.5, 0.5) in the same operations, so
inputs are bit-identical to the reference's; :func:`to_model_range` and
:func:`from_model_range` are the one place that formula lives (translation uses them too).
"""
from typing import List, Sequence, Union

import torch
from mmengine.model import BaseDataPreprocessor

from ..registry import MODELS

IMAGE_KEYS = ('img_A', 'img_B')


def to_model_range(images: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float32 [-1, 1], as ``Normalize(0.5, 0.5)(ToTensor()(image))``."""
    if images.dtype != torch.uint8:
        raise TypeError(f'expected uint8 images, got {images.dtype}')
    return (images.float() / 255 - 0.5) / 0.5


def from_model_range(images: torch.Tensor) -> torch.Tensor:
    """float [-1, 1] -> uint8 [0, 255], truncating like the reference's ``tensor2im``."""
    return ((images.detach().float() + 1) / 2.0 * 255.0).clamp_(0, 255).to(torch.uint8)


@MODELS.register_module()
class CycleGANDataPreprocessor(BaseDataPreprocessor):
    """Stack each domain's images and scale them to [-1, 1].

    Args:
        bgr_to_rgb: reverse the channels of 3-channel inputs first. Our pipelines hand over
            RGB (``PackImage`` turns mmcv's BGR into RGB), so this is only for inputs made
            some other way in BGR order.
        non_blocking: as ``BaseDataPreprocessor``.
    """

    def __init__(self, bgr_to_rgb=False, non_blocking=False):
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
        if self.bgr_to_rgb and images.shape[1] == 3:
            images = images.flip(1)
        return to_model_range(images)

    @staticmethod
    def destruct(images: torch.Tensor) -> torch.Tensor:
        """[-1, 1] float -> uint8 RGB (:func:`from_model_range`)."""
        return from_model_range(images)

    def to_images(self, images: torch.Tensor) -> List[torch.Tensor]:
        return list(self.destruct(images).cpu())
