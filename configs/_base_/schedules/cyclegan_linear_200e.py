# The reference's 'linear' policy: Adam(2e-4, betas 0.5/0.999) for both groups, constant
# for 100 epochs, then linear decay to 0 over 100 more. Iteration based (as MMagic): the
# dataset config sets train_cfg.max_iters = 200 x its epoch length; the scheduler is given
# in epochs and MMEngine converts it with the real length of the training data.
optim_wrapper = dict(
    constructor='CycleGANOptimWrapperConstructor',
    generators=dict(optimizer=dict(type='Adam', lr=0.0002, betas=(0.5, 0.999))),
    discriminators=dict(optimizer=dict(type='Adam', lr=0.0002, betas=(0.5, 0.999))),
)
n_epochs = 100
n_epochs_decay = 100
param_scheduler = [
    dict(type='LinearLR', start_factor=1.0, end_factor=0.0, by_epoch=True,
         begin=n_epochs, end=n_epochs + n_epochs_decay, convert_to_iter_based=True),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=200 * 1000, val_interval=10000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
val_evaluator = dict(type='Evaluator', metrics=[dict(type='CycleConsistencyMetric')])
test_evaluator = val_evaluator
