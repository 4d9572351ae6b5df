# CycleGAN on ukiyoe2photo: Ukiyo-e prints (A) <-> landscape photos (B).
# The paper's recipe (cyclegan_ukiyoe2photo.py) with the opt-in improvements of
# _base_/cyclegan_plus.py: resize-convolutions, the generators' moving average,
# FID validation keeping the best checkpoint (docs/improvements.md).
_base_ = ['./_base_/cyclegan_plus.py']
data_root = 'data/ukiyoe2photo'
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = dict(dataset=dict(data_root=data_root))
