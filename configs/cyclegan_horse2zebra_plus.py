# CycleGAN on horse2zebra: horses (A) <-> zebras (B) from ImageNet.
# The paper's recipe (cyclegan_horse2zebra.py) with the opt-in improvements of
# _base_/cyclegan_plus.py: resize-convolutions, the generators' moving average,
# FID validation keeping the best checkpoint (docs/improvements.md).
_base_ = ['./_base_/cyclegan_plus.py']
data_root = 'data/horse2zebra'
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = dict(dataset=dict(data_root=data_root))
