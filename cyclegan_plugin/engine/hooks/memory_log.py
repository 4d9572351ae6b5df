"""Host memory in the training log: MMEngine logs the peak CUDA memory (``memory``), nothing
on the CPU; this hook adds the process's resident memory (``rss_mib``) on every device, so a
CPU run shows its memory and a leak shows as a rising line (tools/plot_logs.py)."""
import os
import resource
import sys

from mmengine.hooks import Hook

from ...registry import HOOKS

_PAGE = os.sysconf('SC_PAGE_SIZE') if hasattr(os, 'sysconf') else 4096


def resident_mib(pid='self') -> float:
    """The resident memory of a process now (Linux; 0 when it has gone). Where there is no
    /proc, this process's peak so far."""
    try:
        with open(f'/proc/{pid}/statm') as f:
            return int(f.read().split()[1]) * _PAGE / 2 ** 20
    except (OSError, IndexError, ValueError):
        if pid != 'self' or os.path.isdir('/proc'):
            return 0.0
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB (bytes on macOS)
        return peak / (2 ** 20 if sys.platform == 'darwin' else 2 ** 10)


@HOOKS.register_module()
class MemoryLogHook(Hook):
    """Every iteration, ``train/rss_mib`` into the message hub; the logger averages it over
    its window like the losses."""

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        runner.message_hub.update_scalar('train/rss_mib', resident_mib())
