"""tools/train.py's malloc setting: done on glibc, and left to the user who set glibc's own
MALLOC_* variables or CYCLEGAN_MALLOC_DEFAULTS=1."""
import os

import pytest

from ..conftest import load_tool

common = load_tool('_common')


def _glibc() -> bool:
    try:
        return (os.confstr('CS_GNU_LIBC_VERSION') or '').startswith('glibc')
    except (AttributeError, ValueError, OSError):
        return False


@pytest.mark.skipif(not _glibc(), reason='glibc only')
def test_done_on_glibc_unless_the_user_chose(monkeypatch):
    for name in [k for k in os.environ if k.startswith('MALLOC_')]:
        monkeypatch.delenv(name)
    monkeypatch.delenv('CYCLEGAN_MALLOC_DEFAULTS', raising=False)
    assert common.keep_freed_memory() is True
    monkeypatch.setenv('CYCLEGAN_MALLOC_DEFAULTS', '1')
    assert common.keep_freed_memory() is False
    monkeypatch.delenv('CYCLEGAN_MALLOC_DEFAULTS')
    monkeypatch.setenv('MALLOC_ARENA_MAX', '2')
    assert common.keep_freed_memory() is False
