"""FID / KID between image folders (or saved statistics), numbers matching pytorch-fid.

    python tools/eval_fid.py FOLDER1 FOLDER2            # FID and KID
    python tools/eval_fid.py FOLDER STATS.npz           # FID against saved statistics
    python tools/eval_fid.py --save-stats OUT.npz FOLDER
    python tools/eval_fid.py --config CFG --checkpoint CKPT   # translate the test sets, score

The weights are pytorch-fid's pt_inception-2015-12-05-6726825d.pth, found by
cyclegan_plugin.evaluation.inception.load_inception (--inception-weights, then
$CYCLEGAN_INCEPTION_WEIGHTS, then the torch hub cache, then a download). See docs/evaluation.md.
"""
import argparse
import json
import sys
import warnings
from pathlib import Path

import torch

from cyclegan_plugin.evaluation.fid import (compute_statistics, extract_folder_features,
                                            frechet_distance, kernel_inception_distance,
                                            list_images, load_stats, save_stats)
from cyclegan_plugin.evaluation.inception import (BLOCK_INDEX_BY_DIM, InceptionWeightsNotFound,
                                                  load_inception)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('paths', nargs='*', metavar='PATH',
                   help='two image folders / .npz statistics files, or one folder with '
                        '--save-stats')
    p.add_argument('--save-stats', metavar='OUT.npz',
                   help='write mu, sigma and features of the one given folder and exit')
    p.add_argument('--dims', type=int, default=2048, choices=sorted(BLOCK_INDEX_BY_DIM),
                   help='Inception feature size (default 2048, the one papers report)')
    p.add_argument('--batch-size', type=int, default=50)
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
    args = p.parse_args(argv)
    if args.config or args.checkpoint:
        if not (args.config and args.checkpoint) or args.paths or args.save_stats:
            p.error('--config and --checkpoint go together, without paths or --save-stats')
        return args
    expected = 1 if args.save_stats else 2
    if len(args.paths) != expected:
        p.error(f'expected {expected} path(s), got {len(args.paths)}')
    return args


def _device(name):
    return name or ('cuda' if torch.cuda.is_available() else 'cpu')


def _is_stats(path: str) -> bool:
    return path.endswith('.npz') and Path(path).is_file()


def _check_inputs(paths):
    """Fail fast (before loading ~100 MB of weights) on missing/empty folders or bad files."""
    for path in paths:
        if _is_stats(path):
            load_stats(path)
        else:
            list_images(path)


def _side(path, model, args):
    """Statistics of one side: {'mu', 'sigma', 'features' (or None), 'n', 'images_per_second'}."""
    if _is_stats(path):
        stats = load_stats(path)
        if len(stats['mu']) != args.dims:
            raise ValueError(f'{path} holds {len(stats["mu"])}-d statistics, not --dims '
                             f'{args.dims}')
        feats = stats['features']
        n = stats.get('num_images', len(feats) if feats is not None else None)
        return {'mu': stats['mu'], 'sigma': stats['sigma'], 'features': feats, 'n': n,
                'images_per_second': None}
    res = extract_folder_features(path, model, dims=(args.dims,), batch_size=args.batch_size,
                                  num_workers=args.num_workers, progress=not args.quiet)
    if args.quiet:  # otherwise extract_folder_features has printed it under its progress bar
        print(f'{path}: {len(res.files)} images, {res.images_per_second:.2f} images/s')
    act = res.features[args.dims]
    mu, sigma = compute_statistics(act)
    return {'mu': mu, 'sigma': sigma, 'features': act, 'n': len(act),
            'images_per_second': res.images_per_second}


def run_save_stats(args):
    _check_inputs(args.paths)
    model = load_inception(args.inception_weights, device=_device(args.device))
    folder = args.paths[0]
    side = _side(folder, model, args)
    save_stats(args.save_stats, side['mu'], side['sigma'], features=side['features'],
               num_images=side['n'], dims=args.dims, folder=str(folder))
    print(f'saved statistics of {side["n"]} images ({args.dims}-d) to {args.save_stats}')
    return 0


def run_compare(args):
    _check_inputs(args.paths)
    model = load_inception(args.inception_weights, device=_device(args.device))
    s1, s2 = (_side(p, model, args) for p in args.paths)
    with warnings.catch_warnings():
        # 'Matrix is singular' when there are fewer images than dims: the value is still the
        # one pytorch-fid reports; say so once instead of scipy's warning.
        warnings.filterwarnings('ignore', message='Matrix is')
        fid = frechet_distance(s1['mu'], s1['sigma'], s2['mu'], s2['sigma'])
    result = {'fid': fid, 'kid_mean': None, 'kid_std': None, 'kid_subset_size': None,
              'num_images': [s1['n'], s2['n']], 'dims': args.dims,
              'images_per_second': [s1['images_per_second'], s2['images_per_second']],
              'paths': [str(p) for p in args.paths]}
    if s1['features'] is not None and s2['features'] is not None:
        kid = kernel_inception_distance(s1['features'], s2['features'],
                                        num_subsets=args.kid_subsets,
                                        subset_size=args.kid_subset_size, seed=args.kid_seed)
        result.update(kid_mean=kid['mean'], kid_std=kid['std'], kid_subset_size=kid['subset_size'])
    if min((n for n in result['num_images'] if n is not None), default=args.dims) < args.dims:
        print(f'note: fewer images than dims ({args.dims}): covariances are singular; FID is '
              'still computed as pytorch-fid does but is strongly biased upwards')
    print(f'FID:  {fid}')
    if result['kid_mean'] is not None:
        print(f'KID:  {result["kid_mean"]} +- {result["kid_std"]} '
              f'({args.kid_subsets} subsets of {result["kid_subset_size"]})')
    return _write_json(args.json, result)


def run_config(args):
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
    return _write_json(args.json, result)


def _write_json(path, result) -> int:
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(result, indent=2))
    return 0


def _short_warning(message, category, *args, **kwargs):
    return f'warning: {message}\n'


def main(argv=None):
    args = parse_args(argv)
    warnings.formatwarning = _short_warning  # one line, no source excerpt
    mode = run_config if args.config else run_save_stats if args.save_stats else run_compare
    try:
        return mode(args)
    except (InceptionWeightsNotFound, FileNotFoundError, ValueError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 2


if __name__ == '__main__':
    sys.exit(main())
