# The reference's 'linear' policy, in epochs of the training data (max(|trainA|, |trainB|)
# iterations at batch size 1, read from the data set): Adam(2e-4, betas 0.5/0.999) for both
# groups, the rate constant for the first half of the run (100 of 200 epochs), then lowered
# once per epoch to lr/101 in the last epoch. The schedule follows the run's length:
# --cfg-options train_cfg.max_epochs=N (or train_cfg.max_iters=N) gives a full schedule of
# that length; pin it with param_scheduler=[dict(type='cyclegan_plugin.ReferenceLinearLR',
# n_epochs=100, n_epochs_decay=100, by_epoch=True, convert_to_iter_based=True)].
# (the constructor builds the optimizers in the cyclegan_plugin scope)
optim_wrapper = dict(
    constructor='cyclegan_plugin.CycleGANOptimWrapperConstructor',
    generators=dict(optimizer=dict(type='Adam', lr=0.0002, betas=(0.5, 0.999))),
    discriminators=dict(optimizer=dict(type='Adam', lr=0.0002, betas=(0.5, 0.999))),
)
param_scheduler = [
    dict(type='cyclegan_plugin.ReferenceLinearLR', by_epoch=True, convert_to_iter_based=True),
]
# an iteration-based loop (exact resume), its length in epochs of the training data
train_cfg = dict(type='cyclegan_plugin.EpochsIterBasedTrainLoop', max_epochs=200,
                 val_interval=10000)
val_cfg = dict(type='mmengine.ValLoop')
test_cfg = dict(type='mmengine.TestLoop')
val_evaluator = dict(type='mmengine.Evaluator',
                     metrics=[dict(type='cyclegan_plugin.CycleConsistencyMetric')])
test_evaluator = val_evaluator
