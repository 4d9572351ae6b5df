"""The reference's image grid (real | fake | rec | idt, both domains) in training and validation."""
import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from ...registry import HOOKS

GRID_ROWS = (('real_A', 'fake_B', 'rec_A', 'idt_B'), ('real_B', 'fake_A', 'rec_B', 'idt_A'))


@HOOKS.register_module()
class CycleGANVisualizationHook(Hook):
    """Every ``interval`` training iterations, and on the first validation batch, draw the
    reference's grid through MMEngine's Visualizer (so Local, Tensorboard and Wandb backends
    work by config alone):

        real_A | fake_B | rec_A | idt_B
        real_B | fake_A | rec_B | idt_A

    for the first image of the batch (validation outputs carry no identity images). It runs
    the generators under no_grad and draws no random numbers, so it changes no result.
    """

    priority = 'LOW'

    def __init__(self, interval: int = 1000, on_val: bool = True, name: str = 'translations'):
        self.interval, self.on_val, self.name = interval, on_val, name

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if self.interval <= 0 or not self.every_n_train_iters(runner, self.interval):
            return
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        was_training = model.training
        model.eval()
        with torch.no_grad():
            data = model.data_preprocessor(data_batch, False)
            real_A, real_B = data['inputs']['img_A'][:1], data['inputs']['img_B'][:1]
            # the model's own forward, in the reference's order (as train_step runs it)
            images = model.forward_generators(real_A, real_B,
                                              identity=real_A.shape[1] == real_B.shape[1])
            images.update(real_A=real_A, real_B=real_B)
            images = {k: model.data_preprocessor.destruct(v)[0] for k, v in images.items()}
        model.train(was_training)
        runner.visualizer.add_image(self.name, translation_grid(images), step=runner.iter + 1)

    def after_val_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if self.on_val and batch_idx == 0 and outputs:
            runner.visualizer.add_image(f'val_{self.name}', translation_grid(outputs[0]),
                                        step=runner.iter)


def translation_grid(images: dict) -> np.ndarray:
    """uint8 (C, H, W) RGB tensors by name -> one HxWx3 RGB grid in GRID_ROWS order; names
    missing from ``images`` (identity images at validation) are left out of every row."""
    columns = [i for i in range(len(GRID_ROWS[0]))
               if all(row[i] in images for row in GRID_ROWS)]
    rows = []
    for row in GRID_ROWS:
        tiles = [images[row[i]].permute(1, 2, 0).cpu().numpy() for i in columns]
        tiles = [np.repeat(t, 3, axis=2) if t.shape[2] == 1 else t for t in tiles]
        rows.append(np.concatenate(tiles, axis=1))
    return np.ascontiguousarray(np.concatenate(rows, axis=0))
