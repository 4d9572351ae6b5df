"""Reading the reference fixtures (../shared/reference/cyclegan): every expected value comes
from these files, never from numbers typed into a test."""
import re
from pathlib import Path

import torch
from torch import nn


def load(path: Path):
    return torch.load(path, map_location='cpu', weights_only=True)


def bias_keys_before_instance_norm(module: nn.Module, prefix: str = '') -> set:
    """Keys of conv biases directly followed by an InstanceNorm: their gradient is zero in
    exact arithmetic, so after one Adam step they hold rounding noise (fixture README, 5)."""
    keys = set()
    for name, child in module.named_modules():
        if isinstance(child, nn.Sequential):
            layers = list(child.named_children())
            for (n1, m1), (_, m2) in zip(layers, layers[1:]):
                if (isinstance(m1, (nn.Conv2d, nn.ConvTranspose2d)) and m1.bias is not None
                        and isinstance(m2, nn.InstanceNorm2d)):
                    keys.add(f'{prefix}{name}.{n1}.bias'.replace('..', '.').lstrip('.'))
    return keys


def seed_from_readme(readme: Path, folder: str, pattern: str):
    """A seed the fixture README states for one step folder, or None if it is not stated."""
    text = Path(readme).read_text()
    start = text.find(f'### {folder}/')
    if start < 0:
        return None
    section = text[start:text.find('###', start + 4)]
    m = re.search(pattern, section)
    return int(m.group(1)) if m else None


def net_input(folder: Path) -> torch.Tensor:
    """nets/*/input.pt, or, in a trimmed set, ``(input_uint8 / 255 - 0.5) / 0.5`` as the
    README says it was made (checked against input.pt where it is kept)."""
    x = (load(folder / 'input_uint8.pt').float() / 255 - 0.5) / 0.5
    if (folder / 'input.pt').is_file():
        assert torch.equal(x, load(folder / 'input.pt'))
    return x


def net_output(folder: Path, mode: str = 'eval') -> torch.Tensor:
    """nets/*/output_<mode>.pt; a trimmed set keeps output_eval.pt only (the README: train and
    eval outputs are bit-identical)."""
    path = folder / f'output_{mode}.pt'
    return load(path if path.is_file() else folder / 'output_eval.pt')


def adam_state_after_step1(state: dict, beta2: float) -> dict:
    """An Adam state_dict after one step; a trimmed set drops ``exp_avg_sq``, which Adam's
    first step makes ``(1 - beta2) * g * g`` of ``g = 2 * exp_avg`` (``exp_avg = 0.5 * g``):
    recomputed with Adam's own operation, and checked bit for bit where it is kept."""
    out = dict(state, state={})
    for i, s in state['state'].items():
        g = s['exp_avg'] * 2
        sq = torch.zeros_like(g).mul_(beta2).addcmul_(g, g, value=1 - beta2)
        if 'exp_avg_sq' in s:
            assert torch.equal(sq, s['exp_avg_sq']), i
        out['state'][i] = dict(s, exp_avg_sq=sq)
    return out


#: per network, how far two fp32 computations of the same gradient may lie apart, relative
#: (L2): in exact arithmetic they are equal; fp32 order changes them by rounding (~1e-6) and
#: by ReLU / LeakyReLU inputs within rounding of zero that switch sides (each changes a few of
#: the H x W terms summed into a weight's gradient; seen up to 6.6e-3 on two fixture sets)
GRADIENT_RTOL = 5e-2


def adam_updates(grad: torch.Tensor, state: dict, lr: float, betas, eps: float) -> torch.Tensor:
    """The step torch's Adam (no weight decay, no amsgrad) takes for ``grad`` from ``state``
    (its moments before the step and their step count; empty before the first), in float64."""
    beta1, beta2 = betas
    g = grad.double()
    m = beta1 * state.get('exp_avg', torch.zeros_like(g)).double() + (1 - beta1) * g
    v = beta2 * state.get('exp_avg_sq', torch.zeros_like(g)).double() + (1 - beta2) * g * g
    step = float(state.get('step', 0)) + 1
    return -lr * (m / (1 - beta1 ** step)) / ((v / (1 - beta2 ** step)).sqrt() + eps)


def assert_adam_step_matches(after, grads, reference_after, reference_grads, states_before,
                             optimizer, groups, where=''):
    """The rule for comparing one training step with another computation of the same step
    (the same maths, another order of float operations) from the same state.

    ``after`` / ``reference_after``: one optimizer's parameters after the step, in its order;
    ``grads`` / ``reference_grads``: the gradients the two computations took the step with;
    ``states_before``: the optimizer's per-parameter state before it (``{}`` before the
    first); ``groups``: (network name, number of parameters) in order.

    * Per network, the gradients agree within :data:`GRADIENT_RTOL` (L2, relative).
    * Every weight is within 1e-5 of the reference's plus the difference of the steps Adam
      takes for the two gradients. Adam's step is about ``lr * sign(g)``: where a gradient
      lies within fp32 noise of zero (the biases of convolutions before instance norm, whose
      exact gradient is 0; elements whose sign the fp32 effects above flip) the steps may
      differ by up to ``2 * lr``, everywhere else by almost nothing. Each element's bound
      comes from its own gradients, instead of a count of elements fitted to one fixture set.
    """
    defaults = optimizer.defaults
    start = 0
    for name, count in groups:
        g = torch.cat([t.flatten().double() for t in grads[start:start + count]])
        r = torch.cat([t.flatten().double() for t in reference_grads[start:start + count]])
        rel = ((g - r).norm() / r.norm()).item()
        assert rel <= GRADIENT_RTOL, f'{where}{name}: gradients differ by {rel:.2e} (L2)'
        start += count
    assert start == len(after) == len(reference_after)
    for i, (mine, ref) in enumerate(zip(after, reference_after)):
        step = [adam_updates(t, states_before[i], defaults['lr'], defaults['betas'],
                             defaults['eps']) for t in (grads[i], reference_grads[i])]
        allowed = 1e-5 + (step[0] - step[1]).abs()
        diff = (mine.detach().double() - ref.double()).abs()
        bad = diff > allowed
        assert not bad.any(), (f'{where}parameter {i}: {int(bad.sum())} of {diff.numel()} '
                               f'elements off by more than their gradients explain '
                               f'(max excess {(diff - allowed).max().item():.2e})')
