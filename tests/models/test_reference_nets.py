"""Our networks with the reference's weights give the reference's outputs (fixture nets/)."""
import pytest
import torch

from cyclegan_plugin.interop import clean_reference_state_dict
from cyclegan_plugin.models import (PatchDiscriminator, PixelDiscriminator, ResnetGenerator,
                                    UnetGenerator)

from .reference_utils import load, net_input, net_output

NETS = {
    'G_resnet_9blocks_ngf8': lambda: ResnetGenerator(ngf=8, n_blocks=9),
    'G_unet_256_ngf8': lambda: UnetGenerator(num_downs=8, ngf=8),
    'D_basic_ndf8': lambda: PatchDiscriminator(ndf=8, n_layers=3),
    'D_pixel_ndf8': lambda: PixelDiscriminator(ndf=8),
}


@pytest.mark.parametrize('name', sorted(NETS))
def test_reference_forward(reference_root, name):
    folder = reference_root / 'cyclegan' / 'nets' / name
    weights = folder / ('latest_net_G.pth' if name.startswith('G') else 'latest_net_D.pth')
    state = load(weights)
    net = NETS[name]()
    # same layout as the reference: the keys, their order and shapes match one for one
    ours = net.state_dict()
    assert list(ours) == list(state)
    assert all(ours[k].shape == state[k].shape for k in ours)
    net.load_state_dict(clean_reference_state_dict(state, set(ours)), strict=True)

    x = net_input(folder)
    with torch.no_grad():
        for mode in ('eval', 'train'):
            net.train(mode == 'train')
            out = net(x.clone())
            ref = net_output(folder, mode)
            assert out.shape == ref.shape
            assert (out - ref).abs().max().item() <= 1e-5, f'{name} {mode}'
