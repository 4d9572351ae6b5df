"""Train a CycleGAN from an MMEngine config.

    python tools/train.py configs/cyclegan_horse2zebra.py [--work-dir DIR] [--resume [CKPT]]
        [--overwrite] [--amp [bfloat16|float16]]
        [--cfg-options train_cfg.max_iters=1000 randomness.seed=1] [--debug]

A work dir that holds checkpoints is never trained into afresh by accident: give --resume to
continue, or --overwrite to start again and replace them.
"""
import argparse
import os
import os.path as osp
import re
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from _common import (ToolError, add_debug_flag, add_runner_flags,  # noqa: E402
                     check_data_roots, check_fid_weights, checked_checkpoint,
                     close_distributed, import_plugin, keep_freed_memory, run_tool,
                     runner_config)

keep_freed_memory()  # before torch is imported and allocates: see _common


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a CycleGAN')
    parser.add_argument('config', help='config file')
    parser.add_argument('--work-dir', help='where logs and checkpoints go '
                        '(default: work_dirs/<config name>)')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume from CKPT, or from the latest checkpoint of the work dir '
                        'when no path is given')
    parser.add_argument('--overwrite', action='store_true',
                        help='start afresh in a work dir that holds checkpoints, replacing them')
    parser.add_argument('--amp', nargs='?', const='bfloat16', choices=['bfloat16', 'float16'],
                        help='mixed-precision training: bf16 (default) or fp16 with a loss '
                        'scaler; CUDA, or a CPU with native bf16 (else fp32, with a warning)')
    add_runner_flags(parser, 'training')
    add_debug_flag(parser)
    return parser.parse_args(argv)


def existing_checkpoints(work_dir) -> list:
    names = os.listdir(work_dir) if osp.isdir(work_dir) else []
    return sorted(n for n in names if re.fullmatch(r'(iter|epoch)_\d+\.pth', n))


def main(argv=None):
    args = parse_args(argv)
    import_plugin()
    from mmengine.runner import Runner

    cfg = runner_config(args)
    if args.amp:
        from cyclegan_plugin.engine.amp import use_amp
        use_amp(cfg.optim_wrapper, args.amp)
    if args.resume == 'auto':
        # the newest checkpoint that loads (a damaged one is skipped with a warning)
        from cyclegan_plugin.io import newest_loadable_checkpoint
        cfg.load_from = newest_loadable_checkpoint(cfg.work_dir)
        # none: start afresh, as MMEngine does, without trusting a stale last_checkpoint
        cfg.resume = cfg.load_from is not None
        if not cfg.resume:
            print(f'--resume: no loadable checkpoint in {cfg.work_dir}: training from the '
                  'start', file=sys.stderr)
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, checked_checkpoint(args.resume, resume=True)
    elif not args.overwrite and existing_checkpoints(cfg.work_dir):
        found = existing_checkpoints(cfg.work_dir)
        raise ToolError(f'{cfg.work_dir} already holds checkpoints ({", ".join(found[-3:])}): '
                        'continue that run with --resume, or start again and replace them '
                        'with --overwrite (or choose another --work-dir)')
    check_data_roots(cfg)
    if cfg.get('val_cfg') and cfg.get('val_dataloader'):
        check_fid_weights(cfg)
    runner = Runner.from_cfg(cfg)
    runner.train()
    close_distributed()
    return runner


if __name__ == '__main__':
    sys.exit(run_tool(main))
