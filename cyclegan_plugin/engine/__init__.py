from .optimizer_constructor import CycleGANOptimWrapperConstructor

__all__ = ['CycleGANOptimWrapperConstructor']
