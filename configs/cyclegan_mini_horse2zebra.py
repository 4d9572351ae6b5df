# The embedded demo: "mini horse2zebra" (64x64 brown horses <-> striped zebras on grass),
# built by `python tools/make_demo_data.py` (make demo does it). Sized so a 2-core CPU shows
# striped horses after a few minutes: a slimmer ResNet (6 blocks, 32 filters), the paper's
# losses, pool and optimiser, and a short constant-then-linear schedule in iterations.
_base_ = [
    './_base_/models/cyclegan_resnet9.py',
    './_base_/datasets/unpaired_256.py',
    './_base_/schedules/cyclegan_linear_200e.py',
    './_base_/default_runtime.py',
]
data_root = 'data/mini_horse2zebra'
image_size = 64

model = dict(
    generator=dict(ngf=32, n_blocks=6),
    discriminator=dict(ndf=32))

train_pipeline = [
    dict(type='LoadImage', color_type='color'),
    dict(type='Resize', scale=(72, 72), keep_ratio=False, interpolation='bicubic'),
    dict(type='RandomCrop', crop_size=image_size),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackImage'),
]
test_pipeline = [dict(type='LoadImage', color_type='color'), dict(type='PackImage')]
train_dataloader = dict(
    batch_size=1, num_workers=1, persistent_workers=True,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(num_workers=1, dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = dict(num_workers=1, dataset=dict(data_root=data_root, pipeline=test_pipeline))

max_iters = 3000
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=1.0, end_factor=0.0, by_epoch=False,
         begin=max_iters // 2, end=max_iters),
]
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(interval=1000, max_keep_ckpts=2))
val_evaluator = dict(type='Evaluator', metrics=[
    dict(type='CycleConsistencyMetric'),
    dict(type='MiniHorse2ZebraMetric', data_root=data_root)])
test_evaluator = val_evaluator
