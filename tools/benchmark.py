"""Speed figures (a script that prints, not a test).

    python tools/benchmark.py train [--sizes 64 128 256 --paths reference batched amp ...]
    python tools/benchmark.py train --reference-repo PATH --reference-python PY
        [--sizes 64 128 256 --threads 1 2 --repeats 3 --programs-only]
    python tools/benchmark.py fid   [--num-images 200 --size 256 --batch-size 50]
    python tools/benchmark.py fid --pytorch-fid-python PY [--repeats 4]
    python tools/benchmark.py infer [--size 256 --runs 5 --tiled 4000x3000]

train: iterations/s of CycleGAN.train_step for each path and size, every one in a fresh
       process (so the peak memory is its own): median seconds per iteration after warm-up,
       peak memory (RSS on the CPU, allocated memory on CUDA), and GFLOP/s, with the FLOPs of
       one iteration counted by torch's FlopCounterMode and set against a matmul measured on
       the same device. Paths: see TRAIN_PATHS. Sizes: 64 means the demo networks
       (configs/cyclegan_mini_horse2zebra_paper.py: ResNet-6, ngf 32, ndf 32, load 72); any other
       size the paper's (ResNet-9 ngf 64, 70x70 PatchGAN ndf 64, load size*286/256); LSGAN,
       pools of 50, identity 0.5, batch 1 in both.
       With --programs (implied by --reference-repo) it also times whole training programs
       from their own command lines: our tools/train.py (a real MMEngine Runner, with a
       config written to a temporary folder that inherits ours: no validation, a checkpoint
       only at the end) and, with --reference-repo, the reference implementation's own
       train.py (pytorch-CycleGAN-and-pix2pix, run by --reference-python with an empty
       `wandb` module put on its path), on the same temporary trainA/trainB PNGs, at the same
       sizes, with the same networks, loader workers (--workers) and torch threads
       (--threads: OMP_NUM_THREADS / MKL_NUM_THREADS of both), the runs interleaved (ours,
       reference, reference, ours, ... per repetition). Seconds per iteration exclude
       start-up: this script stamps each progress line of the program's own log as it
       arrives (both print one every log interval) and takes (time of the last line - time
       of the line at the end of warm-up) / iterations between them. It prints both figures,
       their ratio (reference / ours: our speed-up), repetitions and spread, and the CPU model
       and flags (or the GPU). Nothing is downloaded: the images are crops of scikit-image's
       bundled photos (64: the demo generator's scenes).
fid:   FID feature extraction (all of eval_fid.py's work but the maths) over N random RGB PNGs,
       images/s. Speed does not depend on the weights' values: without --inception-weights
       the network gets the reference fixtures' seeded stand-in weights.
       With --programs (implied by --pytorch-fid-python PY) it times whole processes instead,
       start-up included: our tools/eval_fid.py and pytorch-fid's `PY -m pytorch_fid` on the
       same two folders of N/2 photo crops each (scikit-image's photos), with the same
       weights file (given to pytorch-fid through $TORCH_HOME, its only way in), interleaved
       ABBA over --repeats; it prints both wall times, their ratio (pytorch-fid / ours: our
       speed-up) and both FIDs.
infer: the paper's ResNet-9 generator (ngf 64) at SIZE x SIZE: images/s with torch and, when
       installed, onnxruntime (tools/export_onnx.py's export), median of --runs after a
       warm-up; and the peak resident memory of a tiled translation of a --tiled image,
       measured in a fresh process.
"""
import argparse
import json
import math
import os
import os.path as osp
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from _common import (REPO, child_env, import_plugin, machine_info,  # noqa: E402
                     machine_line)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('mode', choices=['train', 'fid', 'infer'])
    p.add_argument('--device', default='cpu')
    p.add_argument('--size', type=int, default=256)
    p.add_argument('--num-images', type=int, default=200)
    p.add_argument('--batch-size', type=int, default=50)
    p.add_argument('--num-workers', type=int, default=None)
    p.add_argument('--inception-weights', default=None)
    p.add_argument('--fid-images', choices=('noise', 'photos'), default='noise',
                   help="fid: random-noise PNGs or random crops of scikit-image's photos")
    p.add_argument('--runs', type=int, default=5)
    p.add_argument('--tiled', default='4000x3000', help="WxH of the tiled run ('' to skip)")
    p.add_argument('--tile-size', type=int, default=512)
    p.add_argument('--sizes', type=int, nargs='+', default=None,
                   help='train: image sizes; 64 means the demo networks (ResNet-6, ngf 32, '
                   'ndf 32), any other size the paper\'s (ResNet-9, ngf 64, ndf 64) '
                   '(default: 128 256 for train_step, 64 128 256 for the programs)')
    p.add_argument('--threads', type=int, nargs='+', default=None,
                   help='train: torch threads (OMP_NUM_THREADS and MKL_NUM_THREADS of every '
                   'child process, ours and the reference alike), one pass each (default: '
                   'as the environment gives for train_step; 1 2 for the programs, at most '
                   'the cores)')
    p.add_argument('--reference-repo', default=None,
                   help='train: a checkout of pytorch-CycleGAN-and-pix2pix: also time its '
                   'train.py against our tools/train.py (implies --programs)')
    p.add_argument('--reference-python', default=None,
                   help='train: the Python that runs the reference (needs torch and '
                   'torchvision; default: this Python)')
    p.add_argument('--programs', action='store_true',
                   help='train: also time whole runs of our tools/train.py; fid: time whole '
                   'runs of tools/eval_fid.py, start-up included')
    p.add_argument('--pytorch-fid-python', default=None,
                   help='fid: a Python with pytorch-fid installed: also time its '
                   '`python -m pytorch_fid` on the same folders and weights (implies '
                   '--programs)')
    p.add_argument('--programs-only', action='store_true',
                   help='train: time the programs only, not train_step')
    p.add_argument('--repeats', type=int, default=3,
                   help='train and fid, programs: runs of each program (per size and thread '
                   'count)')
    p.add_argument('--program-warmup', type=int, default=None,
                   help='train, programs: iterations before the timed ones (default: 20 at '
                   '64, 3 at 128, 2 at 256 and above)')
    p.add_argument('--program-iters', type=int, default=None,
                   help='train, programs: timed iterations (default: 150 at 64, 8 at 128, '
                   '4 at 256 and above); both programs log every gcd(warm-up, iters) '
                   'iterations')
    p.add_argument('--workers', type=int, default=1,
                   help='train, programs: data-loader workers of both programs (the '
                   "reference's --num_threads)")
    p.add_argument('--keep-logs', default=None,
                   help='train, programs: copy every program log into this folder')
    p.add_argument('--paths', nargs='+', choices=sorted(TRAIN_PATHS), default=None,
                   help='train: paths to time (default on a CPU: reference, batched, and amp '
                   '(bf16) where it is native; on CUDA: reference, batched, batched_fused, '
                   'amp_cl_fused, amp_cl_graphs)')
    p.add_argument('--iters', type=int, default=5, help='train: timed iterations')
    p.add_argument('--warmup', type=int, default=2, help='train: untimed iterations first '
                   '(compiled paths get 3 more)')
    p.add_argument('--n-blocks', type=int, default=9, help='train: ResNet blocks')
    p.add_argument('--profile', action='store_true',
                   help='train: also where the time goes: on CUDA the GPU busy time and '
                   "kernels per iteration; on a CPU the shares of torch's profile "
                   '(convolutions, instance norm, padding, optimizer step, other)')
    p.add_argument('--child-timeout', type=float, default=None,
                   help="train, fid: stop a path or a program run that takes longer (seconds)")
    p.add_argument('--json', help='also write the figures here')
    p.add_argument('--_tiled-child', dest='tiled_child', help=argparse.SUPPRESS)
    p.add_argument('--_train-child', dest='train_child', help=argparse.SUPPRESS)
    return p.parse_args(argv)


# model switches and mixed precision of each training path
BATCHED = dict(batch_generator_calls=True, batch_discriminator_calls=True)
TRAIN_PATHS = {
    'reference': dict(),
    'batched': BATCHED,
    'channels_last': dict(BATCHED, channels_last=True),
    'amp': dict(BATCHED, amp='bfloat16'),
    'amp_unbatched': dict(amp='bfloat16'),
    'amp_cl': dict(BATCHED, channels_last=True, amp='bfloat16'),
    'amp_fp16_cl': dict(BATCHED, channels_last=True, amp='float16'),
    'compile': dict(BATCHED, compile=True),
    'amp_compile': dict(BATCHED, amp='bfloat16', compile=True),
    'amp_cl_compile': dict(BATCHED, channels_last=True, amp='bfloat16', compile=True),
    'fused': dict(fused_adam=True),
    'batched_fused': dict(BATCHED, fused_adam=True),
    'amp_cl_fused': dict(BATCHED, channels_last=True, amp='bfloat16', fused_adam=True),
    'amp_cl_graphs': dict(BATCHED, channels_last=True, amp='bfloat16', fused_adam=True,
                          compile=dict(mode='reduce-overhead')),
}


def _median_seconds(fn, device, runs):
    """Median wall time of ``fn()`` over ``runs`` calls after one warm-up call."""
    import torch

    def once():
        fn()
        if device.startswith('cuda'):
            torch.cuda.synchronize()
    once()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        once()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def matmul_peak(device, dtype_name='float32', n=4096, runs=3):
    """GFLOP/s of an n x n x n matmul on ``device``: the ceiling the GFLOP/s are set against."""
    import torch
    dtype = getattr(torch, dtype_name)
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    return 2 * n ** 3 / _median_seconds(lambda: a @ b, device, runs) / 1e9


def conv_peak(device, runs=5):
    """GFLOP/s of the network's commonest layer (3x3, 256 -> 256 channels at 64x64, a
    residual block's conv at 256x256 input): convolutions may beat the matmul (on AMD CPUs
    torch's matmul takes MKL's generic path, its convolutions oneDNN's AVX-512 code)."""
    import torch
    x = torch.randn(1, 256, 64, 64, device=device)
    w = torch.randn(256, 256, 3, 3, device=device)
    seconds = _median_seconds(lambda: torch.nn.functional.conv2d(x, w, padding=1), device, runs)
    return 2 * 256 * 256 * 9 * 64 * 64 / seconds / 1e9


DEMO_SIZE = 64  # --sizes 64: the demo networks; any other size: the paper's


def net_spec(size, n_blocks=9):
    """The networks and load size benchmarked at ``size``: at 64 the demo's
    (configs/cyclegan_mini_horse2zebra_paper.py), else the paper's with ``n_blocks`` blocks."""
    if size == DEMO_SIZE:
        return dict(label='demo (ResNet-6 ngf 32, ndf 32)', n_blocks=6, ngf=32, ndf=32,
                    load_size=72, config='cyclegan_mini_horse2zebra_paper.py')
    return dict(label=f'paper (ResNet-{n_blocks} ngf 64, ndf 64)', n_blocks=n_blocks, ngf=64,
                ndf=64, load_size=int(size * 286 / 256 + 0.5), config='cyclegan_horse2zebra.py')


def paper_cyclegan(n_blocks=9, ngf=64, ndf=64, **switches):
    """The paper's CycleGAN (configs/_base_/models/cyclegan_resnet9.py) with fast-path
    switches, built from the registry as a config would build it."""
    from mmengine.config import Config
    from cyclegan_plugin.registry import MODELS, build
    cfg = Config.fromfile(osp.join(REPO, 'configs', '_base_', 'models',
                                   'cyclegan_resnet9.py')).model
    cfg.generator.n_blocks, cfg.generator.ngf, cfg.discriminator.ndf = n_blocks, ngf, ndf
    cfg.update(switches)
    return build(MODELS, cfg.to_dict())


def train_child(args):
    """One path at one size, in a fresh process: JSON figures on the last line of stdout."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode
    from cyclegan_plugin.engine import CycleGANOptimWrapperConstructor
    job = json.loads(args.train_child)
    switches = dict(TRAIN_PATHS[job['path']])
    amp = switches.pop('amp', None)
    fused = switches.pop('fused_adam', False)
    device, size = args.device, job['size']
    torch.manual_seed(0)
    spec = net_spec(size, args.n_blocks)
    model = paper_cyclegan(spec['n_blocks'], spec['ngf'], spec['ndf'], **switches).to(device)
    adam = dict(optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999)))
    if fused:  # one kernel per step for all parameters (CUDA)
        adam['optimizer']['fused'] = True
    if amp:
        adam.update(type='AmpOptimWrapper', dtype=amp)
    optim = CycleGANOptimWrapperConstructor(
        dict(generators=adam, discriminators=adam))(model)
    cast = getattr(next(iter(optim.values())), 'cast_dtype', None)  # what AMP really runs
    gen = torch.Generator().manual_seed(0)

    def batch():
        image = lambda: torch.randint(0, 256, (3, size, size), dtype=torch.uint8,  # noqa: E731
                                      generator=gen)
        return dict(inputs=dict(img_A=[image()], img_B=[image()]))

    def step():
        model.train_step(batch(), optim)
        if device.startswith('cuda'):
            torch.cuda.synchronize()

    warmup = args.warmup + (3 if switches.get('compile') else 0)
    start = time.perf_counter()
    for _ in range(warmup):
        step()
    warmup_seconds = time.perf_counter() - start
    if device.startswith('cuda'):
        torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(args.iters):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    out = dict(path=job['path'], size=size, device=device, networks=spec['label'],
               threads=torch.get_num_threads(),
               amp=str(cast).replace('torch.', '') if cast else None,
               seconds_per_iter=statistics.median(times), iter_seconds=times,
               warmup_seconds=warmup_seconds,
               peak_rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    if device.startswith('cuda'):
        out['peak_cuda_mib'] = torch.cuda.max_memory_allocated() / 2 ** 20
    if args.profile and device.startswith('cuda'):  # GPU busy time vs wall time
        from torch.profiler import ProfilerActivity, profile
        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            for _ in range(3):
                step()
        kernels = [e for e in prof.events() if e.device_type.name == 'CUDA']
        out['gpu_busy_seconds_per_iter'] = sum(e.device_time for e in kernels) / 3e6
        out['kernels_per_iter'] = len(kernels) / 3
    if args.profile and not device.startswith('cuda'):  # where a CPU iteration goes
        from torch.profiler import ProfilerActivity, profile
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(3):
                step()
        out['cpu_time_shares'] = cpu_time_shares(prof.key_averages())
    if not switches.get('compile'):  # the counter sees eager ops only; same maths anyway
        counter = FlopCounterMode(display=False)
        with counter:
            step()
        out['flop_per_iter'] = counter.get_total_flops()
    print(json.dumps(out))


#: what a CPU iteration's operators are, by name (the self time of each); the optimizer's
#: share is the whole time of its step() (its arithmetic shares names with the model's)
CPU_OP_KINDS = (('convolutions', ('convolution',)), ('instance norm', ('batch_norm',)),
                ('padding', ('pad2d',)))


def cpu_time_shares(events) -> dict:
    """The fraction of a profile's self CPU time in each of CPU_OP_KINDS, the optimizer's
    step and the rest ('other': elementwise ops, losses, copies, the dispatcher)."""
    total = sum(e.self_cpu_time_total for e in events)
    shares = {kind: 0.0 for kind, _ in CPU_OP_KINDS}
    for e in events:
        for kind, parts in CPU_OP_KINDS:
            if any(part in e.key for part in parts):
                shares[kind] += e.self_cpu_time_total
                break
    shares['optimizer step'] = sum(e.cpu_time_total for e in events
                                   if e.key.startswith('Optimizer.step#'))
    shares['other'] = total - sum(shares.values())
    return {k: v / total for k, v in shares.items()}


def bench_train(args):
    import torch
    figures = dict(mode='train', device=args.device, n_blocks=args.n_blocks, batch_size=1,
                   torch=torch.__version__)
    if not args.programs_only:
        figures.update(bench_train_steps(args))
    if args.programs or args.programs_only or args.reference_repo:
        figures['programs'] = bench_programs(args)
    return figures


def bench_train_steps(args):
    import torch
    cuda = args.device.startswith('cuda')
    paths = args.paths
    if paths is None:
        from cyclegan_plugin.engine import cpu_has_native_bf16
        if cuda:
            paths = ['reference', 'batched', 'batched_fused', 'amp_cl_fused', 'amp_cl_graphs']
        else:  # channels_last is ignored on the CPU (see CycleGAN)
            paths = ['reference', 'batched'] + (['amp'] if cpu_has_native_bf16() else [])
    rows, rates = [], {}
    default_threads = torch.get_num_threads()
    for threads in args.threads or [None]:
        # the ceilings at this thread count, measured here
        torch.set_num_threads(threads or default_threads)
        peaks = dict(float32=matmul_peak(args.device))
        if cuda:
            peaks['bfloat16'] = matmul_peak(args.device, 'bfloat16', n=8192)
        conv = conv_peak(args.device)
        rates[threads] = (peaks, conv)
        print(f'matmul peak on {args.device} ({torch.get_num_threads()} threads): '
              + ', '.join(f'{k} {v:.0f} GFLOP/s' for k, v in peaks.items())
              + f'; fp32 3x3 conv 256->256 at 64x64: {conv:.0f} GFLOP/s')
        for size in args.sizes or [128, 256]:
            for path in paths:
                rows.append(run_step_child(args, path, size, threads))
                rows[-1]['_threads_asked'] = threads
    torch.set_num_threads(default_threads)
    # FLOPs per iteration are the same for every path of one size and network
    flops = {r['size']: r['flop_per_iter'] for r in rows if 'flop_per_iter' in r}
    for r in rows:
        if 'error' in r:
            continue
        ref = next((q for q in rows if q['size'] == r['size'] and q['path'] == 'reference'
                    and q.get('threads') == r.get('threads') and 'error' not in q), None)
        r['iters_per_second'] = 1 / r['seconds_per_iter']
        r['speedup_vs_reference'] = (ref['seconds_per_iter'] / r['seconds_per_iter']
                                     if ref else None)
        peaks, conv = rates[r['_threads_asked']]
        if r['size'] in flops:
            r['gflop_per_iter'] = flops[r['size']] / 1e9
            r['gflop_per_second'] = r['gflop_per_iter'] / r['seconds_per_iter']
            peak = peaks.get(r['amp'] or 'float32', peaks['float32'])
            r['fraction_of_matmul_peak'] = r['gflop_per_second'] / peak
            if not r['amp']:
                r['fraction_of_conv_rate'] = r['gflop_per_second'] / conv
    for r in rows:
        r.pop('_threads_asked')
    print_train_table(rows)
    # one thread count: the figures as before; several: per thread count
    keyed = {str(t or default_threads): dict(matmul_peak_gflops=p, conv_gflops=c)
             for t, (p, c) in rates.items()}
    peaks, conv = next(iter(rates.values()))
    return dict(matmul_peak_gflops=peaks, conv_gflops=conv, torch_threads=default_threads,
                ceilings_by_threads=keyed, rows=rows)


def run_step_child(args, path, size, threads):
    """One train_step path at one size in a fresh process (its figures, or the error)."""
    job = json.dumps(dict(path=path, size=size))
    cmd = [sys.executable, __file__, 'train', '--device', args.device,
           '--iters', str(args.iters), '--warmup', str(args.warmup),
           '--n-blocks', str(args.n_blocks), '--_train-child', job]
    if args.profile:
        cmd.append('--profile')
    label = f'{path} {size}x{size}' + (f' {threads} threads' if threads else '')
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.child_timeout,
                              env=child_env(threads, args.device))
    except subprocess.TimeoutExpired:
        print(f'  {label}: over {args.child_timeout} s, stopped')
        return dict(path=path, size=size, threads=threads, error='timeout')
    if proc.returncode != 0:
        print(f'  {label}: failed\n{proc.stderr[-3000:]}')
        return dict(path=path, size=size, threads=threads, error=proc.stderr[-3000:])
    row = json.loads(proc.stdout.strip().splitlines()[-1])
    shares = ', '.join(f'{k} {v:.0%}' for k, v in row.get('cpu_time_shares', {}).items())
    print(f'  {label}: {row["seconds_per_iter"]:.3f} s/iter'
          + (f' (CPU time: {shares})' if shares else ''), flush=True)
    return row


# ------------------------------------------------------------------ whole training programs
# Progress lines: MMEngine's LoggerHook ('Iter(train) [ 50/350]') and the reference's
# print_current_losses ('(epoch: 1, iters: 50, time: ...'); one every log interval.
OURS_PROGRESS = re.compile(r'Iter\(train\)\s*\[\s*(\d+)\s*/\s*\d+\]')
REFERENCE_PROGRESS = re.compile(r'\(epoch: (\d+), iters: (\d+),')


def program_schedule(size, warmup=None, iters=None):
    """(warm-up iterations, timed iterations, log interval) of one program run."""
    default = (20, 150) if size <= DEMO_SIZE else (3, 8) if size <= 128 else (2, 4)
    warmup, iters = warmup or default[0], iters or default[1]
    return warmup, iters, math.gcd(warmup, iters)


def our_program_config(size, data_root, total_iters, interval, workers, switches) -> str:
    """The text of a config for tools/train.py that inherits ours (the mini demo's at 64,
    the paper's horse2zebra otherwise) and overrides only what a benchmark must: the data
    root, the run's length (``train_cfg.max_iters``, which wins over the paper's
    ``max_epochs``), the intervals (the log every ``interval``, no checkpoint or picture grid
    before the end: CheckpointHook's save_last writes one after the last progress line), the
    loader workers, no validation; and, off 64 and 256, the load / crop size and networks of
    ``size``. The model's fast-path ``switches`` (TRAIN_PATHS) go into ``model``."""
    from mmengine.config import Config
    spec = net_spec(size)
    base = osp.join(REPO, 'configs', spec['config'])
    base_cfg = Config.fromfile(base)
    lines = [
        '# written by tools/benchmark.py: whole-program timing, no validation',
        f'_base_ = [{base!r}]',
        f'data_root = {data_root!r}',
    ]
    loader = dict(num_workers=workers, persistent_workers=workers > 0,
                  dataset=dict(data_root=data_root))
    pipeline = [t.to_dict() if hasattr(t, 'to_dict') else dict(t)
                for t in base_cfg.train_dataloader.dataset.pipeline]
    changed = False
    for t in pipeline:  # the base config's own training pipeline at this load / crop size
        kind = t['type'].rsplit('.', 1)[-1]
        if kind == 'Resize' and tuple(t['scale']) != (spec['load_size'],) * 2:
            t['scale'], changed = (spec['load_size'],) * 2, True
        elif kind == 'RandomCrop' and t['crop_size'] != size:
            t['crop_size'], changed = size, True
    if changed:
        loader['dataset']['pipeline'] = pipeline
    switches = dict(switches)
    fused = switches.pop('fused_adam', False)
    model = dict(switches)
    gen, disc = base_cfg.model.generator, base_cfg.model.discriminator
    if (gen.ngf, gen.n_blocks) != (spec['ngf'], spec['n_blocks']):
        model['generator'] = dict(ngf=spec['ngf'], n_blocks=spec['n_blocks'])
    if disc.ndf != spec['ndf']:
        model['discriminator'] = dict(ndf=spec['ndf'])
    if model:
        lines.append(f'model = {model!r}')
    never = 10 * total_iters + 1000  # an interval the run never reaches
    hooks = [h.to_dict() if hasattr(h, 'to_dict') else dict(h)
             for h in base_cfg.get('custom_hooks', [])]
    for h in hooks:
        if 'interval' in h:
            h['interval'] = never
    lines += [
        f'train_dataloader = {loader!r}',
        f'train_cfg = dict(max_iters={total_iters}, val_interval={never})',
        'val_dataloader = None', 'val_cfg = None', 'val_evaluator = None',
        f'default_hooks = dict(logger=dict(interval={interval}), '
        f'checkpoint=dict(interval={never}))',
        f'custom_hooks = {hooks!r}',
    ]
    if fused:
        lines.append("optim_wrapper = dict(generators=dict(optimizer=dict(fused=True)), "
                     "discriminators=dict(optimizer=dict(fused=True)))")
    return '\n'.join(lines) + '\n'


def our_program_command(config_path, work_dir, amp=None) -> list:
    cmd = [sys.executable, osp.join(REPO, 'tools', 'train.py'), config_path,
           '--work-dir', work_dir]
    return cmd + (['--amp', amp] if amp else [])


def reference_options(repo) -> str:
    """The text of the reference's option files (to see which switches this version has)."""
    text = ''
    for name in ('base_options.py', 'train_options.py'):
        try:
            with open(osp.join(repo, 'options', name)) as f:
                text += f.read()
        except OSError:
            pass
    return text


def reference_command(python, repo, size, data_root, checkpoints, total_iters, interval,
                      workers, device='cpu') -> list:
    """The reference's train.py with the same networks, sizes, losses, pools and batch;
    no display, no HTML, no checkpoint during the run, one epoch of ``total_iters``."""
    spec = net_spec(size)
    cmd = [python, osp.join(repo, 'train.py'), '--dataroot', data_root, '--name', 'benchmark',
           '--checkpoints_dir', checkpoints, '--model', 'cycle_gan',
           '--netG', f"resnet_{spec['n_blocks']}blocks", '--netD', 'basic',
           '--ngf', str(spec['ngf']), '--ndf', str(spec['ndf']), '--norm', 'instance',
           '--gan_mode', 'lsgan', '--pool_size', '50', '--lambda_identity', '0.5',
           '--batch_size', '1', '--preprocess', 'resize_and_crop',
           '--load_size', str(spec['load_size']), '--crop_size', str(size),
           '--num_threads', str(workers), '--max_dataset_size', str(total_iters),
           '--n_epochs', '1', '--n_epochs_decay', '0', '--print_freq', str(interval),
           '--display_freq', str(10 * total_iters + 1000),
           '--save_latest_freq', str(10 * total_iters + 1000),
           '--save_epoch_freq', str(10 * total_iters + 1000), '--no_html']
    options = reference_options(repo)
    # older versions: visdom display and --gpu_ids (this one: wandb, off unless asked, and
    # the device from CUDA's availability)
    if "'--display_id'" in options or '"--display_id"' in options:
        cmd += ['--display_id', '-1']
    if "'--gpu_ids'" in options or '"--gpu_ids"' in options:
        cmd += ['--gpu_ids', '0' if device.startswith('cuda') else '-1']
    return cmd


def _reference_env(env, stub_dir):
    """The reference imports wandb at start (used only with --use_wandb): an empty module."""
    env = dict(env)
    env['PYTHONPATH'] = stub_dir + (os.pathsep + env['PYTHONPATH']
                                    if env.get('PYTHONPATH') else '')
    return env


def make_wandb_stub(folder) -> str:
    os.makedirs(osp.join(folder, 'wandb'), exist_ok=True)
    with open(osp.join(folder, 'wandb', '__init__.py'), 'w') as f:
        f.write('# empty stand-in written by tools/benchmark.py: the reference imports wandb '
                'and uses it only with --use_wandb\nrun = None\n')
    return folder


def _link_or_copy(src, dst):
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def make_program_data(root, size, count, unique=64, seed=0) -> str:
    """``count`` PNGs in each of root/trainA and root/trainB, read by both programs: at 64
    the demo generator's 64x64 scenes (horses / zebras), else 256x256 crops of
    scikit-image's bundled photos (as horse2zebra's 256x256 images), or the demo's scenes at
    256 without scikit-image. ``unique`` distinct images per domain, the rest hard links."""
    import cv2
    import numpy as np
    rng = np.random.default_rng(seed)
    photos = None
    if size != DEMO_SIZE:
        try:  # the photos that come with scikit-image (no download)
            import skimage.data
            folder = osp.dirname(skimage.data.__file__)
            names = dict(A=('astronaut.png', 'chelsea.png', 'coffee.png', 'ihc.png'),
                         B=('rocket.jpg', 'hubble_deep_field.jpg', 'retina.jpg',
                            'motorcycle_left.png'))
            photos = {d: [im for im in (cv2.imread(osp.join(folder, n), cv2.IMREAD_COLOR)
                                        for n in ns) if im is not None]
                      for d, ns in names.items()}
            if not all(photos.values()):
                photos = None
        except ImportError:
            photos = None
    for domain in ('A', 'B'):
        out = osp.join(root, f'train{domain}')
        os.makedirs(out, exist_ok=True)
        files = []
        for i in range(count):
            path = osp.join(out, f'{i:05d}.png')
            files.append(path)
            if i >= unique:
                _link_or_copy(files[i % unique], path)
                continue
            if photos is None:
                from cyclegan_plugin.demo import render_scene
                image = cv2.cvtColor(render_scene(seed, domain, 'train', i,
                                                  DEMO_SIZE if size == DEMO_SIZE else 256)
                                     ['image'], cv2.COLOR_RGB2BGR)
            else:
                photo = photos[domain][i % len(photos[domain])]
                h, w = photo.shape[:2]
                side = int(rng.integers(min(h, w) // 2, min(h, w) + 1))
                y, x = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
                image = cv2.resize(photo[y:y + side, x:x + side], (256, 256),
                                   interpolation=cv2.INTER_AREA)
                if rng.random() < 0.5:
                    image = image[:, ::-1]
            if not cv2.imwrite(path, np.ascontiguousarray(image)):
                raise OSError(f'could not write {path}')
    return root


def _group_cpu_seconds(pgid):
    """User + system CPU seconds of the processes in process group ``pgid`` (a program and
    its data-loader workers; reaped children included), or None without /proc."""
    ticks = 0
    try:
        entries = os.listdir('/proc')
    except OSError:
        return None
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f'/proc/{entry}/stat') as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(')') + 2:].split()
        if int(fields[2]) == pgid:
            ticks += sum(int(v) for v in fields[11:15])
    return ticks / os.sysconf('SC_CLK_TCK')


def run_program(cmd, cwd, env, progress, timeout=None, log_path=None) -> dict:
    """Run one training program; stamp each of its progress lines as it arrives (wall clock
    and the CPU time of its process group). ``progress(line)`` gives the iteration a line
    reports, or None."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, bufsize=1,
                            start_new_session=True)
    killed = []

    def stop():
        killed.append(True)
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # the group this function started
        except ProcessLookupError:
            pass
    timer = threading.Timer(timeout, stop) if timeout else None
    if timer:
        timer.start()
    stamps, tail = {}, []
    log = open(log_path, 'w') if log_path else None
    try:
        for line in proc.stdout:
            now = time.perf_counter() - start
            it = progress(line)
            if it is not None:
                stamps[it] = (now, _group_cpu_seconds(proc.pid))
            tail = (tail + [line])[-60:]
            if log:
                log.write(line)
        rc = proc.wait()
    except BaseException:
        stop()
        proc.wait()
        raise
    finally:
        if timer:
            timer.cancel()
        if log:
            log.close()
    return dict(rc=rc, killed=bool(killed), stamps=stamps, wall_seconds=time.perf_counter()
                - start, tail=''.join(tail))


def measure(stamps, warmup, total):
    """Seconds (and CPU seconds) per iteration between the progress lines at ``warmup`` and
    at ``total``, the same per log interval, and the start-up: the time until the warm-up
    line less the warm-up iterations at the measured rate."""
    if warmup not in stamps or total not in stamps:
        return None
    (t0, c0), (t1, c1) = stamps[warmup], stamps[total]
    per_iter = (t1 - t0) / (total - warmup)
    marks = sorted(i for i in stamps if warmup <= i <= total)
    intervals = [(stamps[b][0] - stamps[a][0]) / (b - a) for a, b in zip(marks, marks[1:])]
    return dict(seconds_per_iter=per_iter,
                cpu_seconds_per_iter=(c1 - c0) / (total - warmup)
                if c0 is not None and c1 is not None else None,
                interval_seconds_per_iter=intervals,
                startup_seconds=t0 - warmup * per_iter)


def program_entries(args, native_bf16):
    """(name, our path or None for the reference) of each program timed."""
    if args.paths:
        paths = list(args.paths)
    else:  # the default config; bf16 + batched calls where bf16 is native (or on CUDA)
        cuda = args.device.startswith('cuda')
        paths = ['reference'] + (['amp'] if cuda or native_bf16 else [])
    entries = [('ours', p) for p in paths]
    if args.reference_repo:  # next to our first (default) path, whose ratio matters most:
        # in the ABBA order the two then run back to back in every repetition
        entries.insert(1, ('reference', None))
    return entries


def _spread(values):
    """(max - min) / median, as a fraction."""
    return (max(values) - min(values)) / statistics.median(values) if len(values) > 1 else 0.0


def load_before() -> list:
    """The 1-minute load average before a benchmark's first run ([] where the OS has none):
    at the end it counts our own runs, so only the start says whether others were running."""
    return [os.getloadavg()[0]] if hasattr(os, 'getloadavg') else []


def print_load_note(load, info) -> None:
    if load and load[0] > 0.5:
        print(f'note: the 1-minute load average was {load[0]:.1f} before the first run on '
              f'{info["usable_cores"]} cores: other work was running, so these figures are '
              'noisy; rerun on a quiet machine')


def bench_programs(args):
    """Whole training programs from their own command lines (see the module docstring)."""
    from mmengine.config import Config
    info = machine_info(args.device)
    print(machine_line(info), flush=True)
    sizes = args.sizes or [64, 128, 256]
    threads_list = args.threads or sorted({1, min(2, info['usable_cores'])})
    ref_python = args.reference_python or sys.executable
    repo = osp.abspath(args.reference_repo) if args.reference_repo else None
    entries = program_entries(args, info['native_bf16'])
    load = load_before()
    keep = osp.abspath(args.keep_logs) if args.keep_logs else None
    if keep:
        os.makedirs(keep, exist_ok=True)
    began = time.perf_counter()
    runs = []
    with tempfile.TemporaryDirectory(prefix='cyclegan_bench_') as tmp:
        stub = make_wandb_stub(osp.join(tmp, 'stub'))
        if repo:
            if not osp.isfile(osp.join(repo, 'train.py')):
                sys.exit(f'error: {repo} has no train.py (--reference-repo: a checkout of '
                         'pytorch-CycleGAN-and-pix2pix)')
            check = subprocess.run([ref_python, '-c', 'import torch, torchvision, PIL'],
                                   capture_output=True, text=True,
                                   env=_reference_env(child_env(1, args.device), stub))
            if check.returncode != 0:
                sys.exit(f'error: {ref_python} cannot run the reference (it needs torch and '
                         f'torchvision; --reference-python):\n{check.stderr[-1500:]}')
        for size in sizes:
            warmup, iters, interval = program_schedule(size, args.program_warmup,
                                                       args.program_iters)
            total = warmup + iters
            spec = net_spec(size)
            data = make_program_data(osp.join(tmp, f'data{size}'), size, total)
            print(f'{size}x{size}, {spec["label"]}: {warmup} warm-up + {iters} timed '
                  f'iterations, log every {interval}; {args.workers} loader worker(s)',
                  flush=True)
            configs = {}
            for _, path in entries:
                if path is None:
                    continue
                switches = dict(TRAIN_PATHS[path])
                amp = switches.pop('amp', None)
                text = our_program_config(size, data, total, interval, args.workers,
                                          switches)
                cfg_path = osp.join(tmp, f'ours_{size}_{path}.py')
                with open(cfg_path, 'w') as f:
                    f.write(text)
                Config.fromfile(cfg_path)  # fails here, not in a child, if it does not parse
                configs[path] = (cfg_path, amp)
            for threads in threads_list:
                env = child_env(threads, args.device)
                for rep in range(args.repeats):
                    # ABBA order: the programs in turn, reversed in odd repetitions (our
                    # default path and the reference always back to back)
                    order = entries if rep % 2 == 0 else entries[::-1]
                    for program, path in order:
                        name = f'{program}_{path}' if path else program
                        run_id = f'{size}_t{threads}_r{rep}_{name}'
                        if program == 'ours':
                            cfg_path, amp = configs[path]
                            cmd = our_program_command(cfg_path, osp.join(tmp, 'work', run_id),
                                                      amp)
                            cwd, run_env, parse = REPO, env, _ours_progress
                        else:
                            cmd = reference_command(ref_python, repo, size, data,
                                                    osp.join(tmp, 'ref', run_id), total,
                                                    interval, args.workers, args.device)
                            cwd, run_env = repo, _reference_env(env, stub)
                            parse = _reference_progress(total)
                        log_path = osp.join(tmp, f'{run_id}.log')
                        result = run_program(cmd, cwd, run_env, parse, args.child_timeout,
                                             log_path)
                        if keep:
                            shutil.copy(log_path, keep)
                        row = dict(program=program, path=path, size=size, threads=threads,
                                   repetition=rep, networks=spec['label'], warmup=warmup,
                                   iters=iters, log_interval=interval, rc=result['rc'],
                                   wall_seconds=result['wall_seconds'], command=cmd)
                        figures = measure(result['stamps'], warmup, total)
                        label = f'  {size}x{size} {threads} thread(s) #{rep + 1} {name}'
                        if result['rc'] != 0 or figures is None:
                            why = ('stopped after --child-timeout' if result['killed']
                                   else f"exit {result['rc']}, progress lines at "
                                   f"{sorted(result['stamps'])}")
                            print(f'{label}: failed ({why})\n{result["tail"][-3000:]}',
                                  flush=True)
                            row['error'] = why
                        else:
                            row.update(figures)
                            print(f"{label}: {figures['seconds_per_iter']:.4f} s/iter "
                                  f"(start-up {figures['startup_seconds']:.1f} s, run "
                                  f"{result['wall_seconds']:.0f} s)", flush=True)
                        runs.append(row)
    rows = summarize_programs(runs, entries)
    print(machine_line(info))
    print_program_table(rows)
    seconds = time.perf_counter() - began
    print(f'programs: {len(runs)} runs in {seconds / 60:.1f} min')
    print_load_note(load, info)
    return dict(machine=info, load_average=load, sizes=sizes, threads=threads_list,
                workers=args.workers, repeats=args.repeats, seconds=seconds, rows=rows,
                runs=runs, reference_repo=repo, reference_python=ref_python if repo else None,
                method='per-iteration time between two progress lines of the program\'s own '
                       'log, stamped by this script as they arrive (start-up excluded)')


def _ours_progress(line):
    m = OURS_PROGRESS.search(line)
    return int(m.group(1)) if m else None


def _reference_progress(epoch_length):
    def parse(line):
        m = REFERENCE_PROGRESS.search(line)
        return (int(m.group(1)) - 1) * epoch_length + int(m.group(2)) if m else None
    return parse


def summarize_programs(runs, entries):
    """One row per size, thread count and our path: medians over repetitions, the
    reference's for the same size and threads, and the ratio reference / ours."""
    def stats(program, path, size, threads):
        ok = [r for r in runs if r['program'] == program and r['path'] == path
              and r['size'] == size and r['threads'] == threads and 'error' not in r]
        if not ok:
            return None
        spi = [r['seconds_per_iter'] for r in ok]
        cpu = [r['cpu_seconds_per_iter'] for r in ok if r.get('cpu_seconds_per_iter')]
        return dict(seconds_per_iter=statistics.median(spi), runs=len(ok), spread=_spread(spi),
                    all=spi, cpu_seconds_per_iter=statistics.median(cpu) if cpu else None,
                    startup_seconds=statistics.median(r['startup_seconds'] for r in ok))
    rows = []
    keys = sorted({(r['size'], r['threads']) for r in runs})
    for size, threads in keys:
        ref = stats('reference', None, size, threads)
        for program, path in entries:
            if program != 'ours':
                continue
            ours = stats('ours', path, size, threads)
            rows.append(dict(size=size, threads=threads, path=path,
                             networks=net_spec(size)['label'], ours=ours, reference=ref,
                             ratio=ref['seconds_per_iter'] / ours['seconds_per_iter']
                             if ours and ref else None))
    return rows


PROGRAM_PATH_NAMES = {'reference': 'reference order, fp32 (default)',
                      'fused': 'reference order, fp32, fused Adam (opt-in)',
                      'amp': 'bf16 autocast + batched calls'}


def print_program_table(rows):
    print('networks / size | threads | our path | ours s/iter | reference s/iter | '
          'reference / ours | runs (ours, ref) | spread ours | spread ref | '
          'CPU s/iter ours | CPU s/iter ref | start-up s ours | start-up s ref')

    def cell(stats, key, fmt):
        return fmt.format(stats[key]) if stats and stats.get(key) is not None else '-'
    for r in rows:
        o, f = r['ours'], r['reference']
        print(' | '.join([
            f"{r['networks']} {r['size']}x{r['size']}", str(r['threads']),
            PROGRAM_PATH_NAMES.get(r['path'], r['path']),
            cell(o, 'seconds_per_iter', '{:.4f}'), cell(f, 'seconds_per_iter', '{:.4f}'),
            f"{r['ratio']:.2f}x" if r['ratio'] else '-',
            f"{o['runs'] if o else 0}, {f['runs'] if f else 0}",
            cell(o, 'spread', '{:.1%}'), cell(f, 'spread', '{:.1%}'),
            cell(o, 'cpu_seconds_per_iter', '{:.4f}'), cell(f, 'cpu_seconds_per_iter', '{:.4f}'),
            cell(o, 'startup_seconds', '{:.1f}'), cell(f, 'startup_seconds', '{:.1f}')]))


def print_train_table(rows):
    mem = 'peak CUDA MiB' if any('peak_cuda_mib' in r for r in rows) else 'peak RSS MiB'
    head = ('path', 'size', 'threads', 's/iter', 'it/s', 'x ref', mem, 'GFLOP/iter',
            'GFLOP/s', '% matmul peak', '% conv rate')
    print(' | '.join(head))
    for r in rows:
        if 'error' in r:
            print(f'{r["path"]} | {r["size"]} | {r.get("threads") or "-"} | failed')
            continue
        cells = (r['path'], r['size'], r.get('threads', '-'), f'{r["seconds_per_iter"]:.3f}',
                 f'{r["iters_per_second"]:.2f}',
                 f'{r["speedup_vs_reference"]:.2f}' if r['speedup_vs_reference'] else '-',
                 f'{r.get("peak_cuda_mib", r["peak_rss_mib"]):.0f}',
                 f'{r["gflop_per_iter"]:.0f}' if 'gflop_per_iter' in r else '-',
                 f'{r["gflop_per_second"]:.0f}' if 'gflop_per_second' in r else '-',
                 f'{100 * r["fraction_of_matmul_peak"]:.0f}%'
                 if 'fraction_of_matmul_peak' in r else '-',
                 f'{100 * r["fraction_of_conv_rate"]:.0f}%'
                 if 'fraction_of_conv_rate' in r else '-')
        print(' | '.join(str(c) for c in cells))


def write_fid_images(folder, count, size, source='photos', seed=0):
    """``count`` PNGs of size x size in ``folder``: random crops of scikit-image's bundled
    photos (PNG compresses them as it would real data) or, with ``source='noise'``, random
    pixels. Nothing is downloaded."""
    import cv2
    import numpy as np
    photos = None
    if source == 'photos':
        import skimage.data as sk
        photos = [p for p in (sk.astronaut(), sk.chelsea(), sk.coffee(), sk.rocket(),
                              sk.hubble_deep_field(), sk.immunohistochemistry(), sk.retina(),
                              *sk.stereo_motorcycle()[:2])
                  if min(p.shape[:2]) >= size]
        if not photos:
            raise SystemExit(f'no scikit-image photo is {size} pixels on both sides')
    rng = np.random.default_rng(seed)
    os.makedirs(folder, exist_ok=True)
    for i in range(count):
        if photos:  # a random size x size crop of a random photo, RGB -> BGR for imwrite
            photo = photos[rng.integers(len(photos))]
            y = rng.integers(0, photo.shape[0] - size + 1)
            x = rng.integers(0, photo.shape[1] - size + 1)
            image = np.ascontiguousarray(photo[y:y + size, x:x + size, 2::-1])
        else:
            image = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
        cv2.imwrite(osp.join(folder, f'{i:05d}.png'), image)


def bench_fid(args):
    if args.pytorch_fid_python or args.programs:
        return bench_fid_programs(args)
    import torch
    from cyclegan_plugin.evaluation.fid import extract_folder_features
    from cyclegan_plugin.evaluation.inception import (FIDInceptionV3, load_inception,
                                                      seeded_inception_state_dict)
    if args.inception_weights:
        model = load_inception(args.inception_weights, device=args.device)
        weights = args.inception_weights
    else:  # the speed does not depend on the weights' values: the fixtures' stand-in
        model = FIDInceptionV3()
        model.load_state_dict(seeded_inception_state_dict())
        model = model.requires_grad_(False).fuse_batchnorm().use_channels_last()
        model = model.to(args.device).eval()
        weights = 'seeded stand-in weights (no --inception-weights)'
    with tempfile.TemporaryDirectory() as folder:
        write_fid_images(folder, args.num_images, args.size, args.fid_images)
        start = time.perf_counter()
        out = extract_folder_features(folder, model, dims=(2048,), batch_size=args.batch_size,
                                      num_workers=args.num_workers, device=args.device,
                                      progress=False)
        seconds = time.perf_counter() - start
    figures = dict(mode='fid', images=args.num_images, size=args.size, source=args.fid_images,
                   batch_size=args.batch_size, device=args.device, weights=weights,
                   seconds=seconds, images_per_second=args.num_images / seconds,
                   torch_threads=torch.get_num_threads())
    assert out.features[2048].shape == (args.num_images, 2048)
    print(f'FID extraction: {args.num_images} {args.fid_images} images of '
          f'{args.size}x{args.size}, batch '
          f'{args.batch_size}, {args.device}: {figures["images_per_second"]:.2f} images/s '
          f'({seconds:.1f} s)')
    return figures


FID_LINE = re.compile(r'^FID:\s+(\S+)', re.M)


def _fid_value(output):
    m = FID_LINE.search(output)
    return float(m.group(1)) if m else None


def bench_fid_programs(args):
    """Whole FID programs from their own command lines, start-up included: our
    tools/eval_fid.py and, with --pytorch-fid-python, pytorch-fid's `python -m pytorch_fid`,
    on the same two folders of photo crops with the same weights, interleaved (ABBA). Prints
    the wall times, their ratio, and both FIDs (a check that they compute the same number)."""
    from cyclegan_plugin.evaluation.inception import (FID_WEIGHTS_FILENAME,
                                                      seeded_inception_state_dict)
    info = machine_info(args.device)
    print(machine_line(info), flush=True)
    load = load_before()
    per_folder = args.num_images // 2
    programs = ['ours'] + (['pytorch-fid'] if args.pytorch_fid_python else [])
    runs = []
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix='cyclegan_fid_bench_') as tmp:
        folders = [osp.join(tmp, name) for name in ('A', 'B')]
        for seed, folder in enumerate(folders):
            write_fid_images(folder, per_folder, args.size, 'photos', seed=seed)
        # pytorch-fid finds its weights in the torch hub cache only: give both programs one
        # file there ($TORCH_HOME of the run)
        hub = osp.join(tmp, 'torch_home', 'hub', 'checkpoints')
        os.makedirs(hub)
        weights = osp.join(hub, FID_WEIGHTS_FILENAME)
        if args.inception_weights:
            os.symlink(osp.abspath(args.inception_weights), weights)
            weights_label = args.inception_weights
        else:  # the speed does not depend on the values; these give FIDs to compare
            import torch
            torch.save(seeded_inception_state_dict(), weights)
            weights_label = 'seeded stand-in weights (no --inception-weights)'
        env = dict(child_env(None, args.device), TORCH_HOME=osp.join(tmp, 'torch_home'))
        commands = {
            'ours': [sys.executable, osp.join(REPO, 'tools', 'eval_fid.py'), *folders,
                     '--dims', '2048', '--device', args.device, '--inception-weights',
                     weights],
            'pytorch-fid': [args.pytorch_fid_python, '-m', 'pytorch_fid', *folders,
                            '--dims', '2048', '--device', args.device],
        }
        print(f'2 x {per_folder} PNGs of {args.size}x{args.size} (photo crops), dims 2048, '
              f'{args.device}; weights: {weights_label}; {args.repeats} repetition(s)',
              flush=True)
        for rep in range(args.repeats):
            for program in (programs if rep % 2 == 0 else programs[::-1]):
                result = run_program(commands[program], REPO, env, lambda line: None,
                                     args.child_timeout)
                fid = _fid_value(result['tail'])
                row = dict(program=program, repetition=rep, rc=result['rc'],
                           wall_seconds=result['wall_seconds'], fid=fid,
                           command=commands[program])
                if result['rc'] != 0 or fid is None:
                    row['error'] = ('stopped after --child-timeout' if result['killed']
                                    else f"exit {result['rc']}")
                    print(f"  #{rep + 1} {program}: failed ({row['error']})\n"
                          f"{result['tail'][-3000:]}", flush=True)
                else:
                    print(f"  #{rep + 1} {program}: {result['wall_seconds']:.1f} s wall, "
                          f'FID {fid!r}', flush=True)
                runs.append(row)
    rows = []
    for program in programs:
        ok = [r for r in runs if r['program'] == program and 'error' not in r]
        if ok:
            walls = [r['wall_seconds'] for r in ok]
            rows.append(dict(program=program, runs=len(ok), median_seconds=statistics.median(
                walls), min_seconds=min(walls), max_seconds=max(walls), fid=ok[0]['fid']))
    print(machine_line(info))
    print('| program | runs | wall s (median) | min - max | FID |')
    print('|---|---|---|---|---|')
    for row in rows:
        print(f"| {row['program']} | {row['runs']} | {row['median_seconds']:.1f} | "
              f"{row['min_seconds']:.1f} - {row['max_seconds']:.1f} | {row['fid']!r} |")
    figures = dict(mode='fid_programs', machine=info, load_average=load, images=per_folder,
                   size=args.size, device=args.device, weights=weights_label,
                   repeats=args.repeats, rows=rows, runs=runs,
                   seconds=time.perf_counter() - began)
    if len(rows) == 2:
        ours, theirs = rows
        figures['speedup'] = theirs['median_seconds'] / ours['median_seconds']
        figures['fid_relative_difference'] = abs(ours['fid'] - theirs['fid']) / abs(
            theirs['fid'])
        print(f"pytorch-fid / ours: {figures['speedup']:.2f}x (median wall times); FID "
              f"{ours['fid']!r} vs {theirs['fid']!r}: relative difference "
              f"{figures['fid_relative_difference']:.1e}")
    print_load_note(load, info)
    return figures


def _median_rate(fn, batch, runs):
    """Images/s of ``fn(batch)``: median of ``runs`` after a warm-up."""
    return batch.shape[0] / _median_seconds(lambda: fn(batch), str(batch.device), runs)


def _paper_translator(device):
    import torch
    from cyclegan_plugin.apis import Translator
    from cyclegan_plugin.models import ResnetGenerator
    torch.manual_seed(0)
    return Translator({'a2b': ResnetGenerator(ngf=64, n_blocks=9)}, source='benchmark',
                      device=device)


def bench_infer(args):
    import torch
    translator = _paper_translator(args.device)
    net = translator.generators['a2b']
    x = torch.rand(1, 3, args.size, args.size, device=args.device) * 2 - 1
    with torch.inference_mode():
        torch_rate = _median_rate(net, x, args.runs)
    figures = dict(mode='infer', size=args.size, device=args.device,
                   torch_images_per_second=torch_rate, onnxruntime_images_per_second=None)
    print(f'ResNet-9 ngf64 {args.size}x{args.size} torch ({args.device}): '
          f'{torch_rate:.2f} images/s')
    try:
        import onnxruntime  # noqa: F401
        from export_onnx import export
    except ImportError:
        print('onnxruntime not installed: skipped')
    else:
        from cyclegan_plugin.apis import OnnxTranslator
        with tempfile.TemporaryDirectory() as tmp:
            path = osp.join(tmp, 'g.onnx')
            export(translator, 'a2b', path)
            session = OnnxTranslator(path)
            ort_rate = _median_rate(lambda b: session.run(b, 'a2b'), x.cpu(), args.runs)
        figures['onnxruntime_images_per_second'] = ort_rate
        print(f'ResNet-9 ngf64 {args.size}x{args.size} onnxruntime (CPU): '
              f'{ort_rate:.2f} images/s')
    if args.tiled:
        proc = subprocess.run([sys.executable, __file__, 'infer', '--device', args.device,
                               '--tile-size', str(args.tile_size), '--_tiled-child',
                               args.tiled], capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f'tiled run failed:\n{proc.stderr[-2000:]}')
        tiled = json.loads(proc.stdout.strip().splitlines()[-1])
        figures['tiled'] = tiled
        print(f'tiled {args.tiled} (tiles {args.tile_size}): peak RSS '
              f'{tiled["peak_rss_mib"]:.0f} MiB, {tiled["seconds"]:.1f} s')
    return figures


def tiled_child(args):
    """In a fresh process, so ru_maxrss is this translation's peak."""
    import numpy as np
    from cyclegan_plugin.apis import translate
    w, h = (int(v) for v in args.tiled_child.lower().split('x'))
    image = np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8)
    translator = _paper_translator(args.device)
    start = time.perf_counter()
    out = translate(translator, image, 'a2b', tile_size=args.tile_size)
    seconds = time.perf_counter() - start
    assert out.shape == image.shape
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(dict(size=[w, h], tile_size=args.tile_size, seconds=seconds,
                          peak_rss_mib=peak)))


def main(argv=None):
    args = parse_args(argv)
    import_plugin()
    if args.tiled_child:
        return tiled_child(args)
    if args.train_child:
        return train_child(args)
    figures = dict(train=bench_train, fid=bench_fid, infer=bench_infer)[args.mode](args)
    figures.update(cpu_count=os.cpu_count())
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(figures, f, indent=2)


if __name__ == '__main__':
    main()
