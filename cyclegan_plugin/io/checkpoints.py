"""The one checkpoint-file loader: ``torch.load`` with ``weights_only=True`` unless trusted.

A checkpoint cannot run code while it loads: our own training checkpoints hold only tensors
and plain values (``SafeCheckpointHook``), plain state dicts (the reference's, exported
generators) too. Files that pickle Python objects (MMEngine checkpoints written without that
hook, e.g. MMagic's) load only with ``trusted=True``. Every failure is a
:class:`CheckpointError` whose message names the file, says what is wrong and what to do;
loading changes nothing outside this call (no loader is registered anywhere).
"""
import os
import os.path as osp
import pickle
import re
import zipfile

import torch
from mmengine.logging import print_log

#: what to do when a file is not a usable checkpoint
_ANOTHER = 'pass another checkpoint file'
_TRUST = ('unpickling them can run code: if you trust its source, pass --trust-checkpoint '
          '(trusted=True in Python), or convert it once into a safe file: '
          'tools/convert_checkpoint.py FILE OUT.pth --to ours --trust-checkpoint')


class CheckpointError(ValueError):
    """A checkpoint that cannot be read, or does not hold what was asked for. The message
    is one line: the file, the reason, what to do."""


class CheckpointNotFoundError(CheckpointError, FileNotFoundError):
    """The checkpoint path does not exist."""


def _first_bytes(path: str, n: int = 64) -> bytes:
    with open(path, 'rb') as f:
        return f.read(n)


def _first_sentence(err: Exception) -> str:
    text = str(err).strip().splitlines()[0] if str(err).strip() else '-'
    return f'{type(err).__name__}: {text.split(". ")[0].rstrip(".")}'


def _reason(path: str, err: Exception) -> str:
    """Why ``torch.load`` failed, in words, from the file's first bytes and the error."""
    head = _first_bytes(path)
    if not head:
        return ('the file is empty (0 bytes; a save that was cut off?): ' + _ANOTHER)
    if head.startswith(b'PK'):
        return (f'the file is damaged or truncated ({os.path.getsize(path)} bytes; '
                f'{_first_sentence(err)}): ' + _ANOTHER)
    if head[:1] != b'\x80':  # neither torch's zip format nor a pickle
        text = head.decode('utf-8', 'replace')
        if all(c.isprintable() or c.isspace() for c in text):
            return (f'it is a text file (starts with {text[:24].strip()!r}), not a PyTorch '
                    'checkpoint: ' + _ANOTHER)
        return 'it is not a PyTorch checkpoint (unknown format): ' + _ANOTHER
    return f'it is not a readable PyTorch checkpoint ({_first_sentence(err)}): ' + _ANOTHER


def load_checkpoint_file(path, map_location='cpu', trusted: bool = False):
    """``torch.load(path, map_location, weights_only=not trusted)``, with one-line errors.

    Raises:
        CheckpointNotFoundError: the path does not exist (or is a folder).
        CheckpointError: anything else: empty, text, truncated or damaged files, and files
            that pickle Python objects besides tensors when not ``trusted``.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        what = 'is a folder, not a checkpoint file' if os.path.isdir(path) else 'does not exist'
        raise CheckpointNotFoundError(f'checkpoint {path} {what}')
    try:
        return torch.load(path, map_location=map_location, weights_only=not trusted)
    except pickle.UnpicklingError as err:
        if 'Unsupported global' in str(err):
            raise CheckpointError(
                f'cannot load checkpoint {path}: it holds Python objects besides tensors '
                "(an MMEngine checkpoint written without SafeCheckpointHook, e.g. MMagic's?); "
                + _TRUST) from None
        raise CheckpointError(f'cannot load checkpoint {path}: {_reason(path, err)}') from None
    except (RuntimeError, EOFError, OSError, ValueError, IndexError, KeyError, TypeError,
            AttributeError, zipfile.BadZipFile, UnicodeDecodeError) as err:
        raise CheckpointError(f'cannot load checkpoint {path}: {_reason(path, err)}') from None


def newest_loadable_checkpoint(work_dir):
    """The newest ``iter_*.pth`` / ``epoch_*.pth`` of a work dir that loads; damaged ones
    are named in a warning and passed over. None when there is none."""
    found = []
    for name in os.listdir(work_dir) if osp.isdir(work_dir) else []:
        m = re.fullmatch(r'(iter|epoch)_(\d+)\.pth', name)
        if m:
            found.append((int(m.group(2)), osp.join(work_dir, name)))
    for _, path in sorted(found, reverse=True):
        try:
            load_checkpoint_file(path)
            return path
        except CheckpointError as err:
            print_log(f'skipping damaged checkpoint {path}: {err}', logger='current',
                      level=30)
    return None
