"""The real thing end to end: tools/train.py trains the mini demo config with a real Runner
on generated 32x32 data, checkpoints, resumes bit-exactly; tools/test.py writes the gallery."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ..conftest import ROOT, tiny_demo_config


@pytest.fixture(scope='module')
def config(tmp_path_factory, weights_file):
    """The demo config, shrunk: 32x32 data, slim networks, 6 iterations, checkpoints at 3."""
    return str(tiny_demo_config(tmp_path_factory.mktemp('cfg'), f'''
val_dataloader = dict(num_workers=0, dataset=dict(data_root=data_root))
test_dataloader = dict(num_workers=0, dataset=dict(data_root=data_root))
train_cfg = dict(max_iters=6, val_interval=6)
param_scheduler = [dict(type='LinearLR', start_factor=1.0, end_factor=0.0, by_epoch=False,
                        begin=2, end=6)]
default_hooks = dict(checkpoint=dict(interval=3, max_keep_ckpts=3), logger=dict(interval=1))
randomness = dict(seed=3)
custom_hooks = [dict(type='RandomStateHook'), dict(type='SafeCheckpointHook'),
                dict(type='MemoryLogHook'),
                dict(type='CycleGANVisualizationHook', interval=3)]
val_evaluator = dict(type='Evaluator', metrics=[
    dict(type='CycleConsistencyMetric'),
    dict(type='MiniHorse2ZebraMetric', data_root=data_root),
    dict(type='TranslationFIDKID', dims=64, inception_weights={weights_file!r},
         kid_subset_size=2, kid_subsets=5)])
test_evaluator = val_evaluator
'''))


@pytest.fixture(scope='module')
def demo_root(config):
    return Path(config).parent / 'mini_horse2zebra'


def run_tool(script, *args, check=True):
    proc = subprocess.run([sys.executable, str(ROOT / 'tools' / script), *args],
                          capture_output=True, text=True, cwd=str(ROOT), timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f'{script} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}')
    return proc


def load_weights_only(path):
    return torch.load(path, map_location='cpu', weights_only=True)


def train_and_resume(config, work, resume_at: int):
    """``config`` trained in ``work/full``, and again in ``work/resumed`` from a copy of the
    full run's checkpoint at iteration ``resume_at``: (full, resumed)."""
    full, resumed = work / 'full', work / 'resumed'
    run_tool('train.py', config, '--work-dir', str(full))
    resumed.mkdir()
    name = f'iter_{resume_at}.pth'
    (resumed / name).write_bytes((full / name).read_bytes())
    run_tool('train.py', config, '--work-dir', str(resumed), '--resume', str(resumed / name))
    return full, resumed


@pytest.fixture(scope='module')
def trained(config, tmp_path_factory):
    return train_and_resume(config, tmp_path_factory.mktemp('work'), resume_at=3)


def test_training_logs_every_loss_and_writes_safe_checkpoints(trained):
    full, _ = trained
    logs = list(full.glob('*/*.log'))
    text = logs[0].read_text()
    for term in ('loss_G_A', 'loss_G_B', 'loss_cycle_A', 'loss_cycle_B', 'loss_idt_A',
                 'loss_idt_B', 'loss_D_A', 'loss_D_B', 'generators.lr', 'discriminators.lr',
                 'cycle/l1_A', 'h2z/stripe_a2b', 'FID_a2b', 'FID_b2a', 'KID_a2b',
                 'time', 'data_time', 'eta', 'rss_mib'):
        assert term in text, term
    rss = [json.loads(line)['rss_mib'] for line in
           next(full.glob('*/vis_data/scalars.json')).read_text().splitlines()
           if 'loss_G' in line]
    assert len(rss) == 6 and all(100 < r < 16000 for r in rss)  # MiB, every iteration
    assert 'Failed to search registry' not in text
    # the visualisation hook drew the 2 x 4 grid at iterations 3 and 6, and the 2 x 3
    # validation grid (no identity images), through the LocalVisBackend
    vis = {p.name: p for p in full.glob('*/vis_data/vis_image/*.png')}
    assert {'translations_3.png', 'translations_6.png', 'val_translations_6.png'} <= set(vis)
    import cv2
    assert cv2.imread(str(vis['translations_6.png'])).shape == (2 * 32, 4 * 32, 3)
    assert cv2.imread(str(vis['val_translations_6.png'])).shape == (2 * 32, 3 * 32, 3)
    ckpt = load_weights_only(full / 'iter_6.pth')  # no pickled code needed
    assert ckpt['meta']['iter'] == 6
    assert 'fake_B_pool._extra_state' in ckpt['state_dict']
    assert {'generators', 'discriminators'} <= set(ckpt['optimizer'])
    assert {'python', 'numpy', 'torch'} <= set(ckpt['random_states'])
    # after the scheduler's decay window the learning rate is back at 0
    assert ckpt['optimizer']['generators']['param_groups'][0]['lr'] == pytest.approx(0.0)


def test_resume_is_bit_exact(trained):
    full, resumed = trained
    a = load_weights_only(full / 'iter_6.pth')
    b = load_weights_only(resumed / 'iter_6.pth')
    assert b['meta']['iter'] == 6
    for key, value in a['state_dict'].items():
        if isinstance(value, torch.Tensor):
            assert torch.equal(value, b['state_dict'][key]), key
    pools_a, pools_b = a['state_dict']['fake_B_pool._extra_state'], b['state_dict'][
        'fake_B_pool._extra_state']
    assert pools_a.shape[0] == 6 and torch.equal(pools_a, pools_b)
    for name in ('generators', 'discriminators'):
        sa, sb = a['optimizer'][name]['state'], b['optimizer'][name]['state']
        assert all(torch.equal(sa[i]['exp_avg_sq'], sb[i]['exp_avg_sq']) for i in sa)


def test_test_tool_writes_the_gallery(trained, config, demo_root, tmp_path):
    full, _ = trained
    out = tmp_path / 'gallery'
    metrics_file = tmp_path / 'metrics.json'
    proc = run_tool('test.py', config, str(full / 'iter_6.pth'), '--work-dir', str(tmp_path),
                    '--out-dir', str(out), '--json', str(metrics_file))
    n_test = len(os.listdir(demo_root / 'testA'))
    assert len(list((out / 'images').glob('*.png'))) == 6 * n_test
    html = (out / 'index.html').read_text()
    assert html.count('<tr>') == n_test + 1 and 'fake_B' in html
    assert f'wrote {6 * n_test} images' in proc.stdout
    metrics = json.loads(metrics_file.read_text())['metrics']
    assert metrics['cycle/num_A'] == n_test and 'h2z/stripe_a2b' in metrics
    # gallery.png: the first rows side by side, enlarged by a whole factor to >= 768 px
    from cyclegan_plugin.io import read_image
    preview = read_image(str(out / 'gallery.png'))
    rows, scale = min(4, n_test), 768 // (6 * 32) + (768 % (6 * 32) > 0)
    assert preview.shape == (rows * 32 * scale, 6 * 32 * scale, 3)
    first = read_image(str(out / 'images' / 'horse_0000_real_A.png'))
    assert (preview[:32 * scale:scale, :32 * scale:scale] == first).all()
    last_fake_A = sorted((out / 'images').glob('*_fake_A.png'))[rows - 1]
    assert (preview[(rows - 1) * 32 * scale::scale, 4 * 32 * scale:5 * 32 * scale:scale]
            == read_image(str(last_fake_A))).all()


def test_missing_data_folder_stops_with_a_hint(tmp_path):
    missing = tmp_path / 'nowhere' / 'horse2zebra'
    proc = run_tool('train.py', str(ROOT / 'configs' / 'cyclegan_horse2zebra.py'),
                    '--work-dir', str(tmp_path / 'w'), '--cfg-options',
                    f'train_dataloader.dataset.data_root={missing}', check=False)
    assert proc.returncode != 0
    assert str(missing) in proc.stderr and 'download_dataset.sh' in proc.stderr


def test_eval_fid_scores_a_config_and_checkpoint(trained, config, demo_root, weights_file,
                                                 tmp_path):
    full, _ = trained
    out = tmp_path / 'scores.json'
    run_tool('eval_fid.py', '--config', config, '--checkpoint', str(full / 'iter_6.pth'),
             '--dims', '64', '--inception-weights', weights_file, '--kid-subsets', '5',
             '--kid-subset-size', '2', '--work-dir', str(tmp_path / 'w'), '--json', str(out))
    scores = json.loads(out.read_text())
    n_test = len(os.listdir(demo_root / 'testA'))
    for direction in ('a2b', 'b2a'):
        assert scores[direction]['fid'] > 0 and scores[direction]['kid_mean'] is not None
        assert scores[direction]['num_images'] == [n_test, n_test]


def test_auto_resume_skips_a_damaged_checkpoint(trained, config, tmp_path):
    """A truncated newest checkpoint is passed over with a warning; the run resumes from the
    one before and still ends bit-identical to the uninterrupted run."""
    full, _ = trained
    work = tmp_path / 'work'
    work.mkdir()
    (work / 'iter_3.pth').write_bytes((full / 'iter_3.pth').read_bytes())
    data = (full / 'iter_6.pth').read_bytes()
    (work / 'iter_6.pth').write_bytes(data[:len(data) // 2])  # as if killed mid-write
    proc = run_tool('train.py', config, '--work-dir', str(work), '--resume')
    assert 'skipping damaged checkpoint' in proc.stdout + proc.stderr
    assert 'resumed epoch: 0, iter: 3' in proc.stdout + proc.stderr
    a, b = load_weights_only(full / 'iter_6.pth'), load_weights_only(work / 'iter_6.pth')
    assert all(torch.equal(v, b['state_dict'][k]) for k, v in a['state_dict'].items())


def test_checkpoint_writes_are_atomic(tmp_path, monkeypatch):
    from cyclegan_plugin.io import AtomicLocalBackend
    target = tmp_path / 'iter_1.pth'
    backend = AtomicLocalBackend()
    backend.put(b'old checkpoint', target)

    def killed(*args, **kwargs):
        raise KeyboardInterrupt('killed during the save')

    monkeypatch.setattr(os, 'replace', killed)
    with pytest.raises(KeyboardInterrupt):
        backend.put(b'new checkpoint, half writ', target)
    assert target.read_bytes() == b'old checkpoint'
    assert [p.name for p in tmp_path.iterdir()] == ['iter_1.pth']  # no temporary file left
