"""Translate a config's test sets both ways with a checkpoint, score them, write a gallery.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out DIR]
        [--cfg-options ...] [--json FILE] [--debug]

Writes every real_A / fake_B / rec_A / real_B / fake_A / rec_B image and an index.html
gallery (one row per test image, as the reference's results page), prints the config's
test metrics and how many images it wrote.
"""
import argparse
import json
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from _common import (add_debug_flag, add_runner_flags, check_data_roots,  # noqa: E402
                     check_fid_weights, checked_checkpoint, close_distributed, import_plugin,
                     run_tool, runner_config)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test (translate + evaluate) a CycleGAN')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='where logs go (default: work_dirs/<config name>)')
    parser.add_argument('--out', '--out-dir', dest='out_dir',
                        help='the folder where images and index.html go '
                        '(default: <work-dir>/translations; --out-dir is the old spelling)')
    parser.add_argument('--json', help='also write the metrics to this JSON file')
    add_runner_flags(parser, 'testing')
    add_debug_flag(parser)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    import_plugin()
    from mmengine.runner import Runner

    cfg = runner_config(args)
    cfg.load_from = checked_checkpoint(args.checkpoint)
    out_dir = osp.abspath(args.out_dir or osp.join(cfg.work_dir, 'translations'))
    hooks = [h for h in cfg.get('custom_hooks', []) if h.get('type') != 'SaveTranslationsHook']
    cfg.custom_hooks = hooks + [dict(type='SaveTranslationsHook', out_dir=out_dir,
                                     phases=['test'])]
    check_data_roots(cfg, ('test_dataloader',))
    check_fid_weights(cfg, ('test_evaluator',))
    runner = Runner.from_cfg(cfg)
    metrics = runner.test()
    close_distributed()
    gallery = osp.join(out_dir, 'index.html')
    n_images = len([1 for _ in _iter_images(osp.join(out_dir, 'images'))])
    print(f'wrote {n_images} images to {osp.join(out_dir, "images")}')
    print(f'gallery: {gallery}')
    for key, value in (metrics or {}).items():
        print(f'{key}: {value:.4f}' if isinstance(value, float) else f'{key}: {value}')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(metrics=metrics, gallery=gallery, num_images=n_images), f, indent=2)
    return metrics


def _iter_images(folder):
    import os
    if osp.isdir(folder):
        for name in os.listdir(folder):
            if name.endswith('.png'):
                yield name


if __name__ == '__main__':
    sys.exit(run_tool(main))
