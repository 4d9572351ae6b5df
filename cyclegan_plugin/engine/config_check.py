"""Mistyped config keys fail before anything runs, naming the key and the nearest valid one.

* Every dict with a ``type``, at any depth (hooks, loops, schedulers, optimizers, data sets,
  transforms, metrics, the model and its parts), is checked against the signature of the
  class it builds: ``default_hooks.checkpoint.intervl=5`` would otherwise train and then
  crash at the first save (CheckpointHook passes unknown keys on to
  ``Runner.save_checkpoint``), ``train_cfg.max_iter`` end a long log in a ``TypeError``.
* The data loaders' own keys are checked against ``torch.utils.data.DataLoader``'s.
* What MMEngine reads with ``cfg.get``: ``Runner.from_cfg`` ignores every top-level key it
  does not know, so ``train_cfgg = dict(max_iters=10)`` or ``param_schedulers = [...]``
  silently trains with the base config's values; so do unknown keys of ``env_cfg``,
  ``randomness`` and ``auto_scale_lr``.

Configs are Python and define their own variables (``data_root``, ``crop_size``...), so a
top-level key is only an error when it is not one MMEngine reads and is a near miss of one
(``difflib`` similarity 0.85 or more, or two neighbouring letters swapped), or when it is
an MMCV 1.x key that MMEngine no longer reads. A variable of your own that looks like a
typo is allowed by listing it: ``custom_config_keys = ['text_cfg']``.
"""
import difflib
import inspect
from typing import Iterable, List, Mapping, Optional

# Every top-level key MMEngine 0.10 reads: the arguments Runner.from_cfg passes, what the
# Runner reads from self.cfg later, and what Config itself interprets.
RUNNER_KEYS = frozenset({
    'model', 'work_dir', 'train_dataloader', 'val_dataloader', 'test_dataloader',
    'train_cfg', 'val_cfg', 'test_cfg', 'auto_scale_lr', 'optim_wrapper', 'param_scheduler',
    'val_evaluator', 'test_evaluator', 'default_hooks', 'custom_hooks', 'data_preprocessor',
    'load_from', 'resume', 'launcher', 'env_cfg', 'log_processor', 'log_level', 'visualizer',
    'default_scope', 'randomness', 'experiment_name',
    'model_wrapper_cfg', 'sync_bn', 'find_unused_parameters', 'activation_checkpointing',
    'efficient_conv_bn_eval', 'compile',  # Runner, from self.cfg
    'strategy', 'init_weights_for_test_or_val',  # FlexibleRunner
    'custom_imports',  # Config
    'custom_config_keys',  # ours: near misses kept on purpose
})

# MMCV 1.x runner keys: MMEngine ignores them; say what replaced each.
LEGACY_KEYS = {
    'resume_from': "resume=True and load_from='CKPT' (or tools/train.py --resume CKPT)",
    'lr_config': 'param_scheduler',
    'optimizer_config': 'optim_wrapper (e.g. clip_grad=...)',
    'checkpoint_config': 'default_hooks.checkpoint',
    'log_config': 'default_hooks.logger',
    'workflow': 'train_cfg (val_interval)',
    'total_epochs': 'train_cfg.max_epochs (or max_iters)',
    'dist_params': 'env_cfg.dist_cfg',
}

# Nested dicts MMEngine reads with .get(): their keys, all of them.
NESTED_KEYS = {
    'env_cfg': frozenset({'cudnn_benchmark', 'mp_cfg', 'dist_cfg', 'resource_limit'}),
    'auto_scale_lr': frozenset({'enable', 'base_batch_size'}),
    'randomness': frozenset({'seed', 'deterministic', 'diff_rank_seed'}),
}

# what the builders of some components pass or consume themselves, besides the config's keys
_BUILDER_ARGS = ('type', '_scope_', 'runner', 'dataloader', 'optimizer', 'by_epoch',
                 'convert_to_iter_based', 'epoch_length', 'default_args')
# the registries a typed dict may be built from, in the order they are searched
_REGISTRIES = ('MODELS', 'DATASETS', 'TRANSFORMS', 'DATA_SAMPLERS', 'HOOKS', 'LOOPS',
               'PARAM_SCHEDULERS', 'OPTIM_WRAPPERS', 'OPTIMIZERS',
               'OPTIM_WRAPPER_CONSTRUCTORS', 'EVALUATOR', 'METRICS', 'VISUALIZERS',
               'VISBACKENDS', 'LOG_PROCESSORS', 'MODEL_WRAPPERS')
_LOADER_KEYS = ('dataset', 'sampler', 'batch_sampler', 'collate_fn', 'worker_init_fn')

# Runner.register_default_hooks' own hooks.
DEFAULT_HOOKS = ('runtime_info', 'timer', 'sampler_seed', 'logger', 'param_scheduler',
                 'checkpoint')

_HOW_TO_KEEP = ('if it is a variable of your own, rename it or list it in the config: '
                "custom_config_keys = [{key!r}]")


class ConfigKeyError(ValueError):
    """One or more config keys that MMEngine would silently ignore."""


def _swapped(key: str, known: str) -> bool:
    """``modle`` for ``model``: difflib scores such typos of short words low."""
    return len(key) == len(known) and any(
        key == known[:i] + known[i + 1] + known[i] + known[i + 2:]
        for i in range(len(known) - 1))


def closest(key: str, known: Iterable[str], cutoff: float = 0.85) -> List[str]:
    """The known keys ``key`` is probably a typo of, best first."""
    known = sorted(known)
    return [k for k in known if _swapped(key, k)] or difflib.get_close_matches(
        key, known, n=1, cutoff=cutoff)


def _did_you_mean(key: str, known: Iterable[str]) -> str:
    match = closest(key, known, cutoff=0.6)
    return f"; did you mean {match[0]!r}?" if match else ''


def find_config_key_errors(cfg: Mapping) -> List[str]:
    """One message per key of ``cfg`` that MMEngine would ignore although it was meant for it."""
    allowed = cfg.get('custom_config_keys') or []
    if isinstance(allowed, str) or not all(isinstance(k, str) for k in allowed):
        return [f'custom_config_keys must be a list of key names, got {allowed!r}']
    allowed = set(allowed)
    errors = []
    for key in cfg.keys():
        if key in RUNNER_KEYS or key in allowed or key.startswith('_'):
            continue
        if key in LEGACY_KEYS:
            errors.append(f'config key {key!r} is an MMCV 1.x key that MMEngine does not '
                          f'read; use {LEGACY_KEYS[key]} ({_HOW_TO_KEEP.format(key=key)})')
            continue
        match = closest(key, RUNNER_KEYS)
        if match:
            errors.append(f"config key {key!r} is not used by MMEngine's Runner; did you mean "
                          f'{match[0]!r}? ({_HOW_TO_KEEP.format(key=key)})')

    for name, known in NESTED_KEYS.items():
        section = cfg.get(name)
        for key in section if isinstance(section, Mapping) else ():
            if key not in known:
                errors.append(f'config key {name + "." + key!r} is not read by MMEngine (it '
                              f'knows {", ".join(sorted(known))}){_did_you_mean(key, known)}')

    hooks = cfg.get('default_hooks')
    if isinstance(hooks, Mapping):
        # Runner.register_default_hooks replaces its default hook of that name with the dict
        # (no merge, so no type means no hook), and only removes its own names with None.
        names = set(DEFAULT_HOOKS) | {k for k, v in hooks.items()
                                       if isinstance(v, Mapping) and 'type' in v}
        for key, hook in hooks.items():
            if hook is None and key not in DEFAULT_HOOKS:
                errors.append(f'config key {"default_hooks." + key!r} = None removes nothing: '
                              "MMEngine's default hooks are " + ', '.join(DEFAULT_HOOKS)
                              + _did_you_mean(key, DEFAULT_HOOKS))
            elif isinstance(hook, Mapping) and 'type' not in hook:
                errors.append(f'config key {"default_hooks." + key!r} has no type (MMEngine '
                              'replaces the hook of that name with this dict; hooks: '
                              f'{", ".join(sorted(names))}){_did_you_mean(key, names - {key})}')
    return errors


def _component_class(type_name) -> Optional[type]:
    """The class a ``type`` names, looked up as our configs' builders do (our scope first)."""
    if not isinstance(type_name, str):
        return type_name if inspect.isclass(type_name) else None
    from mmengine.registry import DefaultScope
    from .. import registry
    with DefaultScope.overwrite_default_scope(registry.SCOPE):
        for name in _REGISTRIES:
            try:
                cls = getattr(registry, name).get(type_name)
            except Exception:  # noqa: BLE001  (a lookup that fails is no match)
                cls = None
            if inspect.isclass(cls):
                return cls
    return None


def _accepted(cls) -> Optional[set]:
    """The keyword arguments ``cls`` takes, None when it takes any (``**kwargs``)."""
    from mmengine.hooks import CheckpointHook
    params = inspect.signature(cls.__init__).parameters.values()
    names = {p.name for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
    if any(p.kind == p.VAR_KEYWORD for p in params):
        if not issubclass(cls, CheckpointHook):
            return None
        from mmengine.runner import Runner  # where CheckpointHook's **kwargs go
        names |= set(inspect.signature(Runner.save_checkpoint).parameters) - {'self'}
    return names - {'self'}


def _typed_dict_errors(value, path: str) -> List[str]:
    errors = []
    if isinstance(value, Mapping):
        cls = _component_class(value.get('type')) if 'type' in value else None
        known = _accepted(cls) if cls is not None else None
        if known is not None:
            for key in value:
                if key not in known and key not in _BUILDER_ARGS:
                    errors.append(f'config key {path + "." + key!r} is not an argument of '
                                  f'{cls.__module__.split(".")[0]}.{cls.__name__}'
                                  f'{_did_you_mean(key, known)}')
        elif path.endswith('_dataloader') and 'type' not in value:
            import torch.utils.data as data
            known = set(inspect.signature(data.DataLoader.__init__).parameters) | set(
                _LOADER_KEYS)
            for key in value:
                if key not in known:
                    errors.append(f'config key {path + "." + key!r} is not a DataLoader '
                                  f'argument{_did_you_mean(key, known)}')
        for key, sub in value.items():
            errors += _typed_dict_errors(sub, f'{path}.{key}' if path else key)
    elif isinstance(value, (list, tuple)):
        for i, sub in enumerate(value):
            errors += _typed_dict_errors(sub, f'{path}[{i}]')
    return errors


def check_config(cfg: Mapping) -> None:
    """Raise :class:`ConfigKeyError` listing every mistyped key, before a Runner is built."""
    errors = find_config_key_errors(cfg)
    errors += _typed_dict_errors({k: v for k, v in cfg.items() if not k.startswith('_')}, '')
    if errors:
        raise ConfigKeyError('\n'.join(errors))
