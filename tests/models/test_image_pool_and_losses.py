"""ImagePool semantics, GAN loss values on known inputs, the WGAN-GP penalty."""
import random

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cyclegan_plugin.models import GANLoss, ImagePool, gradient_penalty


def images(n, start=0):
    return torch.arange(start, start + n, dtype=torch.float32).view(n, 1, 1, 1).expand(n, 3, 2, 2)


def test_pool_size_zero_passes_through():
    pool = ImagePool(0)
    batch = images(3)
    assert pool.query(batch) is batch and len(pool) == 0


def test_pool_stores_until_full_then_swaps_with_probability_half():
    pool = ImagePool(3)
    out = pool.query(images(2))  # not full: stored and returned as they are
    assert torch.equal(out, images(2)) and len(pool) == 2
    random.seed(7)  # the pool draws from Python's global stream, as the reference
    out = pool.query(images(4, start=10))  # first image fills the pool, then draws begin
    assert out[0, 0, 0, 0] == 10 and len(pool) == 3
    # replay the reference algorithm on the same stream to get every decision
    rng = random.Random(7)
    held, returned = [0.0, 1.0, 10.0], [10.0]
    for new in (11.0, 12.0, 13.0):
        if rng.uniform(0, 1) > 0.5:
            j = rng.randint(0, 2)
            returned.append(held[j])
            held[j] = new
        else:
            returned.append(new)
    assert out[:, 0, 0, 0].tolist() == returned
    assert [im[0, 0, 0, 0].item() for im in pool.images] == held


def test_pool_state_travels_in_state_dict():
    pool = ImagePool(4)
    pool.query(images(3))
    state = pool.state_dict()
    other = ImagePool(4)
    other.load_state_dict(state)
    assert len(other) == 3 and all(torch.equal(a, b) for a, b in zip(pool.images, other.images))


def test_lsgan_and_vanilla_values():
    pred = torch.tensor([[0.5, -1.0], [2.0, 0.0]])
    lsgan = GANLoss('lsgan')
    assert torch.isclose(lsgan(pred, True), ((pred - 1) ** 2).mean())
    assert torch.isclose(lsgan(pred, False), (pred ** 2).mean())
    vanilla = GANLoss('vanilla')
    expected = -torch.log(torch.sigmoid(pred)).mean()
    assert torch.isclose(vanilla(pred, True), expected)
    assert torch.isclose(vanilla(pred, False), -torch.log(1 - torch.sigmoid(pred)).mean())
    assert GANLoss('lsgan', target_real_label=0.9)(torch.ones(2), True).item() == pytest.approx(0.01)


def test_wgangp_and_hinge_values():
    pred = torch.tensor([0.5, -1.0, 2.0])
    wgan = GANLoss('wgangp')
    assert wgan(pred, True).item() == pytest.approx(-pred.mean().item())
    assert wgan(pred, False).item() == pytest.approx(pred.mean().item())
    hinge = GANLoss('hinge')
    assert hinge(pred, True, is_disc=True).item() == pytest.approx(F.relu(1 - pred).mean().item())
    assert hinge(pred, False, is_disc=True).item() == pytest.approx(F.relu(1 + pred).mean().item())
    assert hinge(pred, True).item() == pytest.approx(-pred.mean().item())
    with pytest.raises(ValueError, match='gan_mode'):
        GANLoss('wgan')


def test_relativistic_average_lsgan_values():
    """'ralsgan': the discriminator wants real 1 above the mean fake and fake 1 below the mean
    real, the generator the reverse; the mean of the two terms, 1 when D cannot tell (D = 0);
    a single prediction is refused (it needs both)."""
    real = torch.tensor([[0.5, -1.0], [2.0, 0.25]])
    fake = torch.tensor([[-0.5, 0.75], [1.5, -2.0], [0.0, 1.0]])
    loss = GANLoss('ralsgan')
    assert loss.relativistic and not GANLoss('lsgan').relativistic
    disc = 0.5 * (((real - fake.mean() - 1) ** 2).mean() + ((fake - real.mean() + 1) ** 2).mean())
    gen = 0.5 * (((real - fake.mean() + 1) ** 2).mean() + ((fake - real.mean() - 1) ** 2).mean())
    assert torch.isclose(loss.relativistic_loss(real, fake, is_disc=True), disc)
    assert torch.isclose(loss.relativistic_loss(real, fake, is_disc=False), gen)
    zeros = torch.zeros(2, 2)
    for is_disc in (True, False):
        assert loss.relativistic_loss(zeros, zeros, is_disc).item() == 1.0
    # only the gap between real and fake counts: shifting both changes nothing
    assert torch.isclose(loss.relativistic_loss(real + 3, fake + 3, True), disc)
    with pytest.raises(ValueError, match='relativistic_loss'):
        loss(fake, True)


def test_gradient_penalty_of_a_linear_critic():
    # D(x) = sum(w * x): the gradient is w everywhere, so the penalty is (|w| - 1)^2
    critic = nn.Conv2d(3, 1, kernel_size=2, bias=False)
    with torch.no_grad():
        critic.weight.fill_(0.5)
    real, fake = torch.randn(4, 3, 2, 2), torch.randn(4, 3, 2, 2)
    norm = critic.weight.norm().item()
    for kind in ('real', 'fake', 'mixed'):
        assert gradient_penalty(critic, real, fake, kind).item() == pytest.approx(
            (norm - 1) ** 2, rel=1e-5)
