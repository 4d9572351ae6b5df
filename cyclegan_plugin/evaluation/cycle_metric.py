"""Cycle-consistency of the test translations: how well F(G(x)) returns x, in grey levels.

Needs no extra weights or data, so every config can validate with it; it is the quantity the
cycle loss trains, measured on held-out images (lower is better).
"""
from typing import Dict, List, Sequence

import torch
from mmengine.evaluator import BaseMetric

from ..registry import METRICS


@METRICS.register_module()
class CycleConsistencyMetric(BaseMetric):
    """Mean |rec_A - real_A| and |rec_B - real_B| over unique test images (0-255 scale)."""

    default_prefix = 'cycle'

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        # one result per sample: MMEngine's collect_results keeps len(dataset) results
        for sample in data_samples:
            result = {}
            for domain in ('A', 'B'):
                real, rec = sample.get(f'real_{domain}'), sample.get(f'rec_{domain}')
                if real is not None and rec is not None:
                    l1 = (rec.float() - real.float()).abs().mean().item()
                    result[domain] = (sample.get(f'img_{domain}_path'), l1)
            self.results.append(result)

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        metrics = {}
        for domain in ('A', 'B'):
            # the test set repeats images of the smaller domain: count each file once
            unique = {}
            for result in results:
                if domain in result:
                    path, l1 = result[domain]
                    unique[path if path is not None else len(unique)] = l1
            if unique:
                metrics[f'l1_{domain}'] = float(torch.tensor(list(unique.values())).mean())
                metrics[f'num_{domain}'] = len(unique)
        return metrics
