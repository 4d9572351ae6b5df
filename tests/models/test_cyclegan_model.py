"""The model's contract with MMEngine: preprocessing, predictions, non-finite losses."""
import pytest
import torch
from mmengine.optim import build_optim_wrapper

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


def test_preprocessor_flips_bgr_and_scales_like_the_reference():
    pre = CycleGANDataPreprocessor()
    bgr = torch.tensor([[[0]], [[128]], [[255]]], dtype=torch.uint8)  # B=0, G=128, R=255
    out = pre(dict(inputs=dict(img_A=[bgr])))['inputs']['img_A']
    assert out.shape == (1, 3, 1, 1)
    assert out[0, :, 0, 0].tolist() == pytest.approx([1.0, 128 / 255 * 2 - 1, -1.0], abs=1e-6)
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
    for gan_mode in ('vanilla', 'hinge', 'wgangp'):
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
