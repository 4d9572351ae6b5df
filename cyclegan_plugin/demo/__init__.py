"""The embedded demo: a procedural "mini horse2zebra" data set and its scoring."""
from .data import build_demo_dataset, render_scene
from .metrics import MiniHorse2ZebraMetric

__all__ = ['MiniHorse2ZebraMetric', 'build_demo_dataset', 'render_scene']
