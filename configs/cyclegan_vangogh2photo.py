# CycleGAN on vangogh2photo: Van Gogh paintings (A) <-> landscape photos (B).
# The paper's settings: ResNet-9, LSGAN, lambda 10, identity 0.5, pool 50, batch 1,
# load 286 / crop 256, 100 + 100 epochs. Get the data: tools/download_dataset.sh vangogh2photo
_base_ = [
    './_base_/models/cyclegan_resnet9.py',
    './_base_/datasets/unpaired_256.py',
    './_base_/schedules/cyclegan_linear_200e.py',
    './_base_/default_runtime.py',
]
data_root = 'data/vangogh2photo'
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = dict(dataset=dict(data_root=data_root))
