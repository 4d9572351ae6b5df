"""tools/plot_logs.py on the logs of a real short run: 4 iterations of a tiny CycleGAN on
32x32 demo data, validated (cycle L1, FID/KID at dims 64) at iterations 2 and 4, trained in
two parts (the second resumes the first), so the work dir holds two timestamped logs."""
import json
import os
import subprocess
import sys

import pytest

from ..conftest import ROOT, load_tool, tiny_demo_config

TOOL = ROOT / 'tools' / 'plot_logs.py'


plot_logs = load_tool('plot_logs')


def train(*args):
    # one thread: this tiny model gains nothing from two, and two threads slow down several
    # times when other jobs share the cores
    env = dict(os.environ, OMP_NUM_THREADS='1')
    proc = subprocess.run([sys.executable, str(ROOT / 'tools' / 'train.py'), *args],
                          capture_output=True, text=True, cwd=str(ROOT), timeout=600, env=env)
    assert proc.returncode == 0, f'{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}'


@pytest.fixture(scope='module')
def work_dir(tmp_path_factory, weights_file):
    """Iterations 1-2 (validation at 2), then a resumed run for 3-4 (validation at 4)."""
    base = tmp_path_factory.mktemp('plot_logs')
    config = tiny_demo_config(base, f'''
val_dataloader = dict(num_workers=0, dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
train_cfg = dict(max_iters=4, val_interval=2)
param_scheduler = [dict(type='LinearLR', start_factor=1.0, end_factor=0.0, by_epoch=False,
                        begin=1, end=4)]
default_hooks = dict(checkpoint=dict(interval=2), logger=dict(interval=1))
custom_hooks = [dict(type='RandomStateHook'), dict(type='SafeCheckpointHook')]
randomness = dict(seed=3)
val_evaluator = dict(type='Evaluator', metrics=[
    dict(type='CycleConsistencyMetric'),
    dict(type='TranslationFIDKID', dims=64, inception_weights={weights_file!r},
         kid_subset_size=2, kid_subsets=5)])
''', num_train=4, train_pipeline="[dict(type='LoadImage'), dict(type='RandomFlip', "
                                   "prob=0.5), dict(type='PackImage')]")
    work = base / 'run'
    train(str(config), '--work-dir', str(work), '--cfg-options', 'train_cfg.max_iters=2')
    train(str(config), '--work-dir', str(work), '--resume')
    return work


def lines(scalars_json):
    return [json.loads(line) for line in scalars_json.read_text().splitlines() if line.strip()]


def test_parsed_series_are_the_logged_values(work_dir):
    parts = sorted(work_dir.glob('*/vis_data/scalars.json'))
    assert len(parts) == 2  # the run and its resumption
    records = lines(parts[0]) + lines(parts[1])
    train = [r for r in records if 'iter' in r]
    val = [r for r in records if 'iter' not in r]
    assert [r['iter'] for r in train] == [1, 2, 3, 4] and len(val) == 2
    # our runtime logs validation at its iteration (log_metric_by_epoch=False)
    assert [r['step'] for r in val] == [2, 4]

    run = plot_logs.load_run(work_dir)
    assert run.label == 'run' and run.sources == parts
    for key in ('loss_G', 'loss_D_A', 'loss_cycle_B', 'loss_idt_A', 'generators.lr',
                'discriminators.lr', 'time'):
        assert run.train[key] == ([1, 2, 3, 4], [r[key] for r in train]), key
    # the validations ran at iterations 2 (first part) and 4 (resumed part)
    for key in ('FID_a2b', 'FID_b2a', 'KID_a2b', 'KID_b2a_std', 'cycle/l1_A'):
        assert run.val[key] == ([2, 4], [r[key] for r in val]), key
    assert run.train['generators.lr'][1] == pytest.approx([2e-4, 2e-4, 1e-4, 0.0])

    groups = plot_logs.plotted_keys([run])
    assert groups['losses'] == plot_logs.LOSS_ORDER
    from cyclegan_plugin.models.cyclegan import LOSS_TERMS  # the model logs what we plot
    assert plot_logs.LOSS_ORDER == list(LOSS_TERMS)
    assert groups['lr'] == ['generators.lr', 'discriminators.lr']
    assert groups['val'][:4] == ['FID_a2b', 'FID_b2a', 'KID_a2b', 'KID_b2a']
    assert 'KID_a2b_std' not in groups['val'] and 'cycle/num_A' not in groups['val']


def test_two_runs_are_overlaid_with_a_legend(work_dir, tmp_path):
    # a second run: the first part alone (as if it had stopped at iteration 2)
    first_only = tmp_path / 'stopped'
    first_part = sorted(work_dir.glob('*/vis_data/scalars.json'))[0].parents[1]
    (first_only / first_part.name / 'vis_data').mkdir(parents=True)
    for name in ('scalars.json', 'config.py'):
        (first_only / first_part.name / 'vis_data' / name).write_bytes(
            (first_part / 'vis_data' / name).read_bytes())
    runs = [plot_logs.load_run(work_dir), plot_logs.load_run(first_only)]
    figures = dict(plot_logs.make_figures(runs))
    assert set(figures) == {'losses', 'lr', 'val', 'time'}
    axes = {ax.get_title(): ax for ax in figures['losses'].axes}
    lines_g = axes['loss_G'].get_lines()
    assert [line.get_label() for line in lines_g] == ['run', 'stopped']
    assert list(lines_g[0].get_xdata()) == [1, 2, 3, 4]
    assert list(lines_g[1].get_xdata()) == [1, 2]
    assert [t.get_text() for t in figures['losses'].legends[0].get_texts()] == ['run',
                                                                                 'stopped']
    fid = next(ax for ax in figures['val'].axes if ax.get_title() == 'FID_a2b')
    assert [list(line.get_xdata()) for line in fid.get_lines()] == [[2, 4], [2]]


def test_command_line_writes_readable_pngs(work_dir, tmp_path):
    import cv2
    out = tmp_path / 'plots'
    proc = subprocess.run([sys.executable, str(TOOL), str(work_dir), str(work_dir),
                           '--labels', 'a', 'b', '--out', str(out), '--smooth', '2'],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    for name in ('losses', 'lr', 'val', 'time'):
        path = out / f'{name}.png'
        assert f'wrote {path}' in proc.stdout
        image = cv2.imread(str(path))
        assert image is not None and image.shape[0] >= 250 and image.shape[1] >= 400, name
        assert image.std() > 5  # not blank
    assert 'a: 2 log file(s), 4 training points up to iteration 4' in proc.stdout
    # one work dir: the plots go into it by default; --keys picks scalars
    proc = subprocess.run([sys.executable, str(TOOL), str(work_dir), '--keys', 'FID_*'],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in (work_dir / 'plots').iterdir()) == ['val.png']


def test_missing_logs_and_unknown_keys_are_clear_errors(work_dir, tmp_path):
    empty = tmp_path / 'empty_work_dir'
    empty.mkdir()
    proc = subprocess.run([sys.executable, str(TOOL), str(empty)], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 2
    assert str(empty) in proc.stderr and 'vis_data/scalars.json' in proc.stderr
    proc = subprocess.run([sys.executable, str(TOOL), str(work_dir), '--keys', 'nothing*',
                           '--out', str(tmp_path / 'p')], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 2 and 'loss_G' in proc.stderr  # it lists what was logged


def write_log(folder, records, config=None):
    (folder / 'vis_data').mkdir(parents=True)
    (folder / 'vis_data' / 'scalars.json').write_text(
        ''.join(json.dumps(r) + '\n' for r in records))
    if config:
        (folder / 'vis_data' / 'config.py').write_text(config)


def test_resumed_part_replaces_overlap_and_val_iterations_are_inferred(tmp_path):
    config = "train_cfg = dict(max_iters=25, type='IterBasedTrainLoop', val_interval=15)\n"
    # logged every 10 iterations, validated at 15: the val line follows the line of iter 10
    write_log(tmp_path / '20260101_000000', [
        {'loss_G': 1.0, 'iter': 10, 'step': 10}, {'FID_a2b': 50.0, 'step': 0},
        {'loss_G': 2.0, 'iter': 20, 'step': 20}], config)
    # killed after 20; resumed from a checkpoint at 15: logs 20 again, then 25 (+ val at 25)
    write_log(tmp_path / '20260101_010000', [
        {'loss_G': 2.5, 'iter': 20, 'step': 20}, {'loss_G': 3.0, 'iter': 25, 'step': 25},
        {'FID_a2b': 40.0, 'step': 0}, 'not a record'], config)
    with (tmp_path / '20260101_010000' / 'vis_data' / 'scalars.json').open('a') as f:
        f.write('{"trunc')  # a line cut short by a kill
    with pytest.warns(UserWarning, match='not JSON'):
        run = plot_logs.load_run(tmp_path)
    assert run.train['loss_G'] == ([10, 20, 25], [1.0, 2.5, 3.0])
    assert run.val['FID_a2b'] == ([15, 25], [50.0, 40.0])


def test_val_step_used_when_it_is_an_iteration_and_smoothing(tmp_path):
    # LoggerHook(log_metric_by_epoch=False): the val step is the iteration; no config dumped
    write_log(tmp_path / '20260101_000000', [
        {'loss_G': 1.0, 'iter': 100, 'step': 100}, {'KID_a2b': 0.1, 'step': 130}])
    run = plot_logs.load_run(tmp_path / '20260101_000000')
    assert run.val['KID_a2b'] == ([130], [0.1])
    assert plot_logs.smooth([1.0, 2.0, 3.0, 4.0], 2) == [1.0, 1.5, 2.5, 3.5]
    assert plot_logs.smooth([1.0, 2.0], 1) == [1.0, 2.0]
    assert plot_logs.unique_labels(['x/a/run', 'y/b/run']) == ['a/run', 'b/run']
