"""Reading the reference fixtures (../shared/reference/cyclegan): every expected value comes
from these files, never from numbers typed into a test."""
import re
from pathlib import Path

import torch
from torch import nn


def load(path: Path):
    return torch.load(path, map_location='cpu', weights_only=True)


def read_train_opt(path: Path) -> dict:
    """The reference's option dump (``name: value  [default: x]``) as a dict of strings."""
    opts = {}
    for line in Path(path).read_text().splitlines():
        m = re.match(r'^\s*([A-Za-z_]\w*):\s*(.*?)\s*(\[default:.*\])?\s*$', line)
        if m:
            opts[m.group(1)] = m.group(2).strip()
    return opts


def model_cfg_from_opt(opt: dict) -> dict:
    """The CycleGAN config that builds the networks described by a train_opt.txt."""
    netG = opt['netG']
    norm = opt['norm']
    if netG.startswith('resnet_'):
        generator = dict(type='ResnetGenerator', n_blocks=int(netG[len('resnet_'):-len('blocks')]))
    else:
        generator = dict(type='UnetGenerator', num_downs={'unet_128': 7, 'unet_256': 8}[netG])
    init = dict(type=opt['init_type'], gain=float(opt['init_gain']))
    generator.update(in_channels=int(opt['input_nc']), out_channels=int(opt['output_nc']),
                     ngf=int(opt['ngf']), norm=norm,
                     use_dropout=opt['no_dropout'] != 'True', init_cfg=init)
    if opt['netD'] == 'pixel':
        discriminator = dict(type='PixelDiscriminator')
    else:
        n_layers = 3 if opt['netD'] == 'basic' else int(opt['n_layers_D'])
        discriminator = dict(type='PatchDiscriminator', n_layers=n_layers)
    discriminator.update(ndf=int(opt['ndf']), norm=norm, init_cfg=init)
    return dict(type='CycleGAN', generator=generator, discriminator=discriminator,
                gan_loss=dict(type='GANLoss', gan_mode=opt['gan_mode']),
                lambda_A=float(opt['lambda_A']), lambda_B=float(opt['lambda_B']),
                lambda_identity=float(opt['lambda_identity']),
                pool_size=int(opt['pool_size']))


def optim_cfg_from_opt(opt: dict) -> dict:
    adam = dict(type='Adam', lr=float(opt['lr']), betas=(float(opt['beta1']), 0.999))
    return dict(constructor='CycleGANOptimWrapperConstructor',
                generators=dict(optimizer=adam), discriminators=dict(optimizer=dict(adam)))


def bias_keys_before_instance_norm(module: nn.Module, prefix: str = '') -> set:
    """Keys of conv biases directly followed by an InstanceNorm: their gradient is zero in
    exact arithmetic, so after one Adam step they hold rounding noise (fixture README, 5)."""
    keys = set()
    for name, child in module.named_modules():
        if isinstance(child, nn.Sequential):
            layers = list(child.named_children())
            for (n1, m1), (_, m2) in zip(layers, layers[1:]):
                if (isinstance(m1, (nn.Conv2d, nn.ConvTranspose2d)) and m1.bias is not None
                        and isinstance(m2, nn.InstanceNorm2d)):
                    keys.add(f'{prefix}{name}.{n1}.bias'.replace('..', '.').lstrip('.'))
    return keys


def seed_from_readme(readme: Path, folder: str, pattern: str):
    """A seed the fixture README states for one step folder, or None if it is not stated."""
    text = Path(readme).read_text()
    start = text.find(f'### {folder}/')
    if start < 0:
        return None
    section = text[start:text.find('###', start + 4)]
    m = re.search(pattern, section)
    return int(m.group(1)) if m else None
