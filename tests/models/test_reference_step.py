"""Full CycleGAN training steps against the reference's recorded steps (fixture cyclegan_step*/).

Each step starts from a recorded state (initial weights for step 1; step-1 weights, Adam
states and pool contents for step 2), runs our real ``train_step`` with real optim wrappers,
and compares every image, loss, pool output and updated weight within the README's bounds.
"""
import contextlib
import random

import pytest
import torch
from mmengine.optim import build_optim_wrapper

from cyclegan_plugin.interop import REFERENCE_TO_OURS, reference_to_ours
from cyclegan_plugin.models import CycleGAN
from cyclegan_plugin.registry import MODELS

from cyclegan_plugin.interop.reference_opt import model_cfg as model_cfg_from_opt
from cyclegan_plugin.interop.reference_opt import optim_wrapper_cfg as optim_cfg_from_opt
from cyclegan_plugin.interop.reference_opt import read_train_opt

from .reference_utils import (adam_state_after_step1, assert_adam_step_matches,
                              bias_keys_before_instance_norm, load, seed_from_readme)

STEP_FOLDERS = ['cyclegan_step', 'cyclegan_step_pool1']
IMAGE_KEYS = ['fake_B', 'rec_A', 'fake_A', 'rec_B', 'idt_A', 'idt_B']
LOSS_NAMES = {'G_A': 'loss_G_A', 'G_B': 'loss_G_B', 'cycle_A': 'loss_cycle_A',
              'cycle_B': 'loss_cycle_B', 'idt_A': 'loss_idt_A', 'idt_B': 'loss_idt_B',
              'G': 'loss_G', 'D_A': 'loss_D_A', 'D_B': 'loss_D_B'}


def load_nets(folder, prefix, model):
    nets = {name: load(folder / 'checkpoints' / f'{prefix}_net_{name}.pth')
            for name in REFERENCE_TO_OURS}
    return reference_to_ours(nets, model_keys=set(model.state_dict()))


class ScriptedRandom:
    """Replays the pool decision the reference recorded (return the stored image or not)."""

    def __init__(self, take_stored):
        self.take_stored = take_stored

    def uniform(self, a, b):
        return 0.9 if self.take_stored else 0.1

    def randint(self, a, b):
        return 0


def build(folder, **model_overrides):
    opt = read_train_opt(folder / 'checkpoints' / 'train_opt.txt')
    model = MODELS.build(dict(model_cfg_from_opt(opt), **model_overrides))
    optim = build_optim_wrapper(model, optim_cfg_from_opt(opt))
    return model, optim, opt


def rgb_batch(rgb_uint8):
    """The data pipeline hands the model RGB images, one tensor per sample."""
    return list(rgb_uint8)


def run_step(folder, step, model, optim, pool_script=None):
    """Run our train_step on the recorded inputs; return log vars, images and pool outputs."""
    record = load(folder / f'step{step}.pt')
    if pool_script is not None:
        model.fake_B_pool.rng, model.fake_A_pool.rng = pool_script
    captured = {}
    forward = model.forward_generators

    def spy_forward(*args, **kwargs):
        captured.update(forward(*args, **kwargs))
        return {k: captured[k] for k in captured}

    model.forward_generators = spy_forward
    queries = {}
    for name, pool in (('B', model.fake_B_pool), ('A', model.fake_A_pool)):
        def spy_query(images, _pool=pool, _query=pool.query, _name=name):
            queries[_name] = _query(images)
            return queries[_name]
        pool.query = spy_query
    data = dict(inputs=dict(img_A=rgb_batch(record['real_A_uint8']),
                            img_B=rgb_batch(record['real_B_uint8'])))
    # the preprocessor must reproduce the reference's input tensors exactly
    pre = model.data_preprocessor(data, True)['inputs']
    assert torch.equal(pre['img_A'], record['real_A'])
    assert torch.equal(pre['img_B'], record['real_B'])
    log_vars = model.train_step(data, optim)
    return record, log_vars, captured, queries


def assert_step_matches(record, log_vars, images, queries, model, optim, folder, step,
                        image_tol=1e-5):
    for key in IMAGE_KEYS:
        assert (images[key] - record[key]).abs().max().item() <= image_tol, key
    assert (queries['B'] - record['pool_returned_fake_B_for_D_A']).abs().max() <= image_tol
    assert (queries['A'] - record['pool_returned_fake_A_for_D_B']).abs().max() <= image_tol
    for ref_name, ours in LOSS_NAMES.items():
        expected = record['losses'][ref_name].item()
        assert abs(log_vars[ours] - expected) <= 1e-5 * abs(expected), (ours, log_vars[ours],
                                                                         expected)
    # weights after the step: every element within 2*lr + slack (this still catches a wrong
    # learning rate, betas, sign, a missing or extra update)
    expected = load_nets(folder, f'step{step}', model)
    state = model.state_dict()
    for key, ref in expected.items():
        assert (state[key] - ref).abs().max().item() <= 4.1e-4, key
    if step == 1:
        assert_first_step_follows_the_gradients(model, optim, record, expected)
    else:  # from the recorded state (the README: all but the noisy biases within 1e-5)
        noisy = bias_keys_before_instance_norm(model)
        for key, ref in expected.items():
            if key not in noisy:
                assert (state[key] - ref).abs().max().item() <= 1e-5, key


NETWORKS = {'generators': (('G_A', 'a2b'), ('G_B', 'b2a')),
            'discriminators': (('D_A', 'b'), ('D_B', 'a'))}


def assert_first_step_follows_the_gradients(model, optim, record, expected):
    """Step 1 from the initial weights against the reference's, element by element, with the
    bound each element's own gradients give (reference_utils.assert_adam_step_matches). The
    reference's gradients are its Adam state after one step: exp_avg = (1 - beta1) * g."""
    names = {id(p): n for n, p in model.named_parameters()}
    for group, key in (('generators', 'optimizer_G_state'), ('discriminators',
                                                             'optimizer_D_state')):
        adam = optim[group].optimizer
        beta1 = adam.defaults['betas'][0]
        params = adam.param_groups[0]['params']
        grads = [adam.state[p]['exp_avg'] / (1 - beta1) for p in params]
        ref_grads = [record[key]['state'][i]['exp_avg'] / (1 - beta1)
                     for i in range(len(params))]
        groups = [(ref, len(list(getattr(model, group)[ours].parameters())))
                  for ref, ours in NETWORKS[group]]
        assert_adam_step_matches(params, grads, [expected[names[id(p)]] for p in params],
                                 ref_grads, [{}] * len(params), adam, groups, f'{group}: ')


@pytest.mark.parametrize('folder_name', STEP_FOLDERS)
def test_step1_from_initial_weights(reference_root, folder_name):
    folder = reference_root / 'cyclegan' / folder_name
    model, optim, _ = build(folder)
    model.load_state_dict(load_nets(folder, 'init', model), strict=False)
    record, log_vars, images, queries = run_step(folder, 1, model, optim)
    assert_step_matches(record, log_vars, images, queries, model, optim, folder, 1)
    # each pool now holds this step's fakes (it was empty before)
    assert len(model.fake_B_pool) == 1 and len(model.fake_A_pool) == 1


@pytest.mark.parametrize('folder_name', STEP_FOLDERS)
def test_step2_from_recorded_state(reference_root, folder_name):
    folder = reference_root / 'cyclegan' / folder_name
    model, optim, opt = build(folder)
    model.load_state_dict(load_nets(folder, 'step1', model), strict=False)
    step1 = load(folder / 'step1.pt')
    beta2 = optim['generators'].optimizer.defaults['betas'][1]
    optim['generators'].load_state_dict(adam_state_after_step1(step1['optimizer_G_state'], beta2))
    optim['discriminators'].load_state_dict(
        adam_state_after_step1(step1['optimizer_D_state'], beta2))
    model.fake_B_pool.images = [step1['fake_B'].clone()]
    model.fake_A_pool.images = [step1['fake_A'].clone()]
    step2 = load(folder / 'step2.pt')
    full = int(opt['pool_size']) <= 1
    script = None
    if full:  # a full pool draws: replay the reference's recorded choices
        script = tuple(ScriptedRandom(torch.equal(step2[f'pool_returned_fake_{d}_for_D_{o}'],
                                                  step1[f'fake_{d}']))
                       for d, o in (('B', 'A'), ('A', 'B')))
    record, log_vars, images, queries = run_step(folder, 2, model, optim, script)
    assert_step_matches(record, log_vars, images, queries, model, optim, folder, 2)
    for name, key in (('generators', 'optimizer_G_state'),
                      ('discriminators', 'optimizer_D_state')):
        ours = optim[name].state_dict()['state']
        ref = record[key]['state']
        assert sorted(ours) == sorted(ref)
        assert all(float(ours[i]['step']) == float(ref[i]['step']) for i in ref)


def test_pool1_decisions_from_the_recorded_seed(reference_root):
    """With Python's global random seeded as the reference was, the full pool of size 1
    makes the reference's recorded choice (only when the README states the seed)."""
    folder = reference_root / 'cyclegan' / 'cyclegan_step_pool1'
    seed = seed_from_readme(reference_root / 'cyclegan' / 'README.md', 'cyclegan_step_pool1',
                            r'step 2 data \d+, step 2 seeds (\d+)')
    if seed is None:
        pytest.skip('the fixture README states no step-2 seed')
    step1, step2 = load(folder / 'step1.pt'), load(folder / 'step2.pt')
    model, _, _ = build(folder)
    model.fake_B_pool.images = [step1['fake_B'].clone()]
    model.fake_A_pool.images = [step1['fake_A'].clone()]
    random.seed(seed)
    out_B = model.fake_B_pool.query(step2['fake_B'])
    out_A = model.fake_A_pool.query(step2['fake_A'])
    assert torch.equal(out_B, step2['pool_returned_fake_B_for_D_A'])
    assert torch.equal(out_A, step2['pool_returned_fake_A_for_D_B'])


@pytest.mark.parametrize('folder_name', STEP_FOLDERS)
def test_seeded_build_reproduces_reference_init(reference_root, folder_name):
    """Seeding torch as the reference did and building the model gives its initial weights."""
    seed = seed_from_readme(reference_root / 'cyclegan' / 'README.md', folder_name,
                            r'model \(torch.manual_seed before building the four networks\) (\d+)')
    if seed is None:
        pytest.skip('the fixture README states no model seed')
    folder = reference_root / 'cyclegan' / folder_name
    torch.manual_seed(seed)
    model, _, _ = build(folder)
    state = model.state_dict()
    for key, ref in load_nets(folder, 'init', model).items():
        assert torch.equal(state[key], ref), key


FAST_PATHS = [dict(batch_generator_calls=True), dict(batch_discriminator_calls=True),
              dict(channels_last=True),
              dict(batch_generator_calls=True, batch_discriminator_calls=True,
                   channels_last=True)]


@pytest.mark.parametrize('folder_name', STEP_FOLDERS)
@pytest.mark.parametrize('fast', FAST_PATHS, ids=lambda f: '+'.join(f))
def test_fast_paths_match_reference_step(reference_root, folder_name, fast):
    """The batched fast paths give the reference's step-1 numbers within the same bounds
    (their float sums run in another order: see assert_adam_step_matches for the rule);
    channels_last is ignored on the CPU, with a warning (torch's CPU convolutions give wrong
    weight gradients in NHWC)."""
    folder = reference_root / 'cyclegan' / folder_name
    model, optim, _ = build(folder, **fast)
    model.load_state_dict(load_nets(folder, 'init', model), strict=False)
    warns = (pytest.warns(UserWarning, match='channels_last is ignored on the CPU')
             if fast.get('channels_last') else contextlib.nullcontext())
    with warns:
        record, log_vars, images, queries = run_step(folder, 1, model, optim)
    assert_step_matches(record, log_vars, images, queries, model, optim, folder, 1)


def test_compiled_networks_match_reference_step(reference_root):
    """torch.compile'd networks (Inductor on the CPU) give the reference's step-1 losses and
    updates within the same bounds. Inductor fuses and reorders the float sums (instance
    norm's above all), so images are held to 3e-5 (seen: 1.03e-5 after two generators)."""
    folder = reference_root / 'cyclegan' / 'cyclegan_step'
    model, optim, _ = build(folder, compile=True)
    model.load_state_dict(load_nets(folder, 'init', model), strict=False)
    assert all(key.count('_orig_mod') == 0 for key in model.state_dict())
    record, log_vars, images, queries = run_step(folder, 1, model, optim)
    assert_step_matches(record, log_vars, images, queries, model, optim, folder, 1,
                        image_tol=3e-5)


def test_the_first_step_rule_catches_a_wrong_update(reference_root):
    """The per-element bound is not loose: a learning rate 10% off, with the same gradients,
    fails it (losses and images still match: they come before the update)."""
    folder = reference_root / 'cyclegan' / 'cyclegan_step'
    model, optim, _ = build(folder)
    for wrapper in optim.values():
        for group in wrapper.optimizer.param_groups:
            group['lr'] *= 1.1
    model.load_state_dict(load_nets(folder, 'init', model), strict=False)
    record, _, _, _ = run_step(folder, 1, model, optim)
    with pytest.raises(AssertionError, match='more than their gradients explain'):
        assert_first_step_follows_the_gradients(model, optim, record,
                                                load_nets(folder, 'step1', model))


def test_batched_paths_refuse_batch_norm(reference_root):
    folder = reference_root / 'cyclegan' / 'cyclegan_step'
    opt = read_train_opt(folder / 'checkpoints' / 'train_opt.txt')
    cfg = model_cfg_from_opt(opt)
    cfg['generator']['norm'] = 'batch'
    with pytest.raises(ValueError, match='batch norm'):
        CycleGAN(**{k: v for k, v in cfg.items() if k != 'type'}, batch_generator_calls=True)
