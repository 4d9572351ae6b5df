"""Soak test: a long training run of the mini demo, watching resident memory, then checking
that its log and checkpoints are all there.

    python tools/soak.py                          # 2,000 iterations, 64x64 (issue #6)
    python tools/soak.py --iters 200 --size 32 --checkpoint-interval 50   # a quick try
        [--config configs/cyclegan_mini_horse2zebra_paper.py] [--data DIR] [--work-dir DIR]
        [--warmup N] [--max-growth MIB] [--json FILE]

Trains in this process with MMEngine's Runner, as tools/train.py does. A hook reads the
resident set size (VmRSS) of this process and of its data-loader workers after every
``--sample-every`` iterations. Printed: the RSS after warm-up (``--warmup``, default
iteration 200) and at the end, the growth in MiB and MiB per 1000 iterations (end minus
warm-up, and a least-squares slope over all samples after warm-up), and the maximum. Then:
every iteration the logger should have written is in the run's scalars.json with finite
losses; every checkpoint the CheckpointHook should have kept exists, loads with
weights_only=True and holds its iteration; last_checkpoint names the final one.

The exit status is 1 when a check fails or the growth after warm-up exceeds
``--max-growth`` MiB. Demo data: data/mini_horse2zebra when it exists at the asked size,
else built under the work dir (``--data`` to choose).
"""
import argparse
import glob
import json
import math
import os
import os.path as osp
import re
import sys
import time

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from _common import REPO, check_data_roots, import_plugin  # noqa: E402

MIB = 1024 * 1024


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Train the mini demo long and watch its memory')
    p.add_argument('--config',
                   default=osp.join(REPO, 'configs', 'cyclegan_mini_horse2zebra_paper.py'))
    p.add_argument('--iters', type=int, default=2000, help='training iterations')
    p.add_argument('--size', type=int, default=64, help='image side of the demo data')
    p.add_argument('--data', help='demo data folder (built there if missing)')
    p.add_argument('--work-dir', help='default: work_dirs/soak_<iters>_<size>')
    p.add_argument('--warmup', type=int,
                   help='iteration after which memory should stay flat (default 200, or a '
                   'quarter of --iters when that is less)')
    p.add_argument('--sample-every', type=int, default=10, help='iterations between samples')
    p.add_argument('--checkpoint-interval', type=int,
                   help="default: the config's (1000 for the mini demo)")
    p.add_argument('--max-growth', type=float, default=16.0,
                   help='MiB of growth after warm-up above which the soak fails')
    p.add_argument('--json', help='also write the figures and samples here')
    args = p.parse_args(argv)
    if args.warmup is None:
        args.warmup = min(200, args.iters // 4)
    if not 0 < args.warmup < args.iters:
        p.error('--warmup must lie between 0 and --iters')
    return args


def rss_bytes(pid='self') -> int:
    """Resident set size of a process (0 when it has gone)."""
    from cyclegan_plugin.engine import resident_mib
    return int(resident_mib(pid) * MIB)


def child_pids(pid=None):
    """The direct children of a process (the data-loader workers of this one)."""
    pid = pid or os.getpid()
    children = []
    for path in glob.glob(f'/proc/{pid}/task/*/children'):
        with open(path) as f:
            children += [int(c) for c in f.read().split()]
    return children


def memory_probe_hook(samples, every):
    """A hook that appends (iteration, main RSS, workers' RSS) to ``samples``."""
    from mmengine.hooks import Hook

    class MemoryProbeHook(Hook):
        priority = 'LOWEST'

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            n = runner.iter + 1
            if n % every == 0 or n == runner.max_iters:
                workers = sum(rss_bytes(c) for c in child_pids())
                samples.append((n, rss_bytes(), workers))

    return MemoryProbeHook()


def demo_data(args, work_dir):
    """--data, or data/mini_horse2zebra when it has --size, or a set built in the work dir;
    an existing folder is used as it is."""
    from cyclegan_plugin.demo import build_demo_dataset
    root = args.data
    if root is None:
        default = osp.join(REPO, 'data', 'mini_horse2zebra')
        meta = osp.join(default, 'meta.json')
        size = None
        if osp.isfile(meta):
            with open(meta) as f:
                size = json.load(f).get('size')
        root = default if size == args.size else osp.join(work_dir, 'data', f'mini_{args.size}')
    if not osp.isdir(root):
        summary = build_demo_dataset(root, size=args.size)
        print(f'built the demo data in {root} ({summary["seconds"]:.0f} s)')
    return root


def build_config(args, work_dir, data_root):
    """The demo config at --size and --iters: its pipeline's resize and crop scaled, its
    schedule's decay over the second half, validation at the end."""
    from mmengine.config import Config
    cfg = Config.fromfile(args.config)
    cfg.work_dir = work_dir
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        if cfg.get(loader):
            cfg[loader].dataset.data_root = data_root
    for metric in cfg.val_evaluator.get('metrics', []):
        if 'data_root' in metric:
            metric['data_root'] = data_root
    pipeline = cfg.train_dataloader.dataset.pipeline
    for t in pipeline:
        if t['type'] == 'Resize':
            t['scale'] = (args.size * 9 // 8, args.size * 9 // 8)  # 72 for 64, as the demo
        elif t['type'] == 'RandomCrop':
            t['crop_size'] = args.size
    cfg.train_cfg.max_iters = args.iters
    cfg.train_cfg.val_interval = args.iters
    for sched in cfg.get('param_scheduler') or []:
        if not sched.get('by_epoch', True):
            sched.update(begin=args.iters // 2, end=args.iters)
    if args.checkpoint_interval:
        cfg.default_hooks.checkpoint.interval = args.checkpoint_interval
    return cfg


def fit_slope(points):
    """Least-squares slope of (x, y) points."""
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else 0.0


def memory_figures(samples, warmup):
    after = [s for s in samples if s[0] >= warmup]
    first, last = after[0], after[-1]
    total = [(n, (m + w) / MIB) for n, m, w in after]
    growth = (last[1] + last[2] - first[1] - first[2]) / MIB
    return dict(
        warmup_iter=first[0], end_iter=last[0],
        warmup_main_mib=first[1] / MIB, warmup_workers_mib=first[2] / MIB,
        end_main_mib=last[1] / MIB, end_workers_mib=last[2] / MIB,
        max_total_mib=max(t for _, t in total),
        growth_mib=growth,
        growth_mib_per_1000=growth / max(last[0] - first[0], 1) * 1000,
        slope_mib_per_1000=fit_slope(total) * 1000,
        main_growth_mib=(last[1] - first[1]) / MIB)


def check_log(work_dir, cfg, iters):
    """Every iteration the LoggerHook writes is in scalars.json, with finite losses."""
    files = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    if not files:
        return False, 'no scalars.json under the work dir'
    rows = [json.loads(line) for line in open(files[-1]) if line.strip()]
    train = {r['iter']: r for r in rows if 'iter' in r and 'loss_G' in r}
    interval = cfg.default_hooks.logger.interval
    expected = set(range(interval, iters + 1, interval))
    missing = sorted(expected - set(train))
    bad = sorted(i for i, r in train.items()
                 if not all(math.isfinite(v) for k, v in r.items() if k.startswith('loss')))
    ok = not missing and not bad
    return ok, (f'{len(expected & set(train))}/{len(expected)} logged iterations (every '
                f'{interval}) in {osp.relpath(files[-1], work_dir)}'
                + (f'; missing {missing[:5]}' if missing else '')
                + (f'; non-finite losses at {bad[:5]}' if bad else '; losses finite'))


def check_checkpoints(work_dir, cfg, iters):
    """The checkpoints the CheckpointHook should have kept are there and load."""
    from cyclegan_plugin.io import load_checkpoint_file
    hook = cfg.default_hooks.checkpoint
    saved = list(range(hook.interval, iters + 1, hook.interval))
    if hook.get('save_last', True) and iters not in saved:
        saved.append(iters)
    keep = hook.get('max_keep_ckpts', -1)
    expected = saved[-keep:] if keep > 0 else saved
    found = sorted(int(m.group(1)) for m in map(re.compile(r'iter_(\d+)\.pth').fullmatch,
                                                os.listdir(work_dir)) if m)
    problems = [] if found == expected else [f'expected iterations {expected}, found {found}']
    for n in found:
        try:
            if load_checkpoint_file(osp.join(work_dir, f'iter_{n}.pth'))['meta']['iter'] != n:
                problems.append(f'iter_{n}.pth holds another iteration')
        except Exception as err:  # noqa: BLE001  (any damage is a finding)
            problems.append(f'iter_{n}.pth does not load: {err}')
    pointer = osp.join(work_dir, 'last_checkpoint')
    last = open(pointer).read().strip() if osp.isfile(pointer) else None
    if last != osp.join(work_dir, f'iter_{iters}.pth'):
        problems.append(f'last_checkpoint names {last}')
    names = ', '.join(f'iter_{n}.pth' for n in found) or 'none'
    return not problems, (f'{names} load (weights_only), last_checkpoint -> '
                          f'{osp.basename(last or "?")}' if not problems
                          else '; '.join(problems))


def main(argv=None):
    args = parse_args(argv)
    import_plugin()
    from mmengine.runner import Runner

    work_dir = osp.abspath(args.work_dir or osp.join(
        'work_dirs', f'soak_{args.iters}_{args.size}'))
    if osp.isdir(work_dir) and any(re.fullmatch(r'iter_\d+\.pth', n)
                                   for n in os.listdir(work_dir)):
        sys.exit(f'error: {work_dir} holds checkpoints of an earlier run, which the checks '
                 'would count: give a fresh --work-dir')
    os.makedirs(work_dir, exist_ok=True)
    cfg = build_config(args, work_dir, demo_data(args, work_dir))
    check_data_roots(cfg)
    samples = []
    runner = Runner.from_cfg(cfg)
    runner.register_hook(memory_probe_hook(samples, args.sample_every))
    start = time.perf_counter()
    runner.train()
    seconds = time.perf_counter() - start

    mem = memory_figures(samples, args.warmup)
    log_ok, log_msg = check_log(work_dir, cfg, args.iters)
    ckpt_ok, ckpt_msg = check_checkpoints(work_dir, cfg, args.iters)
    mem_ok = mem['growth_mib'] <= args.max_growth
    print(f'\nsoak: {args.iters} iterations of {osp.relpath(args.config, REPO)} at '
          f'{args.size}x{args.size} in {seconds:.0f} s ({seconds / args.iters:.3f} s/iter)')
    print('resident memory (MiB)          main   workers    total')
    for label, n, m, w in (('after warm-up', mem['warmup_iter'], mem['warmup_main_mib'],
                            mem['warmup_workers_mib']),
                           ('at the end', mem['end_iter'], mem['end_main_mib'],
                            mem['end_workers_mib'])):
        print(f'  {label + f" (iter {n})":<26}{m:8.1f}{w:10.1f}{m + w:9.1f}')
    print(f'  {"max after warm-up":<26}{"":18}{mem["max_total_mib"]:9.1f}')
    print(f'growth after warm-up: {mem["growth_mib"]:+.1f} MiB '
          f'({mem["growth_mib_per_1000"]:+.2f} MiB per 1000 iterations; least-squares slope '
          f'{mem["slope_mib_per_1000"]:+.2f} MiB per 1000), bound {args.max_growth:g} MiB')
    print(f'log: {log_msg}')
    print(f'checkpoints: {ckpt_msg}')
    ok = mem_ok and log_ok and ckpt_ok
    print('soak: ' + ('PASS' if ok else 'FAIL'))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(config=args.config, iters=args.iters, size=args.size,
                           seconds=seconds, memory=mem, max_growth_mib=args.max_growth,
                           log=dict(ok=log_ok, detail=log_msg),
                           checkpoints=dict(ok=ckpt_ok, detail=ckpt_msg), ok=ok,
                           samples=[dict(iter=n, main_bytes=m, workers_bytes=w)
                                    for n, m, w in samples]), f, indent=1)
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
