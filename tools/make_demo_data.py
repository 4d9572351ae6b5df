"""Generate the mini horse2zebra demo data set (deterministic, seeded).

Usage (from the repo root)::

    python tools/make_demo_data.py --out data/mini_horse2zebra [--size 64] [--num-train 400]
        [--num-test 100] [--seed 0] [--force]

An identical existing set (same meta.json) is kept unless --force is given.
"""
import argparse
import os
import sys
import time

try:
    from cyclegan_plugin.demo.data import build_demo_dataset
except ImportError:  # run from a checkout without installing the package
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from cyclegan_plugin.demo.data import build_demo_dataset


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', default='data/mini_horse2zebra', help='output folder')
    parser.add_argument('--size', type=int, default=64, help='image side in pixels')
    parser.add_argument('--num-train', type=int, default=400, help='train images per domain')
    parser.add_argument('--num-test', type=int, default=100, help='test images per domain')
    parser.add_argument('--seed', type=int, default=0, help='random seed')
    parser.add_argument('--force', action='store_true',
                        help='regenerate even if an identical set exists')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    start = time.perf_counter()
    summary = build_demo_dataset(args.out, size=args.size, num_train=args.num_train,
                                 num_test=args.num_test, seed=args.seed, force=args.force)
    elapsed = time.perf_counter() - start
    if summary['skipped']:
        print(f'mini horse2zebra: identical set already in {summary["root"]} '
              f'(seed {summary["seed"]}, {summary["size"]}x{summary["size"]}); nothing written '
              f'(use --force to regenerate) [{elapsed:.2f} s]')
        return 0
    counts = ', '.join(f'{k}: {v}' for k, v in summary['counts'].items())
    print(f'mini horse2zebra: wrote {summary["root"]} (seed {summary["seed"]}, '
          f'{summary["size"]}x{summary["size"]}, silhouette {summary["silhouette"]})')
    print(f'  {counts}')
    print(f'  done in {elapsed:.1f} s')
    return 0


if __name__ == '__main__':
    sys.exit(main())
