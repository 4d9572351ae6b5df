"""Network shapes, the reference's parameter counts, norm/dropout/init options."""
import pytest
import torch
from torch import nn

from cyclegan_plugin.models import (PatchDiscriminator, PixelDiscriminator, ResnetGenerator,
                                    UnetGenerator, init_weights)
from cyclegan_plugin.registry import MODELS


def n_params(module):
    return sum(p.numel() for p in module.parameters())


def test_parameter_counts_of_the_paper_networks():
    # the counts the reference code prints for its default networks (ngf = ndf = 64)
    assert n_params(ResnetGenerator(n_blocks=9)) == 11_378_179
    assert n_params(ResnetGenerator(n_blocks=6)) == 7_837_699
    assert n_params(PatchDiscriminator(n_layers=3)) == 2_764_737


def test_patchgan_map_size_and_generator_shapes():
    with torch.no_grad():
        assert PatchDiscriminator(ndf=8)(torch.zeros(1, 3, 256, 256)).shape == (1, 1, 30, 30)
        assert PixelDiscriminator(ndf=8)(torch.zeros(2, 3, 20, 24)).shape == (2, 1, 20, 24)
        assert ResnetGenerator(ngf=8, n_blocks=2)(torch.zeros(2, 3, 36, 44)).shape == (2, 3, 36, 44)
        assert UnetGenerator(ngf=4, num_downs=7)(torch.zeros(1, 3, 128, 128)).shape == (1, 3, 128, 128)
        assert ResnetGenerator(in_channels=1, out_channels=3, ngf=4, n_blocks=1)(
            torch.zeros(1, 1, 16, 16)).shape == (1, 3, 16, 16)


@pytest.mark.parametrize('norm', ['instance', 'batch', 'none'])
def test_norms_follow_the_reference_bias_rule(norm):
    net = ResnetGenerator(ngf=4, n_blocks=1, norm=norm)
    first_conv = net.model[1]
    assert (first_conv.bias is not None) == (norm == 'instance')
    norm_types = {type(m) for m in net.modules()}
    if norm == 'instance':
        inorm = next(m for m in net.modules() if isinstance(m, nn.InstanceNorm2d))
        assert not inorm.affine and not inorm.track_running_stats
    assert (nn.BatchNorm2d in norm_types) == (norm == 'batch')
    with pytest.raises(ValueError, match='norm must be one of'):
        ResnetGenerator(norm='group')


def test_dropout_and_padding_options():
    net = ResnetGenerator(ngf=4, n_blocks=2, use_dropout=True, padding_type='zero')
    assert any(isinstance(m, nn.Dropout) for m in net.modules())
    assert not any(isinstance(m, nn.ReflectionPad2d) for m in net.model[10].modules())
    unet = UnetGenerator(ngf=4, num_downs=6, use_dropout=True)
    assert sum(isinstance(m, nn.Dropout) for m in unet.modules()) == 1  # num_downs - 5
    with pytest.raises(ValueError, match='padding_type'):
        ResnetGenerator(padding_type='circular')


@pytest.mark.parametrize('init_type', ['normal', 'xavier', 'kaiming', 'orthogonal'])
def test_init_types(init_type):
    torch.manual_seed(0)
    net = init_weights(PatchDiscriminator(ndf=16, norm='batch'), init_type, gain=0.02)
    conv = net.model[2]
    assert torch.all(conv.bias == 0) if conv.bias is not None else True
    bn = net.model[3]
    assert torch.all(bn.bias == 0) and abs(bn.weight.mean().item() - 1) < 0.05
    std = conv.weight.std().item()
    if init_type == 'normal':
        assert abs(std - 0.02) < 0.002
    elif init_type == 'kaiming':  # gain ignored, fan-in scaling
        assert abs(std - (2 / (16 * 16)) ** 0.5) < 0.01
    with pytest.raises(ValueError):
        init_weights(net, 'uniform')


def test_built_from_config_dicts():
    net = MODELS.build(dict(type='UnetGenerator', num_downs=7, ngf=4,
                            init_cfg=dict(type='xavier', gain=1.0)))
    assert isinstance(net, UnetGenerator) and net.size_divisor == 128
    assert MODELS.build(dict(type='ResnetGenerator', ngf=4, n_blocks=1)).size_divisor == 4
