"""Our configs under a host's default scope: a host config inherits each of them whole and
keeps its own ``default_scope``; the Runner builds everything (model, loaders, hooks,
evaluator, loops, visualizer) and runs 2 iterations and a validation. The host registers a
``CycleGAN`` of its own, as MMagic does; ours is the one built. The host script never imports
us before ``Config.fromfile`` and runs from a folder outside the checkout."""
import os
import subprocess
import sys

import pytest

from cyclegan_plugin.demo import build_demo_dataset

from .conftest import ROOT

HOST = ROOT / 'tests' / 'data' / 'host_project'
CONFIGS = sorted(p.stem for p in (ROOT / 'configs').glob('cyclegan_*.py'))

# small networks and 2 iterations: what is tested is that every name resolves (a U-Net
# generator, the demo's, gets the fewest levels that fit the 32x32 images)
SHRINK = '''
model.merge(dict(generator=dict(ngf=8, num_downs=5)
                 if str(model.generator.get('type')).endswith('UnetGenerator')
                 else dict(ngf=8, n_blocks=1),
                 discriminator=dict(ndf=8, n_layers=1), compile=False))
train_dataloader.merge(dict(num_workers=0, persistent_workers=False,
                            dataset=dict(data_root=DATA)))
val_dataloader.merge(dict(num_workers=0, dataset=dict(data_root=DATA)))
test_dataloader.merge(dict(num_workers=0, dataset=dict(data_root=DATA)))
train_cfg.merge(dict(max_iters=2, val_interval=2))
default_hooks.merge(dict(logger=dict(interval=1), checkpoint=dict(interval=2)))
'''
NEW_STYLE = '''from mmengine.config import read_base

with read_base():
    from cyclegan_plugin.configs.{name} import *  # noqa: F401,F403

default_scope = 'host_pkg'
custom_imports = dict(imports=['host_pkg', 'cyclegan_plugin'], allow_failed_imports=False)
DATA = {data!r}
''' + SHRINK
TEXT_STYLE = '''_base_ = [{base!r}]
default_scope = 'host_pkg'
custom_imports = dict(imports=['host_pkg', 'cyclegan_plugin'], allow_failed_imports=False)
model = dict(generator=dict(ngf=8, n_blocks=1), discriminator=dict(ndf=8, n_layers=1))
train_dataloader = dict(num_workers=0, persistent_workers=False,
                        dataset=dict(data_root={data!r}))
val_dataloader = dict(num_workers=0, dataset=dict(data_root={data!r}))
test_dataloader = dict(num_workers=0, dataset=dict(data_root={data!r}))
train_cfg = dict(max_iters=2, val_interval=2)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=2))
'''
SCRIPT = r'''
import os, sys
from mmengine.config import Config
from mmengine.runner import Runner
assert 'cyclegan_plugin' not in sys.modules
for path in sys.argv[1:]:
    cfg = Config.fromfile(path)
    assert cfg.default_scope == 'host_pkg'
    for evaluator in (cfg.val_evaluator, cfg.test_evaluator):  # the demo metric's own data
        for metric in evaluator.metrics:
            if 'data_root' in metric:
                metric.data_root = cfg.train_dataloader.dataset.data_root
            if str(metric.type).endswith('FIDKID'):  # the _plus configs: FID on 2 images
                metric.update(dims=64, kid_subsets=2, kid_subset_size=2)
    cfg.work_dir = os.path.join(os.path.dirname(path), 'work_' + os.path.basename(path)[:-3])
    runner = Runner.from_cfg(cfg)
    runner.train()
    from cyclegan_plugin.models import CycleGAN
    assert type(runner.model) is CycleGAN, type(runner.model)
    assert runner.train_loop.iter == 2
    assert 'val/cycle/l1_A' in runner.message_hub.log_scalars  # the validation ran
    print('OK', os.path.basename(path), type(runner.model).__module__, flush=True)
'''


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp('foreign') / 'mini_horse2zebra'
    build_demo_dataset(str(root), size=32, num_train=2, num_test=2, seed=5)
    return str(root)


def _run(folder, paths, site, inception_weights):
    # the host package and ours as a host installs it (the built wheel); the seeded Inception
    # weights of the fixtures for the configs that validate with FID
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), str(HOST)]),
               CYCLEGAN_INCEPTION_WEIGHTS=inception_weights)
    proc = subprocess.run([sys.executable, '-c', SCRIPT, *map(str, paths)], cwd=str(folder),
                          capture_output=True, text=True, env=env, timeout=1200)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-5000:]
    return out


def test_every_new_style_config_builds_and_trains_under_a_foreign_scope(tmp_path, data,
                                                                       installed_site,
                                                                       weights_file):
    paths = []
    for name in CONFIGS:
        path = tmp_path / f'host_{name}.py'
        path.write_text(NEW_STYLE.format(name=name, data=data))
        paths.append(path)
    out = _run(tmp_path, paths, installed_site[0], weights_file)
    for name in CONFIGS:
        assert f'OK host_{name}.py cyclegan_plugin.models.cyclegan' in out, out[-3000:]


def test_a_text_style_config_builds_and_trains_under_a_foreign_scope(tmp_path, data,
                                                                   installed_site,
                                                                   weights_file):
    path = tmp_path / 'host_text.py'
    path.write_text(TEXT_STYLE.format(base=str(ROOT / 'configs' / 'cyclegan_maps.py'),
                                      data=data))
    assert 'OK host_text.py' in _run(tmp_path, [path], installed_site[0], weights_file)
