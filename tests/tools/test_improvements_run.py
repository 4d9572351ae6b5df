"""The opt-in improvements through the real tools: tools/train.py with every switch on
(resize-convolutions, spectral norm, anti-aliased discriminators, DiffAugment, the
generators' EMA), checkpoints that hold the average where translation reads it, exact
resume, and translation / export of the result."""
import pytest
import torch

from ..conftest import tiny_demo_config
from .test_train_test_tools import load_weights_only, run_tool, train_and_resume

MOMENTUM = 0.25


@pytest.fixture(scope='module')
def config(tmp_path_factory):
    return str(tiny_demo_config(tmp_path_factory.mktemp('cfg'), f'''
model = dict(generator=dict(upsample='nearest'),
             discriminator=dict(spectral_norm=True, antialias=True),
             disc_augment=dict(type='DiffAugment', policy='color,translation,cutout'))
val_dataloader = dict(num_workers=0, dataset=dict(data_root=data_root))
test_dataloader = dict(num_workers=0, dataset=dict(data_root=data_root))
train_cfg = dict(max_iters=4, val_interval=4)
default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=4), logger=dict(interval=1))
randomness = dict(seed=5)
custom_hooks = [dict(type='RandomStateHook'), dict(type='SafeCheckpointHook'),
                dict(type='mmengine.EMAHook', ema_type='cyclegan_plugin.GeneratorEMA',
                     momentum={MOMENTUM})]
'''))


@pytest.fixture(scope='module')
def trained(config, tmp_path_factory):
    return train_and_resume(config, tmp_path_factory.mktemp('work'), resume_at=2)


def generator_keys(state):
    return [k for k in state if k.startswith('generators.') and state[k].is_floating_point()]


def test_checkpoints_hold_the_generators_average(trained):
    """Each checkpoint's state_dict holds the average of the generators trained so far (the
    first update copies, then avg = (1 - m) avg + m weights), its ema_state_dict the trained
    generators; the discriminators and pools are the trained ones, stored once."""
    full, _ = trained
    ckpts = [load_weights_only(full / f'iter_{i}.pth') for i in range(1, 5)]
    keys = generator_keys(ckpts[-1]['state_dict'])
    assert keys and any('.conv.weight' in k for k in keys)  # resize-convolutions
    average = None
    for ckpt in ckpts:
        trained_now = {k: ckpt['ema_state_dict'][f'module.{k}'] for k in keys}
        average = dict(trained_now) if average is None else {
            k: average[k] * (1 - MOMENTUM) + trained_now[k] * MOMENTUM for k in keys}
        for k in keys:
            assert torch.allclose(ckpt['state_dict'][k], average[k], atol=1e-6), k
    last = ckpts[-1]
    assert not all(torch.equal(last['state_dict'][k], last['ema_state_dict'][f'module.{k}'])
                   for k in keys)
    assert not any(k.startswith(('module.discriminators', 'module.fake_'))
                   for k in last['ema_state_dict'])
    assert any(k.endswith('parametrizations.weight.original') for k in last['state_dict'])
    assert {'discriminators.a.blur_kernel', 'discriminators.b.blur_kernel'} <= set(
        last['state_dict'])
    assert last['state_dict']['fake_B_pool._extra_state'].shape[0] == 4


def test_resume_with_every_switch_is_bit_exact(trained):
    full, resumed = trained
    a, b = (load_weights_only(d / 'iter_4.pth') for d in (full, resumed))
    for part in ('state_dict', 'ema_state_dict'):
        assert a[part].keys() == b[part].keys()
        for key, value in a[part].items():
            assert torch.equal(value, b[part][key]), (part, key)


def test_translation_and_export_read_the_average(trained, tmp_path):
    from cyclegan_plugin.apis import init_model
    full, _ = trained
    ckpt = load_weights_only(full / 'iter_4.pth')
    translator = init_model(str(full / 'iter_4.pth'))
    for direction in ('a2b', 'b2a'):
        net = translator.generators[direction]
        assert getattr(net, 'upsample', None) == 'nearest'
        state = net.state_dict()
        for key, value in state.items():
            assert torch.equal(value, ckpt['state_dict'][f'generators.{direction}.{key}'])
    onnx = tmp_path / 'g.onnx'
    run_tool('export_onnx.py', str(full / 'iter_4.pth'), '--out', str(onnx))
    assert onnx.stat().st_size > 0
    proc = run_tool('convert_checkpoint.py', str(full / 'iter_4.pth'), str(tmp_path / 'ref'),
                    '--to', 'reference', check=False)
    assert proc.returncode == 2
    assert 'resize-convolution' in proc.stderr and '--to generator' in proc.stderr
    run_tool('convert_checkpoint.py', str(full / 'iter_4.pth'), str(tmp_path / 'g.pth'),
             '--to', 'generator')
    assert init_model(str(tmp_path / 'g.pth')).generators['a2b'].upsample == 'nearest'


def test_test_tool_scores_the_average(trained, config, tmp_path):
    full, _ = trained
    proc = run_tool('test.py', config, str(full / 'iter_4.pth'), '--work-dir', str(tmp_path))
    assert 'h2z/stripe_a2b' in proc.stdout
