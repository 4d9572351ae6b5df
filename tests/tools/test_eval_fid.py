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


def test_pytorch_fid_style_stats_give_fid_only(tmp_path, folders, weights_file, ref, results):
    stats_file = tmp_path / 'a64_mu_sigma_only.npz'
    np.savez(stats_file, mu=np.load(ref / 'stats' / 'mu_A_dims64.npy'),
             sigma=np.load(ref / 'stats' / 'sigma_A_dims64.npy'))
    out = tmp_path / 'r.json'
    _check_ok(run_cli(stats_file, folders['B'], '--dims', 64, '--num-workers', 0,
                      '--inception-weights', weights_file, '--quiet', '--json', out))
    data = json.loads(out.read_text())
    expected = results['fid']['64']['FID_A_B']
    assert abs(data['fid'] - expected) <= REL_TOL * expected
    assert data['kid_mean'] is None and data['kid_std'] is None


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


def test_missing_weights_fail_with_a_clear_message(tmp_path, folders):
    proc = run_cli(folders['A'], folders['B'],
                   env_extra={WEIGHTS_ENV: str(tmp_path / 'absent' / FID_WEIGHTS_FILENAME)})
    assert proc.returncode != 0
    assert FID_WEIGHTS_FILENAME in proc.stderr and WEIGHTS_ENV in proc.stderr
    assert 'Traceback' not in proc.stderr


def test_wrong_number_of_paths_is_a_usage_error(folders):
    proc = run_cli(folders['A'])
    assert proc.returncode == 2 and 'expected 2 path(s)' in proc.stderr
