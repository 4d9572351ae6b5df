"""Every tool, every bad checkpoint: one line on stderr that names the file, gives the reason
and says what to do; the same exit code (2) in every tool; no traceback unless --debug; and no
file the user had is changed.

The whole matrix runs each tool's own main() in this process (the same code as the command
line, without an interpreter start per case); one case per tool also runs as a real command.
"""
import hashlib
import subprocess
import sys
from collections import OrderedDict

import pytest
import torch

from cyclegan_plugin.models import PatchDiscriminator, ResnetGenerator

from ..conftest import ROOT, TOOLS, tiny_demo_config, tool_main



class _Evil:
    def __reduce__(self):
        return (print, ('this ran at load time',))


def make(kind, folder):
    """A bad checkpoint of ``kind`` in ``folder``: its path and the reason's key word."""
    path = folder / f'{kind}.pth'
    if kind == 'missing':
        return path, 'does not exist'
    if kind == 'text':
        path.write_text('this is a text file\n')
        return path, 'text file'
    if kind == 'empty':
        path.write_bytes(b'')
        return path, 'empty'
    if kind == 'truncated':
        torch.save(ResnetGenerator(ngf=4, n_blocks=1).state_dict(), path)
        path.write_bytes(path.read_bytes()[:3000])
        return path, 'truncated'
    if kind == 'layout':
        torch.save(PatchDiscriminator(ndf=4, n_layers=1).state_dict(), path)
        return path, 'patch'  # a discriminator's layout (PatchGAN)
    if kind == 'untrusted':
        torch.save(OrderedDict(w=torch.zeros(1), note=_Evil()), path)
        return path, 'trust'
    raise ValueError(kind)


KINDS = ['missing', 'text', 'empty', 'truncated', 'layout', 'untrusted']


@pytest.fixture(scope='module')
def config(tmp_path_factory):
    return str(tiny_demo_config(tmp_path_factory.mktemp('cfg'), 'train_cfg = dict(max_iters=2)\n'))


def argv_for(name, ckpt, folder, config):
    return {
        'translate': [str(ckpt), str(ROOT / 'README.md'), '--out', str(folder / 'out')],
        'export_onnx': [str(ckpt), '--out', str(folder / 'g.onnx')],
        'convert_checkpoint': [str(ckpt), str(folder / 'converted.pth'), '--to', 'ours'],
        'test': [config, str(ckpt), '--work-dir', str(folder / 'work')],
        'train': [config, '--resume', str(ckpt), '--work-dir', str(folder / 'work')],
    }[name]


def snapshot(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob('*')) if p.is_file()}


@pytest.mark.parametrize('kind', KINDS)
@pytest.mark.parametrize('name', ['translate', 'export_onnx', 'convert_checkpoint', 'test',
                                  'train'])
def test_every_tool_reports_a_bad_checkpoint_in_one_line(tmp_path, capsys, config, name, kind):
    ckpt, reason = make(kind, tmp_path)
    before = snapshot(tmp_path)
    code = tool_main(name)(argv_for(name, ckpt, tmp_path, config))
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2, err
    assert err and err[-1].startswith('error: '), err
    assert 'Traceback' not in '\n'.join(err)
    assert str(ckpt) in err[-1] and reason in err[-1], err[-1]
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize('name', ['translate', 'export_onnx', 'convert_checkpoint', 'test',
                                  'train'])
def test_the_real_commands_exit_2_with_one_line(tmp_path, config, name):
    ckpt, reason = make('text', tmp_path)
    proc = subprocess.run([sys.executable, str(TOOLS / f'{name}.py'),
                           *argv_for(name, ckpt, tmp_path, config)],
                          capture_output=True, text=True, timeout=300, cwd=str(ROOT))
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert lines[-1].startswith('error: ') and str(ckpt) in lines[-1] and reason in lines[-1]
    assert 'Traceback' not in proc.stderr
    debug = subprocess.run([sys.executable, str(TOOLS / f'{name}.py'),
                            *argv_for(name, ckpt, tmp_path, config), '--debug'],
                           capture_output=True, text=True, timeout=300, cwd=str(ROOT))
    assert debug.returncode != 0 and 'Traceback' in debug.stderr


def test_dist_train_sh_uses_the_checkout_venv_and_has_help(tmp_path):
    """With no $PYTHON and a PATH whose python has no torch, the launcher still starts: the
    checkout's .venv (what `make` installs) runs it; --help prints the usage."""
    import os
    script = str(TOOLS / 'dist_train.sh')
    env = {k: v for k, v in os.environ.items() if k not in ('PYTHON', 'VIRTUAL_ENV')}
    env['PATH'] = '/usr/bin:/bin'
    help_ = subprocess.run(['bash', script, '--help'], capture_output=True, text=True, env=env)
    assert help_.returncode == 0 and 'usage:' in help_.stderr and 'unbound' not in help_.stderr
    if not (ROOT / '.venv' / 'bin' / 'python').exists():
        pytest.skip('no .venv in this checkout')
    proc = subprocess.run(['bash', script, str(tmp_path / 'nope.py'), '1'], capture_output=True,
                          text=True, env=env, timeout=300)
    assert proc.returncode != 0
    assert "No module named 'torch'" not in proc.stderr
    assert 'nope.py does not exist' in proc.stderr + proc.stdout
