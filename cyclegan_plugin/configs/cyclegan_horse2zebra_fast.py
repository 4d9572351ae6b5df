# Generated from configs/cyclegan_horse2zebra_fast.py by tools/make_py_configs.py:
# edit that file and run the tool again (the tests check that both agree).
# horse2zebra on one CUDA GPU, every fast path on: generator and discriminator calls batched,
# channels_last, bf16 autocast, fused Adam, and torch.compile with CUDA graphs. 3.5x the
# iterations/s of the reference-order fp32 path on an H200 at 256x256 (docs/performance.md);
# compiling takes about a minute at the start. On a CPU: bf16 where it is native, the rest off.
from mmengine.config import read_base

with read_base():
    from .cyclegan_horse2zebra import *  # noqa: F401,F403


model.merge(dict(batch_generator_calls=True, batch_discriminator_calls=True, channels_last=True,
             compile='reduce-overhead'))
optim_wrapper.merge(dict(
    generators=dict(type='AmpOptimWrapper', dtype='bfloat16', optimizer=dict(fused=True)),
    discriminators=dict(type='AmpOptimWrapper', dtype='bfloat16', optimizer=dict(fused=True))))
