"""Shared test fixtures: where the reference fixtures live, and a quiet default scope."""
import os
from pathlib import Path

import pytest

if os.environ.get('PYTEST_XDIST_WORKER'):
    # `make test` runs the suite in several processes: one thread each (torch, BLAS and the
    # commands the tests start), or their thread pools fight over the cores
    for _name in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'OPENBLAS_NUM_THREADS'):
        os.environ[_name] = '1'

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ROOT / 'tools'


def load_tool(name: str):
    """A script of tools/ as a module, loaded afresh (its own ``_common`` too, so run its
    ``main`` through ``module.run_tool`` to get the exit code a user would)."""
    import importlib.util
    import sys
    if str(TOOLS) not in sys.path:
        sys.path.insert(0, str(TOOLS))
    spec = importlib.util.spec_from_file_location(f'tools_{name}', TOOLS / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tool_main(name: str):
    """``argv -> exit code`` of a tool, as its command line runs it."""
    module = load_tool(name)
    return lambda argv=None: module.run_tool(module.main, argv)


#: the repository's own trimmed copy of the reference fixtures (tools/trim_reference_fixtures.py)
BUNDLED_REFERENCE = ROOT / 'tests' / 'data' / 'reference'


def reference_dir() -> Path:
    """The reference fixture folder: $CYCLEGAN_REFERENCE_DIR (any set of the same layout,
    trimmed or full), else the repository's own copy."""
    return Path(os.environ.get('CYCLEGAN_REFERENCE_DIR', BUNDLED_REFERENCE))


@pytest.fixture(scope='session')
def reference_root() -> Path:
    path = reference_dir()
    if not (path / 'cyclegan').is_dir() or not (path / 'fid').is_dir():
        pytest.fail(f'reference fixtures not found at {path}: CYCLEGAN_REFERENCE_DIR must be '
                    'a folder that holds cyclegan/ and fid/ (unset, the tests use '
                    f'{BUNDLED_REFERENCE})')
    return path


@pytest.fixture(autouse=True, scope='session')
def cyclegan_default_scope():
    """Tests build components the way a config does: by name, in the cyclegan_plugin scope."""
    import cyclegan_plugin  # noqa: F401  (registers every component)
    from mmengine.registry import DefaultScope
    if DefaultScope.get_current_instance() is None:
        DefaultScope.get_instance('cyclegan_plugin_tests', scope_name='cyclegan_plugin')
    yield


@pytest.fixture(scope='session')
def ref(reference_root) -> Path:
    """The FID fixtures: reference/fid (images, statistics, pytorch-fid's results)."""
    return reference_root / 'fid'


@pytest.fixture(scope='session')
def results(ref) -> dict:
    """pytorch-fid's recorded numbers (reference/fid/results.json)."""
    import json
    return json.loads((ref / 'results.json').read_text())


@pytest.fixture(scope='session')
def weights_file(tmp_path_factory, results) -> str:
    """FID Inception weights made by the fixture README's seeded rule, written once."""
    import torch
    from cyclegan_plugin.evaluation.inception import seeded_inception_state_dict
    seed = results['weights']['seed']
    path = tmp_path_factory.getbasetemp() / f'seeded_inception_{seed}.pth'
    if not path.exists():
        torch.save(seeded_inception_state_dict(seed), path)
    return str(path)


DEMO_CONFIG = ROOT / 'configs' / 'cyclegan_mini_horse2zebra_paper.py'
#: the demo's random crop and flip, for 32x32 images
TINY_TRAIN_PIPELINE = '''[
    dict(type='LoadImage'),
    dict(type='Resize', scale=(36, 36), keep_ratio=False, interpolation='bicubic',
         backend='pillow'),
    dict(type='RandomCrop', crop_size=32),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackImage'),
]'''


def tiny_demo_config(folder: Path, settings: str, num_train: int = 8, num_test: int = 3,
                     train_pipeline: str = TINY_TRAIN_PIPELINE) -> Path:
    """The demo config shrunk for tests that run the tools: 32x32 demo data built in
    ``folder/mini_horse2zebra``, slim networks, no loader workers; ``settings`` holds the
    test's own config lines (iterations, hooks, evaluators...)."""
    from cyclegan_plugin.demo import build_demo_dataset
    root = folder / 'mini_horse2zebra'
    build_demo_dataset(str(root), size=32, num_train=num_train, num_test=num_test, seed=1)
    path = folder / 'tiny.py'
    path.write_text(f'''_base_ = [{str(DEMO_CONFIG)!r}]
data_root = {str(root)!r}
model = dict(generator=dict(ngf=8, n_blocks=2), discriminator=dict(ndf=8))
train_pipeline = {train_pipeline}
train_dataloader = dict(num_workers=0, persistent_workers=False,
                        dataset=dict(data_root=data_root, pipeline=train_pipeline))
# the demo metric reads the masks of this set, not of data/mini_horse2zebra
val_evaluator = dict(type='mmengine.Evaluator', metrics=[
    dict(type='cyclegan_plugin.CycleConsistencyMetric'),
    dict(type='cyclegan_plugin.MiniHorse2ZebraMetric', data_root=data_root)])
test_evaluator = val_evaluator
''' + settings)
    return path


@pytest.fixture(scope='session')
def installed_site(tmp_path_factory):
    """The wheel ``pip install .`` builds, unpacked into a folder away from the checkout (put
    it first on PYTHONPATH): (folder, names in the wheel)."""
    import subprocess
    import sys
    import zipfile
    import shutil
    tmp = tmp_path_factory.mktemp('wheel')
    # built from a copy: setuptools writes build/ and .mim/ into the tree it builds
    source = tmp / 'source'
    skip = shutil.ignore_patterns('__pycache__', '.mim', '*.egg-info')
    for name in ('cyclegan_plugin', 'configs', 'tools'):
        shutil.copytree(ROOT / name, source / name, ignore=skip)
    for name in ('setup.py', 'pyproject.toml', 'README.md'):
        shutil.copy(ROOT / name, source / name)
    subprocess.run([sys.executable, '-m', 'pip', 'wheel', str(source), '--no-deps',
                    '--no-build-isolation', '-q', '-w', str(tmp / 'wheel')],
                   check=True, capture_output=True, timeout=600)
    wheel, = (tmp / 'wheel').glob('cyclegan_plugin-*.whl')
    site = tmp / 'site'
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        z.extractall(site)
    return site, names
