"""A good guest: importing cyclegan_plugin registers our components and changes nothing else.

Each check runs in a fresh interpreter, as a host process would: it imports what the host has
(MMEngine, MMCV, torch, NumPy, PIL, SciPy, OpenCV), takes a snapshot of everything a plugin
could change behind the host's back, imports us, and compares. A host checkpoint with a
message hub and a ``~/...`` path load through MMEngine's own loader exactly as without us.
"""
import json
import os
import subprocess
import sys

from .conftest import ROOT

SNAPSHOT = r'''
import json, logging, os, sys, warnings
import numpy as np, torch, mmcv, mmengine, PIL.Image, scipy.linalg, cv2  # the host's imports
import mmcv.transforms
from mmengine.config import Config
from mmengine.fileio.backends import backends as fileio_backends
from mmengine.hooks import CheckpointHook
from mmengine.registry import MODELS, TRANSFORMS, HOOKS, DefaultScope
from mmengine.runner import CheckpointLoader
from mmengine.runner import checkpoint as mm_checkpoint


def snapshot():
    root = logging.getLogger()
    return dict(
        schemes=dict(CheckpointLoader._schemes),
        load_checkpoint=CheckpointLoader.load_checkpoint,
        load_from_local=mm_checkpoint.load_from_local,
        config=(Config.fromfile, Config._get_cfg_path, Config.__init__, Config.merge_from_dict),
        checkpoint_hook=(CheckpointHook.after_train_iter, CheckpointHook._save_checkpoint),
        models=dict(MODELS._module_dict), transforms=dict(TRANSFORMS._module_dict),
        hooks=dict(HOOKS._module_dict), fileio_backend_names=set(fileio_backends),
        default_scope=DefaultScope.get_current_instance(),
        warnings=list(warnings.filters), root_logger=(root.level, list(root.handlers)),
        torch=(torch.get_num_threads(), torch.get_default_dtype(),
               torch.are_deterministic_algorithms_enabled(), torch.is_grad_enabled(),
               torch.backends.cudnn.benchmark, torch.get_float32_matmul_precision(),
               torch.load, torch.save, list(torch.serialization.get_safe_globals())),
        numpy=np.random.get_state()[1][:4].tolist(), env=dict(os.environ),
        cv2_threads=cv2.getNumThreads(), pil_max_pixels=PIL.Image.MAX_IMAGE_PIXELS,
        sys_path=list(sys.path))


before = snapshot()
import cyclegan_plugin  # noqa: F401
after = snapshot()
changed = sorted(k for k in before if before[k] != after[k])
# registering our own file backend under our own name is ours; nothing else may change
new_backends = after['fileio_backend_names'] - before['fileio_backend_names']
if new_backends <= {'cyclegan_atomic_local'} and changed == ['fileio_backend_names']:
    changed = []
# what a changed warnings filter list gained or lost, to say who did it
gained = [repr(f) for f in after['warnings'] if f not in before['warnings']]
lost = [repr(f) for f in before['warnings'] if f not in after['warnings']]
print(json.dumps(dict(changed=changed, new_backends=sorted(new_backends),
                      warnings_gained=gained, warnings_lost=lost)))
'''

HOST_CHECKPOINT = r'''
import json, os, sys
import numpy as np, torch
from mmengine.logging import MessageHub
from mmengine.runner import CheckpointLoader

path, home_path = sys.argv[1], sys.argv[2]
if sys.argv[3] == 'write':
    hub = MessageHub.get_instance('host')
    hub.update_scalar('train/loss', 0.5)
    ckpt = dict(meta=dict(epoch=3, seed=np.int64(7), note=np.array([1.5])),
                state_dict=dict(w=torch.arange(4.)), message_hub=hub.state_dict())
    torch.save(ckpt, path)
    torch.save(dict(state_dict=dict(w=torch.ones(2))), home_path)
    print('{}')
    sys.exit(0)
if sys.argv[3] == 'with_us':
    import cyclegan_plugin  # noqa: F401
out = {}
for name, p in (('hub', path), ('home', '~/' + os.path.basename(home_path))):
    try:
        ckpt = CheckpointLoader.load_checkpoint(p, map_location='cpu')
        out[name] = dict(keys=sorted(ckpt), w=ckpt['state_dict']['w'].tolist(),
                         meta=repr(ckpt.get('meta')))
    except Exception as err:
        out[name] = f'{type(err).__name__}: {err}'
print(json.dumps(out))
'''


def _run(code, *args, env=None):
    proc = subprocess.run([sys.executable, '-c', code, *args], capture_output=True, text=True,
                          timeout=300, cwd=str(ROOT), env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_importing_us_changes_nothing_outside_our_components():
    result = _run(SNAPSHOT)
    assert result['changed'] == [], result


def test_host_checkpoints_load_the_same_with_and_without_us(tmp_path):
    """torch >= 2.6 loads with weights_only=True unless TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1,
    which MMEngine users set for their message hubs: with it, a host checkpoint loads through
    MMEngine's loader, with us imported or not; ``~`` is expanded either way. Without it,
    both fail alike (it is torch's rule, not ours)."""
    home = tmp_path / 'home'
    home.mkdir()
    path, home_path = str(tmp_path / 'host.pth'), str(home / 'host_home.pth')
    env = dict(os.environ, HOME=str(home))
    _run(HOST_CHECKPOINT, path, home_path, 'write', env=env)
    for flag in ('1', None):
        run_env = dict(env)
        run_env.pop('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', None)
        if flag:
            run_env['TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD'] = flag
        without = _run(HOST_CHECKPOINT, path, home_path, 'without', env=run_env)
        with_us = _run(HOST_CHECKPOINT, path, home_path, 'with_us', env=run_env)
        assert with_us == without, (flag, without, with_us)
        assert without['home']['w'] == [1.0, 1.0]  # '~/...' expanded
        if flag:
            assert without['hub']['w'] == [0.0, 1.0, 2.0, 3.0]
