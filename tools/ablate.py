"""Train the demo with the paper's recipe and with each improvement, for the same wall time.

    python tools/ablate.py [--config configs/cyclegan_mini_horse2zebra_paper.py]
        [--variants paper resize ema diffaug sn bf16 resize+ema ...] [--seeds 0 1]
        [--budget-iters 3000 | --budget-seconds S | --iters N] [--parallel 2]
        [--calibrate-iters 100]
        [--calibrate-passes 2]
        [--work-dir work_dirs/ablate] [--reuse] [--json FILE] [--markdown FILE] [--debug]

Why: an improvement that costs time must beat the paper's recipe at the same compute, not
at the same number of iterations. Each variant is the config plus switches (see
``SWITCHES``; ``a+b`` combines them). In one run on one machine:

1. calibration: every variant trains ``--calibrate-iters`` iterations, its seconds per
   iteration are read from the log (the median past the warm-up), ``--calibrate-passes``
   times (alternating between two orders, so beside other neighbours) and averaged; a last round
   with fewer variants than ``--parallel`` is filled with unmeasured copies, so that no
   variant is calibrated alone on a quieter machine;
2. the budget: ``--budget-seconds``, or the time the first variant (the paper's recipe)
   takes for ``--budget-iters`` iterations at its calibrated speed;
3. every variant and seed trains ``budget / (its seconds per iteration)`` iterations (its
   whole schedule: the learning rate decays to 0 over the second half), then
   ``tools/test.py`` scores it on the test set.

``--iters N`` skips 1 and 2: every variant trains N iterations. That is equal time only
for switches that cost nothing per iteration (loss weights, learning rates), and it takes
the calibration's noise (5-9% between variants of the same cost) out of such comparisons.

Runs are interleaved (variant after variant, seed after seed), ``--parallel`` at a time with
``cores / parallel`` threads each, so every variant trains under the same load. It prints a
table (mean and range over seeds of each metric, the iterations reached and the wall time
taken), best first by the mean rank on the demo goals (``GOALS``), with whether each variant
beats the first one on every goal, and writes it as JSON / Markdown. A script, not a test:
it takes as long as the runs it makes (about ``budget x variants x seeds / parallel``).
``--reuse`` keeps every calibration and run of the work dir that finished with the same
config and flags, so an interrupted ablation goes on where it stopped.
"""
import argparse
import json
import os
import os.path as osp
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from _common import (REPO, ToolError, add_debug_flag, child_env, import_plugin,  # noqa: E402
                     machine_info, machine_line, run_tool)

DEFAULT_CONFIG = osp.join('configs', 'cyclegan_mini_horse2zebra_paper.py')
EMA_HOOK = dict(type='mmengine.EMAHook', ema_type='cyclegan_plugin.GeneratorEMA',
                momentum=0.002)


def _test_scale_pipeline(*before_flip: dict) -> list:
    """The training pipeline at the test images' scale (no resize, no crop): load, the
    given transforms, a random horizontal flip, pack."""
    return [dict(type='LoadImage', color_type='color'), *before_flip,
            dict(type='RandomFlip', prob=0.5, direction='horizontal'), dict(type='PackImage')]


#: name -> (what it is, config overrides, train.py flags); each is one opt-in switch
SWITCHES = {
    'paper': ('the paper recipe (the config as it is)', {}, []),
    'resize': ('resize-convolution upsampling (Odena et al. 2016)',
               dict(model=dict(generator=dict(upsample='nearest'))), []),
    'attention': ('an attention mask in each generator: the input passes where it is 0 '
                  '(Mejjati et al. 2018)', dict(model=dict(generator=dict(attention=True))), []),
    'residual': ('a residual generator: its output is added to its input (Shen and Liu '
                 '2017)', dict(model=dict(generator=dict(residual=True))), []),
    'unet': ("the reference's U-Net generator (Ronneberger et al. 2015, pix2pix's; its "
             '--netG unet_*), 6 levels at 64x64, ngf 32: skip connections carry the input\'s '
             'detail to the output',
             dict(model=dict(generator=dict(_delete_=True, type='UnetGenerator', num_downs=6,
                                            ngf=32))), []),
    'fullres': ("the U-Net's full-resolution top level (full_res=True; Ronneberger et al. "
                "2015 have one, pix2pix's U-Net not): thin legs and the outline drawn at full "
                'resolution instead of by one transposed convolution from half resolution',
                dict(model=dict(generator=dict(full_res=True))), []),
    'noidt': ('no identity loss (lambda_identity=0)', dict(model=dict(lambda_identity=0.0)),
              []),
    'idt25': ('half the identity weight (lambda_identity=0.25): less pull towards the input',
              dict(model=dict(lambda_identity=0.25)), []),
    'idt_a0': ("no identity term for G_A (lambda_identity_A=0): horse -> zebra is no longer "
               'asked to leave zebras as they are, which a U-Net meets by copying its input; '
               "G_B keeps its term (zebra -> horse, the PSNR's direction)",
               dict(model=dict(lambda_identity_A=0.0)), []),
    'cyc_a5': ('half the weight of the cycle A -> B -> A alone (lambda_A=5, '
               'lambda_identity_B=1 keeps G_B\'s identity term at the paper\'s 5): fake_B need '
               'keep less of the horse for G_B to read back; the cycle B -> A -> B as it is',
               dict(model=dict(lambda_A=5.0, lambda_identity_B=1.0)), []),
    'cyc_a20': ('twice the weight of the cycle A -> B -> A alone (lambda_A=20, '
                "lambda_identity_B=0.25 keeps G_B's identity term at the paper's 5)",
                dict(model=dict(lambda_A=20.0, lambda_identity_B=0.25)), []),
    'cyc_b5': ('half the weight of the cycle B -> A -> B alone (lambda_B=5, '
               "lambda_identity_A=1 keeps G_A's identity term at the paper's 5): G_A is asked "
               "less to redraw each real zebra's own stripes from G_B's horse, the cycle "
               'A -> B -> A as it is',
               dict(model=dict(lambda_B=5.0, lambda_identity_A=1.0)), []),
    'cnoise1': ("Gaussian noise of std 0.1 (13 grey levels) on fake_B and fake_A where the "
                'cycle reads them back (cycle_noise=0.1; Bashkirova et al. 2019): drowns the '
                "horse's colour that G_A hides in its zebras for G_B to read",
                dict(model=dict(cycle_noise=0.1)), []),
    'cblur_a1': ("a Gaussian blur of sigma 1 px on fake_B where G_B reads it back in the cycle "
                 "A -> B -> A (cycle_blur_A=1): the horse's colour hidden as fine speckle in "
                 'the zebra (Chu et al. 2017) does not pass it',
                 dict(model=dict(cycle_blur_A=1.0)), []),
    'cdet_a': ("the cycle A -> B -> A trains G_B only (cycle_detach_A=True: G_B reads fake_B "
               'detached): G_A is no longer taught to hide the horse in its zebra for G_B to '
               'read back (Chu et al. 2017)', dict(model=dict(cycle_detach_A=True)), []),
    'cdet': ('each cycle trains only its second generator (cycle_detach_A and _B): neither '
             'generator is taught to hide its input in its output',
             dict(model=dict(cycle_detach_A=True, cycle_detach_B=True)), []),
    'fread_b': ("the cycle B -> A -> B reads back with G_A's weights held "
                '(cycle_fixed_reader_B=True): G_A is no longer a regression of each real '
                "zebra's stripes from the horse G_B made of it (soft edges where that is "
                'ambiguous); G_B still learns from the cycle',
                dict(model=dict(cycle_fixed_reader_B=True)), []),
    'cyc5': ('half the cycle weight (lambda_A = lambda_B = 5; the identity loss, scaled by '
             'them, halves too)', dict(model=dict(lambda_A=5.0, lambda_B=5.0)), []),
    'gan_a2': ("twice the weight of G_A's adversarial term (lambda_gan_A=2): horse -> zebra "
               'asked for more against its cycle and identity terms; G_B\'s loss unchanged',
               dict(model=dict(lambda_gan_A=2.0)), []),
    'gan_a4': ("four times the weight of G_A's adversarial term (lambda_gan_A=4)",
               dict(model=dict(lambda_gan_A=4.0)), []),
    'r1': ('the R1 penalty on the real images, gamma 10, every 4th discriminator update '
           '(lambda_r1=10, r1_interval=4; Mescheder et al. 2018, lazily as StyleGAN2): a '
           'discriminator flat on the real data, against the generator and discriminator '
           'circling round each other', dict(model=dict(lambda_r1=10.0, r1_interval=4)), []),
    'r1_100': ('the R1 penalty, gamma 100, every 4th discriminator update',
               dict(model=dict(lambda_r1=100.0, r1_interval=4)), []),
    'pool0': ("no history pool (pool_size=0): the discriminators judge the generators' "
              'latest images only', dict(model=dict(pool_size=0)), []),
    'pool200': ('a history pool of 200 images a domain (the paper: 50; Shrivastava et al. '
                '2017): older fakes, a slower-moving discriminator',
                dict(model=dict(pool_size=200)), []),
    'decay75': ('the rate lowered linearly over the last 75% of the run (the paper: the last '
                'half; ReferenceLinearLR decay_fraction=0.75): more iterations at a low rate',
                dict(param_scheduler=[dict(type='cyclegan_plugin.ReferenceLinearLR',
                                           by_epoch=False, decay_fraction=0.75)]), []),
    'ema': ("the generators' moving average for test (Yazici et al. 2019), momentum 0.002",
            dict(custom_hooks=[EMA_HOOK]), []),
    'ema_fast': ("the generators' moving average, momentum 0.01 (a shorter memory)",
                 dict(custom_hooks=[dict(EMA_HOOK, momentum=0.01)]), []),
    'diffaug': ('DiffAugment color,translation,cutout for the discriminators (Zhao et al. '
                '2020)', dict(model=dict(disc_augment=dict(
                    type='cyclegan_plugin.DiffAugment', policy='color,translation,cutout'))),
                []),
    'translation': ('DiffAugment translation only',
                    dict(model=dict(disc_augment=dict(type='cyclegan_plugin.DiffAugment',
                                                      policy='translation'))), []),
    'sn': ('spectral normalisation in the discriminators (Miyato et al. 2018)',
           dict(model=dict(discriminator=dict(spectral_norm=True))), []),
    'aa': ('anti-aliased downsampling in the discriminators: a binomial blur before each '
           'stride-2 convolution after the first (Zhang 2019)',
           dict(model=dict(discriminator=dict(antialias=True))), []),
    'dfr': ("a full-resolution first layer in the discriminators (full_res=True: a 3x3 "
            'stride-1 convolution to ndf / 2 maps before the PatchGAN): stripes and outlines '
            'of 2-3 pixels seen through a non-linear layer before the first subsampling',
            dict(model=dict(discriminator=dict(full_res=True))), []),
    'dspec': ("a spectral judge in each discriminator (spectrum_bins=32: a linear layer on "
              "the image's azimuthal log power spectrum, its score added to every patch's; "
              'Durall et al. 2020, Chen et al. 2021): the fakes miss the sharp edges\' high '
              'frequencies', dict(model=dict(discriminator=dict(spectrum_bins=32))), []),
    'd34': ('a 34x34 PatchGAN (n_layers=2): at 64x64 the 70x70 one sees the whole image',
            dict(model=dict(discriminator=dict(n_layers=2))), []),
    'gnone': ("generators without normalisation (generator.norm='none': no instance norm, "
              "the reference's --norm none for the generators only): an instance norm divides "
              "each map by statistics of the whole image, so a pattern's strength can follow "
              'how much of the image the animal fills',
              dict(model=dict(generator=dict(norm='none'))), []),
    'gnone_k': ("generators without normalisation, initialised for it (generator.norm='none', "
                "init_cfg kaiming: He et al. 2015; the paper's N(0, 0.02) leaves a U-Net without "
                'norm near zero at the start)',
                dict(model=dict(generator=dict(norm='none', init_cfg=dict(type='kaiming')))), []),
    'grenorm': ("generators with instance renorm (generator.norm='instance_renorm'; Batch "
                "Renormalization, Ioffe 2017, per image): each map is normalised by running "
                "statistics, within a factor 3 of its own, with an instance norm's gradient, "
                "the same in training and at test, so a pattern's strength follows less how "
                "much of the image the animal fills",
                dict(model=dict(generator=dict(norm='instance_renorm'))), []),
    'grenorm2': ("generators with instance renorm clipping r to [1/2, 2] "
                 "(generator.norm=dict(type='instance_renorm', r_max=2.0)): the renorm "
                 "nearer the instance norm, its maps normalised by running statistics "
                 "within a factor 2 of their own",
                 dict(model=dict(generator=dict(norm=dict(
                     _delete_=True, type='instance_renorm', r_max=2.0)))), []),
    'drenorm': ("discriminators with instance renorm (discriminator.norm='instance_renorm'): "
                'their maps normalised by running statistics within a factor 3 of their own, '
                "so a discriminator sees more of how strong a pattern is than with the "
                "instance norm, which divides most of it out; the generators keep theirs",
                dict(model=dict(discriminator=dict(norm='instance_renorm'))), []),
    'dnone': ("discriminators without normalisation (discriminator.norm='none': no instance "
              "norm and, as the reference builds it, no bias; the generators keep theirs): the "
              "instance norm of the PatchGAN's inner layers divides out most of how strong a "
              'pattern is, so it hardly asks for more contrast',
              dict(model=dict(discriminator=dict(norm='none'))), []),
    'dnone_a': ("D_B alone without normalisation (discriminator_overrides a: norm='none'): "
                'the adversary of G_B, which turns zebras into horses; D_A, which asks G_A for '
                'stripes, keeps its instance norm',
                dict(model=dict(discriminator_overrides=dict(a=dict(norm='none')))), []),
    'd4': ('a deeper PatchGAN (n_layers=4, the reference\'s --n_layers_D 4): more capacity '
           'and a receptive field past the whole image',
           dict(model=dict(discriminator=dict(n_layers=4))), []),
    'dlr2': ('two time-scale update rule: the discriminators learn at twice the rate '
             '(4e-4; Heusel et al. 2017)',
             dict(optim_wrapper=dict(discriminators=dict(optimizer=dict(lr=0.0004)))), []),
    'dlr4': ('the discriminators learn at four times the rate (8e-4)',
             dict(optim_wrapper=dict(discriminators=dict(optimizer=dict(lr=0.0008)))), []),
    'glr05': ('the generators learn at half the rate (1e-4); with dlr2, the two time-scale '
              'rates of SAGAN (Zhang et al. 2019: 1e-4 and 4e-4)',
              dict(optim_wrapper=dict(generators=dict(optimizer=dict(lr=0.0001)))), []),
    'lr2': ('both learning rates doubled (4e-4): more learning in the same iterations',
            dict(optim_wrapper=dict(generators=dict(optimizer=dict(lr=0.0004)),
                                    discriminators=dict(optimizer=dict(lr=0.0004)))), []),
    'beta0': ("no momentum in either Adam (betas=(0, 0.999); the paper: 0.5): momentum "
              'makes the two players of a GAN circle round each other (Gidel et al. 2019; '
              "StyleGAN2's Adam has none)",
              dict(optim_wrapper=dict(generators=dict(optimizer=dict(betas=(0.0, 0.999))),
                                      discriminators=dict(optimizer=dict(betas=(0.0, 0.999))))),
              []),
    'hinge': ('the hinge GAN loss instead of LSGAN',
              dict(model=dict(gan_loss=dict(gan_mode='hinge'))), []),
    'ralsgan': ('the relativistic average LSGAN instead of LSGAN (Jolicoeur-Martineau 2019; '
                "ESRGAN's adversarial loss): fakes scored against the real images' mean score "
                'and back; one more discriminator forward per generator step',
                dict(model=dict(gan_loss=dict(gan_mode='ralsgan'))), []),
    'noresize': ("train at the test images' scale: no resize and crop before the flip (the "
                 "reference's --load_size equal to --crop_size); the recipe's 64 -> 72 (as "
                 '256 -> 286) shows the networks zebras 1.125x larger than the test\'s',
                 dict(train_dataloader=dict(dataset=dict(pipeline=_test_scale_pipeline()))),
                 []),
    'zoom': ("a random zoom of each training image by 0.8-1.25 (log-uniform; RandomZoom: "
             'resize, then crop or reflect-pad back to 64x64) before the flip, at the test '
             "images' scale otherwise: the horses' share of the image spreads from 16-30% "
             'to 10-47%, so the generators also learn to stripe large horses',
             dict(train_dataloader=dict(dataset=dict(pipeline=_test_scale_pipeline(
                 dict(type='RandomZoom', scale=(0.8, 1.25)))))), []),
    'fused': ("torch's fused Adam in both optimizers: one kernel a step, within an ulp of "
              "the loop's updates (the two U-Nets' 15M parameters make the loop's Adam a fifth "
              'of an iteration on a CPU)',
              dict(optim_wrapper=dict(generators=dict(optimizer=dict(fused=True)),
                                      discriminators=dict(optimizer=dict(fused=True)))), []),
    'fp32': ("fp32 training where the config trains in bf16 (the demo's AmpOptimWrapper "
             "replaced by OptimWrapper with the demo's Adam): does bf16 cost detail?",
             dict(optim_wrapper={
                 k: dict(_delete_=True, type='mmengine.OptimWrapper',
                         optimizer=dict(type='Adam', lr=0.0002, betas=(0.5, 0.999), fused=True))
                 for k in ('generators', 'discriminators')}), []),
    'bf16': ('bf16 mixed precision (CPUs with native bf16, CUDA)', {}, ['--amp', 'bfloat16']),
    'batched': ('batched generator and discriminator calls (the same maths)',
                dict(model=dict(batch_generator_calls=True, batch_discriminator_calls=True)),
                []),
}
#: the demo metrics shown in the table: (key, label, which way is better, if any)
COLUMNS = (('h2z/stripe_a2b', 'stripe_a2b', 'up'), ('h2z/psnr_b2a', 'psnr_b2a dB', 'up'),
           ('h2z/bg_l1_a2b', 'bg_l1_a2b', 'down'), ('h2z/bg_l1_b2a', 'bg_l1_b2a', 'down'),
           ('h2z/checker_a2b', 'checker_a2b', 'down'), ('h2z/checker_b2a', 'checker_b2a', 'down'),
           ('h2z/stripe_b2a', 'stripe_b2a', 'down'),
           # which period the fake zebras settled on (the real test zebras' mean: 5.2 px at
           # 64x64); no better direction, but the stripe score falls with it
           ('h2z/stripe_period_a2b', 'stripe period px', None),
           # the share of the fake zebras' body at mid-grey: soft stripe edges and speckle
           # (the real test zebras': about 0.16); it goes with the stripe score
           ('h2z/stripe_softness_a2b', 'stripe softness', 'down'))
#: the issue's goals for the demo: the table ranks the variants on each (1 = best mean) and
#: orders them by their mean rank, the best first
GOALS = ('h2z/stripe_a2b', 'h2z/psnr_b2a', 'h2z/bg_l1_a2b', 'h2z/checker_a2b')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--config', default=DEFAULT_CONFIG,
                        help='the recipe every variant starts from (default: %(default)s)')
    parser.add_argument('--variants', nargs='+', default=['paper', 'resize', 'ema', 'diffaug',
                                                          'sn', 'bf16'],
                        help=f'switch names, or several joined by + (the first variant sets '
                        f'the budget); known: {", ".join(SWITCHES)}')
    parser.add_argument('--seeds', nargs='+', type=int, default=[0, 1])
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument('--budget-iters', type=int, default=3000,
                        help="the budget: the first variant's time for this many iterations "
                        '(default: %(default)s)')
    budget.add_argument('--budget-seconds', type=float,
                        help='the budget in seconds of training per run')
    budget.add_argument('--iters', type=int,
                        help='every variant trains this many iterations, no calibration: '
                        'equal time only for switches that cost nothing per iteration '
                        '(loss weights, rates); the table says so')
    parser.add_argument('--calibrate-only', action='store_true',
                        help='calibrate, print the seconds per iteration and the iterations '
                        'each variant would train in the budget, and stop (the JSON holds '
                        'them; no run is trained): does a costlier switch fit the budget '
                        'at a given length?')
    parser.add_argument('--parallel', type=int, default=2, help='runs at a time')
    parser.add_argument('--threads', type=int,
                        help='torch threads per run (default: usable cores / --parallel)')
    parser.add_argument('--calibrate-passes', type=int, default=2,
                        help='calibrate every variant this many times and use the mean; '
                             'the passes alternate between the given order and another '
                             '(other neighbours; default: 2; '
                             'variants of the same cost calibrated up to 9%% apart in one '
                             'pass)')
    parser.add_argument('--calibrate-iters', type=int, default=100,
                        help='iterations of the speed calibration (default: %(default)s)')
    parser.add_argument('--work-dir', default=osp.join('work_dirs', 'ablate'))
    parser.add_argument('--reuse', action='store_true',
                        help='keep the calibrations and runs of --work-dir that finished '
                        'with the same config and flags (go on after an interruption)')
    parser.add_argument('--json', help='write every run and the table to this JSON file')
    parser.add_argument('--markdown', help='write the table to this Markdown file')
    add_debug_flag(parser)
    return parser.parse_args(argv)


# ----------------------------------------------------------------------- variants
def merge(base: dict, extra: dict) -> dict:
    """``extra`` merged into ``base`` as MMEngine merges a config into its _base_ (dicts
    key by key); custom_hooks lists are joined."""
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        elif key == 'custom_hooks':
            out[key] = list(out.get(key, [])) + list(value)
        else:
            out[key] = value
    return out


def deletes_where_needed(overrides: dict, base) -> dict:
    """``overrides`` with a dict's ``_delete_`` kept only where ``base`` has that key: MMEngine
    pops it there and keeps it as a key where the base has nothing to delete (a key it
    lacks, or anything inside a dict that replaces the base's)."""
    out = {}
    for key, value in overrides.items():
        if isinstance(value, dict):
            below = base.get(key) if isinstance(base, dict) else None
            replaces = bool(value.get('_delete_'))
            value = deletes_where_needed({k: v for k, v in value.items() if k != '_delete_'},
                                         None if replaces else below)
            if replaces and isinstance(base, dict) and key in base:
                value = dict(_delete_=True, **value)
        out[key] = value
    return out


def variant(name: str):
    """(config overrides, train.py flags) of ``a+b+...``."""
    overrides, flags = {}, []
    for part in name.split('+'):
        if part not in SWITCHES:
            raise ToolError(f'unknown switch {part!r} in variant {name!r}: choose from '
                            f'{", ".join(SWITCHES)}')
        overrides = merge(overrides, SWITCHES[part][1])
        flags += [f for f in SWITCHES[part][2] if f not in flags]
    return overrides, flags


def calibration_order(names: list, p: int) -> list:
    """The order of the ``p``-th calibration pass (from 0): the even passes as given, the
    odd ones rotated by one and reversed, so that two at a time every variant gets another
    neighbour than in the pass before and a drift over two passes cancels:
    [a, b, c, d] -> [a, d, c, b]."""
    if p % 2 == 0:
        return list(names)
    return list(reversed(names[1:] + names[:1]))


def config_text(base_config: str, overrides: dict, max_iters: int, log_interval: int,
                window: int = 0) -> str:
    """A config for tools/train.py / test.py: the base, the variant's overrides, the run's
    length (a whole schedule over ``max_iters``, validated only at the end)."""
    from mmengine.config import Config
    base = Config.fromfile(base_config)
    overrides = dict(overrides)
    if 'custom_hooks' in overrides:  # a list replaces the base's: keep the base's hooks
        hooks = [h.to_dict() if hasattr(h, 'to_dict') else dict(h)
                 for h in base.get('custom_hooks', [])]
        overrides['custom_hooks'] = hooks + overrides['custom_hooks']
    lines = ['# written by tools/ablate.py', f'_base_ = [{osp.abspath(base_config)!r}]']
    overrides = deletes_where_needed(overrides, base.to_dict())
    lines += [f'{k} = {v!r}' for k, v in overrides.items()]
    lines += [f'train_cfg = dict(max_iters={max_iters}, val_interval={max_iters})',
              f'default_hooks = dict(logger=dict(interval={log_interval}), '
              f'checkpoint=dict(interval={max_iters}))']
    if window:
        lines.append(f'log_processor = dict(window_size={window})')
    return '\n'.join(lines) + '\n'


# ------------------------------------------------------------------------ running
def run(cmd, log_path, env) -> float:
    """Run ``cmd`` with its output in ``log_path``; its wall time, or ToolError."""
    start = time.perf_counter()
    with open(log_path, 'w') as log:
        proc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO)
    if proc.returncode != 0:
        with open(log_path) as f:
            tail = f.read()[-2000:]
        raise ToolError(f'{" ".join(cmd[1:3])} failed (exit {proc.returncode}); its log '
                        f'{log_path} ends:\n{tail}', exit_code=1)
    return time.perf_counter() - start


def logged_seconds_per_iter(work_dir: str, skip: int = 2) -> float:
    """Median of the iteration times MMEngine logged (``vis_data/scalars.json``), past the
    first ``skip`` log lines (start-up, first allocations)."""
    times = []
    for stamp in sorted(os.listdir(work_dir)):
        path = osp.join(work_dir, stamp, 'vis_data', 'scalars.json')
        if osp.isfile(path):
            with open(path) as f:
                entries = [json.loads(line) for line in f if line.strip()]
            times += [e['time'] for e in entries if 'time' in e]
    if len(times) <= skip:
        raise ToolError(f'{work_dir}: too few logged iterations to time ({len(times)})',
                        exit_code=1)
    return statistics.median(times[skip:])


RECORD = 'ablate_run.json'


def finished(job) -> dict:
    """What a finished earlier run of the same job recorded, or None."""
    path = osp.join(job['dir'], RECORD)
    if not osp.isfile(path):
        return None
    with open(path) as f:
        record = json.load(f)
    same = record.get('config') == job['config'] and record.get('flags') == job['flags']
    return record if same else None


def train_and_test(job, env, reuse=False) -> dict:
    """Train one variant and seed for its iterations, then score it with tools/test.py;
    record the result in the run's folder (``--reuse`` takes it from there)."""
    record = finished(job) if reuse else None
    if record:
        return dict(job, reused=True, **{k: v for k, v in record.items() if k not in job})
    os.makedirs(job['dir'], exist_ok=True)
    if osp.isfile(osp.join(job['dir'], RECORD)):
        os.remove(osp.join(job['dir'], RECORD))
    cfg_path = osp.join(job['dir'], 'config.py')
    with open(cfg_path, 'w') as f:
        f.write(job['config'])
    seed = ['--cfg-options', f"randomness.seed={job['seed']}"]
    train_s = run([sys.executable, osp.join(REPO, 'tools', 'train.py'), cfg_path,
                   '--work-dir', job['dir'], '--overwrite', *job['flags'], *seed],
                  osp.join(job['dir'], 'train.log'), env)
    out = dict(job, train_seconds=train_s)
    if job['kind'] in ('calibrate', 'load'):
        out['seconds_per_iter'] = logged_seconds_per_iter(job['dir'])
        return write_record(out)
    with open(osp.join(job['dir'], 'last_checkpoint')) as f:
        checkpoint = f.read().strip()
    metrics_path = osp.join(job['dir'], 'test_metrics.json')
    run([sys.executable, osp.join(REPO, 'tools', 'test.py'), cfg_path, checkpoint,
         '--work-dir', job['dir'], '--json', metrics_path],
        osp.join(job['dir'], 'test.log'), env)
    with open(metrics_path) as f:
        out['metrics'] = json.load(f)['metrics']
    return write_record(out)


def write_record(out: dict) -> dict:
    with open(osp.join(out['dir'], RECORD), 'w') as f:
        json.dump(out, f, indent=1)
    return out


def run_jobs(jobs, parallel, env, label, reuse=False) -> list:
    """Run jobs ``parallel`` at a time, in list order; report each as it ends."""
    results = [None] * len(jobs)

    def one(i):
        results[i] = train_and_test(jobs[i], env, reuse)
        r = results[i]
        if r['kind'] == 'load':
            return
        extra = (f"{r['seconds_per_iter']:.4f} s/iter" if 'seconds_per_iter' in r
                 else f"{r['iters']} iterations, stripe_a2b "
                      f"{r['metrics'].get('h2z/stripe_a2b', float('nan')):.3f}")
        print(f"  {label} {r['variant']} seed {r['seed']}: {r['train_seconds']:.0f} s, "
              f'{extra}', flush=True)

    with ThreadPoolExecutor(max_workers=parallel) as pool:
        for future in [pool.submit(one, i) for i in range(len(jobs))]:
            future.result()
    return results


# ------------------------------------------------------------------------- report
def summarise(runs: list, variants: list) -> list:
    rows = []
    for name in variants:
        mine = [r for r in runs if r['variant'] == name]
        row = dict(variant=name, seeds=[r['seed'] for r in mine],
                   iters=mine[0]['iters'] if mine else None,
                   train_seconds=[round(r['train_seconds'], 1) for r in mine])
        for key, _, _ in COLUMNS:
            values = [r['metrics'][key] for r in mine if key in r['metrics']]
            if values:
                row[key] = dict(mean=statistics.fmean(values), min=min(values),
                                max=max(values))
        rows.append(row)
    rank_rows(rows)
    better = {key: way for key, _, way in COLUMNS}
    for row in rows[1:]:
        row['beats_first'] = all(
            key in row and key in rows[0]
            and (row[key]['mean'] > rows[0][key]['mean']) == (better[key] == 'up')
            and row[key]['mean'] != rows[0][key]['mean'] for key in GOALS)
    return rows


def rank_rows(rows: list) -> None:
    """``mean_rank`` of each row: its rank among the rows on each of ``GOALS`` (by the mean
    over seeds, in the column's better direction; ties share the better rank), averaged."""
    better = {key: way for key, _, way in COLUMNS}
    ranks = {id(row): [] for row in rows}
    for key in GOALS:
        scored = [row for row in rows if key in row]
        for row in scored:
            sign = -1 if better[key] == 'up' else 1
            ranks[id(row)].append(1 + sum(sign * other[key]['mean'] < sign * row[key]['mean']
                                          for other in scored))
    for row in rows:
        row['mean_rank'] = statistics.fmean(ranks[id(row)]) if ranks[id(row)] else None


def markdown_table(rows: list) -> str:
    head = (['variant', 'mean rank', f"better than {rows[0]['variant']} on every goal",
             'iterations', 'train wall s'] + [label for _, label, _ in COLUMNS])
    lines = ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
    order = sorted(rows, key=lambda r: (r['mean_rank'] is None, r['mean_rank'] or 0))
    for row in order:
        rank = '' if row['mean_rank'] is None else f"{row['mean_rank']:.2f}"
        beats = {True: 'yes', False: 'no'}.get(row.get('beats_first'), '')
        cells = [row['variant'], rank, beats, str(row['iters']),
                 '-'.join(f'{s:.0f}' for s in (min(row['train_seconds']),
                                               max(row['train_seconds'])))]
        for key, _, _ in COLUMNS:
            v = row.get(key)
            cells.append('' if v is None else
                         f"{v['mean']:.2f} ({v['min']:.2f}-{v['max']:.2f})")
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def calibrate(args, specs, work, env):
    """1. the speed of each variant under the same load as the runs, 2. the budget: (budget
    seconds, speed, every pass's speeds, whether --reuse mixed calibrations of two times)."""
    if args.calibrate_passes < 1:
        raise ToolError(f'--calibrate-passes {args.calibrate_passes}: give 1 or more')
    calib_iters = max(args.calibrate_iters, 10)
    interval = max(1, calib_iters // 10)
    jobs = [dict(kind='calibrate', variant=name, seed=args.seeds[0], flags=specs[name][1],
                 dir=osp.join(work, 'calibrate' if p == 0 else f'calibrate_pass{p + 1}',
                              name.replace('+', '_')),
                 config=config_text(args.config, specs[name][0], calib_iters, interval,
                                    interval))
            for p in range(args.calibrate_passes)
            for name in calibration_order(list(specs), p)]
    # a variant calibrated alone, in a last round the others left, would run faster than the
    # rest (no neighbour on the memory bus) and be given too many iterations: fill that round
    # with copies of the last variant, run a little longer, as load whose speed is not used
    last = jobs[-1]
    fill = (-len(jobs)) % args.parallel
    jobs += [dict(last, kind='load', dir=osp.join(work, 'calibrate', f'_load{i}'),
                  config=config_text(args.config, specs[last['variant']][0],
                                     calib_iters * 3 // 2, interval, interval))
             for i in range(fill)]
    calibrations = [r for r in run_jobs(jobs, args.parallel, env, 'calibrated', args.reuse)
                    if r['kind'] == 'calibrate']
    measured = {name: [r['seconds_per_iter'] for r in calibrations if r['variant'] == name]
                for name in specs}
    speed = {name: statistics.mean(values) for name, values in measured.items()}
    if args.calibrate_passes > 1:
        for name, values in measured.items():
            print(f'  speed of {name}: {" / ".join(f"{v:.4f}" for v in values)} -> '
                  f'{speed[name]:.4f} s/iter', flush=True)
    reused = sorted({r['variant'] for r in calibrations if r.get('reused')})
    mixed = bool(reused) and not all(r.get('reused') for r in calibrations)
    if mixed:
        print(f'warning: --reuse kept the calibrations of {", ".join(reused)} and measured '
              'the others now: speeds measured at different times need not compare (the '
              "machine's speed drifts); leave out --reuse to calibrate all together",
              file=sys.stderr, flush=True)

    # 2. the budget
    first = args.variants[0]
    budget = args.budget_seconds or args.budget_iters * speed[first]
    print(f'budget: {budget:.0f} s of training per run'
          + ('' if args.budget_seconds else f' ({first}: {args.budget_iters} iterations at '
             f'{speed[first]:.4f} s/iter)'), flush=True)
    return budget, speed, measured, mixed


def main(argv=None):
    args = parse_args(argv)
    if not osp.isfile(args.config):
        raise ToolError(f'config {args.config} does not exist: pass --config FILE')
    import_plugin()
    from mmengine.config import Config
    data_root = Config.fromfile(args.config).get('data_root')
    if data_root and not osp.isdir(osp.join(REPO, data_root) if not osp.isabs(data_root)
                                   else data_root):
        raise ToolError(f'the data set {data_root} of {args.config} is missing: build it with '
                        f'`python tools/make_demo_data.py --out {data_root}` (make demo-data)')
    specs = {name: variant(name) for name in args.variants}
    info = machine_info()
    threads = args.threads or max(1, info['usable_cores'] // args.parallel)
    env = child_env(threads)
    if any('--amp' in flags for _, flags in specs.values()) and not info['native_bf16']:
        print('warning: this CPU has no native bf16: the bf16 variants train in fp32',
              flush=True)
    print(machine_line(info), flush=True)
    print(f'{len(args.variants)} variants x {len(args.seeds)} seeds, {args.parallel} at a '
          f'time, {threads} thread(s) each', flush=True)
    work = osp.abspath(args.work_dir)

    if args.iters is not None and args.calibrate_only:
        raise ToolError('--calibrate-only measures the variants\' speed, --iters skips that: '
                        'give one of them')
    if args.iters is not None:
        if args.iters < 2:
            raise ToolError(f'--iters {args.iters}: give 2 or more')
        budget, speed, measured, mixed = None, {}, {}, False
        iterations = {name: args.iters for name in specs}
        print(f'{args.iters} iterations per run, not calibrated: equal iterations are equal '
              'time only for switches that cost nothing per iteration', flush=True)
    else:
        budget, speed, measured, mixed = calibrate(args, specs, work, env)
        iterations = {name: max(2, int(round(budget / speed[name]))) for name in specs}
    command = 'python tools/ablate.py ' + ' '.join(argv if argv is not None else sys.argv[1:])
    report = dict(command=command, machine=info, date=time.strftime('%Y-%m-%d'),
                  budget_seconds=budget, threads=threads, parallel=args.parallel,
                  seconds_per_iter=speed, calibrations=measured,
                  calibrated_at_different_times=mixed)
    if args.calibrate_only:
        for name in specs:
            print(f'  {name}: {speed[name]:.4f} s/iter, {iterations[name]} iterations in the '
                  f'budget ({speed[name] / speed[args.variants[0]]:.3f}x the first\'s time '
                  'per iteration)', flush=True)
        if args.json:
            with open(args.json, 'w') as f:
                json.dump(dict(report, iterations=iterations), f, indent=2)
        return 0
    jobs = []
    for seed in args.seeds:
        for name, (overrides, flags) in specs.items():
            iters = iterations[name]
            jobs.append(dict(kind='train', variant=name, seed=seed, flags=flags, iters=iters,
                             dir=osp.join(work, name.replace('+', '_'), f'seed{seed}'),
                             config=config_text(args.config, overrides, iters,
                                                max(1, min(100, iters // 10)))))
    runs = run_jobs(jobs, args.parallel, env, 'trained', args.reuse)
    rows = summarise(runs, args.variants)
    table = markdown_table(rows)
    print(f'\n{table}\n')
    report.update(rows=rows, switches={k: v[0] for k, v in SWITCHES.items()},
                  runs=[{k: v for k, v in r.items() if k not in ('config', 'reused')}
                        for r in runs])
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(report, f, indent=2)
    if args.markdown:
        with open(args.markdown, 'w') as f:
            length = (f'{args.iters} iterations per run (not calibrated)' if budget is None
                      else f'budget {budget:.0f} s per run')
            f.write(f'{machine_line(info)}; {time.strftime("%Y-%m-%d")}; {length}, '
                    f'{args.parallel} runs at a time, {threads} '
                    f'thread(s) each\n\n`{command}`\n\n{table}\n')
    return 0


if __name__ == '__main__':
    sys.exit(run_tool(main))
