"""Exact resume after a real kill: tools/train.py is killed with SIGKILL at a moment nobody
chose (mid-iteration, mid-log, mid-save: wherever it lands), or while a checkpoint save is held
open; ``--resume`` then continues from the newest whole checkpoint, and after N iterations
the weights, image pools, optimizer and scheduler states and random states equal those of an
uninterrupted N-iteration run bit for bit (CPU, deterministic settings)."""
import os
import random
import re
import signal
import subprocess
import sys
import time

import pytest
import torch

from cyclegan_plugin.io import newest_loadable_checkpoint

from ..conftest import ROOT, tiny_demo_config

N_ITERS, INTERVAL = 16, 4  # checkpoints at 4, 8, 12 and 16; two are kept
# one thread per process: several training processes share the CPU here, and the results
# only have to agree between runs made the same way
ENV = dict(os.environ, OMP_NUM_THREADS='1')


@pytest.fixture(scope='module')
def config(tmp_path_factory):
    return str(tiny_demo_config(tmp_path_factory.mktemp('kill_resume'), f'''
train_cfg = dict(max_iters={N_ITERS}, val_interval=1000)
val_dataloader = None
val_cfg = None
val_evaluator = None
param_scheduler = [dict(type='LinearLR', start_factor=1.0, end_factor=0.0, by_epoch=False,
                        begin=6, end={N_ITERS})]
default_hooks = dict(checkpoint=dict(interval={INTERVAL}, max_keep_ckpts=2),
                     logger=dict(interval=1))
randomness = dict(seed=5, deterministic=True)
custom_hooks = [dict(type='RandomStateHook'), dict(type='SafeCheckpointHook')]
'''))


def start(script, config, work, log, *args, env=ENV):
    with open(log, 'w') as out:
        return subprocess.Popen([sys.executable, str(script), config, '--work-dir', str(work),
                                 *args], stdout=out, stderr=subprocess.STDOUT, cwd=str(ROOT),
                                env=env)


def train(config, work, *args):
    log = work.parent / f'{work.name}.log'
    proc = start(ROOT / 'tools' / 'train.py', config, work, log, *args)
    assert proc.wait(timeout=600) == 0, log.read_text()[-3000:]
    return log.read_text()


def wait_until(condition, proc, log, timeout=300):
    deadline = time.monotonic() + timeout
    while not condition():
        assert proc.poll() is None, f'training ended before the kill:\n{log.read_text()[-3000:]}'
        assert time.monotonic() < deadline, log.read_text()[-3000:]
        time.sleep(0.002)


def kill(proc):
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait(timeout=60) == -signal.SIGKILL


def saved_iters(work):
    return sorted(int(m.group(1)) for m in map(re.compile(r'iter_(\d+)\.pth').fullmatch,
                                               os.listdir(work)) if m)


def load(path):
    return torch.load(path, map_location='cpu', weights_only=True)


def assert_same(a, b, where):
    """Equal structure and values; tensors bit for bit."""
    if isinstance(a, torch.Tensor):
        equal = isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
        assert equal, f'{where} differs'
    elif isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), where
        for key in a:
            assert_same(a[key], b[key], f'{where}.{key}')
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f'{where}[{i}]')
    else:
        assert a == b, where


def assert_same_training_state(full, resumed, context=''):
    a, b = load(full), load(resumed)
    assert a['meta']['iter'] == b['meta']['iter'] == N_ITERS
    # weights and both image pools (extra state of the model), both optimizers, the
    # schedulers, and the random generators after the last iteration
    for key in ('state_dict', 'optimizer', 'param_schedulers', 'random_states'):
        assert_same(a[key], b[key], f'{context}: {key}')
    # the pools (50 images) hold every fake image so far: they were compared above
    assert b['state_dict']['fake_A_pool._extra_state'].shape[0] == N_ITERS


def resumed_from(log_text):
    found = re.findall(r'resumed epoch: \d+, iter: (\d+)', log_text)
    assert len(found) == 1, log_text[-3000:]
    return int(found[0])


@pytest.fixture(scope='module')
def uninterrupted(config, tmp_path_factory):
    work = tmp_path_factory.mktemp('full') / 'work'
    train(config, work)
    return work / f'iter_{N_ITERS}.pth'


def test_kill_at_a_random_moment_then_resume_is_bit_exact(config, uninterrupted, tmp_path):
    # a different moment on every run; the outcome must not depend on it
    rng = random.Random()
    after_iter, delay = rng.randint(INTERVAL + 1, N_ITERS - INTERVAL - 1), rng.uniform(0, 0.05)
    moment = f'killed {delay * 1000:.0f} ms after iteration {after_iter} was logged'
    work, log = tmp_path / 'work', tmp_path / 'killed.log'
    proc = start(ROOT / 'tools' / 'train.py', config, work, log)
    logged = re.compile(rf'Iter\(train\) \[\s*{after_iter}/{N_ITERS}\]')
    wait_until(lambda: logged.search(log.read_text()), proc, log)
    time.sleep(delay)
    kill(proc)

    saved = saved_iters(work)
    assert saved and saved[-1] < N_ITERS, (moment, saved)  # it really stopped mid-run
    text = train(config, work, '--resume')
    assert resumed_from(text) == saved[-1], moment
    assert_same_training_state(uninterrupted, work / f'iter_{N_ITERS}.pth', moment)


def test_kill_during_a_checkpoint_save_then_resume_is_bit_exact(config, uninterrupted,
                                                                tmp_path):
    """The save of iter_12 is held between its temporary file and the rename (MMEngine has
    already deleted iter_4 to keep two); a kill there leaves iter_8 and last_checkpoint
    whole, resume takes iter_8 and clears the temporary file."""
    work, log, marker = tmp_path / 'work', tmp_path / 'killed.log', tmp_path / 'paused'
    env = dict(ENV, PAUSE_SAVE_AT='iter_12.pth', PAUSE_MARKER=str(marker))
    proc = start(ROOT / 'tests' / 'tools' / 'pausing_train.py', config, work, log, env=env)
    wait_until(lambda: marker.exists() and marker.read_text(), proc, log)
    tmp = marker.read_text()
    assert os.path.getsize(tmp) > 0 and os.path.dirname(tmp) == str(work)
    kill(proc)

    assert saved_iters(work) == [8]  # iter_4 deleted before the save, iter_12 never named
    assert os.path.exists(tmp)
    pointer = (work / 'last_checkpoint').read_text()
    assert pointer == str(work / 'iter_8.pth') and load(pointer)['meta']['iter'] == 8
    assert newest_loadable_checkpoint(str(work)) == pointer
    text = train(config, work, '--resume')
    assert resumed_from(text) == 8
    assert not os.path.exists(tmp) and 'left by a save that was interrupted' in text
    assert_same_training_state(uninterrupted, work / f'iter_{N_ITERS}.pth', 'killed mid-save')
