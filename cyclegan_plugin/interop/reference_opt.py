"""The reference's option dump (``train_opt.txt``, written for every run) -> our config.

Each option maps to a config key; options that only concern the reference's own machinery
(visdom display, HTML pages, GPU ids...) have no equivalent and are reported, not dropped
silently.
"""
import re
from pathlib import Path
from typing import Dict, List, Tuple

#: options of the reference that our configs express some other way or not at all
NO_EQUIVALENT = {
    'display_freq': 'visualisation is by hooks and vis backends (visualizer in the config)',
    'display_ncols': 'no visdom display', 'display_id': 'no visdom display',
    'display_server': 'no visdom display', 'display_env': 'no visdom display',
    'display_port': 'no visdom display', 'display_winsize': 'no visdom display',
    'update_html_freq': 'the gallery is written by tools/test.py', 'no_html': 'idem',
    'use_wandb': "add dict(type='WandbVisBackend') to vis_backends",
    'wandb_project_name': 'a WandbVisBackend init_kwargs setting',
    'gpu_ids': 'devices come from the launcher (tools/dist_train.sh, CUDA_VISIBLE_DEVICES)',
    'checkpoints_dir': 'the work dir (--work-dir)', 'name': 'the work dir (--work-dir)',
    'continue_train': 'tools/train.py --resume', 'epoch': 'tools/train.py --resume CKPT',
    'load_iter': 'tools/train.py --resume CKPT', 'epoch_count': 'tools/train.py --resume',
    'save_latest_freq': 'default_hooks.checkpoint.interval (save_last=True keeps the latest)',
    'save_epoch_freq': 'default_hooks.checkpoint.interval', 'save_by_iter': 'always by iteration',
    'print_freq': 'default_hooks.logger.interval', 'verbose': 'log_level',
    'suffix': 'the work dir name', 'isTrain': 'tools/train.py vs tools/test.py',
    'phase': 'train_dataloader uses trainA/B, val/test loaders testA/B',
    'model': 'only cycle_gan is converted', 'dataset_mode': 'UnpairedImageDataset',
    'lr_decay_iters': "used by the reference's 'step' policy only",
}


def read_train_opt(path) -> Dict[str, str]:
    """``name: value  [default: x]`` lines -> {name: value} (strings, as written)."""
    opts = {}
    for line in Path(path).read_text().splitlines():
        m = re.match(r'^\s*([A-Za-z_]\w*):\s*(.*?)\s*(\[default:.*\])?\s*$', line)
        if m:
            opts[m.group(1)] = m.group(2).strip()
    if 'netG' not in opts:
        raise ValueError(f'{path} does not look like a reference option dump (no netG)')
    return opts


def _bool(value: str) -> bool:
    return value.strip() == 'True'


#: the reference's multi-GPU norms; each process here normalises its own batch
SYNC_NORMS = {'sync_batch': 'batch', 'sync_instance': 'instance'}


def _norm(opt: Dict[str, str]) -> str:
    norm = opt.get('norm', 'instance')
    return SYNC_NORMS.get(norm, norm)


def generator_cfg(opt: Dict[str, str]) -> dict:
    netG = opt['netG']
    init = dict(type=opt.get('init_type', 'normal'), gain=float(opt.get('init_gain', 0.02)))
    if netG.startswith('resnet_') and netG.endswith('blocks'):
        cfg = dict(type='ResnetGenerator', n_blocks=int(netG[len('resnet_'):-len('blocks')]))
    elif netG in ('unet_128', 'unet_256'):
        cfg = dict(type='UnetGenerator', num_downs={'unet_128': 7, 'unet_256': 8}[netG])
    else:
        raise ValueError(f'unknown netG {netG!r}')
    cfg.update(in_channels=int(opt.get('input_nc', 3)), out_channels=int(opt.get('output_nc', 3)),
               ngf=int(opt.get('ngf', 64)), norm=_norm(opt),
               use_dropout=not _bool(opt.get('no_dropout', 'True')), init_cfg=init)
    return cfg


def discriminator_cfg(opt: Dict[str, str]) -> dict:
    netD = opt.get('netD', 'basic')
    init = dict(type=opt.get('init_type', 'normal'), gain=float(opt.get('init_gain', 0.02)))
    if netD == 'pixel':
        cfg = dict(type='PixelDiscriminator')
    elif netD in ('basic', 'n_layers'):
        n_layers = 3 if netD == 'basic' else int(opt.get('n_layers_D', 3))
        cfg = dict(type='PatchDiscriminator', n_layers=n_layers)
    else:
        raise ValueError(f'unknown netD {netD!r}')
    cfg.update(ndf=int(opt.get('ndf', 64)), norm=_norm(opt), init_cfg=init)
    return cfg


def model_cfg(opt: Dict[str, str]) -> dict:
    if opt.get('model', 'cycle_gan') != 'cycle_gan':
        raise ValueError(f"only model 'cycle_gan' converts, got {opt['model']!r}")
    cfg = dict(type='CycleGAN', generator=generator_cfg(opt),
               discriminator=discriminator_cfg(opt),
               gan_loss=dict(type='GANLoss', gan_mode=opt.get('gan_mode', 'lsgan')),
               lambda_A=float(opt.get('lambda_A', 10)), lambda_B=float(opt.get('lambda_B', 10)),
               lambda_identity=float(opt.get('lambda_identity', 0.5)),
               pool_size=int(opt.get('pool_size', 50)))
    if cfg['gan_loss']['gan_mode'] == 'wgangp':
        cfg['lambda_gp'] = 0.0  # the reference's CycleGAN adds no gradient penalty
    return cfg


def optim_wrapper_cfg(opt: Dict[str, str]) -> dict:
    adam = dict(type='Adam', lr=float(opt.get('lr', 2e-4)),
                betas=(float(opt.get('beta1', 0.5)), 0.999))
    return dict(constructor='CycleGANOptimWrapperConstructor',
                generators=dict(optimizer=adam), discriminators=dict(optimizer=dict(adam)))


def convert(opt: Dict[str, str], bases: List[str]) -> Tuple[str, List[str]]:
    """The text of an equivalent config inheriting ``bases`` (our _base_ files: runtime,
    schedule, data set, model), and the notes on options without an equivalent."""
    from ..datasets.transforms import build_pipeline
    notes = [f'{k} = {opt[k]}: {why}' for k, why in NO_EQUIVALENT.items() if k in opt]
    policy = opt.get('lr_policy', 'linear')
    n, d = int(opt.get('n_epochs', 100)), int(opt.get('n_epochs_decay', 100))
    if policy != 'linear':
        notes.append(f"lr_policy = {policy}: converted as 'linear' (edit param_scheduler)")
    if opt.get('norm') in SYNC_NORMS:
        notes.append(f"norm = {opt['norm']}: converted as {SYNC_NORMS[opt['norm']]!r}; for "
                     "synchronised batch norm across GPUs add sync_bn = 'torch' to the config")
    if opt.get('gan_mode') == 'wgangp':
        notes.append('gan_mode = wgangp: lambda_gp = 0.0, as the reference (our default adds '
                     'a gradient penalty of weight 10)')
    gpus = [g for g in opt.get('gpu_ids', '').split(',') if g.strip() not in ('', '-1')]
    if len(gpus) > 1:
        notes.append(f'batch_size = {opt.get("batch_size", 1)} was split over {len(gpus)} '
                     'GPUs by the reference; here it is per process (tools/dist_train.sh): '
                     'divide it by the number of GPUs')
    load, crop = int(opt.get('load_size', 286)), int(opt.get('crop_size', 256))
    preprocess = opt.get('preprocess', 'resize_and_crop')
    input_nc = int(opt.get('input_nc', 3))
    train = build_pipeline(preprocess, load, crop, no_flip=_bool(opt.get('no_flip', 'False')),
                           input_nc=input_nc, phase='train')
    test = build_pipeline(preprocess, crop, crop, no_flip=True, input_nc=input_nc,
                          phase='test')
    max_size = opt.get('max_dataset_size', 'inf')
    dataset = dict(data_root=opt.get('dataroot', 'data/unknown'),
                   direction=opt.get('direction', 'AtoB'),
                   serial_batches=_bool(opt.get('serial_batches', 'False')))
    if max_size != 'inf':
        dataset['max_dataset_size'] = int(float(max_size))
    loader = [f'batch_size={int(opt.get("batch_size", 1))}']
    if 'num_threads' in opt:
        loader.append(f'num_workers={int(opt["num_threads"])}')
    if dataset['serial_batches']:  # the reference also stops shuffling then
        loader.append("sampler=dict(type='DefaultSampler', shuffle=False)")
    lines = [
        '# Converted from a reference train_opt.txt by tools/from_reference_opt.py.',
        '# One epoch = max(|trainA|, |trainB|) iterations: set epoch_length to your data.',
        f'_base_ = {list(bases)!r}',
        f'model = {model_cfg(opt)!r}',
        f'optim_wrapper = {optim_wrapper_cfg(opt)!r}',
        f'train_pipeline = {train!r}',
        f'test_pipeline = {test!r}',
        f'train_dataloader = dict({", ".join(loader)}, '
        f'dataset=dict({_kwargs(dataset)}, pipeline=train_pipeline))',
        f'val_dataloader = dict(dataset=dict(data_root={dataset["data_root"]!r}, '
        f'direction={dataset["direction"]!r}, pipeline=test_pipeline))',
        'test_dataloader = val_dataloader',
        'epoch_length = 1000',
        f'train_cfg = dict(max_iters={n + d} * epoch_length)',
        'param_scheduler = [dict(type=\'LinearLR\', start_factor=1.0, end_factor=0.0, '
        f'by_epoch=True, begin={n}, end={n + d}, convert_to_iter_based=True)]',
    ]
    return '\n'.join(lines) + '\n', notes


def _kwargs(d: dict) -> str:
    return ', '.join(f'{k}={v!r}' for k, v in d.items())
