"""check_config: mistyped keys that MMEngine would silently ignore fail, naming the key;
every shipped config and ordinary config variables pass (issue #6, part 4)."""
from pathlib import Path

import pytest
from mmengine.config import Config

from cyclegan_plugin.engine.config_check import ConfigKeyError, check_config

CONFIGS = sorted((Path(__file__).resolve().parents[2] / 'configs').glob('*.py'))
H2Z = next(p for p in CONFIGS if p.name == 'cyclegan_horse2zebra.py')


def load(**keys):
    cfg = Config.fromfile(str(H2Z))
    cfg.merge_from_dict(keys)
    return cfg


def errors_of(**keys):
    with pytest.raises(ConfigKeyError) as info:
        check_config(load(**keys))
    return str(info.value)


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: p.stem)
def test_every_shipped_config_passes(path):
    check_config(Config.fromfile(str(path)))


def test_there_are_configs_to_check():
    assert len(CONFIGS) >= 11


@pytest.mark.parametrize('key,meant', [
    ('train_cfgg', 'train_cfg'), ('optim_wraper', 'optim_wrapper'),
    ('param_schedulers', 'param_scheduler'), ('val_evalutor', 'val_evaluator'),
    ('default_hook', 'default_hooks'), ('custom_hook', 'custom_hooks'),
    ('load_form', 'load_from'), ('work_dirs', 'work_dir'), ('modle', 'model'),
    ('trian_dataloader', 'train_dataloader'), ('randomnes', 'randomness'),
    ('visualiser', 'visualizer'), ('find_unused_parameter', 'find_unused_parameters'),
])
def test_mistyped_top_level_key_is_named_with_the_key_meant(key, meant):
    msg = errors_of(**{key: dict(max_iters=10)})
    assert f"config key '{key}' is not used by MMEngine's Runner; did you mean '{meant}'?" in msg
    assert f"custom_config_keys = ['{key}']" in msg  # how to keep it if intended


@pytest.mark.parametrize('key', ['val_pipeline', 'num_classes', 'dataset_cfg', 'norm_cfg',
                                 'conv_cfg', 'act_cfg', 'init_cfg', 'train_dataset',
                                 'val_dataset', 'optimizer', 'base_lr', 'backend_args',
                                 'max_epochs', 'img_scale', 'model_cfg', '_helper'])
def test_ordinary_config_variables_pass(key):
    check_config(load(**{key: dict(type='x')}))


def test_custom_config_keys_allows_a_near_miss_on_purpose():
    check_config(load(text_cfg=dict(), train_cfgg=1, custom_config_keys=['text_cfg',
                                                                         'train_cfgg']))
    assert "'text_cfg'" in errors_of(text_cfg=dict())
    assert 'must be a list of key names' in errors_of(custom_config_keys='text_cfg')


@pytest.mark.parametrize('key,replacement', [
    ('resume_from', 'load_from'), ('lr_config', 'param_scheduler'),
    ('checkpoint_config', 'default_hooks.checkpoint'), ('log_config', 'default_hooks.logger'),
    ('optimizer_config', 'optim_wrapper'),
])
def test_mmcv_1x_keys_say_what_replaced_them(key, replacement):
    msg = errors_of(**{key: dict(interval=1)})
    assert f"'{key}' is an MMCV 1.x key" in msg and replacement in msg


@pytest.mark.parametrize('option,named,meant', [
    ({'env_cfg.cudnn_benchmrk': True}, 'env_cfg.cudnn_benchmrk', 'cudnn_benchmark'),
    ({'auto_scale_lr': dict(enabel=True, base_batch_size=8)}, 'auto_scale_lr.enabel',
     'enable'),
    ({'default_hooks.checkpont': dict(interval=3)}, 'default_hooks.checkpont', 'checkpoint'),
    ({'default_hooks.loger': None}, 'default_hooks.loger', 'logger'),
])
def test_nested_keys_mmengine_reads_with_get(option, named, meant):
    msg = errors_of(**option)
    assert f"config key '{named}'" in msg and f"did you mean '{meant}'?" in msg


def test_nested_keys_that_mmengine_does_read_pass():
    check_config(load(**{'env_cfg.resource_limit': 8192, 'default_hooks.timer': None,
                         'default_hooks.visual': dict(type='VisualizationHook'),
                         'auto_scale_lr': dict(enable=True, base_batch_size=1)}))


def test_all_mistakes_are_reported_at_once():
    msg = errors_of(train_cfgg=dict(max_iters=1), optim_wraper=dict(),
                    **{'env_cfg.cudnn_benchmrk': True})
    assert len(msg.splitlines()) == 3
    assert all(k in msg for k in ("'train_cfgg'", "'optim_wraper'", 'cudnn_benchmrk'))


def test_mistyped_component_argument_fails_at_build_naming_it(tmp_path):
    """Nested keys need no list: the class they build refuses an unknown argument (the
    dataset builds its transforms in __init__, before any item is read)."""
    from cyclegan_plugin.registry import DATASETS
    for d in ('trainA', 'trainB'):
        (tmp_path / d).mkdir()
    pipeline = [dict(type='LoadImage', colour_type='color'), dict(type='PackImage')]
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour_type'"):
        DATASETS.build(dict(type='UnpairedImageDataset', data_root=str(tmp_path),
                            pipeline=pipeline, lazy_init=True))
