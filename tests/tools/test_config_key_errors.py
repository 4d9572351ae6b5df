"""A mistyped config key stops tools/train.py and tools/test.py before the first training
iteration, with a message naming the key: top-level keys through check_config (before the
Runner exists), nested component keys through the classes they build."""
import subprocess
import sys

import pytest

from ..conftest import ROOT, tiny_demo_config


@pytest.fixture(scope='module')
def config(tmp_path_factory):
    """The demo config on 32x32 data, 2 iterations, a checkpoint after each."""
    return tiny_demo_config(tmp_path_factory.mktemp('cfg'), '''
val_dataloader = dict(num_workers=0, dataset=dict(data_root=data_root))
test_dataloader = dict(num_workers=0, dataset=dict(data_root=data_root))
train_cfg = dict(max_iters=2, val_interval=100)
param_scheduler = []
default_hooks = dict(checkpoint=dict(interval=1), logger=dict(interval=1))
custom_hooks = []
''', num_train=4, num_test=2,
                            train_pipeline="[dict(type='LoadImage'), dict(type='PackImage')]")


def train(config, work_dir, *options):
    args = [sys.executable, str(ROOT / 'tools' / 'train.py'), str(config),
            '--work-dir', str(work_dir)]
    if options:
        args += ['--cfg-options', *options]
    return subprocess.run(args, capture_output=True, text=True, cwd=str(ROOT), timeout=300)


def assert_no_training(work_dir):
    assert not list(work_dir.rglob('*.pth'))
    assert not any('Iter(train)' in log.read_text() for log in work_dir.rglob('*.log'))


def test_mistyped_top_level_key_stops_train_before_the_runner(config, tmp_path):
    cfg = tmp_path / 'typo.py'
    cfg.write_text(config.read_text() + 'train_cfgg = dict(max_iters=1)\n')
    proc = train(cfg, tmp_path / 'work')
    assert proc.returncode != 0
    assert ("config key 'train_cfgg' is not used by MMEngine's Runner; did you mean "
            "'train_cfg'?") in proc.stderr
    assert str(cfg) in proc.stderr
    assert not (tmp_path / 'work').exists()  # nothing was built


def test_mistyped_key_stops_test_tool(config, tmp_path):
    ckpt = tmp_path / 'never_loaded.pth'
    ckpt.write_bytes(b'')
    proc = subprocess.run(
        [sys.executable, str(ROOT / 'tools' / 'test.py'), str(config), str(ckpt),
         '--work-dir', str(tmp_path / 'work'), '--cfg-options', 'test_evaluators.type=x'],
        capture_output=True, text=True, cwd=str(ROOT), timeout=300)
    assert proc.returncode != 0
    assert "'test_evaluators'" in proc.stderr and "did you mean 'test_evaluator'?" in proc.stderr
    assert not (tmp_path / 'work').exists()


@pytest.mark.parametrize('option,key,suggestion', [
    ('model.lamda_A=5.0', 'model.lamda_A', 'lambda_A'),
    ('train_dataloader.dataset.dat_root=x', 'train_dataloader.dataset.dat_root', 'data_root'),
    ('default_hooks.checkpoint.intervl=5', 'default_hooks.checkpoint.intervl', 'interval'),
    ('train_cfg.max_iter=5', 'train_cfg.max_iter', 'max_iters'),
    ('model.gan_loss.gan_mod=lsgan', 'model.gan_loss.gan_mod', 'gan_mode'),
    ('optim_wrapper.generators.optimizer.betass=0.5', 'optim_wrapper.generators.optimizer.betass',
     'betas'),
    ('train_dataloader.num_worker=0', 'train_dataloader.num_worker', 'num_workers'),
])
def test_mistyped_nested_key_stops_train_before_anything_runs(config, tmp_path, option, key,
                                                               suggestion):
    """Checked against the signature of the class each dict builds, before the Runner: the
    checkpoint hook's typo used to train and then crash at the first save."""
    work = tmp_path / 'work'
    proc = train(config, work, option)
    assert proc.returncode == 2, proc.stderr[-2000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert f"config key '{key}'" in last and f"did you mean '{suggestion}'?" in last, last
    assert 'Traceback' not in proc.stderr
    assert not work.exists()  # nothing was built


def test_num_workers_zero_needs_no_other_key(config, tmp_path):
    """--cfg-options train_dataloader.num_workers=0 on a config with persistent workers."""
    cfg = tmp_path / 'persistent.py'
    cfg.write_text(config.read_text()
                   + 'train_dataloader.update(num_workers=1, persistent_workers=True)\n'
                   + 'val_dataloader = val_cfg = val_evaluator = None\n')
    proc = train(cfg, tmp_path / 'work', 'train_dataloader.num_workers=0')
    assert proc.returncode == 0, proc.stderr[-2000:]
