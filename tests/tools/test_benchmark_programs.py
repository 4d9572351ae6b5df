"""tools/benchmark.py's side-by-side modes: the figures come from the programs' own progress
lines, the reference gets the same networks and sizes, and a whole run (our real train.py
and a stand-in for the reference's train.py) ends in a table with their ratio; likewise our
real eval_fid.py against a stand-in for pytorch-fid, on the same folders and weights."""
import json
import math
import os
import sys
import textwrap

import pytest

from ..conftest import load_tool

benchmark = load_tool('benchmark')

#: prints the reference's progress lines at its --print_freq, one iteration per 20 ms
FAKE_REFERENCE = textwrap.dedent('''
    import argparse, time
    p = argparse.ArgumentParser()
    p.add_argument('--print_freq', type=int)
    p.add_argument('--max_dataset_size', type=int)
    args, _ = p.parse_known_args()
    for i in range(1, args.max_dataset_size + 1):
        time.sleep(0.02)
        if i % args.print_freq == 0:
            print(f'(epoch: 1, iters: {i}, time: 0.020, data: 0.001) G_A: 0.5', flush=True)
''')


def test_seconds_per_iteration_are_measured_between_two_progress_lines():
    stamps = {2: (10.0, 5.0), 4: (14.0, 9.0), 6: (18.0, 12.0)}
    figures = benchmark.measure(stamps, warmup=2, total=6)
    assert figures['seconds_per_iter'] == pytest.approx(2.0)
    assert figures['cpu_seconds_per_iter'] == pytest.approx(7.0 / 4)
    assert figures['interval_seconds_per_iter'] == pytest.approx([2.0, 2.0])
    assert figures['startup_seconds'] == pytest.approx(10.0 - 2 * 2.0)
    assert benchmark.measure(stamps, warmup=2, total=8) is None  # the run did not get there
    parse = benchmark._reference_progress(epoch_length=100)
    assert parse('(epoch: 2, iters: 7, time: 0.1, data: 0.0) G_A: 1') == 107
    assert benchmark._ours_progress('Iter(train) [ 40/300]  lr: 2e-4') == 40


@pytest.mark.parametrize('size', [64, 256])
def test_both_programs_get_the_same_networks_and_sizes(tmp_path, size):
    from mmengine.config import Config
    spec = benchmark.net_spec(size)
    ref = benchmark.reference_command('py', '/ref', size, '/data', '/ckpt', 12, 4, 1)
    flags = dict(zip(ref[2::2], ref[3::2]))  # after the interpreter and train.py
    assert flags['--netG'] == f"resnet_{spec['n_blocks']}blocks"
    assert (flags['--ngf'], flags['--ndf']) == (str(spec['ngf']), str(spec['ndf']))
    assert (flags['--load_size'], flags['--crop_size']) == (str(spec['load_size']), str(size))
    assert (flags['--max_dataset_size'], flags['--print_freq']) == ('12', '4')
    path = tmp_path / 'ours.py'
    path.write_text(benchmark.our_program_config(size, '/data', 12, 4, 1, {}))
    cfg = Config.fromfile(str(path))
    model = cfg.model
    assert (model.generator.ngf, model.generator.n_blocks, model.discriminator.ndf) == \
        (spec['ngf'], spec['n_blocks'], spec['ndf'])
    assert cfg.train_cfg.max_iters == 12 and cfg.default_hooks.logger.interval == 4
    assert cfg.val_cfg is None and cfg.train_dataloader.dataset.data_root == '/data'
    steps = {t.type.rsplit('.', 1)[-1]: t for t in cfg.train_dataloader.dataset.pipeline}
    assert tuple(steps['Resize'].scale) == (spec['load_size'],) * 2
    assert steps['RandomCrop'].crop_size == size


def test_a_side_by_side_run_prints_both_figures_and_their_ratio(tmp_path, capsys, monkeypatch):
    repo = tmp_path / 'reference'
    repo.mkdir()
    (repo / 'train.py').write_text(FAKE_REFERENCE)
    fake = tmp_path / 'fake_modules'  # the stand-in needs no torchvision; the check asks for it
    fake.mkdir()
    (fake / 'torchvision.py').write_text('__version__ = "0.0 (test stand-in)"\n')
    monkeypatch.setenv('PYTHONPATH', str(fake))
    out = tmp_path / 'figures.json'
    benchmark.main(['train', '--programs-only', '--reference-repo', str(repo), '--sizes', '64',
                    '--threads', '1', '--repeats', '1', '--paths', 'reference',
                    '--program-warmup', '2', '--program-iters', '2', '--workers', '0',
                    '--json', str(out)])
    printed = capsys.readouterr().out
    row, = json.loads(out.read_text())['programs']['rows']
    assert row['size'] == 64 and row['threads'] == 1 and row['path'] == 'reference'
    assert row['ours']['runs'] == 1 and row['reference']['runs'] == 1
    assert row['reference']['seconds_per_iter'] == pytest.approx(0.02, rel=0.5)
    assert row['ratio'] == pytest.approx(row['reference']['seconds_per_iter']
                                         / row['ours']['seconds_per_iter'])
    assert f"{row['ratio']:.2f}x" in printed and 'CPU: ' in printed


def test_the_cpu_profile_is_shared_out_by_kind_of_operator():
    """--profile on a CPU: a real profile of pad, convolution, instance norm and an Adam step
    splits into those kinds and the rest, each counted once (the shares add up to 1)."""
    import torch
    from torch.profiler import ProfilerActivity, profile
    net = torch.nn.Sequential(torch.nn.ReflectionPad2d(1), torch.nn.Conv2d(3, 8, 3),
                              torch.nn.InstanceNorm2d(8), torch.nn.Tanh())
    adam = torch.optim.Adam(net.parameters())
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        net(torch.randn(1, 3, 16, 16)).square().mean().backward()
        adam.step()
    shares = benchmark.cpu_time_shares(prof.key_averages())
    assert set(shares) == {'convolutions', 'instance norm', 'padding', 'optimizer step',
                           'other'}
    assert sum(shares.values()) == pytest.approx(1.0)
    assert all(v > 0 for v in shares.values()), shares


#: stands in for pytorch-fid's `python -m pytorch_fid A B --dims D --device DEV`: records
#: what it was given (and whether its weights are where pytorch-fid looks) and prints a FID
FAKE_PYTORCH_FID = textwrap.dedent('''
    import json, os, sys
    weights = os.path.join(os.environ['TORCH_HOME'], 'hub', 'checkpoints',
                           'pt_inception-2015-12-05-6726825d.pth')
    with open(os.environ['FAKE_FID_RECORD'], 'a') as f:
        f.write(json.dumps(dict(argv=sys.argv[1:], weights=os.path.realpath(weights),
                                weights_found=os.path.isfile(weights))) + '\\n')
    print('FID:  2.5')
''')


def test_a_fid_side_by_side_run_gives_both_programs_the_same_inputs(tmp_path, capsys,
                                                                    monkeypatch):
    fake = tmp_path / 'fake_modules' / 'pytorch_fid'
    fake.mkdir(parents=True)
    (fake / '__init__.py').write_text('')
    (fake / '__main__.py').write_text(FAKE_PYTORCH_FID)
    record = tmp_path / 'record.jsonl'
    monkeypatch.setenv('PYTHONPATH', str(fake.parent))
    monkeypatch.setenv('FAKE_FID_RECORD', str(record))
    out = tmp_path / 'figures.json'
    benchmark.main(['fid', '--pytorch-fid-python', sys.executable, '--num-images', '4',
                    '--size', '64', '--repeats', '2', '--json', str(out)])
    printed = capsys.readouterr().out
    figures = json.loads(out.read_text())
    runs = figures['runs']
    # ABBA: ours first in even repetitions, pytorch-fid first in odd ones
    assert [r['program'] for r in runs] == ['ours', 'pytorch-fid', 'pytorch-fid', 'ours']
    assert all('error' not in r for r in runs), runs
    ours = [r for r in runs if r['program'] == 'ours']
    calls = [json.loads(line) for line in record.read_text().splitlines()]
    assert len(calls) == 2 and all(c['weights_found'] for c in calls)
    for call, run in zip(calls, ours):  # the same two folders, dims and weights file
        command = run['command']
        folders = command[2:4]
        assert call['argv'][:2] == folders
        assert call['argv'][2:] == ['--dims', '2048', '--device', 'cpu']
        assert command[command.index('--dims') + 1] == '2048'
        assert call['weights'] == os.path.realpath(command[command.index('--inception-weights')
                                                           + 1])
    rows = {row['program']: row for row in figures['rows']}
    assert rows['pytorch-fid']['fid'] == 2.5
    assert math.isfinite(rows['ours']['fid'])  # our real eval_fid.py on 2 x 2 photo crops
    assert figures['speedup'] == pytest.approx(rows['pytorch-fid']['median_seconds']
                                               / rows['ours']['median_seconds'])
    assert figures['fid_relative_difference'] == pytest.approx(
        abs(rows['ours']['fid'] - 2.5) / 2.5)
    assert f"{figures['speedup']:.2f}x" in printed and 'CPU: ' in printed
