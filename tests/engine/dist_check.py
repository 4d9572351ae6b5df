"""Run by torchrun from test_distributed.py: train with tools/train.py in each process (any
further arguments go to train.py, e.g. --resume), then write every rank's networks and image
pools so the test can compare them."""
import os
import sys

import torch
import torch.distributed as dist

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, 'tools'))
import train  # noqa: E402


def main():
    config, work_dir, out = sys.argv[1:4]
    train.close_distributed = lambda: None  # keep the group for the comparison below
    runner = train.main([config, '--work-dir', work_dir, '--launcher', 'pytorch',
                         *sys.argv[4:]])
    model = runner.model.module
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()
             if k.startswith(('generators.', 'discriminators.')) or k.endswith('_extra_state')}
    torch.save(state, os.path.join(out, f'rank{dist.get_rank()}.pth'))
    dist.barrier()
    dist.destroy_process_group()


if __name__ == '__main__':
    main()
