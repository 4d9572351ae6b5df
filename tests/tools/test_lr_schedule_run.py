"""The reference's learning-rate policy in a real run of tools/train.py, and after a resume:
the rate logged at every iteration is the reference's rule for that iteration's epoch, the
epoch being the data set's length (max(|A|, |B|) = 4 images here), read from the data."""
import glob
import json
import os.path as osp
import shutil
import subprocess
import sys

from ..conftest import ROOT, tiny_demo_config

EPOCHS, EPOCH_LENGTH = 5, 4  # constant for 2 epochs, then lowered 3 times


def reference_factor(epoch, n_epochs, n_epochs_decay):
    """models/networks.py get_scheduler 'linear', epoch_count 1, 0-based epoch."""
    return 1.0 - max(0, epoch + 1 - n_epochs) / float(n_epochs_decay + 1)


def logged_lrs(work_dir):
    lrs = {}
    for path in sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))):
        for line in open(path):
            entry = json.loads(line)
            if 'generators.lr' in entry:
                lrs[entry['iter']] = (entry['generators.lr'], entry['discriminators.lr'])
    return lrs


def train(config, work_dir, *extra):
    proc = subprocess.run([sys.executable, str(ROOT / 'tools' / 'train.py'), str(config),
                           '--work-dir', str(work_dir), *extra], capture_output=True,
                          text=True, timeout=600, cwd=str(ROOT))
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]


def test_rate_at_every_epoch_boundary_follows_the_reference_and_survives_resume(tmp_path):
    config = tiny_demo_config(tmp_path, f'''
train_cfg = dict(_delete_=True, type='cyclegan_plugin.EpochsIterBasedTrainLoop',
                 max_epochs={EPOCHS}, val_interval=1000)
param_scheduler = [dict(type='cyclegan_plugin.ReferenceLinearLR', by_epoch=True,
                        convert_to_iter_based=True)]
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=10))
val_dataloader = val_cfg = val_evaluator = None
custom_hooks = [dict(type='cyclegan_plugin.RandomStateHook'),
                dict(type='cyclegan_plugin.SafeCheckpointHook')]
''', num_train=EPOCH_LENGTH, num_test=1)
    full = tmp_path / 'full'
    train(config, full)
    lrs = logged_lrs(str(full))
    n, d = EPOCHS // 2, EPOCHS - EPOCHS // 2
    assert sorted(lrs) == list(range(1, EPOCHS * EPOCH_LENGTH + 1))
    for it, (g, dsc) in lrs.items():
        expected = 2e-4 * reference_factor((it - 1) // EPOCH_LENGTH, n, d)
        assert abs(g - expected) <= 1e-12 and abs(dsc - expected) <= 1e-12, (it, g, expected)
    assert abs(lrs[EPOCHS * EPOCH_LENGTH][0] - 2e-4 / (d + 1)) <= 1e-12  # not 0

    resumed = tmp_path / 'resumed'
    resumed.mkdir()
    shutil.copy(full / 'iter_10.pth', resumed / 'iter_10.pth')
    train(config, resumed, '--resume', str(resumed / 'iter_10.pth'))
    after = logged_lrs(str(resumed))
    assert sorted(after) == list(range(11, EPOCHS * EPOCH_LENGTH + 1))
    assert all(after[it] == lrs[it] for it in after)
