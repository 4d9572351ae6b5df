"""What a new user types, run as they would (real commands on real files): nothing loses a run,
nothing ends in a traceback, and a tool that did nothing it was asked to do exits non-zero."""
import os
import stat
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from cyclegan_plugin.models import ResnetGenerator

from ..conftest import ROOT, tiny_demo_config

TOOLS = ROOT / 'tools'


def run(name, *args, env=None):
    return subprocess.run([sys.executable, str(TOOLS / f'{name}.py'), *map(str, args)],
                          capture_output=True, text=True, timeout=600, cwd=str(ROOT), env=env)


def last_line(proc):
    return proc.stderr.strip().splitlines()[-1]


@pytest.fixture(scope='module')
def config(tmp_path_factory):
    return tiny_demo_config(tmp_path_factory.mktemp('cfg'), '''
train_cfg = dict(max_iters=2, val_interval=100)
val_dataloader = val_cfg = val_evaluator = None
default_hooks = dict(checkpoint=dict(interval=2), logger=dict(interval=1))
''', num_train=2, num_test=1)


def test_training_into_a_work_dir_with_checkpoints_stops_and_says_how(config, tmp_path):
    work = tmp_path / 'work'
    assert run('train', config, '--work-dir', work).returncode == 0
    ckpt = work / 'iter_2.pth'
    before = ckpt.stat().st_mtime_ns
    again = run('train', config, '--work-dir', work)
    assert again.returncode == 2
    assert '--resume' in last_line(again) and '--overwrite' in last_line(again)
    assert ckpt.stat().st_mtime_ns == before  # nothing replaced
    fresh = run('train', config, '--work-dir', work, '--overwrite')
    assert fresh.returncode == 0, fresh.stderr[-2000:]
    # written with the user's umask (0644 under 022), not mkstemp's 0600
    assert stat.S_IMODE(ckpt.stat().st_mode) == 0o666 & ~_umask()


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_max_iters_carries_the_whole_schedule(tmp_path):
    """--cfg-options train_cfg.max_iters=N on the demo config: constant for N/2 iterations,
    then down to lr / (N/2 + 1) at the last one (it used to stay at 2e-4 throughout)."""
    config = tiny_demo_config(tmp_path, '''
val_dataloader = val_cfg = val_evaluator = None
default_hooks = dict(checkpoint=dict(interval=1000), logger=dict(interval=1))
''', num_train=2, num_test=1)
    proc = run('train', config, '--work-dir', tmp_path / 'w', '--cfg-options',
               'train_cfg.max_iters=8')
    assert proc.returncode == 0, proc.stderr[-2000:]
    import glob
    import json
    lrs = [json.loads(line)['generators.lr']
           for path in glob.glob(str(tmp_path / 'w' / '*' / 'vis_data' / 'scalars.json'))
           for line in open(path) if 'generators.lr' in line]
    assert lrs[:4] == [2e-4] * 4
    assert lrs[-1] == pytest.approx(2e-4 / 5) and len(lrs) == 8


def test_a_missing_data_folder_of_your_own_gets_a_hint_that_works(config, tmp_path):
    proc = run('train', config, '--work-dir', tmp_path / 'w', '--cfg-options',
               'train_dataloader.dataset.data_root=data/nope')
    assert proc.returncode == 2
    assert 'download_dataset.sh' not in last_line(proc)  # 'nope' is no data set it knows
    assert '--cfg-options train_dataloader.dataset.data_root=PATH' in last_line(proc)


@pytest.fixture(scope='module')
def generator_file(tmp_path_factory):
    path = tmp_path_factory.mktemp('g') / 'g.pth'
    torch.manual_seed(0)
    torch.save(ResnetGenerator(ngf=4, n_blocks=1).state_dict(), path)
    return path


def test_translating_only_unreadable_images_fails_and_says_why(generator_file, tmp_path):
    bad = tmp_path / 'broken.png'
    bad.write_bytes(b'\x89PNG\r\n\x1a\n not really')
    proc = run('translate', generator_file, bad, '--out', tmp_path / 'out')
    assert proc.returncode == 1
    assert 'nothing translated' in last_line(proc)
    assert str(bad) in proc.stderr and 'not an image file' in proc.stderr  # the reason
    strict = run('translate', generator_file, bad, '--out', tmp_path / 'out', '--strict')
    assert strict.returncode == 2 and 'not an image file' in last_line(strict)


def test_a_tile_overlap_of_more_than_half_a_tile_is_refused(generator_file, tmp_path):
    image = tmp_path / 'a.png'
    Image.fromarray(np.zeros((40, 40, 3), np.uint8)).save(image)
    proc = run('translate', generator_file, image, '--out', tmp_path / 'out', '--tile-size',
               '128', '--tile-overlap', '200')
    assert proc.returncode == 2
    assert '--tile-overlap 200 must be at most half of --tile-size 128' in last_line(proc)


def test_onnx_backend_translates_tiny_images_like_torch(generator_file, tmp_path):
    """Images smaller than the graph's reflection pads are padded first, as the PyTorch path
    pads them. (A 1x1 image is constant: instance norm then normalises rounding noise, so
    its values are compared on a 2x3 image.)"""
    pytest.importorskip('onnxruntime')
    onnx = tmp_path / 'g.onnx'
    assert run('export_onnx', generator_file, '--out', onnx).returncode == 0
    from cyclegan_plugin.apis import init_model, translate
    for name, hw in (('one', (1, 1)), ('small', (2, 3))):
        path = tmp_path / f'{name}.png'
        Image.fromarray(np.random.default_rng(0).integers(0, 256, hw + (3,), np.uint8)).save(
            path)
        proc = run('translate', onnx, path, '--out', tmp_path / 'out')
        assert proc.returncode == 0, proc.stderr[-2000:]
        out = np.asarray(Image.open(tmp_path / 'out' / f'{name}.png').convert('RGB'))
        assert out.shape == hw + (3,)
        if name == 'small':
            expected = translate(init_model(str(generator_file)), str(path))
            assert np.abs(out.astype(int) - expected).max() <= 1
