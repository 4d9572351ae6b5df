"""Registries (child of every MMEngine root, scope 'cyclegan_plugin') and every config."""
import glob
import os.path as osp

import mmengine.registry as mm_registry
import pytest
from mmengine.config import Config
from mmengine.registry import DefaultScope, Registry

import cyclegan_plugin.registry as ours
from cyclegan_plugin.models import CycleGAN

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
