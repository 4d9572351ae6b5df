# Generated from configs/cyclegan_ukiyoe2photo.py by tools/make_py_configs.py:
# edit that file and run the tool again (the tests check that both agree).
# CycleGAN on ukiyoe2photo: Ukiyo-e prints (A) <-> landscape photos (B).
# The paper's settings: ResNet-9, LSGAN, lambda 10, identity 0.5, pool 50, batch 1,
# load 286 / crop 256, 100 + 100 epochs. Get the data: tools/download_dataset.sh ukiyoe2photo
from mmengine.config import read_base

with read_base():
    from ._base_.models.cyclegan_resnet9 import *  # noqa: F401,F403
    from ._base_.datasets.unpaired_256 import *  # noqa: F401,F403
    from ._base_.schedules.cyclegan_linear_200e import *  # noqa: F401,F403
    from ._base_.default_runtime import *  # noqa: F401,F403

data_root = 'data/ukiyoe2photo'
train_dataloader.merge(dict(dataset=dict(data_root=data_root)))
val_dataloader.merge(dict(dataset=dict(data_root=data_root)))
test_dataloader.merge(dict(dataset=dict(data_root=data_root)))
