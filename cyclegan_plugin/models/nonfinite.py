"""What a NaN or Inf loss does to an update: stop the run naming the term and the iteration
(``'raise'``, the default), or skip the update and count it in the log (``'skip'``). Either
way no weight is changed by it."""
import logging
from typing import Dict

import torch
from mmengine.dist import all_reduce, get_world_size
from mmengine.logging import MessageHub, print_log

POLICIES = ('raise', 'skip')


def skipped_steps() -> int:
    """Updates skipped so far in this run (the message hub's info, kept in checkpoints)."""
    return int(MessageHub.get_current_instance().get_info('skipped_steps', 0))


def losses_may_update(log_vars: Dict[str, torch.Tensor], what: str, policy: str) -> bool:
    """Whether the losses ``log_vars`` of the ``what`` (e.g. 'generators') may update them;
    raises ``FloatingPointError`` on a non-finite one unless ``policy == 'skip'``.

    One check of all the terms at once (one host sync). In distributed training every
    process takes the decision of the worst one (one all-reduce per update): a process that
    skipped its backward while the others ran theirs would leave them waiting for its
    gradients forever."""
    values = torch.stack([torch.as_tensor(v, dtype=torch.float32).reshape(())
                          for v in log_vars.values()])
    finite = torch.isfinite(values)
    if get_world_size() > 1:
        flag = (~finite.all()).float()
        all_reduce(flag, op='max')
        any_bad = bool(flag.item())
    else:
        any_bad = not bool(finite.all())
    if not any_bad:
        return True
    bad = [k for k, ok in zip(log_vars, finite.tolist()) if not ok]
    hub = MessageHub.get_current_instance()
    it = hub.get_info('iter')
    where = f' at iteration {it + 1}' if it is not None else ''
    terms = (', '.join(f'{k}={log_vars[k]}' for k in bad) if bad
             else 'finite here, non-finite in another process')
    if policy == 'raise':
        raise FloatingPointError(
            f'non-finite loss of the {what}{where}: {terms}; no update was made from it. '
            'Lower the learning rate, check the data, resume from the last checkpoint, '
            "or set model.nonfinite='skip' to skip such steps.")
    hub.update_info('skipped_steps', skipped_steps() + 1)
    print_log(f'skipped the update of the {what}{where}: {terms}', logger='current',
              level=logging.WARNING)
    return False
