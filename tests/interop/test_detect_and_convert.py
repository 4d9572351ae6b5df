"""Checkpoint detection, architecture inference, MMagic key map, lossless conversions."""
import shutil
from collections import OrderedDict

import pytest
import torch

from cyclegan_plugin.apis import init_model
from cyclegan_plugin.interop import detect, layout, mmagic
from cyclegan_plugin.models.discriminators import PatchDiscriminator, PixelDiscriminator
from cyclegan_plugin.models.generators import ResnetGenerator, UnetGenerator

from ..conftest import tool_main
from ..models.reference_utils import net_input


def load(path):
    return torch.load(path, map_location='cpu', weights_only=True)


def tensors_equal(a, b):
    return list(a) == list(b) and all(torch.equal(a[k], b[k]) for k in a)


# --------------------------------------------------------------- architecture
RESNET = dict(upsample='deconv', attention=False, residual=False)
GENERATORS = [
    dict(type='ResnetGenerator', in_channels=3, out_channels=3, ngf=4, n_blocks=2,
         norm='instance', use_dropout=False, padding_type='reflect', **RESNET),
    dict(type='ResnetGenerator', in_channels=1, out_channels=3, ngf=6, n_blocks=3,
         norm='batch', use_dropout=True, padding_type='reflect', **RESNET),
    dict(type='ResnetGenerator', in_channels=3, out_channels=1, ngf=4, n_blocks=1,
         norm='none', use_dropout=False, padding_type='zero', **RESNET),
    dict(type='ResnetGenerator', in_channels=3, out_channels=3, ngf=4, n_blocks=2,
         norm='instance', use_dropout=True, padding_type='zero', **RESNET),
    dict(type='ResnetGenerator', in_channels=3, out_channels=3, ngf=4, n_blocks=0,
         norm='instance', use_dropout=False, padding_type='reflect', **RESNET),
    # the opt-in improvements: resize-convolutions, the attention mask head
    dict(type='ResnetGenerator', in_channels=3, out_channels=3, ngf=4, n_blocks=2,
         norm='instance', use_dropout=False, padding_type='reflect', upsample='nearest',
         attention=True, residual=False),
    dict(type='ResnetGenerator', in_channels=3, out_channels=3, ngf=4, n_blocks=1,
         norm='none', use_dropout=False, padding_type='zero', upsample='deconv',
         attention=True, residual=False),
    dict(type='ResnetGenerator', in_channels=3, out_channels=3, ngf=4, n_blocks=1,
         norm='instance', use_dropout=False, padding_type='reflect', upsample='nearest',
         attention=False, residual=True),
    dict(type='UnetGenerator', in_channels=3, out_channels=3, num_downs=5, ngf=4,
         norm='instance', use_dropout=False, full_res=False),
    dict(type='UnetGenerator', in_channels=1, out_channels=2, num_downs=7, ngf=2,
         norm='batch', use_dropout=False, full_res=False),
    # the opt-in full-resolution top level
    dict(type='UnetGenerator', in_channels=3, out_channels=3, num_downs=6, ngf=4,
         norm='instance', use_dropout=False, full_res=True),
    dict(type='UnetGenerator', in_channels=1, out_channels=2, num_downs=5, ngf=6,
         norm='none', use_dropout=False, full_res=True),
    # the opt-in instance renorm (its buffers name it)
    dict(type='ResnetGenerator', in_channels=3, out_channels=3, ngf=4, n_blocks=2,
         norm='instance_renorm', use_dropout=False, padding_type='reflect', **RESNET),
    dict(type='UnetGenerator', in_channels=3, out_channels=3, num_downs=6, ngf=4,
         norm='instance_renorm', use_dropout=False, full_res=True),
]


@pytest.mark.parametrize('cfg', GENERATORS, ids=lambda c: f"{c['type']}-{c['norm']}")
def test_generator_config_is_read_from_the_state_dict(cfg):
    cls = {'ResnetGenerator': ResnetGenerator, 'UnetGenerator': UnetGenerator}[cfg['type']]
    net = cls(**{k: v for k, v in cfg.items() if k != 'type'})
    assert layout.infer_generator_config(net.state_dict()) == cfg


@pytest.mark.parametrize('net,norm', [(PatchDiscriminator(ndf=4, n_layers=2), 'instance'),
                                      (PatchDiscriminator(in_channels=1, ndf=4, norm='batch'),
                                       'batch'),
                                      (PixelDiscriminator(ndf=4), 'instance'),
                                      (PatchDiscriminator(ndf=4, norm='instance_renorm'),
                                       'instance_renorm')],
                         ids=['patch', 'patch-bn', 'pixel', 'patch-renorm'])
def test_discriminator_config_is_read_from_the_state_dict(net, norm):
    cfg = layout.infer_discriminator_config(net.state_dict())
    assert cfg['norm'] == norm
    rebuilt = {'PatchDiscriminator': PatchDiscriminator,
               'PixelDiscriminator': PixelDiscriminator}[cfg.pop('type')](**cfg)
    rebuilt.load_state_dict(net.state_dict(), strict=True)


@pytest.mark.parametrize('name', ['G_resnet_9blocks_ngf8', 'G_unet_256_ngf8'])
def test_reference_files_are_recognised(reference_root, name):
    state = load(reference_root / 'cyclegan' / 'nets' / name / 'latest_net_G.pth')
    cfg = layout.infer_generator_config(state)
    cls = {'ResnetGenerator': ResnetGenerator, 'UnetGenerator': UnetGenerator}[cfg.pop('type')]
    cls(**cfg).load_state_dict(state, strict=True)  # every key and shape fits


def test_layouts():
    g, d = ResnetGenerator(ngf=4, n_blocks=1), PatchDiscriminator(ndf=4)
    assert layout.detect_layout(g.state_dict()) == 'resnet'
    assert layout.detect_layout(UnetGenerator(num_downs=5, ngf=2).state_dict()) == 'unet'
    assert layout.detect_layout(d.state_dict()) == 'patch'
    model = {f'generators.a2b.{k}': v for k, v in g.state_dict().items()}
    assert layout.detect_layout(model) == 'cyclegan'
    assert layout.detect_layout(mmagic.ours_to_mmagic(model, ('x', 'y'))) == 'mmagic'


def test_find_reference_files(reference_root, tmp_path):
    src = reference_root / 'cyclegan' / 'cyclegan_step' / 'checkpoints'
    with pytest.raises(detect.CheckpointError, match='several epochs'):
        detect.find_reference_files(src)
    files = detect.find_reference_files(src / 'step2_net_G_B.pth')
    assert sorted(files) == ['D_A', 'D_B', 'G_A', 'G_B']
    assert all('step2_' in p for p in files.values())
    for epoch in ('5', '10'):
        shutil.copy(src / 'init_net_G_A.pth', tmp_path / f'{epoch}_net_G_A.pth')
    assert detect.find_reference_files(tmp_path)['G_A'].endswith('10_net_G_A.pth')
    with pytest.raises(detect.CheckpointError, match='discriminator'):
        init_model(src / 'step2_net_D_A.pth')


# ------------------------------------------------------------------ config text
def test_config_text_is_read_without_running_it(tmp_path):
    flag = tmp_path / 'ran'
    text = f'''
model = dict(type='CycleGAN', generator=dict(type='ResnetGenerator', ngf=8, n_blocks=-(-6)),
             lambdas=[1.0, (2, 3)], nothing=None)
evil = __import__('pathlib').Path({str(flag)!r}).touch()
computed = 1 + 2
'''
    cfg = layout.literal_config(text)
    assert cfg == {'model': dict(type='CycleGAN', lambdas=[1.0, (2, 3)], nothing=None,
                                 generator=dict(type='ResnetGenerator', ngf=8, n_blocks=6))}
    assert not flag.exists()
    assert layout.literal_config('this is not python (') == {}


def test_checkpoints_never_unpickle_code(tmp_path):
    flag = tmp_path / 'ran'

    class Evil:
        def __reduce__(self):
            return (open, (str(flag), 'w'))

    g = ResnetGenerator(ngf=4, n_blocks=1)
    torch.save({'meta': {'x': Evil()}, 'state_dict': g.state_dict()}, tmp_path / 'evil.pth')
    with pytest.raises(detect.CheckpointError, match='trust'):
        init_model(tmp_path / 'evil.pth')
    assert not flag.exists()
    with pytest.raises(detect.CheckpointError, match='cannot load checkpoint .*junk.pth'):
        (tmp_path / 'junk.pth').write_bytes(b'not a checkpoint')
        init_model(tmp_path / 'junk.pth')


# ----------------------------------------------------------------------- MMagic
def mmagic_resnet_keys(n_blocks):
    """Conv module paths of MMagic's ResnetGenerator (mmagic/models/editors/cyclegan/
    cyclegan_generator.py), written out from its source: ConvModules for the c7s1 and the two
    downsampling convs, ResidualBlockWithDropout(block = [ConvModule, ConvModule]) per block,
    two deconv ConvModules, the output ConvModule."""
    paths = ['model.0', 'model.1', 'model.2']
    for i in range(n_blocks):
        paths += [f'model.{3 + i}.block.0', f'model.{3 + i}.block.1']
    paths += [f'model.{3 + n_blocks}', f'model.{4 + n_blocks}', f'model.{5 + n_blocks}']
    return [f'{p}.conv' for p in paths]


def mmagic_layout(net, paths, bare_last=False):
    """Our network's tensors under MMagic's names, in module order: the MMagic network that
    computes what ``net`` computes (on BGR images, as MMagic feeds them)."""
    convs = [k[:-len('.weight')] for k, v in net.state_dict().items()
             if k.endswith('.weight') and v.dim() == 4]
    assert len(convs) == len(paths)
    out = OrderedDict()
    for ours, mm in zip(convs, paths):
        if bare_last and mm == paths[-1]:
            mm = mm[:-len('.conv')]
        for p in ('weight', 'bias'):
            if f'{ours}.{p}' in net.state_dict():
                out[f'{mm}.{p}'] = net.state_dict()[f'{ours}.{p}']
    return out


def test_mmagic_checkpoint_translates_like_the_mmagic_network(tmp_path):
    torch.manual_seed(0)
    g_zebra, g_horse = ResnetGenerator(ngf=8, n_blocks=2), ResnetGenerator(ngf=8, n_blocks=2)
    d = PatchDiscriminator(ndf=4)
    state = OrderedDict()
    for domain, net in (('horse', g_horse), ('zebra', g_zebra)):
        for k, v in mmagic_layout(net, mmagic_resnet_keys(2)).items():
            state[f'generators.{domain}.{k}'] = v
    d_paths = [f'model.{i}.conv' for i in range(5)]  # num_conv=3: 4 ConvModules + a Conv2d
    for domain in ('horse', 'zebra'):
        for k, v in mmagic_layout(d, d_paths, bare_last=True).items():
            state[f'discriminators.{domain}.{k}'] = v
    cfg = "domain_a = 'horse'\ndomain_b = 'zebra'\n"
    torch.save({'meta': {'cfg': cfg}, 'state_dict': state}, tmp_path / 'mmagic.pth')

    translator = init_model(tmp_path / 'mmagic.pth')
    assert translator.source == 'mmagic' and translator.domains == ('horse', 'zebra')
    x = torch.rand(1, 3, 32, 28) * 2 - 1
    for direction, net in (('a2b', g_zebra), ('b2a', g_horse)):  # generators[target]
        with torch.no_grad():
            expected = net(x.flip(1)).flip(1)  # MMagic's network sees and writes BGR
        assert torch.allclose(translator.run(x, direction), expected, atol=1e-5)

    ours, domains = mmagic.mmagic_to_ours(state, cfg=layout.literal_config(cfg))
    assert domains == ('horse', 'zebra')
    back = mmagic.ours_to_mmagic(ours, domains)
    assert tensors_equal(back, state)  # lossless, in MMagic's order


def test_mmagic_domains_default_to_file_order():
    g = ResnetGenerator(ngf=4, n_blocks=1)
    ours = OrderedDict((f'generators.{d}.{k}', v) for d in ('a2b', 'b2a')
                       for k, v in g.state_dict().items())
    state = mmagic.ours_to_mmagic(ours, ('cat', 'dog'))
    assert next(iter(state)).startswith('generators.cat.')  # domain A first, as MMagic
    assert mmagic.mmagic_domains(state) == ('cat', 'dog')
    with pytest.raises(detect.CheckpointError, match='not among'):
        mmagic.mmagic_domains(state, domains=('cat', 'cow'))


def test_mmagic_rejects_what_it_cannot_hold():
    ours = {f'generators.a2b.{k}': v
            for k, v in UnetGenerator(num_downs=5, ngf=2).state_dict().items()}
    with pytest.raises(detect.CheckpointError, match='ResNet'):
        mmagic.ours_to_mmagic(ours)
    ours = {f'discriminators.a.{k}': v for k, v in PixelDiscriminator(ndf=4).state_dict().items()}
    with pytest.raises(detect.CheckpointError, match='PixelDiscriminator'):
        mmagic.ours_to_mmagic(ours)


# ------------------------------------------------------------------ conversions
def test_conversions_are_lossless(reference_root, tmp_path):
    """reference -> ours -> MMagic -> ours -> reference gives the reference files' tensors
    bit for bit; every intermediate file loads with weights_only=True."""
    convert = tool_main('convert_checkpoint')
    src = reference_root / 'cyclegan' / 'cyclegan_step' / 'checkpoints'
    ref = tmp_path / 'ref'
    ref.mkdir()
    for name in ('G_A', 'G_B', 'D_A', 'D_B'):
        shutil.copy(src / f'step1_net_{name}.pth', ref / f'latest_net_{name}.pth')
    assert convert([str(ref), str(tmp_path / 'ours.pth'), '--to', 'ours']) == 0
    assert convert([str(tmp_path / 'ours.pth'), str(tmp_path / 'mm.pth'), '--to', 'mmagic',
                    '--domains', 'horse', 'zebra']) == 0
    assert convert([str(tmp_path / 'mm.pth'), str(tmp_path / 'ours2.pth'), '--to', 'ours']) == 0
    assert convert([str(tmp_path / 'ours2.pth'), str(tmp_path / 'back'), '--to', 'reference',
                    '--epoch', 'step1']) == 0
    for name in ('G_A', 'G_B', 'D_A', 'D_B'):
        assert tensors_equal(load(tmp_path / 'back' / f'step1_net_{name}.pth'),
                             load(src / f'step1_net_{name}.pth')), name
    ours, ours2 = load(tmp_path / 'ours.pth'), load(tmp_path / 'ours2.pth')
    nets = [k for k in ours['state_dict'] if not k.endswith('_extra_state')]
    assert all(torch.equal(ours['state_dict'][k], ours2['state_dict'][k]) for k in nets)
    assert set(ours['state_dict']) == set(ours2['state_dict'])

    # the converted checkpoint is a complete model checkpoint of ours
    from cyclegan_plugin.registry import MODELS
    model = MODELS.build(layout.literal_config(ours['meta']['cfg'])['model'])
    model.load_state_dict(ours['state_dict'], strict=True)
    # and one generator alone
    assert convert([str(tmp_path / 'ours.pth'), str(tmp_path / 'g.pth'), '--to', 'generator',
                    '--direction', 'b2a']) == 0
    assert tensors_equal(load(tmp_path / 'g.pth'), load(src / 'step1_net_G_B.pth'))
    # an existing file is kept unless forced
    assert convert([str(ref), str(tmp_path / 'ours.pth'), '--to', 'ours']) == 2


def test_our_model_round_trips_through_mmagic(tmp_path):
    from cyclegan_plugin.registry import MODELS
    torch.manual_seed(1)
    model = MODELS.build(dict(type='CycleGAN',
                              generator=dict(type='ResnetGenerator', ngf=4, n_blocks=3,
                                             use_dropout=True),
                              discriminator=dict(type='PatchDiscriminator', ndf=4, n_layers=2)))
    state = OrderedDict((k, v) for k, v in model.state_dict().items()
                        if not k.endswith('_extra_state'))
    mm = mmagic.ours_to_mmagic(state, ('a', 'b'))
    assert any('.block.2.conv.' in k for k in mm)  # dropout shifts MMagic's second conv
    back, _ = mmagic.mmagic_to_ours(mm)
    assert set(back) == set(state)
    assert all(torch.equal(back[k], state[k]) for k in state)


def test_old_reference_checkpoints_with_instance_norm_buffers(reference_root, tmp_path):
    """PyTorch 0.4 saved InstanceNorm running statistics (and DataParallel a 'module.'
    prefix) in the reference's older files: they are dropped, as its own loader does."""
    folder = reference_root / 'cyclegan' / 'nets' / 'G_resnet_9blocks_ngf8'
    state = load(folder / 'latest_net_G.pth')
    old = OrderedDict()
    for key, value in state.items():
        old[f'module.{key}'] = value
        if key.endswith('.bias') and key != 'model.26.bias':  # each conv before an IN
            prefix, index = key[:-len('.bias')].rsplit('.', 1)
            norm = f'module.{prefix}.{int(index) + 1}'
            old[f'{norm}.running_mean'] = torch.zeros_like(value)
            old[f'{norm}.running_var'] = torch.ones_like(value)
    torch.save(old, tmp_path / 'latest_net_G.pth')
    translator = init_model(tmp_path / 'latest_net_G.pth')
    got = translator.run(net_input(folder), 'a2b')
    assert torch.allclose(got, load(folder / 'output_eval.pt'), atol=1e-5)
