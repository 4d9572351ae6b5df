"""CycleGAN components for MMEngine: importing this package registers them all."""
from .version import __version__  # noqa: F401
from . import apis, datasets, demo, engine, evaluation, interop, models  # noqa: F401,E402
