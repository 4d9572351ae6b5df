"""The optimizer constructor and the reference's linear LR policy in MMEngine schedulers."""
import warnings

import pytest
import torch
from mmengine.optim import OptimWrapperDict, build_optim_wrapper
from mmengine.optim.scheduler import LinearLR

from cyclegan_plugin.registry import MODELS, PARAM_SCHEDULERS

MODEL = dict(type='CycleGAN', generator=dict(type='ResnetGenerator', ngf=4, n_blocks=1),
             discriminator=dict(type='PatchDiscriminator', ndf=4, n_layers=2))
OPTIM = dict(constructor='CycleGANOptimWrapperConstructor',
             generators=dict(optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999))),
             discriminators=dict(optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999))))


def test_one_adam_per_group_in_reference_order():
    model = MODELS.build(MODEL)
    optim = build_optim_wrapper(model, OPTIM)
    assert isinstance(optim, OptimWrapperDict) and set(optim.keys()) == {'generators',
                                                                         'discriminators'}
    g = optim['generators'].optimizer
    assert isinstance(g, torch.optim.Adam) and g.defaults['betas'] == (0.5, 0.999)
    # parameters of G_A then G_B; of D_A (discriminators.b) then D_B, as the reference
    expected = list(model.generators['a2b'].parameters()) + list(
        model.generators['b2a'].parameters())
    assert all(a is b for a, b in zip(g.param_groups[0]['params'], expected))
    d_params = optim['discriminators'].optimizer.param_groups[0]['params']
    assert d_params[0] is next(model.discriminators['b'].parameters())
    with pytest.raises(KeyError, match='no submodule'):
        build_optim_wrapper(model, dict(OPTIM, encoders=dict(optimizer=dict(type='Adam'))))


def test_fused_adam_is_kept_where_torch_has_it_and_dropped_with_a_warning_where_not(
        monkeypatch):
    """A config asking for fused Adam trains on a torch without a fused kernel for the
    parameters' device (CPUs before torch 2.4 raise at construction): the same Adam without
    it, with a warning that names the group. Other construction errors still raise."""
    fused = {k: dict(v, optimizer=dict(v['optimizer'], fused=True)) if isinstance(v, dict)
             else v for k, v in OPTIM.items()}
    model = MODELS.build(MODEL)
    optim = build_optim_wrapper(model, fused)  # torch 2.13 fuses Adam on the CPU
    assert [optim[k].optimizer.defaults['fused'] for k in ('generators', 'discriminators')] \
        == [True, True]

    adam_init = torch.optim.Adam.__init__

    def old_torch(self, params, *args, fused=None, **kwargs):
        if fused:
            raise RuntimeError('`fused=True` requires all the params to be floating point '
                               "Tensors of supported devices: ['cuda']")
        adam_init(self, params, *args, fused=fused, **kwargs)
    monkeypatch.setattr(torch.optim.Adam, '__init__', old_torch)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        optim = build_optim_wrapper(model, fused)
    said = [str(w.message) for w in caught if 'fused=True is not supported' in str(w.message)]
    assert [m.split(':')[0] for m in said] == ['optim_wrapper.generators',
                                               'optim_wrapper.discriminators']
    assert all('training with the unfused optimizer' in m for m in said)
    for key in ('generators', 'discriminators'):
        assert not optim[key].optimizer.defaults['fused']
        assert optim[key].optimizer.defaults['lr'] == 2e-4

    def broken(self, params, *args, **kwargs):
        raise RuntimeError('out of memory')
    monkeypatch.setattr(torch.optim.Adam, '__init__', broken)
    with pytest.raises(RuntimeError, match='out of memory'):
        build_optim_wrapper(model, fused)


def reference_linear_factor(epoch_index, n_epochs, n_epochs_decay):
    """The reference's lambda_rule (models/networks.py, epoch_count=1), for the LR used
    during 0-based epoch ``epoch_index``."""
    return 1.0 - max(0, epoch_index + 1 - n_epochs) / float(n_epochs_decay + 1)


def _lrs(sched_cfg, steps):
    opt = torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=2e-4)
    sched = PARAM_SCHEDULERS.build(dict(sched_cfg, _scope_='cyclegan_plugin'),
                                   default_args=dict(optimizer=opt, epoch_length=3))
    lrs = []
    for _ in range(steps):
        lrs.append(opt.param_groups[0]['lr'])
        opt.step()
        sched.step()
    return lrs


@pytest.mark.parametrize('n, d', [(3, 4), (5, 5), (0, 2)])
def test_reference_policy_in_epochs_steps_once_per_epoch(n, d):
    """Converted to iterations (epochs of 3 here), the rate changes once per epoch and
    follows the reference's rule exactly; the last epoch trains at lr / (d + 1), not 0."""
    lrs = _lrs(dict(type='ReferenceLinearLR', n_epochs=n, n_epochs_decay=d, by_epoch=True,
                    convert_to_iter_based=True), 3 * (n + d))
    for i, lr in enumerate(lrs):
        assert lr == pytest.approx(2e-4 * reference_linear_factor(i // 3, n, d), rel=1e-12), i
    assert lrs[-1] == pytest.approx(2e-4 / (d + 1), rel=1e-12)


def test_reference_policy_follows_the_run_length():
    """Unpinned, the constant part is half of the run [begin, end) and the decay the rest."""
    lrs = _lrs(dict(type='ReferenceLinearLR', by_epoch=True, convert_to_iter_based=True,
                    end=10), 30)
    assert [lr / 2e-4 for lr in lrs[::3]] == pytest.approx(
        [reference_linear_factor(e, 5, 5) for e in range(10)])
    per_iteration = _lrs(dict(type='ReferenceLinearLR', by_epoch=False, end=30), 30)
    assert per_iteration == pytest.approx(
        [2e-4 * reference_linear_factor(i, 15, 15) for i in range(30)], rel=1e-12)
    with pytest.raises(ValueError, match='n_epochs'):
        _lrs(dict(type='ReferenceLinearLR', by_epoch=False), 1)


@pytest.mark.parametrize('fraction, n', [(0.75, 10), (1.0, 0), (0.0, 41), (0.5, 20)])
def test_decay_fraction_sets_the_share_of_the_run_that_decays(fraction, n):
    """decay_fraction f keeps the rate constant for floor(total * (1 - f)) iterations and
    decays it over the rest by the reference's rule; 0.5 is the unpinned default exactly."""
    total = 41
    lrs = _lrs(dict(type='ReferenceLinearLR', by_epoch=False, end=total,
                    decay_fraction=fraction), total)
    assert lrs == pytest.approx(
        [2e-4 * reference_linear_factor(i, n, total - n) for i in range(total)], rel=1e-12)
    if fraction == 0.5:
        assert lrs == _lrs(dict(type='ReferenceLinearLR', by_epoch=False, end=total), total)
    with pytest.raises(ValueError, match='decay_fraction'):
        _lrs(dict(type='ReferenceLinearLR', by_epoch=False, end=total, decay_fraction=1.5), 1)


@pytest.mark.filterwarnings("ignore:Detected call of")
def test_iteration_schedule_of_the_configs():
    """Iteration configs: constant for n iterations, then linear to 0 at the last one."""
    opt = torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=2e-4)
    n, total = 10, 30
    sched = LinearLR(opt, start_factor=1.0, end_factor=0.0, begin=n, end=total, by_epoch=False)
    lrs = []
    for _ in range(total):
        lrs.append(opt.param_groups[0]['lr'])
        sched.step()
    assert lrs[:n + 1] == pytest.approx([2e-4] * (n + 1))
    assert lrs[-1] == pytest.approx(0.0, abs=1e-12)
    steps = [a - b for a, b in zip(lrs[n:], lrs[n + 1:])]
    assert steps == pytest.approx([2e-4 / (total - n - 1)] * len(steps))
