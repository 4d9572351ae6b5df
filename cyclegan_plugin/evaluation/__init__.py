from .cycle_metric import CycleConsistencyMetric
from .demo_metrics import MiniHorse2ZebraMetric

__all__ = ['CycleConsistencyMetric', 'MiniHorse2ZebraMetric']
