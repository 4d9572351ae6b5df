"""The GPU check of the speed work (a script that prints, not a test): on one CUDA device,

1. ``tools/benchmark.py train --device cuda`` at 256x256, batch 1: the reference-order fp32
   path against the fast paths (batched calls, channels_last, bf16/fp16 AMP, compile);
2. the mini demo trained ``--iters`` iterations (default 300) on the reference-order path and
   on the fast path (``--fast full``: all of configs/cyclegan_horse2zebra_fast.py's switches;
   ``eager``: without compile and fused Adam), two seeds each, and their loss curves
   compared: the difference between the paths against the difference between seeds of one
   path (run-to-run noise).

    python tools/gpu_check.py [--out DIR] [--iters 300] [--fast-amp bfloat16] [--fast full]
        [--paths reference batched ...] [--skip-benchmark]

Writes DIR/benchmark_train.json and DIR/gpu_check.json and prints both tables.
"""
import argparse
import json
import os
import os.path as osp
import statistics
import subprocess
import sys
import time

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from _common import REPO  # noqa: E402
from plot_logs import LOSS_ORDER, load_run  # noqa: E402

CONFIG = osp.join(REPO, 'configs', 'cyclegan_mini_horse2zebra_paper.py')
LOSSES = tuple(k for k in LOSS_ORDER if k not in ('loss_G', 'loss_D'))  # the terms, no totals
FAST_SWITCHES = ('model.batch_generator_calls=True', 'model.batch_discriminator_calls=True',
                 'model.channels_last=True')
# what configs/cyclegan_horse2zebra_fast.py adds: fused Adam, torch.compile with CUDA graphs
FULL_SWITCHES = FAST_SWITCHES + (
    'optim_wrapper.generators.optimizer.fused=True',
    'optim_wrapper.discriminators.optimizer.fused=True',
    'model.compile=reduce-overhead')


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--out', default=os.environ.get('OUT', 'work_dirs/gpu_check'))
    p.add_argument('--iters', type=int, default=300)
    p.add_argument('--seeds', type=int, nargs=2, default=[0, 1],
                   help='two seeds: their difference is the run-to-run noise')
    p.add_argument('--fast-amp', default='bfloat16', choices=['bfloat16', 'float16'])
    p.add_argument('--fast', default='full', choices=['full', 'eager'],
                   help="the fast path of the loss-curve runs: 'full' as "
                   "configs/cyclegan_horse2zebra_fast.py (with compile and CUDA graphs), "
                   "'eager' without compile and fused Adam")
    p.add_argument('--paths', nargs='+', default=['reference', 'batched_fused',
                                                  'amp_cl_fused', 'amp_cl_graphs'])
    p.add_argument('--bench-iters', type=int, default=20)
    p.add_argument('--child-timeout', type=float, default=150)
    p.add_argument('--skip-benchmark', action='store_true')
    p.add_argument('--device', default='cuda', help="'cpu' only to try the script out")
    p.add_argument('--data-root', default=osp.join(REPO, 'data', 'mini_horse2zebra'))
    return p.parse_args(argv)


def run(cmd, **kwargs):
    print('$ ' + ' '.join(cmd), flush=True)
    start = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=REPO, **kwargs)
    return time.perf_counter() - start


def curve_summary(run, start):
    """Mean of each loss term over the logged windows from iteration ``start`` on, and the
    median logged seconds per iteration (``run``: plot_logs.load_run's)."""
    def late(key):
        iters, values = run.train[key]
        return [v for i, v in zip(iters, values) if i > start]
    out = {k: statistics.fmean(late(k)) for k in LOSSES if k in run.train}
    out['s_per_iter'] = statistics.median(late('time'))
    return out


def main(argv=None):
    args = parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    py = sys.executable
    report = dict(out=args.out)
    import torch
    report['device'] = (torch.cuda.get_device_name(0) if args.device.startswith('cuda')
                        else f'cpu ({os.cpu_count()} cores)')
    report['torch'] = torch.__version__
    print(f"{report['device']}, torch {report['torch']}", flush=True)
    if not args.skip_benchmark:
        bench = osp.join(args.out, 'benchmark_train.json')
        report['benchmark_seconds'] = run([
            py, 'tools/benchmark.py', 'train', '--device', args.device, '--sizes', '256',
            '--iters', str(args.bench_iters), '--warmup', '5', '--child-timeout',
            str(args.child_timeout), '--paths', *args.paths, '--json', bench])
    if not osp.isdir(args.data_root):
        run([py, 'tools/make_demo_data.py', '--out', args.data_root])
    curves = {}
    for name in ('reference', 'fast'):
        for seed in args.seeds:
            work = osp.join(args.out, 'runs', f'{name}_seed{seed}')
            flags = ['--amp', args.fast_amp] if name == 'fast' else []
            options = [f'train_cfg.max_iters={args.iters}',
                       f'train_cfg.val_interval={args.iters}',
                       'default_hooks.logger.interval=10', f'randomness.seed={seed}',
                       'train_dataloader.num_workers=4']
            if name == 'fast':
                options += FULL_SWITCHES if args.fast == 'full' else FAST_SWITCHES
            cmd = [py, 'tools/train.py', CONFIG, '--work-dir', work, *flags,
                   '--cfg-options', *options]
            seconds = run(cmd, stdout=subprocess.DEVNULL)
            log = load_run(work)
            summary = curve_summary(log, args.iters // 2)
            summary.update(wall_seconds=seconds,
                           val={k: v[-1] for k, (_, v) in log.val.items() if v},
                           curve={k: log.train[k][1] for k in LOSSES if k in log.train},
                           iters=log.train['loss_G'][0])
            curves[f'{name}_seed{seed}'] = summary
    report['runs'] = curves
    s0, s1 = (f'_seed{s}' for s in args.seeds[:2])
    print(f'\nmini demo, {args.iters} iterations: mean of each loss over the second half')
    print('term | ' + ' | '.join(curves) + ' | |fast-ref| (same seed, mean) | '
          '|seed0-seed1| ref | fast')
    table = {}
    for k in LOSSES:
        vals = [curves[r].get(k) for r in curves]
        if None in vals:
            continue
        gap = statistics.fmean(abs(curves['fast' + s][k] - curves['reference' + s][k])
                               for s in (s0, s1))
        noise_ref = abs(curves['reference' + s0][k] - curves['reference' + s1][k])
        noise_fast = abs(curves['fast' + s0][k] - curves['fast' + s1][k])
        table[k] = dict(gap=gap, noise_reference=noise_ref, noise_fast=noise_fast)
        print(f'{k} | ' + ' | '.join(f'{v:.4f}' for v in vals)
              + f' | {gap:.4f} | {noise_ref:.4f} | {noise_fast:.4f}')
    print('s/iter (logged, median) | ' + ' | '.join(
        f"{curves[r]['s_per_iter']:.4f}" for r in curves))
    for r in curves:
        print(f"{r}: val {json.dumps(curves[r]['val'])}")
    report['comparison'] = table
    report['fast_switches'] = list(FULL_SWITCHES if args.fast == 'full' else FAST_SWITCHES)
    with open(osp.join(args.out, 'gpu_check.json'), 'w') as f:
        json.dump(report, f, indent=1)


if __name__ == '__main__':
    main()
