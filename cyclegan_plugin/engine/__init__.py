from .checkpoint import (AtomicLocalBackend, SafeCheckpointHook, from_safe, load_checkpoint_file,
                         newest_loadable_checkpoint, to_safe)
from .hooks import (CycleGANVisualizationHook, RandomStateHook, SaveTranslationsHook,
                    get_random_states, set_random_states, translation_grid)
from .model_wrapper import CycleGANDistributedDataParallel
from .optimizer_constructor import CycleGANOptimWrapperConstructor

__all__ = ['CycleGANDistributedDataParallel', 'CycleGANVisualizationHook', 'translation_grid', 'CycleGANOptimWrapperConstructor', 'RandomStateHook', 'SaveTranslationsHook',
           'get_random_states', 'set_random_states', 'load_checkpoint_file', 'SafeCheckpointHook',
           'to_safe', 'from_safe', 'AtomicLocalBackend', 'newest_loadable_checkpoint']
