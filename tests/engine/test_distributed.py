"""Two processes on the CPU (torchrun, gloo): they train different data with averaged
gradients, so after N iterations both hold the same networks; a run resumed with
tools/dist_train.sh from a checkpoint of the two-process run ends where the uninterrupted one
does, each process with its own image pools and random states."""
import os
import socket
import subprocess
import sys

import pytest
import torch

from cyclegan_plugin.demo import build_demo_dataset

from ..conftest import ROOT

N_ITERS = 4  # checkpoints at 2 and 4


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def torchrun(config, work, out, *args):
    """Train in two processes; returns each rank's networks and pools, and the log."""
    out.mkdir()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=2',
         f'--master_port={free_port()}', str(ROOT / 'tests' / 'engine' / 'dist_check.py'),
         str(config), str(work), str(out), *args],
        capture_output=True, text=True, env=env, cwd=str(ROOT), timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    ranks = [torch.load(out / f'rank{r}.pth', weights_only=True) for r in (0, 1)]
    return ranks, proc.stdout + proc.stderr


@pytest.fixture(scope='module')
def config(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('dist')
    data = tmp / 'data'
    build_demo_dataset(str(data), size=32, num_train=8, num_test=2, seed=2)
    config = tmp / 'cfg.py'
    config.write_text(f'''
_base_ = [{str(ROOT / 'configs' / 'cyclegan_mini_horse2zebra_paper.py')!r}]
data_root = {str(data)!r}
model = dict(generator=dict(ngf=8, n_blocks=1), discriminator=dict(ndf=8, n_layers=2))
train_pipeline = [dict(type='LoadImage'),
                  dict(type='RandomFlip', prob=0.5, direction='horizontal'),
                  dict(type='PackImage')]
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
                        dataset=dict(data_root=data_root, pipeline=train_pipeline))
train_cfg = dict(max_iters={N_ITERS}, val_interval=1000)
param_scheduler = []
default_hooks = dict(checkpoint=dict(interval=2), logger=dict(interval=1))
# each process its own random streams (partners, crops, pool draws): seed + rank
randomness = dict(seed=4, deterministic=True, diff_rank_seed=True)
val_dataloader = None
val_cfg = None
val_evaluator = None
''')
    return config


@pytest.fixture(scope='module')
def uninterrupted(config, tmp_path_factory):
    tmp = tmp_path_factory.mktemp('full')
    ranks, log = torchrun(config, tmp / 'work', tmp / 'out')
    return tmp / 'work', ranks, log


def networks(state):
    return {k: v for k, v in state.items() if not k.endswith('_extra_state')}


def pools(state):
    return {k: v for k, v in state.items() if k.endswith('_extra_state')}


def assert_equal(a, b, what):
    assert a.keys() == b.keys() and len(a) > 0, what
    for key in a:
        assert torch.equal(a[key], b[key]), f'{what}: {key}'


def test_two_process_cpu_training_keeps_ranks_identical(uninterrupted):
    work, (r0, r1), log = uninterrupted
    assert f'Iter(train) [{N_ITERS}/{N_ITERS}]' in log
    assert_equal(networks(r0), networks(r1), 'rank 0 vs rank 1')
    # each process pooled the fakes of its own images
    assert all(not torch.equal(pools(r0)[k], pools(r1)[k]) for k in pools(r0))
    # the checkpoint carries rank 1's pools and random states beside rank 0's
    ckpt = torch.load(work / 'iter_2.pth', weights_only=True)
    assert len(ckpt['rank_states']) == 2
    saved = ckpt['rank_states'][1]['extra_state']
    assert saved.keys() == pools(r1).keys()
    assert all(v.shape[0] == 2 * 2 for v in saved.values())  # 2 iterations of batch 2


def assert_same(a, b, where):
    """Equal structure and values; tensors bit for bit."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and torch.equal(a, b), f'{where} differs'
    elif isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), where
        for key in a:
            assert_same(a[key], b[key], f'{where}.{key}')
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f'{where}[{i}]')
    else:
        assert a == b, where


def test_dist_train_sh_resumes_where_the_uninterrupted_run_ends(config, uninterrupted,
                                                                tmp_path):
    """tools/dist_train.sh CONFIG 2 --resume from the 2-process run's iter_2 ends with its
    iter_4: rank 0's networks, pools and optimizers, and rank 1's pools and both ranks'
    random states (rank_states)."""
    full_work, _, _ = uninterrupted
    work = tmp_path / 'work'
    work.mkdir()
    (work / 'iter_2.pth').write_bytes((full_work / 'iter_2.pth').read_bytes())
    env = dict(os.environ, PYTHON=sys.executable, PORT=str(free_port()))
    proc = subprocess.run(['bash', str(ROOT / 'tools' / 'dist_train.sh'), str(config), '2',
                           '--work-dir', str(work), '--resume'],
                          capture_output=True, text=True, env=env, timeout=600)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-3000:]
    assert 'resumed epoch: 0, iter: 2' in log and 'continues from rank 0' not in log
    a = torch.load(full_work / f'iter_{N_ITERS}.pth', weights_only=True)
    b = torch.load(work / f'iter_{N_ITERS}.pth', weights_only=True)
    assert b['meta']['iter'] == N_ITERS and len(b['rank_states']) == 2
    for key in ('state_dict', 'optimizer', 'random_states', 'rank_states'):
        assert_same(a[key], b[key], key)


def test_network_ddps_stay_out_of_the_state_dict():
    """A wrapped model's state dict has the plain model's keys and loads back through torch's
    loader and MMEngine's (a one-process gloo group, in this process)."""
    import torch.distributed as dist
    from mmengine.runner.checkpoint import load_state_dict

    from cyclegan_plugin.engine import CycleGANDistributedDataParallel
    from cyclegan_plugin.registry import MODELS

    tiny = dict(type='CycleGAN', generator=dict(type='ResnetGenerator', ngf=4, n_blocks=1),
                discriminator=dict(type='PatchDiscriminator', ndf=4, n_layers=2))
    torch.manual_seed(0)
    plain = MODELS.build(tiny).state_dict()
    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{free_port()}', rank=0,
                            world_size=1)
    try:
        torch.manual_seed(1)
        wrapped = CycleGANDistributedDataParallel(MODELS.build(tiny)).module
        assert set(wrapped.state_dict()) == set(plain)
        wrapped.load_state_dict(plain, strict=True)
        assert all(torch.equal(v, plain[k]) for k, v in wrapped.state_dict().items())
        torch.manual_seed(1)
        wrapped = CycleGANDistributedDataParallel(MODELS.build(tiny)).module
        load_state_dict(wrapped, plain, strict=True)  # raises on any missing key
        assert all(torch.equal(v, plain[k]) for k, v in wrapped.state_dict().items())
    finally:
        dist.destroy_process_group()


def test_a_nan_in_one_process_is_skipped_by_all(config, tmp_path):
    """model.nonfinite='skip' with a NaN loss in rank 1 only: both processes skip that
    iteration (one skipping its backward alone would leave the other waiting for ever) and
    end with identical networks."""
    poisoned = tmp_path / 'poisoned.py'
    poisoned.write_text(config.read_text() + '''
custom_imports = dict(imports=['cyclegan_plugin', 'tests.tools.nan_hook'],
                      allow_failed_imports=False)
model = dict(nonfinite='skip')
custom_hooks = [dict(type='PoisonOnceHook', iteration=2, rank=1)]
''')
    (r0, r1), log = torchrun(poisoned, tmp_path / 'work', tmp_path / 'out')
    assert f'Iter(train) [{N_ITERS}/{N_ITERS}]' in log
    # rank 0's log (MMEngine shows rank 1's errors only): its own losses were finite
    assert 'skipped the update of the generators at iteration 2: finite here' in log
    assert_equal(networks(r0), networks(r1), 'rank 0 vs rank 1')
    assert all(torch.isfinite(v).all() for v in networks(r0).values()
               if v.is_floating_point())
