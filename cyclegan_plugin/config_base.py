"""``_base_ = 'cyclegan_plugin::cyclegan_horse2zebra.py'``: our configs as bases of any config.

MMEngine resolves ``pkg::path`` bases only for the OpenMMLab packages of its own table, and
only for paths with a folder in them. Importing cyclegan_plugin teaches ``Config`` our prefix:
the path is looked up in the checkout's ``configs/`` when the package runs from a checkout,
else in the ``.mim/configs/`` copy that ``pip install`` puts inside the package. A config that
is read before anything imports us needs ``import cyclegan_plugin`` first (our tools do it).
"""
import os.path as osp

from mmengine.config import Config

PREFIX = 'cyclegan_plugin::'
PACKAGE_DIR = osp.dirname(osp.abspath(__file__))


def config_dirs():
    """Where our configs are, in the order they are searched."""
    checkout = osp.join(osp.dirname(PACKAGE_DIR), 'configs')
    dirs = [osp.join(PACKAGE_DIR, '.mim', 'configs')]
    if osp.isfile(osp.join(osp.dirname(PACKAGE_DIR), 'setup.py')) and osp.isdir(checkout):
        dirs.insert(0, checkout)  # a checkout: its configs, not the copy made at install
    return dirs


def resolve(cfg_path: str) -> str:
    """``cyclegan_plugin::name.py`` -> the config file's absolute path."""
    name = cfg_path[len(PREFIX):]
    for folder in config_dirs():
        path = osp.join(folder, name)
        if osp.isfile(path):
            return path
    raise FileNotFoundError(f'{cfg_path}: no config {name!r} in ' + ' or '.join(config_dirs())
                            + ' (see configs/ of cyclegan-plugin for the names)')


def _install() -> None:
    if getattr(Config._get_cfg_path, '_cyclegan_plugin', False):
        return
    mmengine_get_cfg_path = Config._get_cfg_path

    def get_cfg_path(cfg_path: str, filename: str):
        if cfg_path.startswith(PREFIX):
            return resolve(cfg_path), 'cyclegan_plugin'
        return mmengine_get_cfg_path(cfg_path, filename)

    get_cfg_path._cyclegan_plugin = True
    Config._get_cfg_path = staticmethod(get_cfg_path)


_install()
