"""Mix-in: a separate host project (tests/data/host_project, its own package and registry
scope) trains our CycleGAN through its own config and uses our generator in its own model."""
import os
import subprocess
import sys

import torch

from cyclegan_plugin.demo import build_demo_dataset

from .conftest import ROOT

HOST = ROOT / 'tests' / 'data' / 'host_project'

SCRIPT = r'''
import sys
from mmengine.config import Config
from mmengine.runner import Runner
cfg = Config.fromfile(sys.argv[1])
cfg.train_dataloader.dataset.data_root = sys.argv[2]
cfg.work_dir = sys.argv[3]
runner = Runner.from_cfg(cfg)
runner.train()
from mmengine.registry import MODELS
from mmengine.registry import DefaultScope
other = Config.fromfile(sys.argv[4])
with DefaultScope.overwrite_default_scope('host_pkg'):
    import host_pkg
    model = host_pkg.MODELS.build(other.model)
import cyclegan_plugin.models as ours
assert type(model).__module__ == 'host_pkg' and isinstance(model.generator, ours.ResnetGenerator)
print('HOST OK')
'''


def test_host_project_trains_our_cyclegan_and_uses_our_generator(tmp_path):
    data = tmp_path / 'data'
    build_demo_dataset(str(data), size=32, num_train=4, num_test=2, seed=3)
    env = dict(os.environ, PYTHONPATH=str(HOST))  # the host package, not our checkout
    proc = subprocess.run(
        [sys.executable, '-c', SCRIPT, str(HOST / 'configs' / 'host_cyclegan.py'), str(data),
         str(tmp_path / 'work'), str(HOST / 'configs' / 'host_restorer.py')],
        capture_output=True, text=True, cwd=str(tmp_path), env=env, timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert 'HOST OK' in out and 'Iter(train) [2/2]' in out
    # the host's own scope lacks registries (its business); ours never falls back
    assert 'with scope "cyclegan_plugin"' not in out
    ckpt = torch.load(tmp_path / 'work' / 'iter_2.pth', weights_only=True)
    assert any(k.startswith('generators.a2b.') for k in ckpt['state_dict'])
