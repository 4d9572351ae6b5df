"""tools/train.py with one checkpoint save held open, for test_kill_resume.py.

The save of the checkpoint named by $PAUSE_SAVE_AT (e.g. ``iter_12.pth``) stops after the
temporary file is written and flushed, just before the rename that makes it the checkpoint:
the process writes the temporary file's path to $PAUSE_MARKER and sleeps, so the test can
kill it there. Everything else is tools/train.py unchanged.

    PAUSE_SAVE_AT=iter_12.pth PAUSE_MARKER=/tmp/m python pausing_train.py CONFIG [train.py options]
"""
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, 'tools'))
import train  # noqa: E402

_replace = os.replace


def _pausing_replace(src, dst, *args, **kwargs):
    if os.path.basename(str(dst)) == os.environ['PAUSE_SAVE_AT']:
        with open(os.environ['PAUSE_MARKER'], 'w') as f:
            f.write(str(src))
        time.sleep(3600)  # until killed
    return _replace(src, dst, *args, **kwargs)


if __name__ == '__main__':
    os.replace = _pausing_replace  # AtomicLocalBackend.put renames with os.replace
    train.main(sys.argv[1:])
