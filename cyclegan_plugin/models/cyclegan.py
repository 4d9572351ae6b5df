"""CycleGAN (Zhu et al., ICCV 2017) as an MMEngine model.

Names follow the reference implementation: G_A is ``generators.a2b`` (A -> B), G_B is
``generators.b2a``; D_A judges domain-B images (``discriminators.b``), D_B domain-A images
(``discriminators.a``). Images: fake_B = G_A(real_A), rec_A = G_B(fake_B), fake_A = G_B(real_B),
rec_B = G_A(fake_A), and the identity images idt_A = G_A(real_B), idt_B = G_B(real_A).

``train_step`` follows the reference's optimize_parameters() operation for operation, so in
fp32 it reproduces the reference's losses and updates. The fast paths (batched calls,
channels_last, torch.compile) do the same maths in fewer or faster calls; mixed precision is
the optimizer wrapper's business (``AmpOptimWrapper``, see engine/amp.py).
"""
from typing import Dict, List, Mapping, Optional, Union

import warnings

import torch
from mmengine.model import BaseModel
from mmengine.optim import OptimWrapperDict
from torch import nn
import torch.nn.functional as F

from ..registry import MODELS, build
from .filters import blur, gaussian_kernel
from .image_pool import ImagePool
from .init import apply_init_cfg
from .losses import gradient_penalty, r1_penalty
from .nonfinite import POLICIES as NONFINITE_POLICIES
from .nonfinite import losses_may_update, skipped_steps

#: the logged losses, in the reference's order (the generators' terms, then the discriminators')
LOSS_TERMS = ('loss_G_A', 'loss_G_B', 'loss_cycle_A', 'loss_cycle_B', 'loss_idt_A',
              'loss_idt_B', 'loss_G', 'loss_D_A', 'loss_D_B', 'loss_D')


def set_requires_grad(module: nn.Module, requires_grad: bool) -> None:
    for param in module.parameters():
        param.requires_grad_(requires_grad)


def _unwrap(net: nn.Module) -> nn.Module:
    """The network inside a DistributedDataParallel wrapper (or the network itself)."""
    return net.module if isinstance(net, nn.parallel.DistributedDataParallel) else net


def _discriminator_overrides(overrides: Optional[Mapping]) -> Dict[str, dict]:
    """``{'a': {...}, 'b': {...}}`` from ``discriminator_overrides``, checked."""
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - {'a', 'b'})
    if unknown:
        raise ValueError(f'discriminator_overrides: keys must be the domains judged, '
                         f"'a' (D_B) or 'b' (D_A), got {unknown}")
    out = {}
    for domain in 'ab':
        out[domain] = dict(overrides.get(domain) or {})
        fixed = sorted({'in_channels', 'init_cfg'} & set(out[domain]))
        if fixed:
            raise ValueError(f'discriminator_overrides[{domain!r}] sets {fixed}: the channels '
                             'follow the domain and init_cfg is shared; set it in discriminator')
    return out


def _weighted(loss: torch.Tensor, weight: float) -> torch.Tensor:
    """``loss * weight``; the paper's weight 1 multiplies nothing (the reference's graph)."""
    return loss if weight == 1 else loss * weight


def _uses_batch_norm(module: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in module.modules())


@MODELS.register_module()
class CycleGAN(BaseModel):
    """Two generators, two discriminators, adversarial + cycle + identity losses.

    Args:
        generator: config of G_A (A -> B); G_B uses the same config with in/out channels
            swapped.
        discriminator: config of both discriminators (in_channels set per domain).
        gan_loss: config of the adversarial loss (``GANLoss``).
        lambda_A, lambda_B: weights of the cycle losses A -> B -> A and B -> A -> B.
        lambda_identity: identity loss weight, relative to lambda_A / lambda_B (0 disables).
        lambda_identity_A, lambda_identity_B: the identity weight of one generator, in place
            of ``lambda_identity`` for it: ``_A`` weighs G_A's term (G_A(real_B) against
            real_B, the reference's ``loss_idt_A``), ``_B`` G_B's; None (the default, the
            reference) takes ``lambda_identity`` for both. 0 drops that term and the
            translation it needs.
        pool_size: size of each history pool of generated images (0: no pool).
        lambda_gp: weight of a WGAN-GP gradient penalty on the discriminators, used with
            ``gan_mode='wgangp'`` only; 0 (the default) adds none, as the reference's
            CycleGAN (Gulrajani et al. use 10).
        batch_generator_calls: run the two calls that share a generator (G_A on real_A and
            real_B, G_B on real_B and real_A) as one batch. Same maths with instance norm;
            with ``norm='instance_renorm'`` the running statistics take one step towards
            the two images' mean instead of two (the outputs differ by O(momentum)).
        batch_discriminator_calls: judge real and pooled fake as one batch in the D step.
        channels_last: keep weights and images in NHWC memory order on CUDA (faster
            convolutions, above all in mixed precision; the same maths). Ignored on the CPU,
            with a warning: slower there, and torch 2.13's CPU convolutions compute wrong
            weight gradients for NHWC inputs.
        compile: ``torch.compile`` each network: ``True``, a mode (``'reduce-overhead'``
            adds CUDA graphs) or a dict of its keyword arguments; the state dict keeps its
            keys. Compiling takes a while at the start.
        nonfinite: what a NaN/Inf loss does: ``'raise'`` stops training with the term and
            the iteration named; ``'skip'`` skips the update and counts the skipped steps in
            the log (``skipped_steps``): a non-finite generator loss skips the whole
            iteration (nothing is pooled either), a non-finite discriminator loss the
            discriminators' update.
        disc_augment: config of a differentiable augmentation (``DiffAugment``) that every
            image shown to a discriminator goes through, real and fake, in both updates;
            None (the default, the reference) shows them as they are.
        lambda_gan_A, lambda_gan_B: weights of the adversarial terms of G_A (D_A judging
            fake_B) and of G_B (D_B judging fake_A); 1 in the paper and the reference. Each
            changes only what its generator is asked for: a heavier ``lambda_gan_A`` asks
            more of horse -> zebra against the cycle and identity terms and leaves G_B's
            loss as it is.
        cycle_noise: the standard deviation of Gaussian noise added, in training, to fake_B
            and fake_A where the other generator reads them back (the cycle; the
            discriminators and the outputs see them clean), in the [-1, 1] image scale. A
            generator can hide what the cycle loss needs (the horse's colour in a zebra) in a
            low-amplitude signal the discriminator overlooks (Chu et al. 2017); noise
            drowns that signal (Bashkirova et al. 2019). 0 (the default): the reference.
        lambda_r1: weight (gamma) of the R1 penalty on each discriminator, gamma / 2 times the
            mean over the batch of ``||grad_x D(x)||^2`` on the real images it judges, where
            ``D(x)`` is the mean of its patch scores (Mescheder, Geiger, Nowozin, "Which
            Training Methods for GANs do actually Converge?", ICML 2018): a discriminator
            that is flat on the real data stops the generator and discriminator circling
            round each other. 0 (the default, the reference): none.
        r1_interval: add the R1 term every this many discriminator updates, scaled by the
            interval (StyleGAN2's lazy regularisation: the same penalty on average for a
            fraction of the double backward passes). 1: every update.
        cycle_blur_A, cycle_blur_B: the sigma in pixels of a Gaussian blur of fake_B (of
            fake_A) where G_B (G_A) reads it back in the cycle A -> B -> A (B -> A -> B), in
            training only. A code hidden in fine detail (the horse's colour as speckle in a
            zebra's white stripes, Chu et al. 2017) does not pass the blur: what the cycle
            needs has to be carried by what is left. 0 (the default, the reference): none.
        cycle_detach_A, cycle_detach_B: the cycle A -> B -> A (B -> A -> B) trains only its
            second generator: G_B reads fake_B (G_A reads fake_A) detached from the graph, so
            the first generator gets no gradient from that cycle. The cycle's gradient
            through fake_B is what teaches G_A to hide the horse in its zebra for G_B to read
            back (Chu et al. 2017); without it G_A keeps the adversarial and identity terms
            and its part as the reader of the other cycle. False (the default, the
            reference): both generators learn from both cycles.
        cycle_fixed_reader_A, cycle_fixed_reader_B: the cycle A -> B -> A (B -> A -> B) reads
            back with its second generator's weights held: G_B (G_A) passes the gradient on
            to the fake it reads but takes none itself, so only the first generator learns
            from that cycle. As the reader a generator is a regression onto the other
            domain's real images from what the other generator left in its fake; where that
            is ambiguous (a zebra's stripes from the horse G_B made of it) an L1 regression
            paints soft edges. False (the default, the reference): both learn.
        discriminator_overrides: keys that differ for one discriminator, by the domain it
            judges: ``{'a': dict(norm='none')}`` changes D_B (it judges domain A images:
            G_B's adversary), ``'b'`` changes D_A (G_A's). None (the reference): both are
            built from ``discriminator``.
    """

    def __init__(self,
                 generator: dict,
                 discriminator: dict,
                 gan_loss: dict = dict(type='GANLoss', gan_mode='lsgan'),
                 lambda_A: float = 10.0,
                 lambda_B: float = 10.0,
                 lambda_identity: float = 0.5,
                 pool_size: int = 50,
                 lambda_gp: float = 0.0,
                 batch_generator_calls: bool = False,
                 batch_discriminator_calls: bool = False,
                 channels_last: bool = False,
                 compile: Union[bool, str, dict] = False,
                 nonfinite: str = 'raise',
                 disc_augment: Optional[dict] = None,
                 lambda_gan_A: float = 1.0,
                 lambda_gan_B: float = 1.0,
                 discriminator_overrides: Optional[Dict[str, dict]] = None,
                 lambda_identity_A: Optional[float] = None,
                 lambda_identity_B: Optional[float] = None,
                 cycle_noise: float = 0.0,
                 lambda_r1: float = 0.0,
                 r1_interval: int = 1,
                 cycle_blur_A: float = 0.0,
                 cycle_blur_B: float = 0.0,
                 cycle_detach_A: bool = False,
                 cycle_detach_B: bool = False,
                 cycle_fixed_reader_A: bool = False,
                 cycle_fixed_reader_B: bool = False,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        if data_preprocessor is None:
            data_preprocessor = dict(type='CycleGANDataPreprocessor')
        if isinstance(data_preprocessor, dict):  # from our registry, whatever the scope
            data_preprocessor = build(MODELS, data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        in_nc, out_nc = generator.get('in_channels', 3), generator.get('out_channels', 3)
        # the identity weight of G_A's term (loss_idt_A) and of G_B's (loss_idt_B)
        self.lambda_idt_A, self.lambda_idt_B = (
            lambda_identity if w is None else float(w)
            for w in (lambda_identity_A, lambda_identity_B))
        if max(self.lambda_idt_A, self.lambda_idt_B) > 0 and in_nc != out_nc:
            raise ValueError('the identity loss needs in_channels == out_channels '
                             f'(got {in_nc} and {out_nc}): set lambda_identity=0 (and '
                             'lambda_identity_A / lambda_identity_B, where given)')
        # Built as the reference does: G_A, G_B, D_A, D_B with PyTorch's default init, then
        # re-initialised in that order, so a seeded build gives the reference's weights.
        g_cfg, d_cfg = dict(generator), dict(discriminator)
        g_init = g_cfg.pop('init_cfg', dict(type='normal', gain=0.02))
        d_init = d_cfg.pop('init_cfg', dict(type='normal', gain=0.02))
        self.generators = nn.ModuleDict()
        self.generators['a2b'] = build(MODELS, dict(g_cfg, init_cfg=None))
        self.generators['b2a'] = build(
            MODELS, dict(g_cfg, in_channels=out_nc, out_channels=in_nc, init_cfg=None))
        # discriminators.b (D_A) first: it is the reference's first D, also in the optimizer
        self.discriminators = nn.ModuleDict()
        overrides = _discriminator_overrides(discriminator_overrides)
        for domain, channels in (('b', out_nc), ('a', in_nc)):
            self.discriminators[domain] = build(
                MODELS, dict(d_cfg, **overrides[domain], in_channels=channels, init_cfg=None))
        for net in self.generators.values():
            apply_init_cfg(net, g_init)
        for net in self.discriminators.values():
            apply_init_cfg(net, d_init)

        self.gan_loss = build(MODELS, gan_loss)
        self.disc_augment = build(MODELS, disc_augment) if disc_augment else None
        self.lambda_A, self.lambda_B = lambda_A, lambda_B
        self.lambda_identity, self.lambda_gp = lambda_identity, lambda_gp
        self.lambda_gan_A, self.lambda_gan_B = lambda_gan_A, lambda_gan_B
        if cycle_noise < 0:
            raise ValueError(f'cycle_noise is a standard deviation: >= 0, got {cycle_noise}')
        self.cycle_noise = float(cycle_noise)
        if min(cycle_blur_A, cycle_blur_B) < 0:
            raise ValueError('cycle_blur_A / cycle_blur_B are blur radii (sigma, pixels): >= 0, '
                             f'got {cycle_blur_A} and {cycle_blur_B}')
        self.cycle_blur = dict(A=float(cycle_blur_A), B=float(cycle_blur_B))
        # the blurs' kernels, made once (read_back runs every training step)
        self._cycle_blur_kernels = {cycle: gaussian_kernel(sigma)
                                    for cycle, sigma in self.cycle_blur.items() if sigma > 0}
        self.cycle_detach = dict(A=bool(cycle_detach_A), B=bool(cycle_detach_B))
        self.cycle_fixed_reader = dict(A=bool(cycle_fixed_reader_A),
                                       B=bool(cycle_fixed_reader_B))
        if lambda_r1 < 0 or int(r1_interval) != r1_interval or r1_interval < 1:
            raise ValueError(f'lambda_r1 must be >= 0 and r1_interval a whole number >= 1, '
                             f'got {lambda_r1} and {r1_interval}')
        self.lambda_r1, self.r1_interval = float(lambda_r1), int(r1_interval)
        self._d_updates = 0  # discriminator updates so far, for the lazy R1 term
        # fake_B_pool feeds D_A, fake_A_pool feeds D_B (queried in that order)
        self.fake_B_pool = ImagePool(pool_size)
        self.fake_A_pool = ImagePool(pool_size)
        if (batch_generator_calls or batch_discriminator_calls) and (
                _uses_batch_norm(self.generators) or _uses_batch_norm(self.discriminators)):
            raise ValueError('batch_generator_calls / batch_discriminator_calls change the '
                             'results with batch norm (its statistics mix the batched '
                             "images): use norm='instance' or turn them off")
        if batch_generator_calls and any(isinstance(m, nn.Dropout)
                                         for m in self.generators.modules()):
            raise ValueError('batch_generator_calls changes the dropout masks the generators '
                             'draw (one call for two images instead of two): turn it off '
                             'with use_dropout=True')
        self.batch_generator_calls = batch_generator_calls
        self.batch_discriminator_calls = batch_discriminator_calls
        if nonfinite not in NONFINITE_POLICIES:
            raise ValueError(f"nonfinite must be 'raise' or 'skip', got {nonfinite!r}")
        self.nonfinite = nonfinite
        # channels_last is settled at the first step, once the device is known
        self.channels_last = channels_last
        self.memory_format = torch.contiguous_format
        self._memory_format_settled = not channels_last
        if compile:
            options = ({} if compile is True else dict(mode=compile)
                       if isinstance(compile, str) else dict(compile))
            for net in (*self.generators.values(), *self.discriminators.values()):
                net.compile(**options)  # in place: state-dict keys stay as they are

    # ------------------------------------------------------------------ generators
    def forward_generators(self, real_A, real_B, identity=True) -> Dict[str, torch.Tensor]:
        """fake_B, rec_A, fake_A, rec_B and the identity images ``identity`` asks for:
        True / False for both, or a pair (idt_A, idt_B)."""
        G_A, G_B = self.generators['a2b'], self.generators['b2a']
        idt_A, idt_B = (identity, identity) if isinstance(identity, bool) else identity
        if self.batch_generator_calls and (idt_A or idt_B):
            out = {}
            for G, real, other, fake, idt, same in (
                    (G_A, real_A, real_B, 'fake_B', 'idt_A', idt_A),
                    (G_B, real_B, real_A, 'fake_A', 'idt_B', idt_B)):
                if same:  # G(real) and G(other) as one call
                    out[fake], out[idt] = G(torch.cat([real, other])).split(
                        [real.shape[0], other.shape[0]])
                else:
                    out[fake] = G(real)
            out['rec_A'] = self.reader(G_B, 'A')(self.read_back(out['fake_B'], 'A'))
            out['rec_B'] = self.reader(G_A, 'B')(self.read_back(out['fake_A'], 'B'))
            return out
        # the reference's order: forward() first, the identity images in backward_G()
        out = dict(fake_B=G_A(real_A))
        out['rec_A'] = self.reader(G_B, 'A')(self.read_back(out['fake_B'], 'A'))
        out['fake_A'] = G_B(real_B)
        out['rec_B'] = self.reader(G_A, 'B')(self.read_back(out['fake_A'], 'B'))
        if idt_A:
            out['idt_A'] = G_A(real_B)
        if idt_B:
            out['idt_B'] = G_B(real_A)
        return out

    def reader(self, G: nn.Module, cycle: str):
        """The second generator of cycle ``cycle`` as the cycle calls it: ``G`` itself, or in
        training with ``cycle_fixed_reader_<cycle>`` ``G`` with its weights detached."""
        if not (self.training and self.cycle_fixed_reader[cycle]):
            return G
        held = {name: p.detach() for name, p in G.named_parameters()}
        return lambda x: torch.func.functional_call(G, held, (x,))

    def read_back(self, fake: torch.Tensor, cycle: str = 'A') -> torch.Tensor:
        """What the second generator of cycle ``cycle`` ('A': A -> B -> A reads fake_B, 'B'
        reads fake_A) reads of ``fake``: ``fake`` itself, or in training ``fake`` detached
        (``cycle_detach_A`` / ``_B``), blurred (``cycle_blur_A`` / ``_B``) and plus
        ``cycle_noise``."""
        if not self.training:
            return fake
        if self.cycle_detach[cycle]:
            fake = fake.detach()
        kernel = self._cycle_blur_kernels.get(cycle)
        if kernel is not None:
            fake = blur(fake, kernel.to(fake.device))
        if self.cycle_noise > 0:
            return fake + torch.randn_like(fake) * self.cycle_noise
        return fake

    def generator_losses(self, real_A, real_B, images) -> Dict[str, torch.Tensor]:
        """The terms of loss_G, in the reference's order of evaluation and summation."""
        losses, idt = {}, {}
        if self.lambda_idt_A > 0:
            idt['loss_idt_A'] = F.l1_loss(images['idt_A'], real_B) * self.lambda_B * \
                self.lambda_idt_A
        if self.lambda_idt_B > 0:
            idt['loss_idt_B'] = F.l1_loss(images['idt_B'], real_A) * self.lambda_A * \
                self.lambda_idt_B
        # the frozen discriminators are called past any DDP wrapper: they get no gradient
        # here, and a DDP forward would wait for one
        D_A, D_B = (_unwrap(self.discriminators[d]) for d in ('b', 'a'))
        losses['loss_G_A'] = _weighted(
            self.generator_adversarial(D_A, images['fake_B'], real_B), self.lambda_gan_A)
        losses['loss_G_B'] = _weighted(
            self.generator_adversarial(D_B, images['fake_A'], real_A), self.lambda_gan_B)
        losses['loss_cycle_A'] = F.l1_loss(images['rec_A'], real_A) * self.lambda_A
        losses['loss_cycle_B'] = F.l1_loss(images['rec_B'], real_B) * self.lambda_B
        losses.update(idt)  # last, as the reference sums them
        return losses

    @property
    def relativistic_gan(self) -> bool:
        """Whether the adversarial loss scores fakes against reals ('ralsgan'); a loss of
        another class may not say."""
        return bool(getattr(self.gan_loss, 'relativistic', False))

    def generator_adversarial(self, netD, fake, real) -> torch.Tensor:
        """A generator's adversarial term: D(fake) against the target 'real'; with the
        relativistic loss against the frozen D's scores of that domain's real images (one more
        D forward, without gradient: none reaches the generator through the real images)."""
        pred_fake = netD(self.augment(fake))
        if not self.relativistic_gan:
            return self.gan_loss(pred_fake, True)
        with torch.no_grad():
            pred_real = netD(self.augment(real))
        return self.gan_loss.relativistic_loss(pred_real, pred_fake, is_disc=False)

    # -------------------------------------------------------------- discriminators
    def augment(self, images: torch.Tensor) -> torch.Tensor:
        """What a discriminator sees of ``images``: them, or their DiffAugment."""
        return images if self.disc_augment is None else self.disc_augment(images)

    def discriminator_loss(self, netD, real, fake, r1: bool = False) -> torch.Tensor:
        """0.5 * (GAN(D(real), real) + GAN(D(fake), fake)) [+ lambda_gp * GP for wgangp]; with
        the relativistic loss the mean of its two terms (GANLoss.relativistic_loss);
        ``r1``: plus the R1 term on the real images (``lambda_r1``)."""
        fake = fake.detach()
        if r1:
            real = real.detach().requires_grad_(True)
        seen_real, seen_fake = self.augment(real), self.augment(fake)
        if self.batch_discriminator_calls:
            pred_real, pred_fake = netD(torch.cat([seen_real, seen_fake])).split(
                [real.shape[0], fake.shape[0]])
        else:
            pred_real, pred_fake = netD(seen_real), netD(seen_fake)
        if self.relativistic_gan:
            loss = self.gan_loss.relativistic_loss(pred_real, pred_fake, is_disc=True)
        else:
            loss = (self.gan_loss(pred_real, True, is_disc=True)
                    + self.gan_loss(pred_fake, False, is_disc=True)) * 0.5
        if self.gan_loss.gan_mode == 'wgangp' and self.lambda_gp > 0:
            loss = loss + self.lambda_gp * gradient_penalty(_unwrap(netD), real, fake)
        if r1:
            loss = loss + 0.5 * self.lambda_r1 * self.r1_interval * r1_penalty(pred_real, real)
        return loss

    # ------------------------------------------------------------------ MMEngine API
    def _settle_memory_format(self, device: torch.device) -> None:
        """Turn channels_last on where the model runs, once (the parameters stay the same
        objects, so optimizers built before keep them)."""
        if self._memory_format_settled:
            return
        self._memory_format_settled = True
        if device.type == 'cpu':
            warnings.warn('channels_last is ignored on the CPU: slower there, and torch\'s '
                          'CPU convolutions give wrong weight gradients for NHWC inputs')
            return
        self.generators.to(memory_format=torch.channels_last)
        self.discriminators.to(memory_format=torch.channels_last)
        self.memory_format = torch.channels_last

    def train_step(self, data, optim_wrapper: OptimWrapperDict) -> Dict[str, torch.Tensor]:
        """The reference's ``optimize_parameters()``: the generators' update with the
        discriminators frozen, then the discriminators' on the pooled fakes."""
        real_A, real_B = self._real_images(self.data_preprocessor(data, True))
        images, log_vars = self.update_generators(real_A, real_B, optim_wrapper['generators'])
        if images is not None:
            log_vars.update(self.update_discriminators(real_A, real_B, images,
                                                       optim_wrapper['discriminators']))
        if self.nonfinite == 'skip':
            log_vars.setdefault('skipped_steps', skipped_steps())
        return {k: v.detach() if isinstance(v, torch.Tensor) else v for k, v in log_vars.items()}

    def update_generators(self, real_A, real_B, optim):
        """Forward both cycles, one step of the generators' optimizer on loss_G (no gradient
        reaches the frozen discriminators). Returns the images (None when a non-finite loss
        skipped the step) and the log."""
        set_requires_grad(self.discriminators, False)
        try:
            with optim.optim_context(self.generators):
                images = self.forward_generators(
                    real_A, real_B, identity=(self.lambda_idt_A > 0, self.lambda_idt_B > 0))
                loss, log_vars = self.parse_losses(self.generator_losses(real_A, real_B, images))
            log_vars['loss_G'] = log_vars.pop('loss')
            if not losses_may_update(log_vars, 'generators', self.nonfinite):
                optim.zero_grad()
                return None, dict(skipped_steps=skipped_steps())
            optim.update_params(loss)
            return images, log_vars
        finally:
            set_requires_grad(self.discriminators, True)

    def update_discriminators(self, real_A, real_B, images, optim):
        """One step of the discriminators' optimizer on pooled fakes made before the
        generators' update (in the images' own precision: under autocast the fakes may be
        bf16/fp16). Returns the log."""
        self._d_updates += 1
        r1 = self.lambda_r1 > 0 and self._d_updates % self.r1_interval == 0
        with optim.optim_context(self.discriminators):
            pool_B = self.fake_B_pool.query(images['fake_B'].to(real_B.dtype))
            pool_A = self.fake_A_pool.query(images['fake_A'].to(real_A.dtype))
            loss, log_vars = self.parse_losses(dict(
                loss_D_A=self.discriminator_loss(self.discriminators['b'], real_B, pool_B, r1),
                loss_D_B=self.discriminator_loss(self.discriminators['a'], real_A, pool_A, r1)))
        log_vars['loss_D'] = log_vars.pop('loss')
        if not losses_may_update(log_vars, 'discriminators', self.nonfinite):
            optim.zero_grad()
            return dict(skipped_steps=skipped_steps())
        optim.update_params(loss)
        return log_vars

    def _real_images(self, data):
        self._settle_memory_format(data['inputs']['img_A'].device)
        return tuple(data['inputs'][k].contiguous(memory_format=self.memory_format)
                     for k in ('img_A', 'img_B'))

    @torch.no_grad()
    def translate(self, real: torch.Tensor, direction: str = 'a2b') -> torch.Tensor:
        """real in [-1, 1] -> translated image in [-1, 1] by one generator."""
        return self.generators[direction](real.contiguous(memory_format=self.memory_format))

    def val_step(self, data) -> List[dict]:
        return self._predict(self.data_preprocessor(data, False))

    def test_step(self, data) -> List[dict]:
        return self._predict(self.data_preprocessor(data, False))

    @torch.no_grad()
    def _predict(self, data) -> List[dict]:
        """Per image: uint8 RGB (C, H, W) tensors of every translation, and the paths."""
        inputs, samples = data['inputs'], data.get('data_samples') or {}
        self._settle_memory_format(next(iter(inputs.values())).device)
        images = {}
        if 'img_A' in inputs:
            images['real_A'] = inputs['img_A']
            images['fake_B'] = self.translate(images['real_A'], 'a2b')
            images['rec_A'] = self.translate(images['fake_B'], 'b2a')
        if 'img_B' in inputs:
            images['real_B'] = inputs['img_B']
            images['fake_A'] = self.translate(images['real_B'], 'b2a')
            images['rec_B'] = self.translate(images['fake_A'], 'a2b')
        to_uint8 = self.data_preprocessor.to_images
        images = {k: to_uint8(v) for k, v in images.items()}
        n = len(next(iter(images.values())))
        outputs = [{k: v[i] for k, v in images.items()} for i in range(n)]
        for key in ('img_A_path', 'img_B_path'):
            paths = samples.get(key) if isinstance(samples, dict) else None
            if paths is not None:
                for out, path in zip(outputs, paths):
                    out[key] = path
        return outputs

    def forward(self, inputs, data_samples=None, mode: str = 'tensor'):
        """'tensor': fake_B = G_A(inputs) (inputs in [-1, 1]); 'predict': as test_step."""
        if mode == 'tensor':
            return self.generators['a2b'](inputs)
        if mode == 'predict':
            return self._predict(dict(inputs=inputs, data_samples=data_samples))
        raise ValueError(f"CycleGAN.forward supports mode 'tensor' and 'predict', not {mode!r}: "
                         'training goes through train_step')
