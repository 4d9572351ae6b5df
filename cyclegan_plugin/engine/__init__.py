from .amp import CPUAmpOptimWrapper, cpu_has_native_bf16, resolve_amp
from .checkpoint import (AtomicLocalBackend, SafeCheckpointHook, from_safe, load_checkpoint_file,
                         newest_loadable_checkpoint, to_safe)
from .hooks import (CycleGANVisualizationHook, RandomStateHook, SaveTranslationsHook,
                    get_random_states, set_random_states, translation_grid)
from .memory import MemoryLogHook, resident_mib
from .model_wrapper import CycleGANDistributedDataParallel
from .optimizer_constructor import CycleGANOptimWrapperConstructor

__all__ = [
    'AtomicLocalBackend', 'CPUAmpOptimWrapper', 'CycleGANDistributedDataParallel',
    'CycleGANOptimWrapperConstructor', 'CycleGANVisualizationHook', 'MemoryLogHook',
    'RandomStateHook', 'SafeCheckpointHook', 'SaveTranslationsHook', 'cpu_has_native_bf16',
    'from_safe', 'get_random_states', 'load_checkpoint_file', 'newest_loadable_checkpoint',
    'resident_mib', 'resolve_amp', 'set_random_states', 'to_safe', 'translation_grid',
]
