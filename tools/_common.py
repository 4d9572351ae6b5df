"""What the tools share: making the package importable from a checkout, one way to report
a user's error (one line on stderr naming the file, the reason and what to do; the same exit
code in every tool; the traceback only with --debug), the config set-up of train/test, and
what the timing tools (benchmark, ablate) say about the machine and give their children."""
import os
import os.path as osp
import re
import sys

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def import_plugin():
    try:
        import cyclegan_plugin  # noqa: F401
    except ImportError:
        sys.path.insert(0, REPO)
        import cyclegan_plugin  # noqa: F401


#: glibc mallopt() parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


def keep_freed_memory() -> bool:
    """Let glibc's malloc keep freed memory for the next iteration instead of giving it back.

    By default glibc serves large blocks with mmap and returns freed ones to the OS, and a
    training iteration frees and takes again hundreds of megabytes of activations: every one
    comes back as fresh zeroed pages (page faults, system time). With a fixed mmap threshold
    of 32 MiB (glibc's largest) and no trimming below 2 GiB, freed activations are reused.
    Measured with tools/train.py at 256x256, one thread: 17.5 -> 13-14.5 s/iter, the same peak
    memory (3.3 GB); the arithmetic is untouched. Only this process and the loader workers
    it forks; not done when the user set glibc's MALLOC_* variables or
    CYCLEGAN_MALLOC_DEFAULTS=1, or off glibc. Returns whether it was done."""
    if os.environ.get('CYCLEGAN_MALLOC_DEFAULTS') == '1' or any(
            k.startswith('MALLOC_') for k in os.environ):
        return False
    try:
        import ctypes
        libc = ctypes.CDLL('libc.so.6')
        return bool(libc.mallopt(_M_MMAP_THRESHOLD, 32 << 20)
                    and libc.mallopt(_M_TRIM_THRESHOLD, 2 ** 31 - 1))
    except (OSError, AttributeError):  # not glibc
        return False


#: exit codes: a bad input the user gave (a missing, damaged or unusable file, a mistyped
#: option or key), and a run that did not do what was asked (nothing to translate...)
EXIT_BAD_INPUT = 2
EXIT_FAILED = 1


class ToolError(Exception):
    """A user's error, reported in one line; ``exit_code`` says which kind."""

    def __init__(self, message: str, exit_code: int = EXIT_BAD_INPUT):
        super().__init__(message)
        self.exit_code = exit_code


def add_debug_flag(parser) -> None:
    parser.add_argument('--debug', action='store_true',
                        help='show the full traceback of an error (else one line)')


def add_checkpoint_flags(parser, norm: bool = True) -> None:
    """How to read a checkpoint of unknown origin (translate, export_onnx, convert_checkpoint):
    --norm (with ``norm``), --domains, --trust-checkpoint."""
    if norm:
        parser.add_argument('--norm', choices=['instance', 'batch', 'none'],
                            help="override the checkpoint's normalisation")
    parser.add_argument('--domains', nargs=2, metavar=('A', 'B'),
                        help='MMagic checkpoints: the domain names of A and B')
    parser.add_argument('--trust-checkpoint', action='store_true',
                        help='allow checkpoints that pickle Python objects (MMagic); '
                             'unpickling can run code')


def add_runner_flags(parser, job: str) -> None:
    """train.py's and test.py's --cfg-options, --launcher and the launcher's --local-rank."""
    from mmengine.config import DictAction
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys, e.g. train_cfg.max_iters=100')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help=f'job launcher for distributed {job}')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0,
                        help='set by the launcher')


def _user_error_code(err: BaseException):
    """The exit code of an error a user caused, None for a bug (shown with its traceback)."""
    if isinstance(err, ToolError):
        return err.exit_code
    if isinstance(err, (FileNotFoundError, IsADirectoryError, NotADirectoryError,
                        PermissionError)):
        return EXIT_BAD_INPUT
    if 'cyclegan_plugin' in sys.modules:
        from cyclegan_plugin.engine.config_check import ConfigKeyError
        from cyclegan_plugin.io import BadImageError, CheckpointError
        if isinstance(err, (CheckpointError, BadImageError, ConfigKeyError)):
            return EXIT_BAD_INPUT
    return None


def run_tool(main, argv=None) -> int:
    """Run a tool's ``main(argv)``: a user's error ends in one line on stderr and its exit
    code (:func:`_user_error_code`); with ``--debug`` in the arguments, in its traceback."""
    debug = '--debug' in (sys.argv[1:] if argv is None else argv)
    try:
        result = main(argv)
        return result if isinstance(result, int) else 0
    except Exception as err:  # noqa: BLE001  (sorted into user errors and bugs below)
        code = _user_error_code(err)
        if code is None or debug:
            raise
        print('error: ' + ' '.join(str(err).split()), file=sys.stderr)
        return code


def checked_checkpoint(path: str, resume: bool = False) -> str:
    """``path``, after loading it once with our loader (weights_only=True) and reading its
    layout: a missing, empty, text, truncated, untrusted file, or one that holds no model of
    ours (or, to ``resume``, no training state), stops here with one line, before MMEngine's
    loader (which takes torch's defaults and loads non-strictly) is asked to read it."""
    from cyclegan_plugin.interop.layout import detect_layout, unwrap_checkpoint
    from cyclegan_plugin.io import CheckpointError, load_checkpoint_file
    obj = load_checkpoint_file(path)
    try:
        layout = detect_layout(unwrap_checkpoint(obj)[0])
    except CheckpointError as err:
        raise CheckpointError(f'cannot use checkpoint {path}: {err}') from None
    convert = (f'convert it first: tools/convert_checkpoint.py {path} OUT.pth --to ours')
    if layout != 'cyclegan':
        raise CheckpointError(f'checkpoint {path} holds a {layout} state dict, not our '
                              f'CycleGAN model: {convert}')
    if resume and not (isinstance(obj, dict) and 'optimizer' in obj and 'meta' in obj):
        raise CheckpointError(f'checkpoint {path} holds weights but no training state '
                              '(optimizers, iteration) to resume: start a run from its '
                              "weights with --cfg-options load_from='PATH' instead")
    return path


DATA_HINTS = {
    'mini_horse2zebra': 'build it with: python tools/make_demo_data.py --out {root} '
                        '(or run `make demo`)',
}


def _download_names():
    """The data set names tools/download_dataset.sh accepts."""
    text = open(osp.join(REPO, 'tools', 'download_dataset.sh')).read()
    return re.search(r'^SETS="([^"]*)"', text, re.M).group(1).split()


def check_data_roots(cfg, loaders=('train_dataloader',)) -> None:
    """Stop at once, with how to get the data, when a config's data folder is missing."""
    for name in loaders:
        loader = cfg.get(name)
        if not loader:
            continue
        dataset = loader.get('dataset', {})
        root = dataset.get('data_root')
        if root and not osp.isdir(root):
            key = osp.basename(osp.normpath(root))
            layout = 'the reference layout (trainA/, trainB/, testA/, testB/)'
            if key in DATA_HINTS:
                hint = DATA_HINTS[key].format(root=root)
            elif key in _download_names():
                hint = (f'download it with: tools/download_dataset.sh {key} (needs internet), '
                        f'or put {layout} there')
            else:
                hint = (f'put {layout} there, or point the config at your data: '
                        f'--cfg-options {name}.dataset.data_root=PATH')
            raise ToolError(f'the data folder {root} ({name}.dataset.data_root) does not '
                            f'exist: {hint}')


FID_METRICS = ('TranslationFIDKID', 'TranslationFID', 'TranslationKID')


def check_fid_weights(cfg, evaluators=('val_evaluator',)) -> None:
    """Stop at once, saying where to put the file, when a config's FID/KID metric will not
    find pytorch-fid's Inception weights (else a run would fail at its first validation)."""
    for name in evaluators:
        evaluator = cfg.get(name) or {}
        metrics = evaluator.get('metrics', evaluator) if isinstance(evaluator, dict) else \
            evaluator
        for metric in metrics if isinstance(metrics, (list, tuple)) else [metrics]:
            kind = str(metric.get('type', '')).rsplit('.', 1)[-1]
            if kind not in FID_METRICS:
                continue
            from cyclegan_plugin.evaluation.inception import (InceptionWeightsNotFound,
                                                              locate_weights)
            try:
                locate_weights(metric.get('inception_weights'))
            except InceptionWeightsNotFound as err:
                raise ToolError(f'{name} computes FID ({kind}), but {err}') from None


def init_cpu_distributed(launcher: str) -> bool:
    """torchrun on a machine without CUDA: MMEngine's 'pytorch' launcher calls
    torch.cuda.set_device, so start the gloo process group ourselves."""
    import torch
    import torch.distributed as dist
    if launcher != 'pytorch' or torch.cuda.is_available() or dist.is_initialized():
        return False
    dist.init_process_group('gloo')
    return True


def close_distributed() -> None:
    """Tear the process group down before exit (gloo aborts a process that exits with it)."""
    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def runner_config(args):
    """The config of train.py / test.py: read, ``--cfg-options`` merged, checked for
    mistyped top-level keys (MMEngine would silently ignore them; exit naming them), the
    launcher's process group started, and the work dir set."""
    from mmengine.config import Config
    from cyclegan_plugin.engine.config_check import ConfigKeyError, check_config
    if not osp.isfile(args.config):
        raise ToolError(f'config {args.config} does not exist (the configs are in '
                        f'{osp.join(REPO, "configs")})')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        try:
            cfg.merge_from_dict(args.cfg_options)
        except (KeyError, IndexError, TypeError, ValueError) as err:
            raise ToolError(f'--cfg-options: {err}') from None
    try:
        check_config(cfg)
    except ConfigKeyError as err:
        raise ToolError(f'in {args.config}: ' + '; '.join(str(err).splitlines())) from None
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(name)
        if loader and loader.get('num_workers', 1) == 0 and loader.get('persistent_workers'):
            loader['persistent_workers'] = False  # what num_workers=0 means; torch refuses both
    cfg.launcher = args.launcher
    init_cpu_distributed(args.launcher)  # MMEngine skips its own init when a group exists
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or osp.join(
        'work_dirs', osp.splitext(osp.basename(args.config))[0])
    return cfg


# ------------------------------------------------------------ timing programs
def child_env(threads=None, device='cpu'):
    """The environment of a child process: ``threads`` torch / OpenMP / MKL threads (None:
    as given), unbuffered output, and no GPU when timing the CPU."""
    env = dict(os.environ, PYTHONUNBUFFERED='1')
    if threads:
        env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    if not device.startswith('cuda'):
        env['CUDA_VISIBLE_DEVICES'] = ''
    return env


# the CPU flags that decide which kernels torch and oneDNN run
SIMD_FLAGS = ('sse4_2', 'avx', 'avx2', 'fma', 'f16c', 'avx512f', 'avx512bw', 'avx512vl',
              'avx512_vnni', 'avx512_bf16', 'avx512_fp16', 'amx_bf16', 'amx_tile', 'amx_int8')


def machine_info(device='cpu') -> dict:
    """The CPU model, its SIMD flags, the cores, torch's kernel level, native bf16; the GPU."""
    import torch
    from cyclegan_plugin.engine import cpu_has_native_bf16
    info = dict(cpu_model=None, cpu_flags=[], cores=os.cpu_count(),
                usable_cores=len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity')
                else os.cpu_count(),
                torch=torch.__version__, cpu_capability=None,
                native_bf16=cpu_has_native_bf16(), gpu=None)
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                key, _, value = line.partition(':')
                if key.strip() == 'model name' and info['cpu_model'] is None:
                    info['cpu_model'] = value.strip()
                elif key.strip() == 'flags' and not info['cpu_flags']:
                    info['cpu_flags'] = value.split()
    except OSError:
        import platform
        info['cpu_model'] = platform.processor() or platform.machine()
    try:
        info['cpu_capability'] = torch.backends.cpu.get_cpu_capability()
    except AttributeError:
        pass
    if device.startswith('cuda') and torch.cuda.is_available():
        info['gpu'] = torch.cuda.get_device_name(torch.device(device))
    return info


def machine_line(info) -> str:
    flags = [f for f in SIMD_FLAGS if f in info['cpu_flags']]
    line = (f"CPU: {info['cpu_model']}, {info['usable_cores']} cores; flags: "
            f"{' '.join(flags) or 'unknown'} (all flags in the JSON); torch {info['torch']} "
            f"kernels: {info['cpu_capability']}; native bf16: "
            f"{'yes' if info['native_bf16'] else 'no'}")
    if info['gpu']:
        line = f"GPU: {info['gpu']}; " + line
    return line
