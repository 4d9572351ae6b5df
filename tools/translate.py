"""Translate images, folders, globs or videos with any CycleGAN checkpoint.

    python tools/translate.py CHECKPOINT INPUT --out DIR [--config CFG] [--direction a2b]
        [--device cpu] [--batch-size 1] [--resize] [--tile-size N] [--tile-overlap 64]
        [--tile-stats downscaled|exact] [--backend torch|onnxruntime] [--ext .png]
        [--strict] [--trust-checkpoint] [--norm instance] [--domains A B]

CHECKPOINT: our training checkpoint, a model or generator state dict, the reference's
latest_net_G_A.pth / latest_net_G.pth or checkpoint folder, an MMagic CycleGAN checkpoint, or
an .onnx file from tools/export_onnx.py (onnxruntime backend).
INPUT: an image, a folder (searched recursively; relative paths are kept under --out), a
quoted glob ('photos/**/*.jpg'), or a video (.mp4 .avi .mov .mkv ...; written with the same
fps and size, without audio).

Outputs keep the input's size (see docs/translate.md) and name; each is written to a
temporary file first and renamed, so an interrupted run leaves no half-written image, and an
input file is never overwritten. Unreadable images are skipped with one warning at the end
(--strict: stop with an error instead). Folders and globs also get an index.html gallery of
inputs next to outputs.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from _common import (EXIT_FAILED, ToolError, add_checkpoint_flags,  # noqa: E402
                     add_debug_flag, import_plugin, run_tool)



def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Translate images, folders, globs or videos with a CycleGAN checkpoint')
    parser.add_argument('checkpoint', help='checkpoint file or reference checkpoint folder')
    parser.add_argument('input', help='image, folder, glob or video')
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument('--config', help='MMEngine config (else read from the checkpoint)')
    parser.add_argument('--direction', default='a2b', choices=['a2b', 'b2a'],
                        help='which generator: A -> B (default) or B -> A')
    parser.add_argument('--device', default='cpu', help="'cpu', 'cuda', 'cuda:1' ...")
    parser.add_argument('--batch-size', type=int, default=1,
                        help='images (or tiles) translated together')
    parser.add_argument('--resize', action='store_true',
                        help="the reference's behaviour: bicubic resize to multiples of 4 "
                             '(the output keeps that size)')
    parser.add_argument('--tile-size', type=int, default=None,
                        help='tile side for large images (default: 512 above 1024x1024 '
                             'pixels on CPU, 1024 above 2048x2048 on GPU; 0: never tile)')
    parser.add_argument('--tile-overlap', type=int, default=64,
                        help='pixels neighbouring tiles share and blend (at most half a tile)')
    parser.add_argument('--tile-stats', default='downscaled', choices=['downscaled', 'exact'],
                        help='instance-norm statistics of tiled images (exact: slow)')
    parser.add_argument('--backend', choices=['torch', 'onnxruntime'],
                        help='default: onnxruntime for .onnx files, else torch')
    parser.add_argument('--ext', help="output image format, e.g. '.png' (default: the "
                                      "input's)")
    parser.add_argument('--strict', action='store_true',
                        help='stop at the first unreadable image instead of skipping it')
    add_checkpoint_flags(parser)
    parser.add_argument('--quiet', action='store_true', help='no progress bar')
    add_debug_flag(parser)
    return parser.parse_args(argv)


def load_translator(args):
    from cyclegan_plugin.apis import OnnxTranslator, init_model
    backend = args.backend or ('onnxruntime' if args.checkpoint.endswith('.onnx') else 'torch')
    if backend == 'onnxruntime':
        if not args.checkpoint.endswith('.onnx'):
            raise ToolError('--backend onnxruntime needs an .onnx file (tools/export_onnx.py)')
        return OnnxTranslator(args.checkpoint, args.device)
    if args.checkpoint.endswith('.onnx'):
        raise ToolError('an .onnx file runs with --backend onnxruntime')
    if args.config:
        return init_model(args.config, args.checkpoint, args.device, direction=args.direction,
                          trusted=args.trust_checkpoint)
    # a single-generator checkpoint translates in whichever direction is asked for
    return init_model(args.checkpoint, device=args.device, direction=args.direction,
                      norm=args.norm, domains=args.domains, trusted=args.trust_checkpoint)


def report_skipped(skipped) -> None:
    print(f'warning: skipped {len(skipped)} unreadable file(s):', file=sys.stderr)
    for err in skipped[:20]:
        print(f'  {err.path}: {err.reason}', file=sys.stderr)
    if len(skipped) > 20:
        print(f'  ... and {len(skipped) - 20} more', file=sys.stderr)


def run(translator, kind, items, args) -> None:
    """Translate the inputs with cyclegan_plugin.apis.files and report."""
    from cyclegan_plugin.apis.files import translate_files, translate_video
    from cyclegan_plugin.io import BadImageError
    options = dict(direction=args.direction, batch_size=args.batch_size, resize=args.resize,
                   tile_size=args.tile_size, tile_overlap=args.tile_overlap,
                   stats=args.tile_stats, progress=not args.quiet)
    if kind == 'video':
        video = translate_video(translator, items[0][0], args.out, **options)
        print(f'translated {video.frames} frames ({video.fps:g} fps) into {video.path} '
              f'({video.frames / max(video.seconds, 1e-9):.2f} frames/s)')
        return
    gallery = f'{args.input} ({args.direction})' if kind in ('folder', 'glob') else None
    try:
        result = translate_files(translator, items, args.out, args.ext, args.strict,
                                 gallery=gallery, **options)
    except BadImageError as err:  # --strict
        raise ToolError(f'{err} (--strict stops at the first unreadable image)') from None
    if result.skipped:
        report_skipped(result.skipped)
    if not result.written:
        raise ToolError(f'nothing translated: all {len(result.skipped)} input(s) were '
                        'unreadable', EXIT_FAILED)
    rate = len(result.written) / max(result.seconds, 1e-9)
    skipped = f', skipped {len(result.skipped)}' if result.skipped else ''
    print(f'translated {len(result.written)} image(s) into {args.out} ({rate:.2f} img/s)'
          f'{skipped}')


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.batch_size < 1:
        raise ToolError('--batch-size must be >= 1')
    if not osp.exists(args.checkpoint):
        raise ToolError(f'checkpoint {args.checkpoint} does not exist')
    if args.config and not osp.isfile(args.config):
        raise ToolError(f'config {args.config} does not exist')
    import_plugin()
    from cyclegan_plugin.apis.files import InputError, collect_inputs
    from cyclegan_plugin.apis.inference import check_tiling
    try:
        check_tiling(args.tile_size, args.tile_overlap)
    except ValueError as err:
        raise ToolError(str(err).replace('tile_overlap', '--tile-overlap')
                        .replace('tile_size', '--tile-size')) from None
    try:
        kind, items = collect_inputs(args.input, args.out)
        translator = load_translator(args)
        if args.direction not in translator.directions:
            raise ToolError(f'direction {args.direction!r} is not in {args.checkpoint}: it '
                            f'has {list(translator.directions)}')
        run(translator, kind, items, args)
    except (InputError, ImportError) as err:
        raise ToolError(str(err).replace('the output folder', '--out')) from None
    return 0


if __name__ == '__main__':
    sys.exit(run_tool(main))
