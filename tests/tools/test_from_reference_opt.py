"""tools/from_reference_opt.py turns the reference's train_opt.txt files of the fixtures into
configs that build the same networks."""
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

from cyclegan_plugin.interop import REFERENCE_TO_OURS
from cyclegan_plugin.interop.reference_opt import read_train_opt
from cyclegan_plugin.registry import MODELS

from ..conftest import ROOT

STEP_FOLDERS = ['cyclegan_step', 'cyclegan_step_pool1']


@pytest.mark.parametrize('folder', STEP_FOLDERS)
def test_converted_config_builds_the_reference_networks(reference_root, folder, tmp_path):
    checkpoints = reference_root / 'cyclegan' / folder / 'checkpoints'
    out = tmp_path / 'converted.py'
    proc = subprocess.run([sys.executable, str(ROOT / 'tools' / 'from_reference_opt.py'),
                           str(checkpoints / 'train_opt.txt'), '--out', str(out)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert 'no direct equivalent' in proc.stdout
    cfg = Config.fromfile(str(out))
    model = MODELS.build(cfg.model)
    state = model.state_dict()
    for ref_name, ours in REFERENCE_TO_OURS.items():
        ref = torch.load(checkpoints / f'init_net_{ref_name}.pth', weights_only=True)
        mine = {k[len(ours) + 1:]: v for k, v in state.items() if k.startswith(ours + '.')}
        assert sum(v.numel() for v in mine.values()) == sum(v.numel() for v in ref.values())
        assert {k: v.shape for k, v in mine.items()} == {k: v.shape for k, v in ref.items()}
    # the training settings travel too
    opt = read_train_opt(checkpoints / 'train_opt.txt')
    assert cfg.train_dataloader.batch_size == int(opt['batch_size'])
    assert cfg.optim_wrapper.generators.optimizer.betas[0] == float(opt['beta1'])
    assert cfg.optim_wrapper.generators.optimizer.lr == float(opt['lr'])
    assert cfg.model.pool_size == int(opt['pool_size'])
    assert cfg.model.lambda_identity == float(opt['lambda_identity'])
    assert cfg.train_dataloader.num_workers == int(opt['num_threads'])


def test_conversion_of_options_the_reference_treats_specially(reference_root, tmp_path):
    """wgangp has no gradient penalty in the reference's CycleGAN; serial_batches also stops
    shuffling; its sync norms and multi-GPU batch sizes are converted with a note."""
    from cyclegan_plugin.interop.reference_opt import convert
    opt = read_train_opt(reference_root / 'cyclegan' / 'cyclegan_step' / 'checkpoints' /
                         'train_opt.txt')
    opt.update(gan_mode='wgangp', serial_batches='True', norm='syncbatch', gpu_ids='0,1',
               batch_size='4', lr_policy='step', lr_decay_iters='30')
    text, notes = convert(opt, [str(ROOT / 'configs' / '_base_' / 'default_runtime.py')])
    assert '_base_' not in text  # a whole config: it works wherever it is written
    (tmp_path / 'c.py').write_text(text)
    cfg = Config.fromfile(str(tmp_path / 'c.py'))
    assert 'lambda_gp' not in cfg.model and cfg.model.gan_loss.gan_mode == 'wgangp'
    assert MODELS.build(cfg.model).lambda_gp == 0.0  # no gradient penalty, as the reference
    assert cfg.train_dataloader.sampler == dict(type='mmengine.DefaultSampler', shuffle=False)
    assert cfg.model.generator.norm == 'batch' and cfg.model.discriminator.norm == 'batch'
    assert cfg.param_scheduler == [dict(type='mmengine.StepLR', step_size=30, gamma=0.1,
                                        by_epoch=True, convert_to_iter_based=True)]
    joined = '\n'.join(notes)
    for word in ('sync_bn', 'divide it by the number of GPUs'):
        assert word in joined, word
    for spelling in ('sync_batch', 'sync_instance', 'batch', 'instance', 'none'):
        opt.update(norm=spelling)
        convert(opt, [])


def test_converted_linear_policy_is_pinned_in_epochs(reference_root):
    from cyclegan_plugin.interop.reference_opt import param_scheduler_cfg
    opt = read_train_opt(reference_root / 'cyclegan' / 'cyclegan_step' / 'checkpoints' /
                         'train_opt.txt')
    (sched,), _ = param_scheduler_cfg(opt)
    assert sched == dict(type='cyclegan_plugin.ReferenceLinearLR',
                         n_epochs=int(opt['n_epochs']),
                         n_epochs_decay=int(opt['n_epochs_decay']), by_epoch=True,
                         convert_to_iter_based=True)
