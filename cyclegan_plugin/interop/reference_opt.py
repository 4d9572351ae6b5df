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


#: the reference's synchronised norms: 'syncbatch' (what its code, networks.py
#: get_norm_layer, accepts) and the README's 'sync_batch' / 'sync_instance' spellings; each
#: process here normalises its own batch unless the config sets sync_bn
SYNC_NORMS = {'syncbatch': 'batch', 'sync_batch': 'batch', 'sync_instance': 'instance'}


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
    cfg = dict(type='cyclegan_plugin.CycleGAN', generator=generator_cfg(opt),
               discriminator=discriminator_cfg(opt),
               gan_loss=dict(type='GANLoss', gan_mode=opt.get('gan_mode', 'lsgan')),
               lambda_A=float(opt.get('lambda_A', 10)), lambda_B=float(opt.get('lambda_B', 10)),
               lambda_identity=float(opt.get('lambda_identity', 0.5)),
               pool_size=int(opt.get('pool_size', 50)))
    return cfg


def optim_wrapper_cfg(opt: Dict[str, str]) -> dict:
    adam = dict(type='Adam', lr=float(opt.get('lr', 2e-4)),
                betas=(float(opt.get('beta1', 0.5)), 0.999))
    return dict(constructor='cyclegan_plugin.CycleGANOptimWrapperConstructor',
                generators=dict(optimizer=adam), discriminators=dict(optimizer=dict(adam)))


def param_scheduler_cfg(opt: Dict[str, str]) -> Tuple[List[dict], List[str]]:
    """The reference's lr_policy as our schedulers (in epochs), and notes."""
    n, d = int(opt.get('n_epochs', 100)), int(opt.get('n_epochs_decay', 100))
    policy = opt.get('lr_policy', 'linear')
    epochs = dict(by_epoch=True, convert_to_iter_based=True)
    if policy == 'step':  # StepLR(step_size=lr_decay_iters, gamma=0.1), stepped per epoch
        return [dict(type='mmengine.StepLR', step_size=int(opt.get('lr_decay_iters', 50)),
                     gamma=0.1, **epochs)], []
    if policy == 'cosine':  # CosineAnnealingLR(T_max=n_epochs, eta_min=0), per epoch
        return [dict(type='mmengine.CosineAnnealingLR', T_max=n, eta_min=0, begin=0,
                     end=n + d, **epochs)], [
            "lr_policy = cosine: MMEngine's CosineAnnealingLR with T_max = n_epochs; past "
            'T_max it may differ from torch.optim.lr_scheduler.CosineAnnealingLR']
    notes = []
    if policy != 'linear':
        notes.append(f"lr_policy = {policy}: converted as 'linear' (no metric-driven "
                     'scheduler here; edit param_scheduler)')
    return [dict(type='cyclegan_plugin.ReferenceLinearLR', n_epochs=n, n_epochs_decay=d,
                 **epochs)], notes


def convert(opt: Dict[str, str], bases: List[str]) -> Tuple[str, List[str]]:
    """The text of an equivalent config, whole (``bases``, our text-style _base_ files:
    runtime, schedule, data set, model, merged in; no ``_base_`` path, so the file works
    wherever it is put), and the notes on options without an equivalent."""
    from mmengine.config import Config
    from ..datasets.transforms import build_pipeline
    notes = [f'{k} = {opt[k]}: {why}' for k, why in NO_EQUIVALENT.items() if k in opt]
    if opt.get('norm') in SYNC_NORMS:
        notes.append(f"norm = {opt['norm']}: converted as {SYNC_NORMS[opt['norm']]!r}; for "
                     "synchronised batch norm across GPUs add sync_bn = 'torch' to the config")
    gpus = [g for g in opt.get('gpu_ids', '').split(',') if g.strip() not in ('', '-1')]
    if len(gpus) > 1:
        notes.append(f'batch_size = {opt.get("batch_size", 1)} was split over {len(gpus)} '
                     'GPUs by the reference; here it is per process (tools/dist_train.sh): '
                     'divide it by the number of GPUs')
    if int(opt.get('epoch_count', 1)) != 1:
        notes.append(f"epoch_count = {opt['epoch_count']}: a continued run; resume it from "
                     'its checkpoint (tools/train.py --resume) instead')
    schedulers, more = param_scheduler_cfg(opt)
    notes += more
    load, crop = int(opt.get('load_size', 286)), int(opt.get('crop_size', 256))
    preprocess = opt.get('preprocess', 'resize_and_crop')
    input_nc = int(opt.get('input_nc', 3))
    train = build_pipeline(preprocess, load, crop, no_flip=_bool(opt.get('no_flip', 'False')),
                           input_nc=input_nc, phase='train')
    test = build_pipeline(preprocess, crop, crop, no_flip=True, input_nc=input_nc,
                          phase='test')
    dataset = dict(data_root=opt.get('dataroot', 'data/unknown'),
                   direction=opt.get('direction', 'AtoB'),
                   serial_batches=_bool(opt.get('serial_batches', 'False')), pipeline=train)
    max_size = opt.get('max_dataset_size', 'inf')
    if max_size != 'inf':
        dataset['max_dataset_size'] = int(float(max_size))
    loader = dict(batch_size=int(opt.get('batch_size', 1)), dataset=dataset)
    if 'num_threads' in opt:
        loader['num_workers'] = int(opt['num_threads'])
        if loader['num_workers'] == 0:
            loader['persistent_workers'] = False
    if dataset['serial_batches']:  # the reference also stops shuffling then
        loader['sampler'] = dict(type='mmengine.DefaultSampler', shuffle=False)
    test_loader = dict(dataset=dict(data_root=dataset['data_root'],
                                    direction=dataset['direction'], pipeline=test))
    cfg = Config()
    for base in bases:
        cfg.merge_from_dict(Config.fromfile(base).to_dict())
    cfg.merge_from_dict(dict(
        model=model_cfg(opt), optim_wrapper=optim_wrapper_cfg(opt),
        train_dataloader=loader, val_dataloader=test_loader, test_dataloader=test_loader,
        train_cfg=dict(max_epochs=int(opt.get('n_epochs', 100))
                       + int(opt.get('n_epochs_decay', 100)))))
    cfg.param_scheduler = schedulers
    for name in ('train_pipeline', 'test_pipeline', 'load_size', 'crop_size', 'data_root'):
        cfg.pop(name, None)  # the bases' own variables, used up above
    header = ('# Converted from a reference train_opt.txt by tools/from_reference_opt.py: a '
              'whole config\n# (our bases merged in). One epoch = max(|trainA|, |trainB|) '
              'iterations, read from the data.\n')
    return header + cfg.pretty_text, notes


def _kwargs(d: dict) -> str:
    return ', '.join(f'{k}={v!r}' for k, v in d.items())
