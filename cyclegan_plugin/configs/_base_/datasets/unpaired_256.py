# Generated from configs/_base_/datasets/unpaired_256.py by tools/make_py_configs.py:
# edit that file and run the tool again (the tests check that both agree).
# Unpaired 256x256 data: the reference's default preprocessing (pytorch-CycleGAN-and-pix2pix),
# pixel for pixel: PIL decoding (cyclegan_plugin.io), PIL's bicubic resize.
#
# Layout: data_root/trainA, trainB (training), testA, testB (validation and test).
# The pipelines run on each image separately (independent random crop and flip per
# domain, as in the reference); images are uint8 RGB until the model's data preprocessor.
# One epoch is max(|trainA|, |trainB|) iterations at batch size 1, as in the reference.
#
# train: preprocess 'resize_and_crop': bicubic resize to load_size x load_size (aspect
#   not kept), random crop_size crop, random horizontal flip (p=0.5).
# test: the reference's test script keeps preprocess 'resize_and_crop' but sets
#   load_size = crop_size (test_options.py) and no_flip=True; the crop of a crop_size
#   image to crop_size is a no-op, so this is a bicubic resize to crop_size, no flip.
# These lists equal cyclegan_plugin.datasets.transforms.build_pipeline(
#   'resize_and_crop', load_size, crop_size) and build_pipeline(..., phase='test'). The data
# set builds them (ours and mmcv's Resize / RandomFlip) in the cyclegan_plugin scope.
dataset_type = 'cyclegan_plugin.UnpairedImageDataset'
data_root = 'data/horse2zebra'
load_size = 286
crop_size = 256

train_pipeline = [
    dict(type='LoadImage', color_type='color'),
    dict(type='Resize', scale=(load_size, load_size), keep_ratio=False,
         interpolation='bicubic', backend='pillow'),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackImage'),
]
test_pipeline = [
    dict(type='LoadImage', color_type='color'),
    dict(type='Resize', scale=(crop_size, crop_size), keep_ratio=False,
         interpolation='bicubic', backend='pillow'),
    dict(type='PackImage'),
]

train_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='mmengine.InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        phase='train',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    sampler=dict(type='mmengine.DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        phase='test',
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
