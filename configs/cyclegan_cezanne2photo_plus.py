# CycleGAN on cezanne2photo: Cezanne paintings (A) <-> landscape photos (B).
# The paper's recipe (cyclegan_cezanne2photo.py) with the opt-in improvements of
# _base_/cyclegan_plus.py: resize-convolutions, the generators' moving average,
# FID validation keeping the best checkpoint (docs/improvements.md).
_base_ = ['./_base_/cyclegan_plus.py']
data_root = 'data/cezanne2photo'
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = dict(dataset=dict(data_root=data_root))
