"""Plot the scalar logs of training runs: loss terms, learning rates, validation metrics.

    python tools/plot_logs.py work_dirs/cyclegan_horse2zebra
    python tools/plot_logs.py work_dirs/run_a work_dirs/run_b --out plots/ --smooth 20
    python tools/plot_logs.py work_dirs/run_a --keys 'loss_cycle_*' FID_a2b

Reads what MMEngine's LocalVisBackend writes, WORK_DIR/<timestamp>/vis_data/scalars.json
(one JSON object per line). A work dir with several timestamped runs (a run and its
resumptions) is read as one run, in timestamp order; a later part replaces the iterations
it logs again. Several work dirs are drawn on the same axes, one line each, with a legend.
WORK_DIR may also be one timestamp folder or a scalars.json file.

Writes up to five PNGs (groups with no data are skipped) and prints their paths:
  losses.png  every loss_* term, generator terms first, then discriminator terms
  lr.png      learning rates (generators.lr, discriminators.lr)
  val.png     validation metrics (FID_*, KID_* with their std as a band, IS_*, the rest)
  time.png    time, data_time (and memory on CUDA) per iteration
  other.png   any other number the training logged

Validation lines carry no iteration in MMEngine's default set-up (their "step" is the epoch,
0 in iteration-based loops); they are placed at the iteration of the validation: the
"step" when it is one (LoggerHook(log_metric_by_epoch=False)), else the last logged
training iteration rounded up to train_cfg.val_interval of the run's dumped config.
"""
import argparse
import ast
import fnmatch
import json
import math
import os.path as osp
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

Series = Tuple[List[float], List[float]]  # (iterations, values)

# cyclegan_plugin.models.cyclegan.LOSS_TERMS (this script imports nothing of the package, so
# it runs without torch; a test keeps the two the same)
LOSS_ORDER = ['loss_G_A', 'loss_G_B', 'loss_cycle_A', 'loss_cycle_B', 'loss_idt_A',
              'loss_idt_B', 'loss_G', 'loss_D_A', 'loss_D_B', 'loss_D']
TIME_KEYS = ['time', 'data_time', 'memory']
NOT_PLOTTED = {'iter', 'step', 'epoch'}
VAL_SKIPPED = {'time', 'data_time'}
GROUPS = ['losses', 'lr', 'val', 'time', 'other']


class LogNotFound(Exception):
    """No scalar log where one was expected."""


@dataclass
class RunLog:
    """The scalars of one run (a work dir, its resumptions concatenated)."""
    label: str
    sources: List[Path] = field(default_factory=list)
    train: Dict[str, Series] = field(default_factory=dict)
    val: Dict[str, Series] = field(default_factory=dict)


def find_scalar_files(path) -> List[Path]:
    """The scalars.json files of a work dir, in timestamp order."""
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise LogNotFound(f'{path} does not exist')
    if (path / 'vis_data' / 'scalars.json').is_file():
        return [path / 'vis_data' / 'scalars.json']
    if path.name == 'vis_data' and (path / 'scalars.json').is_file():
        return [path / 'scalars.json']
    # timestamp folders (YYYYMMDD_HHMMSS) sort in time order by name
    files = sorted(path.glob('*/vis_data/scalars.json'), key=lambda p: p.parent.parent.name)
    if not files:
        raise LogNotFound(
            f'no MMEngine scalar log in {path}: expected {path}/<timestamp>/vis_data/'
            'scalars.json, written by tools/train.py when the config\'s visualizer has a '
            'LocalVisBackend (the default of configs/_base_/default_runtime.py)')
    return files


def read_records(path: Path) -> List[dict]:
    """One dict per line; lines that do not parse (a run killed while writing) are skipped."""
    records, bad = [], 0
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            bad += 1
            continue
        if isinstance(record, dict):
            records.append(record)
    if bad:
        warnings.warn(f'{path}: skipped {bad} line(s) that are not JSON')
    return records


def val_schedule(scalars_file: Path) -> Optional[Tuple[int, int]]:
    """(val_interval, max_iters) of an iteration-based run, read as literals from the config
    MMEngine dumped beside scalars.json (never executed); None if unknown."""
    config = Path(scalars_file).parent / 'config.py'
    try:
        tree = ast.parse(config.read_text())
    except (OSError, SyntaxError, ValueError):
        return None
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name) and node.targets[0].id == 'train_cfg'
                and isinstance(node.value, ast.Call)):
            kw = {}
            for k in node.value.keywords:
                try:
                    kw[k.arg] = ast.literal_eval(k.value)
                except ValueError:
                    pass
            if kw.get('type', 'IterBasedTrainLoop') != 'IterBasedTrainLoop':
                return None
            interval, max_iters = kw.get('val_interval'), kw.get('max_iters')
            if isinstance(interval, int) and isinstance(max_iters, int) and interval > 0:
                return interval, max_iters
    return None


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(
        value)


def _val_iteration(step, last_train, schedule) -> float:
    """Where a validation line goes: its step when that is an iteration (never before the
    training it follows), else the last training iteration, rounded up to the run's
    validation interval (validation runs at multiples of it and at max_iters)."""
    if _number(step) and step > 0 and step >= last_train:
        return step
    x = last_train
    if schedule and x > 0:
        interval, max_iters = schedule
        x = min(math.ceil(x / interval) * interval, max_iters)
    return x


def _drop_from(series: Dict[str, Series], start: float) -> None:
    for key, (xs, ys) in series.items():
        keep = [i for i, x in enumerate(xs) if x < start]
        series[key] = ([xs[i] for i in keep], [ys[i] for i in keep])


def load_run(path, label: Optional[str] = None) -> RunLog:
    """Read a work dir (or one timestamp folder / scalars.json) into a RunLog.

    Training lines (they have "iter") give one point per key at that iteration; validation
    lines (no "iter") one point per metric at the validation's iteration (module doc)."""
    files = find_scalar_files(path)
    run = RunLog(label or Path(path).resolve().name, sources=files)
    last_train = 0
    for scalars in files:
        records = read_records(scalars)
        schedule = val_schedule(scalars)
        train_iters = [r['iter'] for r in records if _number(r.get('iter'))]
        if train_iters and train_iters[0] <= last_train:
            # a resumed run logs again from where its checkpoint was: it replaces what the
            # earlier part logged from there on
            _drop_from(run.train, train_iters[0])
            _drop_from(run.val, train_iters[0])
        for record in records:
            if _number(record.get('iter')):
                x, target, skip = record['iter'], run.train, NOT_PLOTTED
                last_train = x
            else:
                x = _val_iteration(record.get('step'), last_train, schedule)
                target, skip = run.val, NOT_PLOTTED | VAL_SKIPPED
            for key, value in record.items():
                if key in skip or not _number(value):
                    continue
                xs, ys = target.setdefault(key, ([], []))
                xs.append(x)
                ys.append(float(value))
    if not run.train and not run.val:
        raise LogNotFound(f'{", ".join(map(str, files))}: no numbers logged yet')
    return run


def group_of(key: str) -> str:
    if key.startswith('loss'):
        return 'losses'
    if key == 'lr' or key.endswith('.lr') or key.endswith('_lr'):
        return 'lr'
    if key in TIME_KEYS:
        return 'time'
    return 'other'


def _loss_rank(key: str):
    if key in LOSS_ORDER:
        return (LOSS_ORDER.index(key), key)
    # unknown terms: generator-side before discriminator-side
    return (len(LOSS_ORDER) + (1 if '_D' in key else 0), key)


def _val_rank(key: str):
    name = key.rsplit('/', 1)[-1]
    for i, prefix in enumerate(('FID', 'KID', 'IS')):
        if name.startswith(prefix):
            return (i, key)
    return (3, key)


def _is_count(key: str) -> bool:
    return key.rsplit('/', 1)[-1].startswith('num_')


def plotted_keys(runs: Sequence[RunLog], patterns: Optional[Sequence[str]] = None
                 ) -> Dict[str, List[str]]:
    """group -> keys to draw (one subplot each), in display order."""
    def wanted(key):
        return not patterns or any(fnmatch.fnmatchcase(key, p) for p in patterns)

    groups: Dict[str, List[str]] = {g: [] for g in GROUPS}
    train_keys = sorted({k for r in runs for k in r.train})
    for key in train_keys:
        if wanted(key):
            groups[group_of(key)].append(key)
    val_keys = {k for r in runs for k in r.val}
    for key in sorted(val_keys):
        base = key[:-len('_std')] if key.endswith('_std') else None
        if _is_count(key) or (base in val_keys and wanted(base)):
            continue  # counts are not curves; a std is drawn as a band around its mean
        if wanted(key):
            groups['val'].append(key)
    groups['losses'].sort(key=_loss_rank)
    groups['val'].sort(key=_val_rank)
    groups['lr'].sort(key=lambda k: (not k.startswith('generators'), k))
    groups['time'].sort(key=TIME_KEYS.index)
    return {g: keys for g, keys in groups.items() if keys}


def smooth(values: Sequence[float], n: int) -> List[float]:
    """Trailing moving average over n points (fewer at the start)."""
    if n <= 1:
        return list(values)
    out, total = [], 0.0
    for i, v in enumerate(values):
        total += v
        if i >= n:
            total -= values[i - n]
        out.append(total / min(i + 1, n))
    return out


TITLES = {'losses': 'losses', 'lr': 'learning rates', 'val': 'validation metrics',
          'time': 'time per iteration', 'other': 'other training scalars'}


def make_figure(group: str, keys: Sequence[str], runs: Sequence[RunLog], smooth_n: int = 1):
    """One figure, one subplot per key, one line per run (labelled with the run's label)."""
    from matplotlib.figure import Figure
    ncols = min(len(keys), 4 if len(keys) > 6 else 3)
    nrows = math.ceil(len(keys) / ncols)
    from matplotlib.ticker import MaxNLocator
    fig = Figure(figsize=(4.2 * ncols, 3.0 * nrows + 0.5), dpi=100, layout='constrained')
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    colours = [f'C{i % 10}' for i in range(len(runs))]
    for ax, key in zip(axes, keys):
        for run, colour in zip(runs, colours):
            source = run.val if group == 'val' else run.train
            if key not in source:
                continue
            xs, ys = source[key]
            if group == 'val':
                ax.plot(xs, ys, 'o-', color=colour, label=run.label, markersize=4)
                std = source.get(key + '_std')
                if std and std[0] == xs:
                    lo = [y - s for y, s in zip(ys, std[1])]
                    hi = [y + s for y, s in zip(ys, std[1])]
                    ax.fill_between(xs, lo, hi, color=colour, alpha=0.2, linewidth=0)
            elif smooth_n > 1 and group in ('losses', 'time', 'other'):
                ax.plot(xs, ys, color=colour, alpha=0.25, linewidth=0.8)
                ax.plot(xs, smooth(ys, smooth_n), color=colour, label=run.label, linewidth=1.4)
            else:
                ax.plot(xs, ys, color=colour, label=run.label, linewidth=1.4,
                        marker='.' if len(xs) < 30 else None)
        title = key + ('  (band: +-std)' if any(key + '_std' in r.val for r in runs)
                       and group == 'val' else '')
        ax.set_title(title, fontsize=10)
        ax.set_xlabel('iteration', fontsize=9)
        ax.tick_params(labelsize=8)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(True, alpha=0.3)
        ax.ticklabel_format(axis='y', style='sci', scilimits=(-3, 4))
    for ax in axes[len(keys):]:
        ax.set_visible(False)
    heading = TITLES[group]
    if smooth_n > 1 and group != 'val' and group != 'lr':
        heading += f' (moving average of {smooth_n} logged points)'
    if len(runs) == 1:
        fig.suptitle(f'{runs[0].label}: {heading}', fontsize=12)
    else:
        fig.suptitle(heading, fontsize=12)
        handles = {}
        for ax in axes[:len(keys)]:
            for line in ax.get_lines():
                if not line.get_label().startswith('_'):
                    handles.setdefault(line.get_label(), line)
        fig.legend(list(handles.values()), list(handles), loc='outside upper right',
                   fontsize=9, ncols=min(len(handles), 4))
    return fig


def make_figures(runs: Sequence[RunLog], patterns=None, smooth_n: int = 1):
    """[(group, figure)] for every group that has something to draw."""
    return [(group, make_figure(group, keys, runs, smooth_n))
            for group, keys in plotted_keys(runs, patterns).items()]


def unique_labels(paths: Sequence[str]) -> List[str]:
    """The folder names, with parents added until they differ (a scalars.json given
    directly is named after its work dir)."""
    def folder(p):
        p = Path(p).resolve()
        return p.parents[2] if p.is_file() and len(p.parents) > 2 else p
    parts = [folder(p).parts for p in paths]
    depth = 1
    while True:
        labels = ['/'.join(p[-depth:]) for p in parts]
        if len(set(labels)) == len(labels) or depth >= max(len(p) for p in parts):
            return labels
        depth += 1


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('work_dirs', nargs='+', metavar='WORK_DIR',
                   help='work dir(s) of tools/train.py (or a timestamp folder / scalars.json)')
    p.add_argument('--out', metavar='DIR', help='where the PNGs go (default: WORK_DIR/plots '
                   'for one work dir, ./plots for several)')
    p.add_argument('--keys', nargs='+', metavar='KEY',
                   help="only these scalars (shell-style patterns: 'loss_cycle_*' FID_a2b)")
    p.add_argument('--smooth', type=int, default=1, metavar='N',
                   help='moving average over N logged points for losses and times '
                   '(the raw curve is drawn faintly behind)')
    p.add_argument('--labels', nargs='+', metavar='NAME',
                   help='legend names of the runs (default: the work dir names)')
    p.add_argument('--dpi', type=int, default=100)
    args = p.parse_args(argv)
    if args.labels and len(args.labels) != len(args.work_dirs):
        p.error(f'--labels: {len(args.labels)} names for {len(args.work_dirs)} work dirs')
    if args.smooth < 1:
        p.error('--smooth must be at least 1')
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    labels = args.labels or unique_labels(args.work_dirs)
    try:
        runs = [load_run(d, label) for d, label in zip(args.work_dirs, labels)]
    except LogNotFound as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    import matplotlib
    matplotlib.use('Agg')
    figures = make_figures(runs, args.keys, args.smooth)
    if not figures:
        available = sorted({k for r in runs for k in (*r.train, *r.val)})
        print(f'error: no logged scalar matches --keys {" ".join(args.keys or [])}; '
              f'logged: {", ".join(available)}', file=sys.stderr)
        return 2
    out = Path(args.out or (osp.join(args.work_dirs[0], 'plots') if len(runs) == 1
                            else 'plots'))
    out.mkdir(parents=True, exist_ok=True)
    for run in runs:
        n = max((len(xs) for xs, _ in run.train.values()), default=0)
        last = max((xs[-1] for xs, _ in run.train.values() if xs), default=0)
        print(f'{run.label}: {len(run.sources)} log file(s), {n} training points up to '
              f'iteration {last:g}, {len(run.val)} validation scalars')
    for group, fig in figures:
        path = out / f'{group}.png'
        fig.savefig(path, dpi=args.dpi)
        print(f'wrote {path}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
