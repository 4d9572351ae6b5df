"""Our configs as bases of a host config anywhere: the pure-Python ones inside the package
(``from cyclegan_plugin.configs.x import *``), read by MMEngine with no prior import of us and
no patch, from the package that ``pip install .`` builds. (MMEngine finds a package's
pure-Python configs through its install folder, which a PEP 660 editable install lacks: these
tests use the built package, as a host installs it.)"""
import os
import subprocess
import sys

from .conftest import ROOT

HOST_CONFIG = '''from mmengine.config import read_base

with read_base():
    from cyclegan_plugin.configs.cyclegan_horse2zebra import *  # noqa: F401,F403

model.merge(dict(lambda_identity=0.0))
'''
SCRIPT = r'''
import sys
from mmengine.config import Config
cfg = Config.fromfile('host.py')
assert 'cyclegan_plugin' not in sys.modules, 'the config import ran our package'
import cyclegan_plugin
print(cfg.model.type, cfg.model.lambda_identity, cfg.train_cfg.max_epochs,
      cfg.train_dataloader.dataset.data_root, cyclegan_plugin.__file__)
'''


def test_generated_configs_are_up_to_date():
    proc = subprocess.run([sys.executable, str(ROOT / 'tools' / 'make_py_configs.py'),
                           '--check'], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_both_styles_are_the_same_configs():
    from mmengine.config import Config
    for path in sorted((ROOT / 'configs').rglob('*.py')):
        rel = path.relative_to(ROOT / 'configs')
        text = Config.fromfile(str(path)).to_dict()
        pure = Config.fromfile(str(ROOT / 'cyclegan_plugin' / 'configs' / rel)).to_dict()
        assert text == pure, rel


def test_the_built_package_carries_its_configs(tmp_path, installed_site):
    site, names = installed_site
    for name in ('cyclegan_horse2zebra.py', 'cyclegan_mini_horse2zebra.py',
                 '_base_/default_runtime.py', '_base_/models/cyclegan_resnet9.py'):
        assert f'cyclegan_plugin/configs/{name}' in names, name
        assert f'cyclegan_plugin/.mim/configs/{name}' in names, name
    (tmp_path / 'host.py').write_text(HOST_CONFIG)
    proc = subprocess.run([sys.executable, '-c', SCRIPT], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120,
                          env=dict(os.environ, PYTHONPATH=str(site)))
    assert proc.returncode == 0, proc.stderr[-3000:]
    model_type, identity, epochs, root, path = proc.stdout.split()
    assert (model_type, identity, epochs, root) == ('cyclegan_plugin.CycleGAN', '0.0', '200',
                                                    'data/horse2zebra')
    assert path == str(site / 'cyclegan_plugin' / '__init__.py')
