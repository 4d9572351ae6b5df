"""Run our CycleGAN inside a real MMPretrain 1.2.0 project, as a third-party host would.

    /work/host_env/bin/python tools/host_mmpretrain.py [--work-dir DIR] [--iters N] [--debug]

The tests already train us under a host scope (tests/test_host_project.py,
tests/test_foreign_scope.py), but with a small host package of our own. This script checks
the claim of docs/configs.md ("Our configs in your project") against a real one:

1. a host project in a temporary folder (or --work-dir): the demo data from our generator
   (tools/make_demo_data.py) and a pure-Python config with MMPretrain's own
   ``default_scope = 'mmpretrain'`` that inherits cyclegan_plugin.configs.
   cyclegan_mini_horse2zebra whole (``read_base``), our hooks and validation left on;
2. training of N iterations (checkpoint every N/2, validation at N) by a host-side train
   script that does what MMPretrain's tools/train.py does (``Config.fromfile``, its loader
   defaults such as ``collate_fn=default_collate``, ``Runner.from_cfg(cfg).train()``) and
   never imports cyclegan_plugin itself, then a resume from iter_N.pth to 2N: the counter
   must continue at N + 1, our hooks must have done their work and validation must report;
3. the host's own model is untouched by us: an MMPretrain ImageClassifier (ResNet-18) built
   from its registry, seeded, saved and loaded with MMEngine and run on a fixed input, once in
   a process that never imports cyclegan_plugin and once in one that imports it first; the
   state dicts and outputs must agree bit for bit;
4. a short report (versions, losses, metrics, resume point, wall times); the exit status is
   non-zero when any check fails (the project folder is then kept).

The environment (a few minutes). CI does not run this script: it needs a second torch
install of about 5 GB (the CUDA wheels, with torchvision) plus MMPretrain, none of which our
own dependencies include::

    python3 -m venv /work/host_env
    /work/host_env/bin/pip install torch==2.14.1 torchvision==0.29.1
    /work/host_env/bin/pip install mmengine==0.10.7 mmcv-lite==2.2.0 "numpy>=2,<2.5" scipy \\
        opencv-python-headless==5.0.0.93 importlib_metadata einops modelindex rich mat4py
    /work/host_env/bin/pip install --no-deps mmpretrain==1.2.0
    /work/host_env/bin/pip install "setuptools>=77.0.3,<81"
    /work/host_env/bin/pip install --no-deps --no-build-isolation /path/to/this/checkout

- ``setuptools<81`` is the one workaround needed: torch 2.14 pulls setuptools 84, which no
  longer has ``pkg_resources``, and MMEngine 0.10.7 finds an installed package's pure-Python
  configs with ``pkg_resources`` (``mmengine.utils.get_installed_path``): without it
  ``Config.fromfile`` of the host config stops with ``No module named 'pkg_resources'``.
  MMPretrain 1.2.0 itself imports as is (it accepts mmcv < 2.4 and mmengine < 1.0; mmcv-lite
  only warns that its compiled ops are missing).
- Install us NON-editable (as above, or a wheel): MMEngine reads ``read_base`` imports of
  ``cyclegan_plugin.configs`` from the install folder, which an editable install lacks. The
  run uses that installed copy; reinstall after editing the checkout (the report says whether
  the copy still matches it).
"""
import argparse
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import os.path as osp
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from _common import EXIT_FAILED, REPO, ToolError, add_debug_flag, run_tool  # noqa: E402

BUILD = ('python3 -m venv ENV && ENV/bin/pip install torch==2.14.1 torchvision==0.29.1 && '
         'ENV/bin/pip install mmengine==0.10.7 mmcv-lite==2.2.0 "numpy>=2,<2.5" scipy '
         'opencv-python-headless==5.0.0.93 importlib_metadata einops modelindex rich mat4py && '
         'ENV/bin/pip install --no-deps mmpretrain==1.2.0 && '
         'ENV/bin/pip install "setuptools>=77.0.3,<81" && '
         f'ENV/bin/pip install --no-deps --no-build-isolation {REPO}; then run '
         'ENV/bin/python tools/host_mmpretrain.py (see its docstring)')
OUR_HOOKS = ('RandomStateHook', 'SafeCheckpointHook', 'MemoryLogHook',
             'CycleGANVisualizationHook')
SCOPE_FALLBACK = 'with scope "cyclegan_plugin"'  # MMEngine's note when a name falls back

HOST_CONFIG = '''"""An MMPretrain project's config (written by cyclegan_plugin's
tools/host_mmpretrain.py): our CycleGAN and demo data inherited whole, under the host's
own scope."""
from mmengine.config import read_base

with read_base():
    from cyclegan_plugin.configs.cyclegan_mini_horse2zebra import *  # noqa: F401,F403

default_scope = 'mmpretrain'
custom_imports = dict(imports=['mmpretrain', 'cyclegan_plugin'], allow_failed_imports=False)

data_root = {data_root!r}
train_dataloader.dataset.data_root = data_root
val_dataloader.dataset.data_root = data_root
test_dataloader.dataset.data_root = data_root
# the demo metric reads the masks and ground truths of the same folder
for _metric in val_evaluator.metrics + test_evaluator.metrics:
    if 'data_root' in _metric:
        _metric.data_root = data_root

train_cfg.merge(dict(max_iters={iters}, val_interval={iters}))
default_hooks.merge(dict(logger=dict(interval=1), checkpoint=dict(interval={interval})))
for _hook in custom_hooks:  # a translation grid at every checkpoint, so the hook shows work
    if _hook.type == 'cyclegan_plugin.CycleGANVisualizationHook':
        _hook.interval = {interval}
'''

HOST_TRAIN = '''"""The host's train script: MMPretrain 1.2's tools/train.py in short (read the
config, merge the arguments as its merge_args does, loader defaults included, build the
Runner, train), plus one line for tools/host_mmpretrain.py. It never imports
cyclegan_plugin: the config's custom_imports do."""
import argparse
import json
import sys
from copy import deepcopy

from mmengine.config import Config, ConfigDict, DictAction
from mmengine.registry import RUNNERS, DefaultScope
from mmengine.runner import Runner

parser = argparse.ArgumentParser()
parser.add_argument('config')
parser.add_argument('--work-dir')
parser.add_argument('--resume', nargs='?', const='auto')
parser.add_argument('--cfg-options', nargs='+', action=DictAction)
args = parser.parse_args()

imported_before = 'cyclegan_plugin' in sys.modules
cfg = Config.fromfile(args.config)
cfg.launcher = 'none'
cfg.work_dir = args.work_dir
if args.resume == 'auto':
    cfg.resume, cfg.load_from = True, None
elif args.resume:
    cfg.resume, cfg.load_from = True, args.resume
# MMPretrain's loader defaults (the config's own keys win): default_collate, not MMEngine's
# pseudo_collate
defaults = ConfigDict(pin_memory=True, persistent_workers=True,
                      collate_fn=dict(type='default_collate'))
for field in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
    if cfg.get(field) is not None:
        loader = deepcopy(defaults)
        loader.update(cfg[field])
        cfg[field] = loader
if args.cfg_options:
    cfg.merge_from_dict(args.cfg_options)
runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
runner.train()
model = type(runner.model)
print('HOST_RUN ' + json.dumps(dict(
    imported_before_fromfile=imported_before,
    scope=DefaultScope.get_current_instance().scope_name,
    model=model.__module__ + '.' + model.__qualname__,
    collate_fn=runner.cfg.train_dataloader.collate_fn.type,
    hooks=[type(h).__name__ for h in runner.hooks], iter=runner.iter)), flush=True)
'''


HOST_CLASSIFIER = '''"""One of the host's own models, the way the host uses it: an MMPretrain
ImageClassifier built from its registry, seeded, initialised, saved and loaded with MMEngine
and run on a fixed input. --with-cyclegan-plugin imports cyclegan_plugin first (its
registrations, hooks, file backends), which must change nothing."""
import argparse
import sys

parser = argparse.ArgumentParser()
parser.add_argument('--with-cyclegan-plugin', action='store_true')
parser.add_argument('--save', required=True)
parser.add_argument('--load', required=True)
parser.add_argument('--out', required=True)
args = parser.parse_args()
if args.with_cyclegan_plugin:
    import cyclegan_plugin  # noqa: F401

import torch  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402
from mmengine.runner import load_checkpoint, save_checkpoint, set_random_seed  # noqa: E402

init_default_scope('mmpretrain')
from mmpretrain.registry import MODELS  # noqa: E402

CLASSIFIER = dict(
    type='ImageClassifier',
    backbone=dict(type='ResNet', depth=18, num_stages=4, out_indices=(3,), style='pytorch'),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=10, in_channels=512,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0), topk=(1, 5)))

set_random_seed(0)
model = MODELS.build(CLASSIFIER)
model.init_weights()
save_checkpoint(dict(state_dict=model.state_dict(), meta=dict(seed=0)), args.save)
set_random_seed(1)  # other weights, so that the load has to replace every tensor
loaded = MODELS.build(CLASSIFIER)
loaded.init_weights()
load_checkpoint(loaded, args.load, map_location='cpu', strict=True)
state = {k: v.clone() for k, v in loaded.state_dict().items()}
x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
with torch.no_grad():
    out_eval = loaded.eval()(x, mode='tensor')
    out_train = loaded.train()(x, mode='tensor')  # batch statistics, running stats updated
assert ('cyclegan_plugin' in sys.modules) == args.with_cyclegan_plugin
torch.save(dict(built=model.state_dict(), loaded=state, out_eval=out_eval,
                out_train=out_train, after_train=loaded.state_dict(),
                model=type(loaded).__module__ + '.' + type(loaded).__qualname__), args.out)
'''


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--work-dir', help='the host project folder (default: a temporary '
                        'one, removed when every check passes)')
    parser.add_argument('--iters', type=int, default=4,
                        help='iterations before the resume, and as many after it (>= 2)')
    add_debug_flag(parser)
    args = parser.parse_args(argv)
    if args.iters < 2:
        raise ToolError(f'--iters must be 2 or more (a checkpoint at N/2), got {args.iters}')
    return args


def check_environment() -> dict:
    """The host's packages import, and ours is installed where MMEngine reads configs; the
    versions. cyclegan_plugin itself is never imported here."""
    versions = {}
    for name in ('torch', 'torchvision', 'mmengine', 'mmcv', 'mmpretrain'):
        try:
            module = importlib.import_module(name)
        except Exception as err:  # noqa: BLE001  (mmpretrain asserts its versions)
            raise ToolError(f'{name} cannot be imported ({type(err).__name__}: '
                            f'{" ".join(str(err).split())}); build the host environment: '
                            f'{BUILD}') from None
        versions[name] = module.__version__
    if importlib.util.find_spec('pkg_resources') is None:
        raise ToolError('this environment has no pkg_resources (setuptools >= 81), which '
                        'MMEngine 0.10 needs to find installed configs: pip install '
                        '"setuptools>=77.0.3,<81"')
    try:
        dist = importlib.metadata.distribution('cyclegan-plugin')
    except importlib.metadata.PackageNotFoundError:
        dist = None
    folder = osp.abspath(dist.locate_file('cyclegan_plugin')) if dist else None
    if not folder or not osp.isfile(osp.join(folder, 'configs', 'cyclegan_mini_horse2zebra.py')):
        raise ToolError('cyclegan_plugin is not installed in a folder MMEngine can read its '
                        'configs from (not at all, or editable): pip install --no-deps '
                        f'--no-build-isolation {REPO}')
    versions['cyclegan_plugin'] = dist.version
    versions['installed_at'] = folder
    versions['stale'] = stale_files(folder)
    return versions


def stale_files(folder: str) -> list:
    """The package's .py files in which the installed copy differs from this checkout."""
    ours = osp.join(REPO, 'cyclegan_plugin')
    if not osp.isdir(ours) or osp.samefile(ours, folder):
        return []
    names = set()
    for top in (ours, folder):
        for root, _, files in os.walk(top):
            names.update(osp.relpath(osp.join(root, f), top) for f in files
                         if f.endswith('.py'))

    def digest(path):
        return hashlib.sha256(open(path, 'rb').read()).hexdigest() if osp.isfile(path) else ''

    return sorted(n for n in names if digest(osp.join(ours, n)) != digest(osp.join(folder, n)))


def run(name, cmd, cwd, log, timeout):
    """A host-side step in a fresh process; its output goes to ``log`` (and its tail to stderr
    when it fails)."""
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    out = proc.stdout + proc.stderr
    with open(log, 'w') as f:
        f.write(out)
    if proc.returncode != 0:
        sys.stderr.write(out[-4000:] + '\n')
        raise ToolError(f'{name} failed (exit {proc.returncode}); its output: {log}',
                        EXIT_FAILED)
    return out


def host_run_line(out: str) -> dict:
    lines = [line for line in out.splitlines() if line.startswith('HOST_RUN ')]
    if not lines:
        raise ToolError('the host train script printed no HOST_RUN line', EXIT_FAILED)
    return json.loads(lines[-1][len('HOST_RUN '):])


def read_scalars(log_dir: str):
    """MMEngine's scalars.json of one run: (training entries, validation entries)."""
    path = osp.join(log_dir, 'vis_data', 'scalars.json')
    entries = [json.loads(line) for line in open(path) if line.strip()]
    train = [e for e in entries if 'iter' in e]
    val = [e for e in entries if 'iter' not in e and any('/' in k for k in e)]
    return train, val


def fmt(values: dict, keys) -> str:
    return ' '.join(f'{k} {values[k]:.4g}' for k in keys)


def loss_keys(entry: dict):
    return [k for k in entry if k.startswith('loss')]


def metric_keys(entry: dict):
    return [k for k in entry if '/' in k and not k.split('/')[1].startswith('num_')]


def check_run(failures, phase, host, train, val, first, last, scope_out):
    """The Runner built our model with our hooks in MMPretrain's scope, logged every
    iteration from ``first`` to ``last`` and validated at ``last``."""
    if host['imported_before_fromfile']:
        failures.append(f'{phase}: cyclegan_plugin was imported before Config.fromfile')
    if host['scope'] != 'mmpretrain':
        failures.append(f'{phase}: default scope {host["scope"]!r}, not mmpretrain')
    if host['model'] != 'cyclegan_plugin.models.cyclegan.CycleGAN':
        failures.append(f'{phase}: the Runner built {host["model"]}, not our CycleGAN')
    missing = [h for h in OUR_HOOKS if h not in host['hooks']]
    if missing:
        failures.append(f'{phase}: our hooks {missing} were not registered')
    if host['iter'] != last:
        failures.append(f'{phase}: the run ended at iteration {host["iter"]}, not {last}')
    iters = [e['iter'] for e in train]
    if iters != list(range(first, last + 1)):
        failures.append(f'{phase}: logged iterations {iters}, not {first}..{last}')
    if train and ('rss_mib' not in train[-1] or not loss_keys(train[-1])):
        failures.append(f'{phase}: no losses or rss_mib (MemoryLogHook) at the last iteration')
    if [e['step'] for e in val] != [last] or not metric_keys(val[-1]):
        failures.append(f'{phase}: validation steps {[e["step"] for e in val]}, not [{last}]')
    if SCOPE_FALLBACK in scope_out:
        failures.append(f'{phase}: a name of ours fell back to another scope')


def check_checkpoint(failures, path, iteration):
    """Our training checkpoint loads with weights_only=True (SafeCheckpointHook) and holds
    the random states (RandomStateHook) and the iteration."""
    import torch
    try:
        ckpt = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as err:  # noqa: BLE001
        failures.append(f'{path}: does not load with weights_only=True ({err})')
        return
    if 'random_states' not in ckpt:
        failures.append(f'{path}: no random_states (RandomStateHook)')
    if ckpt.get('meta', {}).get('iter') != iteration:
        failures.append(f'{path}: meta.iter {ckpt.get("meta", {}).get("iter")}, '
                        f'not {iteration}')
    if not any(k.startswith('generators.a2b.') for k in ckpt.get('state_dict', {})):
        failures.append(f'{path}: no generators.a2b weights')


def same_bits(a, b) -> bool:
    """Equal keys, dtypes, shapes and bytes (not ==: -0.0 and 0.0, NaNs)."""
    import torch
    if isinstance(a, dict):
        return (isinstance(b, dict) and list(a) == list(b)
                and all(same_bits(a[k], b[k]) for k in a))
    if isinstance(a, torch.Tensor):
        return (isinstance(b, torch.Tensor) and a.dtype == b.dtype and a.shape == b.shape
                and torch.equal(a.contiguous().view(-1).view(torch.uint8),
                                b.contiguous().view(-1).view(torch.uint8)))
    return a == b


def main(argv=None) -> int:
    args = parse_args(argv)
    start = time.perf_counter()
    versions = check_environment()
    import torch  # after the check: its absence is reported as a build step
    times = {'environment check': time.perf_counter() - start}

    temporary = args.work_dir is None
    root = osp.abspath(args.work_dir or tempfile.mkdtemp(prefix='host_mmpretrain_'))
    for sub in ('configs', 'tools', 'data'):
        os.makedirs(osp.join(root, sub), exist_ok=True)
    n, interval = args.iters, max(1, args.iters // 2)
    py, failures = sys.executable, []
    work = osp.join(root, 'work_dirs', 'cyclegan_in_mmpretrain')
    if osp.isdir(work):
        shutil.rmtree(work)  # a rerun in the same --work-dir starts afresh
    print(f'host_mmpretrain: our CycleGAN inside an MMPretrain project in {root}', flush=True)

    # 1. the host project: data from our generator, the host's config and scripts
    t = time.perf_counter()
    data = osp.join(root, 'data', 'mini_horse2zebra')
    run('make_demo_data.py', [py, osp.join(REPO, 'tools', 'make_demo_data.py'), '--out', data,
                              '--size', '64', '--num-train', '4', '--num-test', '2',
                              '--seed', '0'], root, osp.join(root, 'make_demo_data.log'), 300)
    config = osp.join(root, 'configs', 'cyclegan_in_mmpretrain.py')
    with open(config, 'w') as f:
        f.write(HOST_CONFIG.format(data_root=data, iters=n, interval=interval))
    train_py = osp.join(root, 'tools', 'train.py')
    with open(train_py, 'w') as f:
        f.write(HOST_TRAIN)
    times['demo data + project'] = time.perf_counter() - t

    # 2. train N iterations, then resume from iter_N.pth to 2N
    t = time.perf_counter()
    out1 = run('the host training', [py, train_py, config, '--work-dir', work], root,
               osp.join(root, 'train.log'), 600 + 60 * n)
    times['train'] = time.perf_counter() - t
    logs1 = sorted(d for d in os.listdir(work) if osp.isdir(osp.join(work, d)))
    train1, val1 = read_scalars(osp.join(work, logs1[-1]))
    check_run(failures, 'train', host_run_line(out1), train1, val1, 1, n, out1)
    ckpt = osp.join(work, f'iter_{n}.pth')
    check_checkpoint(failures, ckpt, n)
    grids = sorted(os.listdir(osp.join(work, logs1[-1], 'vis_data', 'vis_image')))
    expected = {f'translations_{interval}.png', f'val_translations_{n}.png'}
    if not expected <= set(grids):
        failures.append(f'train: translation grids {grids}, expected {sorted(expected)} '
                        '(CycleGANVisualizationHook)')

    t = time.perf_counter()
    out2 = run('the resumed host training', [
        py, train_py, config, '--work-dir', work, '--resume', ckpt, '--cfg-options',
        f'train_cfg.max_iters={2 * n}'], root, osp.join(root, 'resume.log'), 600 + 60 * n)
    times['resume'] = time.perf_counter() - t
    logs2 = sorted(d for d in os.listdir(work) if osp.isdir(osp.join(work, d)))
    new = [d for d in logs2 if d not in logs1]
    train2, val2 = read_scalars(osp.join(work, new[-1])) if new else ([], [])
    if not new:
        failures.append('resume: no new log folder')
    check_run(failures, 'resume', host_run_line(out2), train2, val2, n + 1, 2 * n, out2)
    check_checkpoint(failures, osp.join(work, f'iter_{2 * n}.pth'), 2 * n)
    resumed = [line.split('iter:')[-1].strip() for line in out2.splitlines()
               if 'resumed epoch' in line]
    if resumed != [str(n)]:
        failures.append(f'resume: MMEngine reported resuming at {resumed}, not [{n}]')

    # 3. the host's own classifier, without and with cyclegan_plugin imported
    t = time.perf_counter()
    cls_py = osp.join(root, 'tools', 'classifier_check.py')
    with open(cls_py, 'w') as f:
        f.write(HOST_CLASSIFIER)
    plain, ours = (osp.join(root, name) for name in ('classifier_plain.pth',
                                                      'classifier_with_us.pth'))
    run('the classifier without us', [py, cls_py, '--save', plain, '--load', plain,
                                      '--out', plain + '.out'],
        root, osp.join(root, 'classifier_plain.log'), 600)
    run('the classifier with us', [py, cls_py, '--with-cyclegan-plugin', '--save', ours,
                                   '--load', plain, '--out', ours + '.out'],
        root, osp.join(root, 'classifier_with_us.log'), 600)
    res = [torch.load(p + '.out', map_location='cpu', weights_only=True) for p in (plain, ours)]
    files = [torch.load(p, map_location='cpu', weights_only=True)['state_dict']
             for p in (plain, ours)]
    compared = dict(built=same_bits(res[0]['built'], res[1]['built']),
                    saved=same_bits(files[0], files[1]),
                    loaded=same_bits(res[0]['loaded'], res[1]['loaded'])
                    and same_bits(res[0]['loaded'], files[0]),
                    forward_eval=same_bits(res[0]['out_eval'], res[1]['out_eval']),
                    forward_train=same_bits(res[0]['out_train'], res[1]['out_train'])
                    and same_bits(res[0]['after_train'], res[1]['after_train']))
    identical = all(compared.values())
    if not identical:
        failures.append('host classifier differs with cyclegan_plugin imported: ' +
                        ', '.join(k for k, same in compared.items() if not same))
    times['host classifier'] = time.perf_counter() - t
    times['total'] = time.perf_counter() - start

    # 4. the report
    stale = versions['stale']
    print('versions: ' + ' | '.join(f'{k} {versions[k]}' for k in (
        'torch', 'torchvision', 'mmengine', 'mmcv', 'mmpretrain', 'cyclegan_plugin')))
    print(f'  cyclegan_plugin installed at {versions["installed_at"]}; same files as this '
          'checkout: ' + ('yes' if not stale else f'no ({len(stale)}: {", ".join(stale[:3])}'
                          f'{", ..." if len(stale) > 3 else ""}; reinstall to test them)'))
    host = host_run_line(out1)
    print(f'host config: default_scope {host["scope"]!r}, model {host["model"]}, collate_fn '
          f'{host["collate_fn"]}, our hooks ' + ', '.join(h for h in OUR_HOOKS
                                                          if h in host['hooks']))
    if train1 and val1:
        print(f'train: iterations {train1[0]["iter"]}-{train1[-1]["iter"]}, checkpoint every '
              f'{interval}; losses logged at {train1[-1]["iter"]}: '
              + fmt(train1[-1], loss_keys(train1[-1]) + ['generators.lr']))
        print(f'  validation at {val1[-1]["step"]}: ' + fmt(val1[-1], metric_keys(val1[-1])))
    if train2 and val2:
        print(f'resume: from iter_{n}.pth, MMEngine resumed at iteration '
              f'{resumed[0] if resumed else "?"}, first logged {train2[0]["iter"]}, trained to '
              f'{train2[-1]["iter"]}; losses logged at {train2[-1]["iter"]}: '
              + fmt(train2[-1], loss_keys(train2[-1]) + ['generators.lr'])
              + ' (a resume keeps the schedule of the checkpoint, here ending at '
              f'{n})')
        print(f'  validation at {val2[-1]["step"]}: ' + fmt(val2[-1], metric_keys(val2[-1])))
    print(f'host classifier ({res[0]["model"]}, ResNet-18) identical with and without '
          f'cyclegan_plugin: {"yes" if identical else "no"} (' + ', '.join(
              f'{k} {"same" if same else "DIFFERENT"}' for k, same in compared.items())
          + f'; {len(res[0]["loaded"])} tensors, bit for bit)')
    print('wall time: ' + ', '.join(f'{k} {v:.1f} s' for k, v in times.items()))
    if failures:
        for failure in failures:
            print('FAILED: ' + failure)
        print(f'the host project is kept in {root}')
        return EXIT_FAILED
    print('all checks passed')
    if temporary:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == '__main__':
    sys.exit(run_tool(main))
