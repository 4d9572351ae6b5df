"""Two processes on the CPU (torchrun, gloo): they train different data with averaged
gradients, so after N iterations both hold the same networks."""
import os
import subprocess
import sys

import torch

from cyclegan_plugin.datasets import build_demo_dataset

from ..conftest import ROOT


def test_two_process_cpu_training_keeps_ranks_identical(tmp_path):
    data = tmp_path / 'data'
    build_demo_dataset(str(data), size=32, num_train=8, num_test=2, seed=2)
    config = tmp_path / 'cfg.py'
    config.write_text(f'''
_base_ = [{str(ROOT / 'configs' / 'cyclegan_mini_horse2zebra.py')!r}]
data_root = {str(data)!r}
model = dict(generator=dict(ngf=8, n_blocks=1), discriminator=dict(ndf=8, n_layers=2))
train_pipeline = [dict(type='LoadImage'),
                  dict(type='RandomFlip', prob=0.5, direction='horizontal'),
                  dict(type='PackImage')]
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
                        dataset=dict(data_root=data_root, pipeline=train_pipeline))
train_cfg = dict(max_iters=3, val_interval=1000)
param_scheduler = []
default_hooks = dict(checkpoint=dict(interval=1000), logger=dict(interval=1))
val_dataloader = None
val_cfg = None
val_evaluator = None
''')
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=2',
         '--master_port=29731', str(ROOT / 'tests' / 'engine' / 'dist_check.py'),
         str(config), str(tmp_path / 'work'), str(tmp_path)],
        capture_output=True, text=True, env=env, cwd=str(ROOT), timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    r0 = torch.load(tmp_path / 'rank0.pth', weights_only=True)
    r1 = torch.load(tmp_path / 'rank1.pth', weights_only=True)
    assert r0.keys() == r1.keys() and len(r0) > 0
    for key in r0:
        assert torch.equal(r0[key], r1[key]), key
    # and they did train: the weights moved away from the seeded initialisation
    assert 'Iter(train) [3/3]' in proc.stdout + proc.stderr
