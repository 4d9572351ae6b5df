# Generated from configs/cyclegan_facades_plus.py by tools/make_py_configs.py:
# edit that file and run the tool again (the tests check that both agree).
# CycleGAN on facades: facade photos (A) <-> label maps (B), used unpaired.
# The paper's recipe (cyclegan_facades.py) with the opt-in improvements of
# _base_/cyclegan_plus.py: resize-convolutions, the generators' moving average,
# FID validation keeping the best checkpoint (docs/improvements.md).
from mmengine.config import read_base

with read_base():
    from ._base_.cyclegan_plus import *  # noqa: F401,F403

data_root = 'data/facades'
train_dataloader.merge(dict(dataset=dict(data_root=data_root)))
val_dataloader.merge(dict(dataset=dict(data_root=data_root)))
test_dataloader.merge(dict(dataset=dict(data_root=data_root)))
