"""A NaN loss met by the real Runner (tools/train.py): by default training stops naming the
term and the iteration, and no checkpoint is written from that iteration on; with
model.nonfinite='skip' the iteration is skipped, counted in the log, and training goes on."""
import json
import os
import subprocess
import sys

import pytest
import torch

from ..conftest import ROOT, tiny_demo_config

# the test hook is imported by the config, from this checkout's tests package
ENV = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=str(ROOT))


@pytest.fixture(scope='module')
def config(tmp_path_factory):
    return tiny_demo_config(tmp_path_factory.mktemp('nonfinite'), '''
custom_imports = dict(imports=['cyclegan_plugin', 'tests.tools.nan_hook'],
                      allow_failed_imports=False)
val_dataloader = None
val_cfg = None
val_evaluator = None
train_cfg = dict(max_iters=5, val_interval=1000)
param_scheduler = []
default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=10), logger=dict(interval=1))
custom_hooks = [dict(type='SafeCheckpointHook'), dict(type='PoisonOnceHook', iteration=3)]
''', num_train=4, num_test=2)


def train(config, work, *options):
    cmd = [sys.executable, str(ROOT / 'tools' / 'train.py'), str(config), '--work-dir',
           str(work)]
    if options:
        cmd += ['--cfg-options', *options]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=str(ROOT), env=ENV,
                          timeout=300)


def test_nan_stops_training_and_writes_no_checkpoint_from_it(config, tmp_path):
    proc = train(config, tmp_path)
    assert proc.returncode != 0
    err = proc.stdout + proc.stderr
    assert 'FloatingPointError' in err and 'at iteration 3' in err and 'loss_G_A=nan' in err
    assert sorted(p.name for p in tmp_path.glob('iter_*.pth')) == ['iter_1.pth', 'iter_2.pth']


def test_skip_policy_skips_counts_and_goes_on(config, tmp_path):
    proc = train(config, tmp_path, "model.nonfinite=skip")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'skipped the update of the generators at iteration 3' in proc.stdout + proc.stderr
    records = [json.loads(line) for line in
               next(tmp_path.glob('*/vis_data/scalars.json')).read_text().splitlines()]
    train_lines = [r for r in records if 'iter' in r]
    assert [r['iter'] for r in train_lines] == [1, 2, 3, 4, 5]
    assert [r['skipped_steps'] for r in train_lines] == [0, 0, 1, 1, 1]
    assert all('loss_G' in r for r in train_lines if r['iter'] != 3)
    state = torch.load(tmp_path / 'iter_5.pth', weights_only=True)['state_dict']
    assert all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())
