"""FID / KID between image folders (or saved statistics), numbers matching pytorch-fid.

    python tools/eval_fid.py FOLDER1 FOLDER2            # FID and KID
    python tools/eval_fid.py FOLDER STATS.npz           # FID against saved statistics
    python tools/eval_fid.py --save-stats OUT.npz FOLDER
    python tools/eval_fid.py --config CFG --checkpoint CKPT   # translate the test sets, score

The weights are pytorch-fid's pt_inception-2015-12-05-6726825d.pth, found by
cyclegan_plugin.evaluation.inception.load_inception (--inception-weights, then
$CYCLEGAN_INCEPTION_WEIGHTS, then the torch hub cache, then a download). See docs/evaluation.md.
"""
import time

_START = time.perf_counter()  # before any other import: --verbose counts the imports

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

#: the feature sizes of cyclegan_plugin.evaluation.inception.BLOCK_INDEX_BY_DIM (not imported
#: here: arguments are parsed before torch is loaded)
DIMS = (64, 192, 768, 2048)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('paths', nargs='*', metavar='PATH',
                   help='two image folders / .npz statistics files, or one folder with '
                        '--save-stats')
    p.add_argument('--save-stats', metavar='OUT.npz',
                   help='write mu, sigma and features of the one given folder and exit')
    p.add_argument('--dims', type=int, default=2048, choices=DIMS,
                   help='Inception feature size (default 2048, the one papers report)')
    p.add_argument('--batch-size', type=int, default=None,
                   help='images per Inception forward (default: 10 on the CPU, 50 on a GPU; '
                        'the numbers do not depend on it)')
    p.add_argument('--num-workers', type=int, default=None,
                   help='image decoding workers (default min(4, CPUs))')
    p.add_argument('--device', default=None, help='cpu, cuda, cuda:1... (default: cuda if any)')
    p.add_argument('--inception-weights', default=None, metavar='PTH',
                   help='path of pt_inception-2015-12-05-6726825d.pth')
    p.add_argument('--kid-subsets', type=int, default=100)
    p.add_argument('--kid-subset-size', type=int, default=1000)
    p.add_argument('--kid-seed', type=int, default=0)
    p.add_argument('--json', metavar='FILE', help='also write the results as JSON')
    p.add_argument('--config', help='with --checkpoint: translate the config\'s test sets '
                   '(testA -> B, testB -> A) and score them against the real test images')
    p.add_argument('--checkpoint', help='the checkpoint for --config')
    p.add_argument('--work-dir', default=None, help='logs of the --config mode')
    p.add_argument('--quiet', action='store_true', help='no progress bar (one line per folder)')
    p.add_argument('--verbose', action='store_true',
                   help='at the end, print where the time went: one line per phase (start-up, '
                        'imports, weights, decoding, forward pass, statistics, FID, KID, total) '
                        'with its seconds')
    p.add_argument('--fid-method', default='eigh', choices=('eigh', 'sqrtm'),
                   help='folder/statistics modes: how the trace of the matrix square root is '
                        'computed: eigh (default, fast) or sqrtm (scipy, pytorch-fid\'s own '
                        'steps; 8 s to minutes at 2048-d on 2 cores). See docs/evaluation.md')
    args = p.parse_args(argv)
    if args.config or args.checkpoint:
        if not (args.config and args.checkpoint) or args.paths or args.save_stats:
            p.error('--config and --checkpoint go together, without paths or --save-stats')
        return args
    expected = 1 if args.save_stats else 2
    if len(args.paths) != expected:
        p.error(f'expected {expected} path(s), got {len(args.paths)}')
    return args


def _load_fid_modules(lean: bool, progress_bar: bool) -> None:
    """Import torch, numpy and the FID modules into this module's globals (and MMEngine's
    progress bar when ``progress_bar``, so that --verbose counts it under 'imports': 0.5-0.7 s).

    Importing ``cyclegan_plugin`` runs its ``__init__``, which registers every component
    (models, datasets, hooks: MMEngine and more, 1.5-3 s). The folder and statistics modes need
    only ``evaluation/fid.py``, ``evaluation/inception.py`` and ``io/images.py``, so when
    ``lean`` (this file run as a script, not in --config mode, which needs the registry) the
    packages above them are put in ``sys.modules`` without running their ``__init__``; their
    modules import as usual. Nothing else in such a process may expect the registry to be
    filled, which is why :func:`main` called from other code (``lean=False``) never does this.
    """
    if lean:
        for name in ('cyclegan_plugin', 'cyclegan_plugin.evaluation', 'cyclegan_plugin.io'):
            if name not in sys.modules:
                spec = importlib.util.find_spec(name)
                sys.modules[name] = importlib.util.module_from_spec(spec)  # not executed
    global torch, fid, inception
    import torch

    from cyclegan_plugin.evaluation import fid, inception
    if progress_bar:
        import mmengine.utils  # noqa: F401  (fid.extract_folder_features' ProgressBar)


class Phases:
    """Seconds per phase, for --verbose and the JSON ``seconds``."""

    ORDER = ('start-up', 'imports', 'weights', 'decode', 'forward', 'statistics', 'fid', 'kid',
             'save', 'run', 'other', 'total')
    HELP = {'start-up': 'Python itself, until this script runs',
            'imports': 'torch, numpy and the FID modules',
            'weights': 'read the weights file, build the network',
            'decode': 'waiting for decoded images (DataLoader workers start, decode)',
            'forward': 'Inception: to float, resize to 299x299, network, features',
            'statistics': 'mu and sigma of the features',
            'fid': 'Frechet distance (trace of the matrix square root)',
            'kid': 'KID subsets',
            'save': 'write the statistics file',
            'run': 'the test loop with translation and metrics (--config)',
            'other': 'listing and checking inputs, printing, the rest',
            'total': 'wall time of the whole process'}

    def __init__(self):
        self.seconds = {}

    def add(self, name: str, seconds: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds

    def timed(self, name: str):
        phases = self

        class _Timer:
            def __enter__(self):
                self.start = time.perf_counter()

            def __exit__(self, *exc):
                phases.add(name, time.perf_counter() - self.start)
        return _Timer()

    def finish(self) -> dict:
        """Fill start-up, other and total (wall time since the process started where the OS
        says, else since this script's first line) and return the phases in order."""
        age, now = _process_age(), time.perf_counter()
        if age is not None:
            self.seconds['start-up'] = max(0.0, age - (now - _START))
        total = (now - _START) + self.seconds.get('start-up', 0.0)
        self.seconds['other'] = max(0.0, total - sum(
            v for k, v in self.seconds.items() if k not in ('other', 'total')))
        self.seconds['total'] = total
        return {k: self.seconds[k] for k in self.ORDER if k in self.seconds}

    def print(self, seconds: dict) -> None:
        print('time per phase (s):')
        for name, value in seconds.items():
            print(f'  {name:<10} {value:7.2f}  {self.HELP[name]}')


def _process_age():
    """Seconds since this process started (to 10 ms), from /proc on Linux; None elsewhere."""
    import os
    try:
        with open('/proc/self/stat') as f:
            start_ticks = int(f.read().rsplit(')', 1)[1].split()[19])  # field 22: starttime
        with open('/proc/uptime') as f:
            uptime = float(f.read().split()[0])
        return uptime - start_ticks / os.sysconf('SC_CLK_TCK')
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def _device(name):
    return name or ('cuda' if torch.cuda.is_available() else 'cpu')


def _is_stats(path: str) -> bool:
    return path.endswith('.npz') and Path(path).is_file()


def _check_inputs(paths):
    """Fail fast (before loading ~100 MB of weights) on missing/empty folders or bad files."""
    for path in paths:
        if _is_stats(path):
            fid.load_stats(path)
        else:
            fid.list_images(path)


def _load_model(args, phases):
    with phases.timed('weights'):
        return inception.load_inception(args.inception_weights, device=_device(args.device))


def _side(path, model, args, phases):
    """Statistics of one side: {'mu', 'sigma', 'features' (or None), 'n', 'images_per_second'}."""
    if _is_stats(path):
        with phases.timed('statistics'):
            stats = fid.load_stats(path)
        if len(stats['mu']) != args.dims:
            raise ValueError(f'{path} holds {len(stats["mu"])}-d statistics, not --dims '
                             f'{args.dims}')
        feats = stats['features']
        n = stats.get('num_images', len(feats) if feats is not None else None)
        return {'mu': stats['mu'], 'sigma': stats['sigma'], 'features': feats, 'n': n,
                'images_per_second': None}
    res = fid.extract_folder_features(path, model, dims=(args.dims,),
                                      batch_size=args.batch_size, num_workers=args.num_workers,
                                      progress=not args.quiet)
    phases.add('decode', res.decode_seconds)
    phases.add('forward', res.forward_seconds)
    if not args.quiet:
        print()  # below the progress bar
    print(f'{path}: {len(res.files)} images, {res.images_per_second:.2f} images/s')
    act = res.features[args.dims]
    with phases.timed('statistics'):
        mu, sigma = fid.compute_statistics(act)
    return {'mu': mu, 'sigma': sigma, 'features': act, 'n': len(act),
            'images_per_second': res.images_per_second}


def run_save_stats(args, phases):
    _check_inputs(args.paths)
    model = _load_model(args, phases)
    folder = args.paths[0]
    side = _side(folder, model, args, phases)
    with phases.timed('save'):
        fid.save_stats(args.save_stats, side['mu'], side['sigma'], features=side['features'],
                       num_images=side['n'], dims=args.dims, folder=str(folder))
    print(f'saved statistics of {side["n"]} images ({args.dims}-d) to {args.save_stats}')
    return {}


def run_compare(args, phases):
    _check_inputs(args.paths)
    folders = [p for p in args.paths if not _is_stats(p)]
    model = _load_model(args, phases) if folders else None  # two .npz files: no network
    s1, s2 = (_side(p, model, args, phases) for p in args.paths)
    with warnings.catch_warnings(), phases.timed('fid'):
        # 'Matrix is singular' (method sqrtm) when there are fewer images than dims: the value
        # is still the one pytorch-fid reports; say so once instead of scipy's warning.
        warnings.filterwarnings('ignore', message='Matrix is')
        value = fid.frechet_distance(s1['mu'], s1['sigma'], s2['mu'], s2['sigma'],
                                     method=args.fid_method)
    result = {'fid': value, 'kid_mean': None, 'kid_std': None, 'kid_subset_size': None,
              'num_images': [s1['n'], s2['n']], 'dims': args.dims, 'fid_method': args.fid_method,
              'images_per_second': [s1['images_per_second'], s2['images_per_second']],
              'paths': [str(p) for p in args.paths]}
    if s1['features'] is not None and s2['features'] is not None:
        with phases.timed('kid'):
            kid = fid.kernel_inception_distance(s1['features'], s2['features'],
                                                num_subsets=args.kid_subsets,
                                                subset_size=args.kid_subset_size,
                                                seed=args.kid_seed)
        result.update(kid_mean=kid['mean'], kid_std=kid['std'], kid_subset_size=kid['subset_size'])
    if min((n for n in result['num_images'] if n is not None), default=args.dims) < args.dims:
        print(f'note: fewer images than dims ({args.dims}): covariances are singular; FID is '
              'still computed as pytorch-fid does but is strongly biased upwards')
    print(f'FID:  {value}')
    if result['kid_mean'] is not None:
        print(f'KID:  {result["kid_mean"]} +- {result["kid_std"]} '
              f'({args.kid_subsets} subsets of {result["kid_subset_size"]})')
    return result


def run_config(args, phases):
    """Translate a config's test sets with a checkpoint through a real MMEngine test loop and
    score each direction with TranslationFIDKID (translated testA vs real testB, and back)."""
    import os.path as osp
    import tempfile

    from mmengine.config import Config
    from mmengine.runner import Runner

    for path in (args.config, args.checkpoint):
        if not osp.isfile(path):
            raise FileNotFoundError(f'{path} does not exist')
    cfg = Config.fromfile(args.config)
    cfg.work_dir = args.work_dir or tempfile.mkdtemp(prefix='eval_fid_')
    cfg.load_from = args.checkpoint
    cfg.test_evaluator = dict(type='Evaluator', metrics=[dict(
        type='TranslationFIDKID', dims=args.dims, inception_weights=args.inception_weights,
        device=args.device, batch_size=args.batch_size, num_workers=args.num_workers,
        kid_subsets=args.kid_subsets, kid_subset_size=args.kid_subset_size,
        kid_seed=args.kid_seed)])
    with phases.timed('run'):
        runner = Runner.from_cfg(cfg)
        metrics = runner.test()
    dataset = runner.test_dataloader.dataset
    sizes = {'a2b': [dataset.A_size, dataset.B_size], 'b2a': [dataset.B_size, dataset.A_size]}
    result = {d: {'fid': metrics.get(f'FID_{d}'), 'kid_mean': metrics.get(f'KID_{d}'),
                  'kid_std': metrics.get(f'KID_{d}_std'), 'num_images': sizes[d]}
              for d in ('a2b', 'b2a')}
    result.update(dims=args.dims, config=args.config, checkpoint=args.checkpoint,
                  metrics=metrics)
    for d in ('a2b', 'b2a'):
        print(f'{d}: FID {result[d]["fid"]}  KID {result[d]["kid_mean"]} +- '
              f'{result[d]["kid_std"]}  images {result[d]["num_images"]}')
    return result


def _write_json(path, result) -> None:
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(result, indent=2))


def _short_warning(message, category, *args, **kwargs):
    return f'warning: {message}\n'


def main(argv=None, lean_imports: bool = False):
    """Run the tool; ``lean_imports``: see :func:`_load_fid_modules` (only for a process of
    its own: the script sets it)."""
    args = parse_args(argv)
    warnings.formatwarning = _short_warning  # one line, no source excerpt
    phases = Phases()
    with phases.timed('imports'):
        folders = args.config is None and not all(_is_stats(p) for p in args.paths)
        _load_fid_modules(lean=lean_imports and not args.config,
                          progress_bar=folders and not args.quiet)
    mode = run_config if args.config else run_save_stats if args.save_stats else run_compare
    try:
        result = mode(args, phases)
    except (inception.InceptionWeightsNotFound, FileNotFoundError, ValueError) as e:
        message = str(e).strip()
        if message.startswith('Caught ') and 'Original Traceback' in message:
            # raised in a DataLoader worker (an image that cannot be decoded): its last line
            message = message.splitlines()[-1]
        print(f'error: {message}', file=sys.stderr)
        return 2
    seconds = phases.finish()
    if args.verbose:
        phases.print(seconds)
    if not args.save_stats:
        result['seconds'] = seconds
        _write_json(args.json, result)
    return 0


def _exit_without_teardown(code: int) -> None:
    """End the process once its output is flushed, skipping the interpreter's teardown: torch's
    and the BLAS libraries' destructors took 0.5-0.7 s after the work was done (2 x 100 images,
    2-core CPU), 3-4% of the tool's wall time. Only for folder and statistics runs: every file
    they write is closed by then, and no Runner (with loggers or writers) was started."""
    import os
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == '__main__':
    exit_code = main(lean_imports=True)
    if 'mmengine.runner' not in sys.modules:
        _exit_without_teardown(exit_code)
    sys.exit(exit_code)
