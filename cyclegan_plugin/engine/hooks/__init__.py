"""Our hooks, one per module (as mmengine/hooks/)."""
from .memory_log import MemoryLogHook, resident_mib
from .random_state import RandomStateHook, get_random_states, set_random_states
from .safe_checkpoint import SafeCheckpointHook, from_safe, to_safe
from .save_translations import SaveTranslationsHook
from .visualization import CycleGANVisualizationHook, translation_grid

__all__ = ['CycleGANVisualizationHook', 'MemoryLogHook', 'RandomStateHook', 'SafeCheckpointHook',
           'SaveTranslationsHook', 'from_safe', 'get_random_states', 'resident_mib',
           'set_random_states', 'to_safe', 'translation_grid']
