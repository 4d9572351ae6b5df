"""CycleGAN components for MMEngine: importing this package registers them all."""
from .version import __version__  # noqa: F401
from . import apis, config_base, datasets, engine, evaluation, interop, models  # noqa: F401,E402
