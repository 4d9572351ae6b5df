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
import glob
import os
import os.path as osp
import sys
import tempfile
import time

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from _common import (EXIT_FAILED, ToolError, add_debug_flag, import_plugin,  # noqa: E402
                     run_tool)

VIDEO_CODECS = {'.mp4': 'mp4v', '.m4v': 'mp4v', '.mov': 'mp4v', '.avi': 'MJPG',
                '.mkv': 'mp4v'}
VIDEO_EXTS = tuple(VIDEO_CODECS) + ('.webm', '.mpg', '.mpeg', '.wmv', '.flv', '.3gp')


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
                        help='pixels neighbouring tiles share and blend (under half a tile)')
    parser.add_argument('--tile-stats', default='downscaled', choices=['downscaled', 'exact'],
                        help='instance-norm statistics of tiled images (exact: slow)')
    parser.add_argument('--backend', choices=['torch', 'onnxruntime'],
                        help='default: onnxruntime for .onnx files, else torch')
    parser.add_argument('--ext', help="output image format, e.g. '.png' (default: the "
                                      "input's)")
    parser.add_argument('--strict', action='store_true',
                        help='stop at the first unreadable image instead of skipping it')
    parser.add_argument('--norm', choices=['instance', 'batch', 'none'],
                        help="override the checkpoint's normalisation")
    parser.add_argument('--domains', nargs=2, metavar=('A', 'B'),
                        help="MMagic checkpoints: the domain names of A and B")
    parser.add_argument('--trust-checkpoint', action='store_true',
                        help='allow checkpoints that pickle Python objects (MMagic); '
                             'unpickling can run code')
    parser.add_argument('--quiet', action='store_true', help='no progress bar')
    add_debug_flag(parser)
    return parser.parse_args(argv)


# ------------------------------------------------------------------------ inputs
def _glob_base(pattern: str) -> str:
    """The folder part of a glob before its first wildcard: relative paths start there."""
    parts = []
    for part in pattern.replace('\\', '/').split('/'):
        if glob.has_magic(part):
            break
        parts.append(part)
    return '/'.join(parts) or '.'


def collect_inputs(source: str, out_dir: str):
    from cyclegan_plugin.io import IMG_EXTENSIONS, is_image_file  # noqa: F401
    """(kind, [(path, path relative to the input root)]) with kind 'image', 'folder',
    'glob' or 'video'. Files under the output folder are never inputs."""
    out_real = osp.realpath(out_dir)

    def keep(path):
        real = osp.realpath(path)
        return (osp.isfile(path) and real != out_real
                and not real.startswith(out_real + os.sep))

    if osp.isfile(source):
        kind = 'video' if source.lower().endswith(VIDEO_EXTS) else 'image'
        return kind, [(source, osp.basename(source))]
    if osp.isdir(source):
        if osp.realpath(source) == out_real:
            raise ToolError('--out is the input folder: choose another folder, the outputs '
                            'would replace the inputs')
        items = []
        for root, dirs, files in os.walk(source):
            dirs.sort()
            for name in sorted(files):
                path = osp.join(root, name)
                if is_image_file(name) and keep(path):
                    items.append((path, osp.relpath(path, source)))
        if not items:
            raise ToolError(f'no images ({" ".join(IMG_EXTENSIONS)}, any case) in {source}')
        return 'folder', items
    if glob.has_magic(source):
        base = _glob_base(source)
        items = [(p, osp.relpath(p, base)) for p in sorted(glob.glob(source, recursive=True))
                 if keep(p) and not p.lower().endswith(VIDEO_EXTS)]
        if not items:
            raise ToolError(f'no files match {source}')
        return 'glob', items
    raise ToolError(f'input not found: {source}')


def output_path(out_dir: str, rel: str, ext) -> str:
    import cv2
    root, own_ext = osp.splitext(rel)
    ext = ext or own_ext or '.png'
    ext = ext if ext.startswith('.') else '.' + ext
    path = osp.join(out_dir, root + ext)
    if not cv2.haveImageWriter(path):
        path = osp.join(out_dir, root + '.png')
    return path


def check_outputs(entries):
    """Refuse before writing anything if an output would replace an input or another
    output."""
    inputs = {osp.realpath(path) for path, _, _ in entries}
    clash = [out for _, _, out in entries if osp.realpath(out) in inputs]
    if clash:
        raise ToolError(f'{len(clash)} outputs would overwrite inputs (e.g. {clash[0]}): '
                        'choose another --out folder')
    seen = {}
    for path, _, out in entries:
        if out in seen:
            raise ToolError(f'{seen[out]} and {path} would both be written to {out}')
        seen[out] = path


# ----------------------------------------------------------------------- writing
def write_image_atomic(path: str, rgb) -> None:
    """Encode (the format of the file extension) and write whole or not at all."""
    from cyclegan_plugin.io import atomic_write, encode_image
    try:
        data = encode_image(rgb, osp.splitext(path)[1])
    except ValueError as err:
        raise ToolError(f'cannot write {path}: {err}') from None
    atomic_write(path, data)


def write_gallery(out_dir: str, rows, title: str) -> str:
    """index.html: one row per image, input next to output (links relative to out_dir)."""
    from cyclegan_plugin.io import write_gallery as write
    return write(osp.join(out_dir, 'index.html'),
                 [dict(input=osp.relpath(inp, out_dir), output=osp.relpath(out, out_dir))
                  for inp, rel, out in rows], ('input', 'output'), title)


class Progress:
    """A one-line progress bar with throughput, on stderr (a final summary when not a tty)."""

    def __init__(self, total, unit='img', enabled=True, stream=sys.stderr):
        self.total, self.unit, self.stream = total, unit, stream
        self.enabled = enabled and stream.isatty()
        self.done, self.start = 0, time.perf_counter()

    @property
    def rate(self):
        return self.done / max(time.perf_counter() - self.start, 1e-9)

    def update(self, n=1):
        self.done += n
        if not self.enabled:
            return
        elapsed = time.perf_counter() - self.start
        if self.total:
            width = 30
            fill = int(width * self.done / self.total)
            eta = (self.total - self.done) / max(self.rate, 1e-9)
            line = (f'[{"#" * fill}{"." * (width - fill)}] {self.done}/{self.total} '
                    f'{self.rate:.2f} {self.unit}/s ETA {eta:.0f}s')
        else:
            line = f'{self.done} {self.unit} {self.rate:.2f} {self.unit}/s {elapsed:.0f}s'
        self.stream.write('\r' + line)
        self.stream.flush()

    def close(self):
        if self.enabled:
            self.stream.write('\n')


# ------------------------------------------------------------------------- modes
def translate_images(translator, items, kind, args) -> int:
    """Translate image files; returns how many were written."""
    from cyclegan_plugin.apis import iter_translate, read_image
    from cyclegan_plugin.io import BadImageError

    entries = [(path, rel, output_path(args.out, rel, args.ext)) for path, rel in items]
    check_outputs(entries)
    options = dict(direction=args.direction, batch_size=args.batch_size, resize=args.resize,
                   tile_size=args.tile_size, tile_overlap=args.tile_overlap,
                   stats=args.tile_stats)
    progress = Progress(len(entries), enabled=not args.quiet)
    skipped, rows = [], []
    for start in range(0, len(entries), args.batch_size):
        chunk, images = [], []
        for path, rel, out in entries[start:start + args.batch_size]:
            try:
                images.append(read_image(path))
                chunk.append((path, rel, out))
            except BadImageError as err:
                if args.strict:
                    progress.close()
                    raise ToolError(f'{err} (--strict stops at the first unreadable image)')
                skipped.append(err)
                progress.update()
        for (path, rel, out), result in zip(chunk, iter_translate(translator, images,
                                                                  **options)):
            write_image_atomic(out, result)
            rows.append((path, rel, out))
            progress.update()
    progress.close()
    if skipped:
        print(f'warning: skipped {len(skipped)} unreadable file(s):', file=sys.stderr)
        for err in skipped[:20]:
            print(f'  {err.path}: {err.reason}', file=sys.stderr)
        if len(skipped) > 20:
            print(f'  ... and {len(skipped) - 20} more', file=sys.stderr)
    if not rows:
        raise ToolError(f'nothing translated: all {len(skipped)} input(s) were unreadable',
                        EXIT_FAILED)
    if kind in ('folder', 'glob') and rows:
        write_gallery(args.out, rows, f'{args.input} ({args.direction})')
    print(f'translated {len(rows)} image(s) into {args.out} '
          f'({progress.rate:.2f} img/s){f", skipped {len(skipped)}" if skipped else ""}')
    return len(rows)


def translate_video(translator, path, args) -> int:
    """Translate every frame; same fps and size (no audio). Returns the frame count."""
    import cv2
    from cyclegan_plugin.apis import iter_translate

    ext = osp.splitext(path)[1].lower()
    if ext not in VIDEO_CODECS:
        ext = '.mp4'
    out = osp.join(args.out, osp.splitext(osp.basename(path))[0] + ext)
    if osp.realpath(out) == osp.realpath(path):
        raise ToolError(f'the output {out} would overwrite the input: choose another --out')
    cap = cv2.VideoCapture(path)
    if not cap.isOpened():
        raise ToolError(f'cannot open video {path}')
    fps = cap.get(cv2.CAP_PROP_FPS)
    fps = fps if fps and fps == fps and fps > 0 else 25.0
    total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    os.makedirs(args.out, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix='.' + osp.basename(out) + '.', suffix=ext, dir=args.out)
    os.close(fd)
    writer, frames = None, 0
    progress = Progress(max(total, 0), unit='frames', enabled=not args.quiet)
    options = dict(direction=args.direction, batch_size=args.batch_size, resize=args.resize,
                   tile_size=args.tile_size, tile_overlap=args.tile_overlap,
                   stats=args.tile_stats)

    def batches():
        while True:
            batch = []
            while len(batch) < args.batch_size:
                ok, frame = cap.read()
                if not ok:
                    break
                batch.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
            if not batch:
                return
            yield batch

    try:
        for batch in batches():
            for result in iter_translate(translator, batch, **options):
                if writer is None:
                    h, w = result.shape[:2]
                    writer = cv2.VideoWriter(tmp, cv2.VideoWriter_fourcc(*VIDEO_CODECS[ext]),
                                             fps, (w, h))
                    if not writer.isOpened():
                        raise ToolError(f'cannot write {ext} video with codec '
                                        f'{VIDEO_CODECS[ext]} here')
                bgr = (cv2.cvtColor(result, cv2.COLOR_GRAY2BGR) if result.ndim == 2
                       else cv2.cvtColor(result, cv2.COLOR_RGB2BGR))
                writer.write(bgr)
                frames += 1
                progress.update()
        if frames == 0:
            raise ToolError(f'no frames could be read from {path}: not a video, or a '
                            'codec this OpenCV build cannot decode')
        writer.release()
        writer = None
        os.replace(tmp, out)
    finally:
        cap.release()
        if writer is not None:
            writer.release()
        if osp.exists(tmp):
            os.remove(tmp)
        progress.close()
    print(f'translated {frames} frames ({fps:g} fps) into {out} '
          f'({progress.rate:.2f} frames/s)')
    return frames


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


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.batch_size < 1:
        raise ToolError('--batch-size must be >= 1')
    if not osp.exists(args.checkpoint):
        raise ToolError(f'checkpoint {args.checkpoint} does not exist')
    if args.config and not osp.isfile(args.config):
        raise ToolError(f'config {args.config} does not exist')
    import_plugin()
    from cyclegan_plugin.apis.inference import check_tiling
    try:
        check_tiling(args.tile_size, args.tile_overlap)
    except ValueError as err:
        raise ToolError(str(err).replace('tile_overlap', '--tile-overlap')
                        .replace('tile_size', '--tile-size')) from None
    kind, items = collect_inputs(args.input, args.out)
    try:
        translator = load_translator(args)
    except ImportError as err:
        raise ToolError(str(err)) from None
    if args.direction not in translator.directions:
        raise ToolError(f'direction {args.direction!r} is not in {args.checkpoint}: it '
                        f'has {list(translator.directions)}')
    if kind == 'video':
        translate_video(translator, items[0][0], args)
    else:
        translate_images(translator, items, kind, args)
    return 0


if __name__ == '__main__':
    sys.exit(run_tool(main))
