"""What the tools share: making the package importable from a checkout, and friendly errors
for configs whose data are missing."""
import os.path as osp
import sys

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def import_plugin():
    try:
        import cyclegan_plugin  # noqa: F401
    except ImportError:
        sys.path.insert(0, REPO)
        import cyclegan_plugin  # noqa: F401


DATA_HINTS = {
    'mini_horse2zebra': 'build it with: python tools/make_demo_data.py --out {root} '
                        '(or run `make demo`)',
}


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
            hint = DATA_HINTS.get(key, 'download it with: tools/download_dataset.sh {name} '
                                  '(needs internet), or put the reference layout '
                                  '(trainA/, trainB/, testA/, testB/) there').format(
                root=root, name=key)
            sys.exit(f'error: the data folder {root} ({name}.dataset.data_root) does not '
                     f'exist: {hint}')


def amp_optim_wrapper(cfg, dtype: str = 'bfloat16') -> None:
    """--amp: every optimizer wrapper of the model becomes an AmpOptimWrapper (bf16, or fp16
    with a dynamic loss scale; on a CPU the constructor picks bf16 or fp32, see engine/amp.py)."""
    ow = cfg.optim_wrapper
    subs = [v for v in ow.values() if isinstance(v, dict) and 'optimizer' in v]
    for sub in subs or [ow]:
        sub['type'] = 'AmpOptimWrapper'
        sub['dtype'] = dtype
        sub.setdefault('loss_scale', 'dynamic')


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
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    try:
        check_config(cfg)
    except ConfigKeyError as err:
        sys.exit(f'error in {args.config}:\n{err}')
    cfg.launcher = args.launcher
    init_cpu_distributed(args.launcher)  # MMEngine skips its own init when a group exists
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or osp.join(
        'work_dirs', osp.splitext(osp.basename(args.config))[0])
    return cfg
