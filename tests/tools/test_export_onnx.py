"""tools/export_onnx.py: any-size export of the padded generator, parity with PyTorch."""

import pytest
import torch

from cyclegan_plugin.apis import OnnxTranslator, init_model
from cyclegan_plugin.models.generators import ResnetGenerator, UnetGenerator

from ..conftest import tool_main
from ..models.reference_utils import net_input

pytest.importorskip('onnx')
pytest.importorskip('onnxruntime')


export_main = tool_main('export_onnx')


def renorm_unet():
    """A U-Net with instance renorms whose running statistics are not the initial ones, and
    whose clip on r is not the default (the checkpoint carries it)."""
    torch.manual_seed(0)
    net = UnetGenerator(num_downs=5, ngf=4, norm=dict(type='instance_renorm', r_max=2.0))
    with torch.no_grad():
        net(torch.rand(2, 3, 32, 32) * 1.5 - 0.5)
    return net.eval()


@pytest.mark.parametrize('net,sizes', [
    (ResnetGenerator(ngf=8, n_blocks=2), [(64, 64), (33, 47), (301, 199), (9, 8)]),
    (UnetGenerator(num_downs=5, ngf=4), [(32, 32), (33, 47), (61, 40)]),
    (UnetGenerator(num_downs=5, ngf=4, full_res=True), [(32, 32), (33, 47)]),
    (ResnetGenerator(ngf=8, n_blocks=1, upsample='nearest'), [(32, 32), (33, 47), (9, 8)]),
    (renorm_unet(), [(32, 32), (33, 47)]),
], ids=['resnet', 'unet', 'unet-full-res', 'resnet-resize-conv', 'unet-instance-renorm'])
def test_onnx_matches_torch_on_any_size(net, sizes, tmp_path):
    torch.save(net.state_dict(), tmp_path / 'g.pth')
    out = tmp_path / 'g.onnx'
    # the tool verifies with onnxruntime itself (exit 1 above the tolerance)
    assert export_main([str(tmp_path / 'g.pth'), '--out', str(out), '--direction', 'b2a',
                        '--sizes', *[f'{h}x{w}' for h, w in sizes]]) == 0
    onnx_translator = OnnxTranslator(out)
    assert onnx_translator.directions == ('b2a',)
    translator = init_model(tmp_path / 'g.pth', direction='b2a')
    for h, w in sizes:
        x = torch.rand(2, 3, h, w) * 2 - 1
        got = onnx_translator.run(x, 'b2a')
        assert got.shape == x.shape
        assert (got - translator.run(x, 'b2a')).abs().max() <= 1e-4
    with pytest.raises(ValueError, match="exported for 'b2a'"):
        onnx_translator.run(x, 'a2b')


def test_reference_checkpoint_exports(reference_root, tmp_path):
    folder = reference_root / 'cyclegan' / 'nets' / 'G_resnet_9blocks_ngf8'
    out = tmp_path / 'ref.onnx'
    assert export_main([str(folder / 'latest_net_G.pth'), '--out', str(out)]) == 0
    x = net_input(folder)
    expected = torch.load(folder / 'output_eval.pt', weights_only=True)
    assert (OnnxTranslator(out).run(x, 'a2b') - expected).abs().max() <= 1e-4


def test_missing_direction_is_an_error(tmp_path, capsys):
    torch.save({'generators.a2b.' + k: v
                for k, v in ResnetGenerator(ngf=4, n_blocks=1).state_dict().items()},
               tmp_path / 'm.pth')
    assert export_main([str(tmp_path / 'm.pth'), '--out', str(tmp_path / 'm.onnx'),
                        '--direction', 'b2a']) == 2
    assert "'b2a' is not in" in capsys.readouterr().err
    assert not (tmp_path / 'm.onnx').exists()
