# The paper's CycleGAN (the four bases below, exactly the paper configs' recipe) with the
# opt-in improvements that carry over from the demo's ablation to 256x256 photos
# (docs/improvements.md; the effect on FID there is an expectation until measured):
# - resize-convolution upsampling (Odena et al. 2016): no checkerboard from the decoder;
# - an exponential moving average of the generators (Yazici et al. 2019), used for
#   validation, test and every checkpoint's state_dict;
# - FID/KID at every validation, and the checkpoint with the best FID_a2b kept as
#   best_FID_a2b_iter_*.pth (our configs validate on the test folders: docs/evaluation.md
#   says what that means for reporting). Needs pytorch-fid's Inception weights: train.py
#   stops at the start, saying where to put them, when it cannot find them.
# bf16 mixed precision, where the device has it, is train.py's --amp. Not carried over: the
# demo's 34x34 PatchGAN (the paper's 70x70 is already sized for 256x256 images), and
# DiffAugment (model.disc_augment), which on the demo weakened the translation for a quieter
# background: try it on the smallest sets, and compare the FID.
_base_ = [
    './models/cyclegan_resnet9.py',
    './datasets/unpaired_256.py',
    './schedules/cyclegan_linear_200e.py',
    './default_runtime.py',
]
model = dict(generator=dict(upsample='nearest'))
# the runtime's hooks, and the generators' moving average (momentum 0.001: a half-life of
# about 700 iterations, half an epoch of horse2zebra)
custom_hooks = [dict(type='cyclegan_plugin.RandomStateHook'),
                dict(type='cyclegan_plugin.SafeCheckpointHook'),
                dict(type='cyclegan_plugin.MemoryLogHook'),
                dict(type='cyclegan_plugin.CycleGANVisualizationHook', interval=1000),
                dict(type='mmengine.EMAHook', ema_type='cyclegan_plugin.GeneratorEMA',
                     momentum=0.001)]
val_evaluator = dict(type='mmengine.Evaluator', metrics=[
    dict(type='cyclegan_plugin.CycleConsistencyMetric'),
    dict(type='cyclegan_plugin.TranslationFIDKID')])
test_evaluator = val_evaluator
default_hooks = dict(checkpoint=dict(save_best='FID_a2b', rule='less'))
