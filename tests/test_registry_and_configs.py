"""Registries (child of every MMEngine root, scope 'cyclegan_plugin') and every config."""
import glob
import os
import os.path as osp

import mmengine.registry as mm_registry
import pytest
from mmengine.config import Config
from mmengine.registry import DefaultScope, Registry

import cyclegan_plugin.registry as ours
from cyclegan_plugin.models import CycleGAN
from cyclegan_plugin.models.norm import check_norm

from .conftest import ROOT

CONFIGS = sorted(glob.glob(str(ROOT / 'configs' / 'cyclegan_*.py')))


def test_every_mmengine_root_registry_has_a_child():
    roots = {name for name in dir(mm_registry)
             if isinstance(getattr(mm_registry, name), Registry) and name.isupper()}
    for name in roots:
        child = getattr(ours, name)
        assert child.scope == 'cyclegan_plugin' and child.parent is getattr(mm_registry, name)


def test_scoped_type_resolves_from_another_scope():
    with DefaultScope.overwrite_default_scope('mmengine'):
        cls = mm_registry.MODELS.get('cyclegan_plugin.CycleGAN')
    assert cls is CycleGAN


def test_the_ten_dataset_configs_and_the_demo_exist():
    names = {osp.basename(p)[len('cyclegan_'):-3] for p in CONFIGS}
    assert {'horse2zebra', 'apple2orange', 'summer2winter_yosemite', 'monet2photo',
            'cezanne2photo', 'ukiyoe2photo', 'vangogh2photo', 'maps', 'facades',
            'iphone2dslr_flower', 'mini_horse2zebra'} <= names


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: osp.basename(p))
def test_config_loads_and_builds(path):
    cfg = Config.fromfile(path)
    assert cfg.default_scope == 'cyclegan_plugin'
    assert cfg.train_cfg.type == 'cyclegan_plugin.EpochsIterBasedTrainLoop'
    root = cfg.train_dataloader.dataset.data_root
    assert root == cfg.val_dataloader.dataset.data_root == cfg.test_dataloader.dataset.data_root
    model = ours.MODELS.build(cfg.model)
    assert isinstance(model, CycleGAN)
    if 'mini' not in path:  # the paper's settings
        assert cfg.model.generator.n_blocks == 9 and cfg.model.gan_loss.gan_mode == 'lsgan'
        assert (cfg.model.lambda_A, cfg.model.lambda_identity, cfg.model.pool_size) == (
            10.0, 0.5, 50)
        assert cfg.train_dataloader.batch_size == 1
        # the reference's 200 epochs, each the length of the data set (read from it)
        assert cfg.train_cfg.max_epochs == 200 and 'max_iters' not in cfg.train_cfg
        assert 'epoch_length' not in cfg.train_cfg
        n_g = sum(p.numel() for p in model.generators['a2b'].parameters())
        assert n_g == 11_378_179


PAPER_DATASETS = sorted(osp.basename(p)[len('cyclegan_'):-3] for p in CONFIGS
                        if not p.endswith(('_plus.py', '_fast.py')) and 'mini' not in p)


def improvements(cfg) -> dict:
    """Which opt-in improvements a config turns on."""
    gen, disc = cfg.model.generator, cfg.model.discriminator
    hooks = [str(h.get('type', '')) for h in cfg.get('custom_hooks', [])]
    return dict(unet=str(gen.get('type', '')).endswith('UnetGenerator'),
                resize=gen.get('upsample', 'deconv') != 'deconv',
                attention=bool(gen.get('attention')), residual=bool(gen.get('residual')),
                spectral_norm=bool(disc.get('spectral_norm')),
                antialias=bool(disc.get('antialias')),
                diffaugment=bool(cfg.model.get('disc_augment')),
                ema=any(h.endswith('EMAHook') for h in hooks),
                full_res=bool(gen.get('full_res')),
                renorm='instance_renorm' in (check_norm(gen.get('norm', 'instance')),
                                             check_norm(disc.get('norm', 'instance'))))


@pytest.mark.parametrize('name', PAPER_DATASETS)
def test_paper_configs_are_faithful_and_each_has_a_plus_config(name):
    """Faithful by default: the paper configs turn no improvement on; the _plus sibling
    turns on what carries over, validates with FID and keeps the best checkpoint."""
    paper = Config.fromfile(str(ROOT / 'configs' / f'cyclegan_{name}.py'))
    assert not any(improvements(paper).values()), improvements(paper)
    plus = Config.fromfile(str(ROOT / 'configs' / f'cyclegan_{name}_plus.py'))
    assert improvements(plus) == dict(unet=False, resize=True, attention=False,
                                      residual=False, spectral_norm=False, antialias=False,
                                      diffaugment=False, ema=True, full_res=False,
                                      renorm=False)
    assert plus.train_dataloader.dataset.data_root == paper.train_dataloader.dataset.data_root
    assert plus.default_hooks.checkpoint.save_best == 'FID_a2b'
    assert plus.default_hooks.checkpoint.rule == 'less'
    metrics = [m['type'] for m in plus.val_evaluator.metrics]
    assert 'cyclegan_plugin.TranslationFIDKID' in metrics
    # the rest of the recipe is the paper's
    for key in ('train_cfg', 'param_scheduler', 'optim_wrapper', 'train_dataloader'):
        assert plus[key] == paper[key], key
    hooks = [h['type'] for h in plus.custom_hooks]
    assert hooks[:len(paper.custom_hooks)] == [h['type'] for h in paper.custom_hooks]


def test_a_config_with_fid_stops_at_once_without_inception_weights(tmp_path):
    """tools/train.py checks the FID weights before training, not at the first validation."""
    import subprocess
    import sys
    env = dict(os.environ, CYCLEGAN_INCEPTION_WEIGHTS=str(tmp_path / 'missing.pth'))
    proc = subprocess.run(
        [sys.executable, str(ROOT / 'tools' / 'train.py'),
         str(ROOT / 'configs' / 'cyclegan_horse2zebra_plus.py'), '--work-dir',
         str(tmp_path / 'work'), '--cfg-options',
         f'train_dataloader.dataset.data_root={tmp_path}'],
        capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 2, proc.stderr
    assert 'val_evaluator computes FID (TranslationFIDKID)' in proc.stderr
    assert 'missing.pth' in proc.stderr
    assert not (tmp_path / 'work').exists() or not any((tmp_path / 'work').glob('*.pth'))


def test_the_demo_config_is_the_paper_demo_plus_measured_improvements():
    """make demo trains the ablation's best combination; the _paper demo stays faithful."""
    paper = Config.fromfile(str(ROOT / 'configs' / 'cyclegan_mini_horse2zebra_paper.py'))
    demo = Config.fromfile(str(ROOT / 'configs' / 'cyclegan_mini_horse2zebra.py'))
    assert not any(improvements(paper).values()), improvements(paper)
    assert paper.model.discriminator.get('n_layers', 3) == 3
    assert improvements(demo) == dict(unet=True, resize=False, attention=False,
                                      residual=False, spectral_norm=False, antialias=False,
                                      diffaugment=False, ema=True, full_res=True,
                                      renorm=True)
    # the renorm in the generators only; the discriminators keep the paper's instance norm
    assert demo.model.discriminator == paper.model.discriminator
    assert demo.model.generator.num_downs == 6 and 'n_blocks' not in demo.model.generator
    assert demo.model.batch_generator_calls and demo.model.batch_discriminator_calls
    # no history pool (the reference's --pool_size 0); the paper demo keeps the paper's 50
    assert (demo.model.pool_size, paper.model.pool_size) == (0, 50)
    assert {w['type'] for w in demo.optim_wrapper.values() if isinstance(w, dict)} \
        == {'mmengine.AmpOptimWrapper'}
    # torch's fused Adam, with the paper's rates and betas
    for group in ('generators', 'discriminators'):
        optimizer = dict(demo.optim_wrapper[group].optimizer)
        assert optimizer.pop('fused') is True
        assert optimizer == paper.optim_wrapper[group].optimizer.to_dict()
    # the same data, test pipeline and metrics; more iterations for the time the paper's take
    for key in ('test_dataloader', 'test_evaluator', 'param_scheduler'):
        assert demo[key] == paper[key], key
    # training at the test images' scale: the paper's pipeline without its resize and crop
    train, paper_train = demo.train_dataloader.to_dict(), paper.train_dataloader.to_dict()
    pipeline, paper_pipeline = train['dataset'].pop('pipeline'), paper_train['dataset'].pop(
        'pipeline')
    assert train == paper_train
    assert [t['type'] for t in paper_pipeline] == [
        'LoadImage', 'Resize', 'RandomCrop', 'RandomFlip', 'PackImage']
    assert pipeline == [t for t in paper_pipeline if t['type'] not in ('Resize', 'RandomCrop')]
    assert demo.train_cfg.max_iters > paper.train_cfg.max_iters
