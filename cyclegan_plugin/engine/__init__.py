from .amp import CPUAmpOptimWrapper, cpu_has_native_bf16, resolve_amp
from .hooks import (CycleGANVisualizationHook, MemoryLogHook, RandomStateHook, SafeCheckpointHook,
                    SaveTranslationsHook, from_safe, get_random_states, resident_mib,
                    set_random_states, to_safe, translation_grid)
from .model_wrapper import CycleGANDistributedDataParallel
from .optimizer_constructor import CycleGANOptimWrapperConstructor
from .schedule import EpochsIterBasedTrainLoop, ReferenceLinearLR

__all__ = [
    'CPUAmpOptimWrapper', 'CycleGANDistributedDataParallel', 'CycleGANOptimWrapperConstructor',
    'CycleGANVisualizationHook', 'EpochsIterBasedTrainLoop', 'MemoryLogHook', 'RandomStateHook',
    'ReferenceLinearLR', 'SafeCheckpointHook', 'SaveTranslationsHook', 'cpu_has_native_bf16',
    'from_safe', 'get_random_states', 'resident_mib', 'resolve_amp', 'set_random_states',
    'to_safe', 'translation_grid',
]
