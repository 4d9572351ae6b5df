# CycleGAN on maps: aerial photos (A) <-> Google maps (B), used unpaired.
# The paper's recipe (cyclegan_maps.py) with the opt-in improvements of
# _base_/cyclegan_plus.py: resize-convolutions, the generators' moving average,
# FID validation keeping the best checkpoint (docs/improvements.md).
_base_ = ['./_base_/cyclegan_plus.py']
data_root = 'data/maps'
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = dict(dataset=dict(data_root=data_root))
