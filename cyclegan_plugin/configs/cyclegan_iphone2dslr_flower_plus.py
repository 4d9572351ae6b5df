# Generated from configs/cyclegan_iphone2dslr_flower_plus.py by tools/make_py_configs.py:
# edit that file and run the tool again (the tests check that both agree).
# CycleGAN on iphone2dslr_flower: iPhone flower photos (A) <-> DSLR shallow depth of field (B).
# The paper's recipe (cyclegan_iphone2dslr_flower.py) with the opt-in improvements of
# _base_/cyclegan_plus.py: resize-convolutions, the generators' moving average,
# FID validation keeping the best checkpoint (docs/improvements.md).
from mmengine.config import read_base

with read_base():
    from ._base_.cyclegan_plus import *  # noqa: F401,F403

data_root = 'data/iphone2dslr_flower'
train_dataloader.merge(dict(dataset=dict(data_root=data_root)))
val_dataloader.merge(dict(dataset=dict(data_root=data_root)))
test_dataloader.merge(dict(dataset=dict(data_root=data_root)))
