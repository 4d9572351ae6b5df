# horse2zebra on one CUDA GPU, every fast path on: generator and discriminator calls batched,
# channels_last, bf16 autocast, fused Adam, and torch.compile with CUDA graphs. 3.5x the
# iterations/s of the reference-order fp32 path on an H200 at 256x256 (docs/performance.md);
# compiling takes about a minute at the start. On a CPU: bf16 where it is native, the rest off.
_base_ = ['./cyclegan_horse2zebra.py']

model = dict(batch_generator_calls=True, batch_discriminator_calls=True, channels_last=True,
             compile='reduce-overhead')
optim_wrapper = dict(
    generators=dict(type='AmpOptimWrapper', dtype='bfloat16', optimizer=dict(fused=True)),
    discriminators=dict(type='AmpOptimWrapper', dtype='bfloat16', optimizer=dict(fused=True)))
