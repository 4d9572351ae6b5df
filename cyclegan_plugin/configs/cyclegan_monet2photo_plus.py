# Generated from configs/cyclegan_monet2photo_plus.py by tools/make_py_configs.py:
# edit that file and run the tool again (the tests check that both agree).
# CycleGAN on monet2photo: Monet paintings (A) <-> landscape photos (B).
# The paper's recipe (cyclegan_monet2photo.py) with the opt-in improvements of
# _base_/cyclegan_plus.py: resize-convolutions, the generators' moving average,
# FID validation keeping the best checkpoint (docs/improvements.md).
from mmengine.config import read_base

with read_base():
    from ._base_.cyclegan_plus import *  # noqa: F401,F403

data_root = 'data/monet2photo'
train_dataloader.merge(dict(dataset=dict(data_root=data_root)))
val_dataloader.merge(dict(dataset=dict(data_root=data_root)))
test_dataloader.merge(dict(dataset=dict(data_root=data_root)))
