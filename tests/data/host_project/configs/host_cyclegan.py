# The host project trains our CycleGAN from its own scope: only custom_imports and the
# 'cyclegan_plugin.' prefix connect the two. data_root and work_dir are set by the test.
default_scope = 'host_pkg'
custom_imports = dict(imports=['host_pkg', 'cyclegan_plugin'], allow_failed_imports=False)
data_root = 'data/mini_horse2zebra'
model = dict(
    type='cyclegan_plugin.CycleGAN',
    generator=dict(type='ResnetGenerator', ngf=8, n_blocks=1),
    discriminator=dict(type='PatchDiscriminator', ndf=8, n_layers=2))
pipeline = [dict(type='LoadImage'), dict(type='PackImage')]
train_dataloader = dict(
    batch_size=1, num_workers=0,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='cyclegan_plugin.UnpairedImageDataset', data_root=data_root,
                 pipeline=pipeline))
optim_wrapper = dict(
    constructor='cyclegan_plugin.CycleGANOptimWrapperConstructor',
    generators=dict(optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999))),
    discriminators=dict(optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999))))
train_cfg = dict(type='IterBasedTrainLoop', max_iters=2)
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=2, by_epoch=False),
                     logger=dict(type='LoggerHook', interval=1))
custom_hooks = [dict(type='cyclegan_plugin.RandomStateHook'),
                dict(type='cyclegan_plugin.SafeCheckpointHook')]
log_processor = dict(by_epoch=False)
