"""Translate files into a folder: an image, a folder (recursive), a glob or a video.

Outputs keep the input's name (and relative path under a folder or glob) and its size. Each
is written to a temporary file and renamed, so an interrupted run leaves no half-written file,
and an input is never overwritten: every output path is checked before the first is written.
Folders and globs also get an ``index.html`` gallery of inputs next to outputs.
"""
import glob
import os
import os.path as osp
import sys
import tempfile
import time
from typing import List, NamedTuple, Optional, Tuple

from ..io import (IMG_EXTENSIONS, WRITABLE_EXTENSIONS, BadImageError, atomic_write,
                  encode_image, is_image_file, read_image, write_gallery)
from .inference import iter_translate

#: video containers we write, with their OpenCV codec; other video inputs are written as .mp4
VIDEO_CODECS = {'.mp4': 'mp4v', '.m4v': 'mp4v', '.mov': 'mp4v', '.avi': 'MJPG',
                '.mkv': 'mp4v'}
VIDEO_EXTS = tuple(VIDEO_CODECS) + ('.webm', '.mpg', '.mpeg', '.wmv', '.flv', '.3gp')

Item = Tuple[str, str]  # (path, path relative to the input root)


class InputError(ValueError):
    """An input that cannot be translated as asked (not found, no images, an output that
    would replace an input...): the message says what to change."""


class FilesResult(NamedTuple):
    written: List[Tuple[str, str, str]]  # (input, relative path, output)
    skipped: List[BadImageError]  # unreadable inputs
    seconds: float


def _progress_bar(total: int, enabled: bool):
    if not enabled:
        return None
    from mmengine.utils import ProgressBar
    return ProgressBar(total, file=sys.stderr)


def _glob_base(pattern: str) -> str:
    """The folder part of a glob before its first wildcard: relative paths start there."""
    parts = []
    for part in pattern.replace('\\', '/').split('/'):
        if glob.has_magic(part):
            break
        parts.append(part)
    return '/'.join(parts) or '.'


def collect_inputs(source: str, out_dir: str) -> Tuple[str, List[Item]]:
    """(kind, [(path, relative path)]) with kind 'image', 'folder', 'glob' or 'video'. Files
    under the output folder are never inputs."""
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
            raise InputError('the output folder is the input folder: choose another one, '
                             'the outputs would replace the inputs')
        items = []
        for root, dirs, files in os.walk(source):
            dirs.sort()
            for name in sorted(files):
                path = osp.join(root, name)
                if is_image_file(name) and keep(path):
                    items.append((path, osp.relpath(path, source)))
        if not items:
            raise InputError(f'no images ({" ".join(IMG_EXTENSIONS)}, any case) in {source}')
        return 'folder', items
    if glob.has_magic(source):
        base = _glob_base(source)
        items = [(p, osp.relpath(p, base)) for p in sorted(glob.glob(source, recursive=True))
                 if keep(p) and not p.lower().endswith(VIDEO_EXTS)]
        if not items:
            raise InputError(f'no files match {source}')
        return 'glob', items
    raise InputError(f'input not found: {source}')


def output_path(out_dir: str, rel: str, ext: Optional[str] = None) -> str:
    """Where the translation of ``rel`` goes: its own extension unless ``ext`` is given, and
    .png for a format we cannot write."""
    root, own_ext = osp.splitext(rel)
    ext = ext or own_ext or '.png'
    ext = ext if ext.startswith('.') else '.' + ext
    if ext.lower() not in WRITABLE_EXTENSIONS:
        ext = '.png'
    return osp.join(out_dir, root + ext)


def check_outputs(entries) -> None:
    """Refuse before writing anything if an output would replace an input or another
    output."""
    inputs = {osp.realpath(path) for path, _, _ in entries}
    clash = [out for _, _, out in entries if osp.realpath(out) in inputs]
    if clash:
        raise InputError(f'{len(clash)} outputs would overwrite inputs (e.g. {clash[0]}): '
                         'choose another output folder')
    seen = {}
    for path, _, out in entries:
        if out in seen:
            raise InputError(f'{seen[out]} and {path} would both be written to {out}')
        seen[out] = path


def translate_files(translator, items: List[Item], out_dir: str, ext: Optional[str] = None,
                    strict: bool = False, progress: bool = True, gallery: Optional[str] = None,
                    batch_size: int = 1, **options) -> FilesResult:
    """Translate image files into ``out_dir``.

    Unreadable files are skipped and returned in ``skipped`` (``strict``: the first one
    raises its :class:`~cyclegan_plugin.io.BadImageError`). ``gallery``: the title of an
    ``index.html`` of inputs next to outputs. ``options`` go to :func:`.iter_translate`.
    """
    entries = [(path, rel, output_path(out_dir, rel, ext)) for path, rel in items]
    check_outputs(entries)
    bar = _progress_bar(len(entries), progress)
    start = time.perf_counter()
    skipped, written = [], []
    for first in range(0, len(entries), batch_size):
        chunk, images = [], []
        for path, rel, out in entries[first:first + batch_size]:
            try:
                images.append(read_image(path))
                chunk.append((path, rel, out))
            except BadImageError as err:
                if strict:
                    raise
                skipped.append(err)
                if bar:
                    bar.update()
        results = iter_translate(translator, images, batch_size=batch_size, **options)
        for (path, rel, out), result in zip(chunk, results):
            atomic_write(out, encode_image(result, osp.splitext(out)[1]))
            written.append((path, rel, out))
            if bar:
                bar.update()
    if bar:
        sys.stderr.write('\n')
    if gallery and written:
        write_gallery(osp.join(out_dir, 'index.html'),
                      [dict(input=osp.relpath(inp, out_dir), output=osp.relpath(out, out_dir))
                       for inp, _, out in written], ('input', 'output'), gallery)
    return FilesResult(written, skipped, time.perf_counter() - start)


class VideoResult(NamedTuple):
    path: str
    frames: int
    fps: float
    seconds: float


def translate_video(translator, path: str, out_dir: str, progress: bool = True,
                    batch_size: int = 1, **options) -> VideoResult:
    """Translate every frame of a video into ``out_dir``: the same name, fps and size, no
    audio; a container we cannot write becomes .mp4."""
    import cv2

    ext = osp.splitext(path)[1].lower()
    if ext not in VIDEO_CODECS:
        ext = '.mp4'
    out = osp.join(out_dir, osp.splitext(osp.basename(path))[0] + ext)
    if osp.realpath(out) == osp.realpath(path):
        raise InputError(f'the output {out} would overwrite the input: choose another '
                         'output folder')
    cap = cv2.VideoCapture(path)
    if not cap.isOpened():
        raise InputError(f'cannot open video {path}')
    fps = cap.get(cv2.CAP_PROP_FPS)
    fps = fps if fps and fps == fps and fps > 0 else 25.0
    total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    os.makedirs(out_dir, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix='.' + osp.basename(out) + '.', suffix=ext, dir=out_dir)
    os.close(fd)
    writer, frames = None, 0
    bar = _progress_bar(max(total, 0), progress)
    start = time.perf_counter()

    def batches():
        while True:
            batch = []
            while len(batch) < batch_size:
                ok, frame = cap.read()
                if not ok:
                    break
                batch.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
            if not batch:
                return
            yield batch

    try:
        for batch in batches():
            for result in iter_translate(translator, batch, batch_size=batch_size, **options):
                if writer is None:
                    h, w = result.shape[:2]
                    writer = cv2.VideoWriter(tmp, cv2.VideoWriter_fourcc(*VIDEO_CODECS[ext]),
                                             fps, (w, h))
                    if not writer.isOpened():
                        raise InputError(f'cannot write {ext} video with codec '
                                         f'{VIDEO_CODECS[ext]} here')
                bgr = (cv2.cvtColor(result, cv2.COLOR_GRAY2BGR) if result.ndim == 2
                       else cv2.cvtColor(result, cv2.COLOR_RGB2BGR))
                writer.write(bgr)
                frames += 1
                if bar:
                    bar.update()
        if frames == 0:
            raise InputError(f'no frames could be read from {path}: not a video, or a '
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
        if bar:
            sys.stderr.write('\n')
    return VideoResult(out, frames, fps, time.perf_counter() - start)
