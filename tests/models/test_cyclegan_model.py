"""The model's contract with MMEngine: preprocessing, predictions, non-finite losses, and
the fast paths against the reference-order path."""
import copy
import random

import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.optim import build_optim_wrapper

from cyclegan_plugin.engine import cpu_has_native_bf16

from .reference_utils import assert_adam_step_matches
from cyclegan_plugin.models import CycleGANDataPreprocessor
from cyclegan_plugin.registry import MODELS

MODEL = dict(type='CycleGAN', generator=dict(type='ResnetGenerator', ngf=4, n_blocks=1),
             discriminator=dict(type='PatchDiscriminator', ndf=4, n_layers=2), pool_size=2)
OPTIM = dict(constructor='CycleGANOptimWrapperConstructor',
             generators=dict(optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999))),
             discriminators=dict(optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999))))


def batch(n=2, size=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    make = lambda: [torch.randint(0, 256, (3, size, size), dtype=torch.uint8, generator=g)
                    for _ in range(n)]
    return dict(inputs=dict(img_A=make(), img_B=make()),
                data_samples=dict(img_A_path=[f'a{i}.png' for i in range(n)],
                                  img_B_path=[f'b{i}.png' for i in range(n)]))


def test_preprocessor_scales_like_the_reference():
    """RGB in (the pipelines' order), RGB out; bgr_to_rgb=True for inputs made in BGR."""
    pre = CycleGANDataPreprocessor()
    rgb = torch.tensor([[[255]], [[128]], [[0]]], dtype=torch.uint8)  # R=255, G=128, B=0
    out = pre(dict(inputs=dict(img_A=[rgb])))['inputs']['img_A']
    assert out.shape == (1, 3, 1, 1)
    assert out[0, :, 0, 0].tolist() == pytest.approx([1.0, 128 / 255 * 2 - 1, -1.0], abs=1e-6)
    bgr = rgb.flip(0)
    flipped = CycleGANDataPreprocessor(bgr_to_rgb=True)(dict(inputs=dict(img_A=[bgr])))
    assert torch.equal(flipped['inputs']['img_A'], out)
    # back to uint8 RGB: exact for our own inputs, and truncating as the reference's
    # tensor2im does (0.0 -> 127.5 -> 127, where rounding would give 128)
    assert pre.destruct(out)[0, :, 0, 0].tolist() == [255, 128, 0]
    assert pre.destruct(torch.zeros(1, 3, 1, 1)).flatten().tolist() == [127, 127, 127]
    with pytest.raises(ValueError, match='different sizes'):
        pre(dict(inputs=dict(img_A=[bgr, torch.zeros(3, 2, 2, dtype=torch.uint8)])))


def test_train_step_logs_every_term_and_test_step_translates_both_ways():
    model = MODELS.build(MODEL)
    optim = build_optim_wrapper(model, OPTIM)
    before = [p.clone() for p in model.parameters()]
    log = {k: float(v) for k, v in model.train_step(batch(), optim).items()}
    assert set(log) == {'loss_G_A', 'loss_G_B', 'loss_cycle_A', 'loss_cycle_B', 'loss_idt_A',
                        'loss_idt_B', 'loss_G', 'loss_D_A', 'loss_D_B', 'loss_D'}
    assert log['loss_G'] == pytest.approx(sum(log[k] for k in log if k.startswith(
        ('loss_G_', 'loss_cycle', 'loss_idt'))), rel=1e-5)
    assert all(not torch.equal(a, b) for a, b in zip(before, model.parameters()))
    assert len(model.fake_B_pool) == 2 and len(model.fake_A_pool) == 2
    model.eval()
    outputs = model.test_step(batch(n=3, seed=1))
    assert len(outputs) == 3
    for i, out in enumerate(outputs):
        for key in ('real_A', 'fake_B', 'rec_A', 'real_B', 'fake_A', 'rec_B'):
            assert out[key].dtype == torch.uint8 and out[key].shape == (3, 16, 16)
        assert (out['img_A_path'], out['img_B_path']) == (f'a{i}.png', f'b{i}.png')


def test_identity_loss_off_and_other_gan_modes():
    for gan_mode in ('vanilla', 'hinge', 'wgangp', 'ralsgan'):
        model = MODELS.build(dict(MODEL, lambda_identity=0.0,
                                  gan_loss=dict(type='GANLoss', gan_mode=gan_mode)))
        log = model.train_step(batch(), build_optim_wrapper(model, OPTIM))
        assert 'loss_idt_A' not in log and all(torch.isfinite(torch.as_tensor(v))
                                               for v in log.values())


def test_non_finite_loss_stops_before_any_update():
    model = MODELS.build(MODEL)
    optim = build_optim_wrapper(model, OPTIM)
    with torch.no_grad():
        model.generators['a2b'].model[1].weight.fill_(float('nan'))
    before = {k: v.clone() for k, v in model.state_dict().items() if 'generators.b2a' in k}
    with pytest.raises(FloatingPointError, match='loss_G_A=nan') as err:
        model.train_step(batch(), optim)
    assert 'generators' in str(err.value)
    after = model.state_dict()
    assert all(torch.equal(v, after[k]) for k, v in before.items())


def _optim(model, optim_overrides=None):
    cfg = {k: (dict(v, optimizer=dict(v['optimizer'], **(optim_overrides or {})))
               if isinstance(v, dict) else v) for k, v in OPTIM.items()}
    return build_optim_wrapper(model, cfg)


def _gradients(adam, before):
    """The gradients a step of torch's Adam took, from its first moments before and after:
    exp_avg = beta1 * exp_avg_before + (1 - beta1) * g."""
    beta1 = adam.defaults['betas'][0]
    return [(adam.state[p]['exp_avg'] - beta1 * before[i].get('exp_avg', 0)) / (1 - beta1)
            for i, p in enumerate(adam.param_groups[0]['params'])]


@pytest.mark.parametrize('fast', [
    (dict(batch_generator_calls=True, batch_discriminator_calls=True), None),
    (None, dict(fused=True)),
    (dict(batch_generator_calls=True, batch_discriminator_calls=True), dict(fused=True)),
], ids=['batched', 'fused_adam', 'batched+fused_adam'])
def test_fast_paths_follow_the_reference_path_for_several_steps(fast):
    """4 steps of a fast path against the reference-order path, the pools filling and then
    drawing. Before each step the fast model takes the reference model's whole state
    (weights, Adam states, pools, random state), so each step is compared from the same
    state: same losses (1e-5 relative) and pool contents (1e-5), and each weight as far from
    the reference's as the two paths' own gradients explain through Adam's step
    (reference_utils.assert_adam_step_matches). Run apart, the two paths drift as any two
    float orders do, by more each step."""
    torch.manual_seed(0)
    random.seed(0)
    ref = MODELS.build(MODEL)
    mine = MODELS.build(dict(MODEL, **(fast[0] or {})))
    ref_optim, my_optim = _optim(ref), _optim(mine, fast[1])
    groups = {'generators': [('G_A', 'a2b'), ('G_B', 'b2a')],
              'discriminators': [('D_A', 'b'), ('D_B', 'a')]}
    for step in range(4):
        mine.load_state_dict(ref.state_dict())
        # a copy: Optimizer.load_state_dict keeps the very tensors it is given, which the
        # reference's step would then advance in place
        my_optim.load_state_dict(copy.deepcopy(ref_optim.state_dict()))
        before = {g: [{k: (v.clone() if torch.is_tensor(v) else v)
                       for k, v in ref_optim[g].optimizer.state[p].items()}
                      for p in ref_optim[g].optimizer.param_groups[0]['params']]
                  for g in groups}
        rng = random.getstate()
        ref_log = {k: float(v) for k, v in ref.train_step(batch(seed=step), ref_optim).items()}
        random.setstate(rng)
        my_log = {k: float(v) for k, v in mine.train_step(batch(seed=step), my_optim).items()}
        assert ref_log.keys() == my_log.keys()
        for k in ref_log:
            assert my_log[k] == pytest.approx(ref_log[k], rel=1e-5, abs=1e-7), (step, k)
        for pool in ('fake_A_pool', 'fake_B_pool'):
            for a, b in zip(getattr(mine, pool).images, getattr(ref, pool).images):
                assert (a - b).abs().max() <= 1e-5, (step, pool)
        for g, nets in groups.items():
            adam, ref_adam = my_optim[g].optimizer, ref_optim[g].optimizer
            sizes = [(name, len(list(getattr(ref, g)[key].parameters()))) for name, key in nets]
            assert_adam_step_matches(
                adam.param_groups[0]['params'], _gradients(adam, before[g]),
                ref_adam.param_groups[0]['params'], _gradients(ref_adam, before[g]), before[g],
                ref_adam, sizes, f'step {step} {g}: ')


def test_mixed_precision_wrapper_by_device(recwarn):
    """AmpOptimWrapper configs run bf16 autocast on a CPU with native bf16 (else fp32 with a
    warning); the losses stay close to fp32 and the weights stay fp32."""
    model = MODELS.build(MODEL)
    cfg = {k: dict(v, type='AmpOptimWrapper', dtype='float16') if isinstance(v, dict) else v
           for k, v in OPTIM.items()}
    optim = build_optim_wrapper(model, cfg)
    native = cpu_has_native_bf16()
    wrapper = optim['generators']
    assert type(wrapper).__name__ == ('CPUAmpOptimWrapper' if native else 'OptimWrapper')
    assert any('bf16' in str(w.message) for w in recwarn)  # fp16 asked, bf16 or fp32 given
    log = model.train_step(batch(), optim)
    assert all(torch.isfinite(v) for v in log.values())
    assert all(p.dtype == torch.float32 for p in model.parameters())
    if native:
        with wrapper.optim_context(model.generators):
            assert model.generators['a2b'](torch.zeros(1, 3, 16, 16)).dtype == torch.bfloat16


def test_non_finite_skip_policy_counts_and_keeps_weights():
    """nonfinite='skip': the poisoned iteration changes no weight and no pool, the count goes
    to the log, and training goes on."""
    model = MODELS.build(dict(MODEL, nonfinite='skip'))
    optim = build_optim_wrapper(model, OPTIM)
    model.train_step(batch(), optim)  # one clean step fills the pools
    hub = MessageHub.get_current_instance()
    hub.update_info('skipped_steps', 0)
    conv = model.generators['a2b'].model[1].weight
    saved = conv.detach().clone()
    with torch.no_grad():
        conv.fill_(float('nan'))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    log = model.train_step(batch(seed=1), optim)
    assert log == dict(skipped_steps=1)
    after = model.state_dict()
    assert all(torch.equal(v, after[k]) or k.endswith('a2b.model.1.weight')
               for k, v in before.items())
    with torch.no_grad():
        conv.copy_(saved)
    log = model.train_step(batch(seed=2), optim)
    assert int(log['skipped_steps']) == 1 and torch.isfinite(log['loss_G'])


def test_nonfinite_policy_is_checked():
    with pytest.raises(ValueError, match="'raise' or 'skip'"):
        MODELS.build(dict(MODEL, nonfinite='ignore'))
