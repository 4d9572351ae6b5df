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
