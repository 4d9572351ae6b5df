"""Files written whole or not at all, with the permissions the user's umask gives."""
import os
import os.path as osp
import re
import tempfile
from typing import Callable, List, Union

from mmengine.fileio import LocalBackend, register_backend

TMP_SUFFIX = '.tmp'
# atomic_write's temporary files: '.' + target name + '.' + mkstemp's 8 characters + suffix
_TMP_NAME = re.compile(r'\..+\.[a-z0-9_]{8}' + re.escape(TMP_SUFFIX))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path, data: Union[bytes, Callable]) -> str:
    """Write ``data`` (bytes, or a function that writes to a binary file object) to ``path``
    through a temporary file in the same folder, flushed to disk and renamed over the
    target: a process killed during the write leaves the previous file intact, never a
    truncated one. The file gets ``0666 & ~umask`` (0644 under umask 022), as ``open()``
    would give it. Returns the path."""
    path = os.fspath(path)
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix='.' + osp.basename(path) + '.',
                               suffix=TMP_SUFFIX)
    try:
        with os.fdopen(fd, 'wb') as f:
            if callable(data):
                data(f)
            else:
                f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise
    return path


def remove_interrupted_writes(folder) -> List[str]:
    """Delete the temporary files :func:`atomic_write` leaves in ``folder`` when its process
    dies before the rename; returns their paths."""
    removed = []
    for name in os.listdir(folder) if osp.isdir(folder) else []:
        path = osp.join(folder, name)
        if _TMP_NAME.fullmatch(name) and osp.isfile(path):
            os.remove(path)
            removed.append(path)
    return removed


@register_backend('cyclegan_atomic_local')
class AtomicLocalBackend(LocalBackend):
    """MMEngine's local file backend, writing through :func:`atomic_write`: a run killed
    during a save leaves the previous checkpoint intact instead of a truncated one. Used by
    the configs' CheckpointHook (``backend_args=dict(backend='cyclegan_atomic_local')``)."""

    def put(self, obj: bytes, filepath) -> None:
        atomic_write(str(filepath), obj)

    def put_text(self, obj: str, filepath, encoding: str = 'utf-8') -> None:
        self.put(obj.encode(encoding), filepath)
