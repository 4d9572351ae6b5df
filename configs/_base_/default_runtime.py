# Runtime shared by every config: MMEngine does the loop, logging and checkpoints.
# Every type carries its scope (cyclegan_plugin. or mmengine.), so a host project can inherit
# our configs whole and keep its own default_scope.
default_scope = 'cyclegan_plugin'
custom_imports = dict(imports=['cyclegan_plugin'], allow_failed_imports=False)

default_hooks = dict(
    timer=dict(type='mmengine.IterTimerHook'),
    # validation scalars at their training iteration (not epoch 0) for every vis backend
    logger=dict(type='mmengine.LoggerHook', interval=100, log_metric_by_epoch=False),
    param_scheduler=dict(type='mmengine.ParamSchedulerHook'),
    # the reference's save_latest_freq; checkpoints are written to a temporary file and
    # renamed, so a kill never truncates one
    checkpoint=dict(type='mmengine.CheckpointHook', interval=5000, by_epoch=False,
                    save_last=True, max_keep_ckpts=5,
                    backend_args=dict(backend='cyclegan_atomic_local')),
    sampler_seed=dict(type='mmengine.DistSamplerSeedHook'),
)
# RandomStateHook keeps the Python / NumPy / torch random states in each checkpoint, so a
# resumed run draws the same image-pool choices as an uninterrupted one; SafeCheckpointHook
# stores the message hub as tensors so checkpoints load with torch.load(weights_only=True);
# MemoryLogHook puts the resident memory (rss_mib) in the log beside MMEngine's CUDA memory
custom_hooks = [dict(type='cyclegan_plugin.RandomStateHook'),
                dict(type='cyclegan_plugin.SafeCheckpointHook'),
                dict(type='cyclegan_plugin.MemoryLogHook'),
                # the reference's grid (real | fake | rec | idt, both domains)
                dict(type='cyclegan_plugin.CycleGANVisualizationHook', interval=1000)]

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)
# losses are averaged over the last 100 iterations; the skipped-step count (model.nonfinite=
# 'skip') and the resident memory are shown as they are now
log_processor = dict(type='mmengine.LogProcessor', window_size=100, by_epoch=False,
                     custom_cfg=[dict(data_src='skipped_steps', method_name='mean',
                                      window_size=1),
                                 dict(data_src='rss_mib', method_name='mean', window_size=1)])
vis_backends = [dict(type='mmengine.LocalVisBackend')]
visualizer = dict(type='mmengine.Visualizer', vis_backends=vis_backends)
log_level = 'INFO'
load_from = None
resume = False
# diff_rank_seed: each process of a distributed run draws its own B partners, crops and flips
# (MMEngine then draws the sampler's seed from the seeded RNG: deterministic, but another data
# order than diff_rank_seed=False even in one process)
randomness = dict(seed=0, deterministic=False, diff_rank_seed=True)
# distributed runs (tools/dist_train.sh): one DDP per network, as two optimizers need
model_wrapper_cfg = dict(type='cyclegan_plugin.CycleGANDistributedDataParallel',
                         broadcast_buffers=False, find_unused_parameters=False)
