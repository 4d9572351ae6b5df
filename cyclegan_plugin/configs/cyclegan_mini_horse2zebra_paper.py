# Generated from configs/cyclegan_mini_horse2zebra_paper.py by tools/make_py_configs.py:
# edit that file and run the tool again (the tests check that both agree).
# The embedded demo with the paper's recipe: "mini horse2zebra" (64x64 brown horses <->
# striped zebras on grass), built by `python tools/make_demo_data.py` (make demo does it).
# Sized so a 2-core CPU shows striped horses after a few minutes: a slimmer ResNet (6 blocks,
# 32 filters), the paper's losses, pool and optimiser, and a short schedule in iterations: the
# rate constant for the first half, then lowered every iteration (the reference's linear rule,
# one iteration an epoch); --cfg-options train_cfg.max_iters=N gives the same schedule over N
# iterations. cyclegan_mini_horse2zebra.py (make demo) adds the improvements that
# tools/ablate.py measured to be better for the same training time (docs/improvements.md).
from mmengine.config import read_base

with read_base():
    from ._base_.models.cyclegan_resnet9 import *  # noqa: F401,F403
    from ._base_.datasets.unpaired_256 import *  # noqa: F401,F403
    from ._base_.schedules.cyclegan_linear_200e import *  # noqa: F401,F403
    from ._base_.default_runtime import *  # noqa: F401,F403

data_root = 'data/mini_horse2zebra'
image_size = 64

model.merge(dict(
    generator=dict(ngf=32, n_blocks=6),
    discriminator=dict(ndf=32)))

train_pipeline = [
    dict(type='LoadImage', color_type='color'),
    dict(type='Resize', scale=(72, 72), keep_ratio=False, interpolation='bicubic',
         backend='pillow'),
    dict(type='RandomCrop', crop_size=image_size),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackImage'),
]
test_pipeline = [dict(type='LoadImage', color_type='color'), dict(type='PackImage')]
train_dataloader.merge(dict(
    batch_size=1, num_workers=1, persistent_workers=True,
    dataset=dict(data_root=data_root, pipeline=train_pipeline)))
val_dataloader.merge(dict(num_workers=1,
                      dataset=dict(data_root=data_root, pipeline=test_pipeline)))
test_dataloader.merge(dict(num_workers=1,
                       dataset=dict(data_root=data_root, pipeline=test_pipeline)))

train_cfg.merge(dict(max_iters=3000, val_interval=3000))
param_scheduler = [dict(type='cyclegan_plugin.ReferenceLinearLR', by_epoch=False)]
default_hooks.merge(dict(
    logger=dict(interval=50),
    checkpoint=dict(interval=1000, max_keep_ckpts=2)))
val_evaluator.merge(dict(type='mmengine.Evaluator', metrics=[
    dict(type='cyclegan_plugin.CycleConsistencyMetric'),
    dict(type='cyclegan_plugin.MiniHorse2ZebraMetric', data_root=data_root)]))
test_evaluator = val_evaluator
