"""`_base_ = 'cyclegan_plugin::...'`: our configs as bases of a config anywhere, from a
checkout and from the package that `pip install .` builds (configs inside, in `.mim/`)."""
import subprocess
import sys
import zipfile

import pytest
from mmengine.config import Config

import cyclegan_plugin  # noqa: F401  (teaches Config the prefix)
from cyclegan_plugin.config_base import resolve

from .conftest import ROOT

HOST_CONFIG = '''_base_ = 'cyclegan_plugin::cyclegan_horse2zebra.py'
model = dict(lambda_identity=0.0)
'''


def test_a_config_anywhere_inherits_ours(tmp_path):
    (tmp_path / 'mine.py').write_text(HOST_CONFIG)
    cfg = Config.fromfile(str(tmp_path / 'mine.py'))
    ours = Config.fromfile(str(ROOT / 'configs' / 'cyclegan_horse2zebra.py'))
    assert cfg.model.lambda_identity == 0.0 and ours.model.lambda_identity == 0.5
    assert cfg.train_cfg.max_iters == ours.train_cfg.max_iters
    assert cfg.train_dataloader.dataset.data_root == ours.train_dataloader.dataset.data_root
    # a base from a sub-folder, too
    assert resolve('cyclegan_plugin::_base_/models/cyclegan_resnet9.py').endswith(
        'configs/_base_/models/cyclegan_resnet9.py')


def test_unknown_config_name_says_where_it_looked(tmp_path):
    (tmp_path / 'bad.py').write_text("_base_ = 'cyclegan_plugin::cyclegan_horse2zebrra.py'\n")
    with pytest.raises(FileNotFoundError, match='cyclegan_horse2zebrra.py.*configs'):
        Config.fromfile(str(tmp_path / 'bad.py'))


def test_the_built_package_carries_its_configs(tmp_path):
    """Build the wheel `pip install .` installs, unpack it away from the checkout, and
    inherit from it there."""
    subprocess.run([sys.executable, '-m', 'pip', 'wheel', str(ROOT), '--no-deps',
                    '--no-build-isolation', '-q', '-w', str(tmp_path / 'wheel')],
                   check=True, capture_output=True, timeout=300)
    wheel, = (tmp_path / 'wheel').glob('cyclegan_plugin-*.whl')
    site = tmp_path / 'site'
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        z.extractall(site)
    for name in ('cyclegan_horse2zebra.py', 'cyclegan_mini_horse2zebra.py',
                 '_base_/default_runtime.py', '_base_/models/cyclegan_resnet9.py'):
        assert f'cyclegan_plugin/.mim/configs/{name}' in names, name
    (tmp_path / 'mine.py').write_text(HOST_CONFIG)
    code = ('import cyclegan_plugin, mmengine.config as c, cyclegan_plugin.config_base as b; '
            'cfg = c.Config.fromfile("mine.py"); '
            'print(cfg.model.type, cfg.model.generator.n_blocks, '
            'b.resolve("cyclegan_plugin::cyclegan_horse2zebra.py"))')
    proc = subprocess.run([sys.executable, '-c', code], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, env={'PYTHONPATH': str(site),
                                                       'PATH': '/usr/bin:/bin'})
    assert proc.returncode == 0, proc.stderr[-2000:]
    model_type, n_blocks, path = proc.stdout.split()
    assert (model_type, n_blocks) == ('CycleGAN', '9')
    assert path == str(site / 'cyclegan_plugin' / '.mim' / 'configs' / 'cyclegan_horse2zebra.py')
