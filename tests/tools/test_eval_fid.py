"""tools/eval_fid.py run as a subprocess on the fixture folders; JSON checked against results.json.

The 2048-d folder-vs-folder run (FID and KID with the reference's KID settings) happens once per
module; the statistics-file modes run at dims 64, which only needs Inception's first block.
"""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cyclegan_plugin.evaluation.fid import load_stats
from cyclegan_plugin.evaluation.inception import (FID_WEIGHTS_FILENAME, WEIGHTS_ENV)

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / 'tools' / 'eval_fid.py'
REL_TOL = 1e-5
STAT_ATOL = 1e-5
KID_ATOL = 2e-6


@pytest.fixture(scope='module')
def folders(ref, results):
    return {s: str(ref / results['images'][s]['folder']) for s in 'AB'}


def run_cli(*args, env_extra=None, drop_env=(), timeout=600):
    env = dict(os.environ, **(env_extra or {}))
    for name in drop_env:
        env.pop(name, None)
    return subprocess.run([sys.executable, str(TOOL), *map(str, args)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def _check_ok(proc):
    assert proc.returncode == 0, f'stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}'


@pytest.fixture(scope='module')
def folder_vs_folder(tmp_path_factory, folders, weights_file, results):
    kid = results['kid']
    seed = re.fullmatch(r'numpy\.random\.default_rng\((\d+)\)', kid['rng']).group(1)
    out = tmp_path_factory.mktemp('cli') / 'result.json'
    proc = run_cli(folders['A'], folders['B'], '--dims', kid['dims'],
                   '--batch-size', results['pytorch_fid_call']['batch_size'],
                   '--num-workers', 2, '--device', 'cpu', '--inception-weights', weights_file,
                   '--kid-subsets', kid['n_subsets'], '--kid-subset-size', kid['subset_size'],
                   '--kid-seed', seed, '--json', out)
    _check_ok(proc)
    return json.loads(out.read_text()), proc.stdout


@pytest.mark.slow  # network over 128 images + a 2048x2048 sqrtm
def test_folder_vs_folder_json_matches_reference(folder_vs_folder, results):
    data, _ = folder_vs_folder
    expected_fid = results['fid'][str(results['kid']['dims'])]['FID_A_B']
    assert abs(data['fid'] - expected_fid) <= REL_TOL * expected_fid
    assert abs(data['kid_mean'] - results['kid']['KID_mean']) <= KID_ATOL
    assert abs(data['kid_std'] - results['kid']['KID_std_ddof0']) <= KID_ATOL
    assert data['num_images'] == [results['images']['A']['n'], results['images']['B']['n']]


@pytest.mark.slow  # network over 128 images + a 2048x2048 sqrtm
def test_prints_numbers_and_throughput(folder_vs_folder):
    data, stdout = folder_vs_folder
    assert f'FID:  {data["fid"]}' in stdout
    assert 'KID:' in stdout
    assert 'images/s' in stdout
    assert all(s > 0 for s in data['images_per_second'])


def test_save_stats_then_folder_vs_stats(tmp_path, folders, weights_file, ref, results):
    stats_file = tmp_path / 'a64.npz'
    _check_ok(run_cli('--save-stats', stats_file, folders['A'], '--dims', 64,
                      '--num-workers', 0, '--inception-weights', weights_file, '--quiet'))
    stats = load_stats(stats_file)
    np.testing.assert_allclose(stats['mu'], np.load(ref / 'stats' / 'mu_A_dims64.npy'),
                               rtol=0, atol=STAT_ATOL)
    np.testing.assert_allclose(stats['sigma'], np.load(ref / 'stats' / 'sigma_A_dims64.npy'),
                               rtol=0, atol=STAT_ATOL)
    assert stats['num_images'] == results['images']['A']['n']

    out = tmp_path / 'r.json'
    _check_ok(run_cli(folders['B'], stats_file, '--dims', 64, '--num-workers', 0,
                      '--inception-weights', weights_file, '--quiet', '--json', out))
    data = json.loads(out.read_text())
    expected = results['fid']['64']['FID_A_B']
    assert abs(data['fid'] - expected) <= REL_TOL * expected
    # our .npz keeps the features, so KID is available too
    assert data['kid_mean'] is not None
    assert data['num_images'] == [results['images']['B']['n'], results['images']['A']['n']]


@pytest.mark.parametrize('method', ['eigh', 'sqrtm'])
def test_pytorch_fid_style_stats_give_fid_only(tmp_path, folders, weights_file, ref, results,
                                               method):
    stats_file = tmp_path / 'a64_mu_sigma_only.npz'
    np.savez(stats_file, mu=np.load(ref / 'stats' / 'mu_A_dims64.npy'),
             sigma=np.load(ref / 'stats' / 'sigma_A_dims64.npy'))
    out = tmp_path / 'r.json'
    proc = run_cli(stats_file, folders['B'], '--dims', 64, '--num-workers', 0,
                   '--inception-weights', weights_file, '--quiet', '--json', out,
                   '--fid-method', method)
    _check_ok(proc)
    data = json.loads(out.read_text())
    expected = results['fid']['64']['FID_A_B']
    assert abs(data['fid'] - expected) <= REL_TOL * expected
    assert data['kid_mean'] is None and data['kid_std'] is None
    assert data['fid_method'] == method
    assert 'time per phase' not in proc.stdout  # only with --verbose


def _phase_lines(stdout):
    """{phase: seconds} from --verbose's block, in printed order."""
    assert stdout.count('time per phase (s):\n') == 1, stdout
    phases = {}
    for line in stdout.split('time per phase (s):\n', 1)[1].splitlines():
        m = re.fullmatch(r'  (\S+) +(\d+\.\d\d)  \S.*', line)
        assert m, f'not a phase line: {line!r}'
        phases[m.group(1)] = float(m.group(2))
    return phases


def test_verbose_prints_one_line_per_phase(tmp_path, folders, weights_file, results):
    out = tmp_path / 'r.json'
    proc = run_cli(folders['A'], folders['B'], '--dims', 64, '--num-workers', 0,
                   '--inception-weights', weights_file, '--quiet', '--verbose', '--json', out)
    _check_ok(proc)
    phases = _phase_lines(proc.stdout)
    expected = ['imports', 'weights', 'decode', 'forward', 'statistics', 'fid', 'kid', 'other',
                'total']
    if sys.platform.startswith('linux'):  # process start time from /proc
        expected.insert(0, 'start-up')
    assert list(phases) == expected
    for name in ('imports', 'weights', 'forward', 'total'):
        assert phases[name] > 0, name
    # the phases add up to the total (each line is rounded to 0.01 s)
    assert sum(v for k, v in phases.items() if k != 'total') == \
        pytest.approx(phases['total'], abs=0.01 * len(phases))
    data = json.loads(out.read_text())
    assert list(data['seconds']) == expected
    assert data['seconds']['total'] == pytest.approx(phases['total'], abs=0.006)
    assert abs(data['fid'] - results['fid']['64']['FID_A_B']) <= \
        REL_TOL * results['fid']['64']['FID_A_B']


def test_folder_modes_do_not_import_the_whole_package(tmp_path, ref):
    """Start-up: comparing statistics needs neither MMEngine nor the registry (1.5-3 s)."""
    files = []
    for side in 'AB':
        files.append(tmp_path / f'{side}.npz')
        np.savez(files[-1], mu=np.load(ref / 'stats' / f'mu_{side}_dims64.npy'),
                 sigma=np.load(ref / 'stats' / f'sigma_{side}_dims64.npy'))
    # main() as the script calls it (the script itself ends the process without teardown)
    code = ('import runpy, sys\n'
            f'tool = runpy.run_path({str(TOOL)!r}, run_name="eval_fid")\n'
            f'argv = [{str(files[0])!r}, {str(files[1])!r}, "--dims", "64"]\n'
            'assert tool["main"](argv, lean_imports=True) == 0\n'
            'print("loaded:", sorted(m for m in ("mmengine", "cyclegan_plugin.models", '
            '"cyclegan_plugin.evaluation.metrics", "torch") if m in sys.modules))\n')
    proc = subprocess.run([sys.executable, '-c', code], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)
    _check_ok(proc)
    assert "loaded: ['torch']" in proc.stdout
    assert 'FID:  ' in proc.stdout


def test_dims_mismatch_with_stats_file_fails(tmp_path, folders, weights_file, ref):
    stats_file = tmp_path / 'a64.npz'
    np.savez(stats_file, mu=np.load(ref / 'stats' / 'mu_A_dims64.npy'),
             sigma=np.load(ref / 'stats' / 'sigma_A_dims64.npy'))
    proc = run_cli(stats_file, folders['B'], '--dims', 192, '--inception-weights', weights_file)
    assert proc.returncode != 0
    assert '64-d' in proc.stderr


def test_empty_folder_fails_with_its_name(tmp_path, folders, weights_file):
    empty = tmp_path / 'nothing_here'
    empty.mkdir()
    proc = run_cli(folders['A'], empty, '--inception-weights', weights_file)
    assert proc.returncode != 0
    assert 'nothing_here' in proc.stderr and 'Traceback' not in proc.stderr


@pytest.mark.parametrize('workers', [0, 2])
def test_undecodable_image_fails_with_its_name(tmp_path, folders, weights_file, workers):
    bad = tmp_path / 'bad_folder'
    bad.mkdir()
    for name in sorted(os.listdir(folders['B']))[:3]:
        (bad / name).write_bytes((Path(folders['B']) / name).read_bytes())
    (bad / 'zz_broken.png').write_bytes(b'not a png at all')
    proc = run_cli(folders['A'], bad, '--dims', 64, '--batch-size', 2, '--num-workers', workers,
                   '--quiet', '--inception-weights', weights_file)
    assert proc.returncode == 2, proc.stderr
    assert 'cannot read image' in proc.stderr and 'zz_broken.png' in proc.stderr
    assert 'Traceback' not in proc.stderr


def test_missing_weights_fail_with_a_clear_message(tmp_path, folders):
    proc = run_cli(folders['A'], folders['B'],
                   env_extra={WEIGHTS_ENV: str(tmp_path / 'absent' / FID_WEIGHTS_FILENAME)})
    assert proc.returncode != 0
    assert FID_WEIGHTS_FILENAME in proc.stderr and WEIGHTS_ENV in proc.stderr
    assert 'Traceback' not in proc.stderr


def test_wrong_number_of_paths_is_a_usage_error(folders):
    proc = run_cli(folders['A'])
    assert proc.returncode == 2 and 'expected 2 path(s)' in proc.stderr
