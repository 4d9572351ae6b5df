"""tools/ablate.py end to end on a tiny config: calibration, equal-time budgets, training,
scoring, the table and its files (the figures themselves are the script's business)."""
import json
from pathlib import Path

import pytest

from ..conftest import load_tool, tiny_demo_config, tool_main


@pytest.fixture(scope='module')
def config(tmp_path_factory):
    return str(tiny_demo_config(tmp_path_factory.mktemp('cfg'), '''
val_dataloader = dict(num_workers=0, dataset=dict(data_root=data_root))
test_dataloader = dict(num_workers=0, dataset=dict(data_root=data_root))
'''))


def test_variants_train_for_the_same_time_and_are_scored(config, tmp_path, capsys):
    ablate = tool_main('ablate')
    out, md = tmp_path / 'ablation.json', tmp_path / 'ablation.md'
    assert ablate(['--config', config, '--variants', 'paper', 'resize+ema_fast',
                   '--seeds', '3', '--budget-iters', '6', '--calibrate-iters', '10',
                   '--parallel', '1', '--work-dir', str(tmp_path / 'work'),
                   '--json', str(out), '--markdown', str(md)]) == 0
    report = json.loads(out.read_text())
    speed = report['seconds_per_iter']
    assert set(speed) == {'paper', 'resize+ema_fast'} and all(v > 0 for v in speed.values())
    assert report['budget_seconds'] == pytest.approx(6 * speed['paper'])
    runs = {r['variant']: r for r in report['runs']}
    assert runs['paper']['iters'] == 6
    assert runs['resize+ema_fast']['iters'] == max(
        2, round(report['budget_seconds'] / speed['resize+ema_fast']))
    for run in runs.values():
        assert run['seed'] == 3 and 'h2z/stripe_a2b' in run['metrics']
    # each variant's config holds its switches and its own length
    from mmengine.config import Config
    cfg = Config.fromfile(str(tmp_path / 'work' / 'resize_ema_fast' / 'seed3' / 'config.py'))
    assert cfg.model.generator.upsample == 'nearest'
    assert [h['momentum'] for h in cfg.custom_hooks if 'ema_type' in h] == [0.01]
    assert cfg.train_cfg.max_iters == runs['resize+ema_fast']['iters']
    rows = {r['variant']: r for r in report['rows']}
    assert rows['paper']['h2z/bg_l1_a2b']['mean'] == runs['paper']['metrics']['h2z/bg_l1_a2b']
    def paper_row(text):
        return [line for line in text.splitlines() if line.startswith('| paper |')]

    table = md.read_text()
    assert len(paper_row(table)) == 1 and '| 6 |' in paper_row(table)[0]
    assert 'resize+ema_fast' in table
    assert paper_row(capsys.readouterr().out) == paper_row(table)
    # --reuse keeps what finished with the same config: nothing is trained again
    before = (tmp_path / 'work' / 'paper' / 'seed3' / 'test_metrics.json').stat().st_mtime
    assert ablate(['--config', config, '--variants', 'paper', 'resize+ema_fast',
                   '--seeds', '3', '--budget-iters', '6', '--calibrate-iters', '10',
                   '--parallel', '1', '--work-dir', str(tmp_path / 'work'), '--reuse',
                   '--json', str(out)]) == 0
    assert (tmp_path / 'work' / 'paper' / 'seed3' / 'test_metrics.json').stat().st_mtime \
        == before
    again = json.loads(out.read_text())
    assert again['rows'] == report['rows'] and not again['calibrated_at_different_times']
    assert 'warning' not in capsys.readouterr().err
    # a new variant beside reused ones: its speed is measured now, the others' were not
    assert ablate(['--config', config, '--variants', 'paper', 'sn', '--seeds', '3',
                   '--budget-iters', '6', '--calibrate-iters', '10', '--parallel', '1',
                   '--work-dir', str(tmp_path / 'work'), '--reuse', '--json', str(out)]) == 0
    assert json.loads(out.read_text())['calibrated_at_different_times']
    assert 'kept the calibrations of paper and measured the others now' \
        in capsys.readouterr().err


def test_no_variant_is_calibrated_alone(config, tmp_path, capsys):
    """One variant, two at a time: an unmeasured copy of it runs beside its calibration as
    load (longer than it, so it never runs alone), and only the variant's speed is used."""
    ablate = tool_main('ablate')
    out, work = tmp_path / 'ablation.json', tmp_path / 'work'
    assert ablate(['--config', config, '--variants', 'paper', '--seeds', '3',
                   '--budget-iters', '4', '--calibrate-iters', '10', '--parallel', '2',
                   '--calibrate-passes', '1', '--threads', '1', '--work-dir', str(work),
                   '--json', str(out)]) == 0
    from mmengine.config import Config
    load = Config.fromfile(str(work / 'calibrate' / '_load0' / 'config.py'))
    measured = Config.fromfile(str(work / 'calibrate' / 'paper' / 'config.py'))
    assert load.train_cfg.max_iters == 15 and measured.train_cfg.max_iters == 10
    assert load.model == measured.model
    report = json.loads(out.read_text())
    assert list(report['seconds_per_iter']) == ['paper']
    assert [r['variant'] for r in report['runs']] == ['paper']
    assert capsys.readouterr().out.count('calibrated paper') == 1


def test_every_variant_is_calibrated_twice_beside_other_neighbours(config, tmp_path, capsys):
    """Two passes (the default): the second in another order, so two at a time each variant
    has another neighbour; the budget uses the mean of its two speeds."""
    ablate = load_tool('ablate')
    assert ablate.calibration_order(list('abcd'), 0) == list('abcd')
    assert ablate.calibration_order(list('abcd'), 1) == list('adcb')
    pairs = [{tuple(sorted(order[i:i + 2])) for i in range(0, 4, 2)}
             for order in (ablate.calibration_order(list('abcd'), p) for p in (0, 1))]
    assert not pairs[0] & pairs[1]
    main = tool_main('ablate')
    out, work = tmp_path / 'ablation.json', tmp_path / 'work'
    assert main(['--config', config, '--variants', 'paper', 'd34', '--seeds', '3',
                 '--budget-iters', '4', '--calibrate-iters', '10', '--parallel', '2',
                 '--threads', '1', '--work-dir', str(work), '--json', str(out)]) == 0
    assert (work / 'calibrate' / 'd34').is_dir() and (work / 'calibrate_pass2' / 'd34').is_dir()
    assert not (work / 'calibrate' / '_load0').exists()  # four jobs fill both rounds
    report = json.loads(out.read_text())
    for name in ('paper', 'd34'):
        values = report['calibrations'][name]
        assert len(values) == 2
        assert report['seconds_per_iter'][name] == pytest.approx(sum(values) / 2)
    assert capsys.readouterr().out.count('calibrated d34') == 2
    assert main(['--config', config, '--calibrate-passes', '0']) == 2


def test_calibrate_only_measures_the_speeds_and_trains_nothing(config, tmp_path, capsys):
    """--calibrate-only: the variants are calibrated as for a run, the iterations each would
    train in the budget are printed and stored, and no run is trained."""
    ablate = tool_main('ablate')
    out, work = tmp_path / 'calibration.json', tmp_path / 'work'
    assert ablate(['--config', config, '--variants', 'paper', 'resize', '--seeds', '3',
                   '--budget-iters', '6', '--calibrate-iters', '10', '--calibrate-passes', '1',
                   '--parallel', '1', '--calibrate-only', '--work-dir', str(work),
                   '--json', str(out)]) == 0
    report = json.loads(out.read_text())
    speed = report['seconds_per_iter']
    assert report['budget_seconds'] == pytest.approx(6 * speed['paper'])
    assert report['iterations'] == {
        name: max(2, round(report['budget_seconds'] / speed[name])) for name in speed}
    assert 'runs' not in report and not (work / 'paper').exists()
    printed = capsys.readouterr().out
    assert f"resize: {speed['resize']:.4f} s/iter, {report['iterations']['resize']} " \
        'iterations in the budget' in printed
    assert 'trained' not in printed
    assert ablate(['--config', config, '--iters', '5', '--calibrate-only']) == 2


def test_fixed_iterations_train_every_variant_alike_without_calibrating(config, tmp_path):
    """--iters: no calibration run, every variant and seed trains exactly that many
    iterations, and the JSON and Markdown say the length was fixed, not a time budget."""
    ablate = tool_main('ablate')
    out, md, work = tmp_path / 'ablation.json', tmp_path / 'ablation.md', tmp_path / 'work'
    assert ablate(['--config', config, '--variants', 'paper', 'gan_a2', '--seeds', '3',
                   '--iters', '5', '--parallel', '2', '--threads', '1',
                   '--work-dir', str(work), '--json', str(out), '--markdown', str(md)]) == 0
    assert not (work / 'calibrate').exists()
    report = json.loads(out.read_text())
    assert report['budget_seconds'] is None and report['seconds_per_iter'] == {}
    assert {r['variant']: r['iters'] for r in report['runs']} == {'paper': 5, 'gan_a2': 5}
    from mmengine.config import Config
    cfg = Config.fromfile(str(work / 'gan_a2' / 'seed3' / 'config.py'))
    assert cfg.train_cfg.max_iters == 5 and cfg.model.lambda_gan_A == 2.0
    assert '5 iterations per run (not calibrated)' in md.read_text()
    assert ablate(['--config', config, '--iters', '1']) == 2
    with pytest.raises(SystemExit):  # argparse: one length or the other
        ablate(['--config', config, '--iters', '5', '--budget-iters', '5'])


def test_unknown_switches_and_missing_data_are_errors(config, tmp_path, capsys):
    ablate = tool_main('ablate')
    assert ablate(['--config', config, '--variants', 'paper+wings']) == 2
    assert "unknown switch 'wings'" in capsys.readouterr().err
    assert ablate(['--config', str(tmp_path / 'nope.py')]) == 2


def test_rows_are_ranked_on_the_goals():
    """Each goal ranks the variants by their mean in its better direction; ties share the
    better rank; the table lists the best mean rank first."""
    ablate = load_tool('ablate')

    def row(name, stripe, psnr, bg, checker):
        values = dict(zip(ablate.GOALS, (stripe, psnr, bg, checker)))
        return dict(variant=name, iters=1, train_seconds=[1.0],
                    **{k: dict(mean=v, min=v, max=v) for k, v in values.items()})

    rows = [row('a', 0.9, 21.0, 20.0, 1.0), row('b', 0.8, 22.0, 10.0, 0.5),
            row('c', 0.9, 20.0, 30.0, 0.5)]
    ablate.rank_rows(rows)
    # a: 1, 2, 2, 3; b: 3, 1, 1, 1; c: 1, 3, 3, 1
    assert [r['mean_rank'] for r in rows] == [2.0, 1.5, 2.0]
    table = ablate.markdown_table(rows).splitlines()
    assert [line.split('|')[1].strip() for line in table[2:]] == ['b', 'a', 'c']


def test_a_variant_beats_the_first_only_when_better_on_every_goal():
    ablate = load_tool('ablate')

    def run(name, stripe, psnr, bg, checker):
        metrics = dict(zip(ablate.GOALS, (stripe, psnr, bg, checker)))
        return dict(variant=name, seed=0, iters=1, train_seconds=1.0, metrics=metrics)

    rows = ablate.summarise([run('paper', 0.8, 21.5, 26.0, 1.5),
                             run('all', 0.81, 21.6, 21.0, 0.4),
                             run('tie', 0.8, 22.0, 20.0, 0.4),
                             run('worse', 0.7, 22.0, 18.0, 0.6)], ['paper', 'all', 'tie', 'worse'])
    assert [r.get('beats_first') for r in rows] == [None, True, False, False]
    table = ablate.markdown_table(rows)
    assert 'better than paper on every goal' in table
    assert [line.split('|')[3].strip() for line in table.splitlines()[2:]
            if line.startswith('| all |')] == ['yes']


def variant_config(config, tmp_path, name):
    """The config file ablate writes for the variant ``name`` of ``config``, read back, and
    the train.py flags it adds."""
    from mmengine.config import Config
    ablate = load_tool('ablate')
    overrides, flags = ablate.variant(name)
    path = tmp_path / f"{name.replace('+', '_')}.py"
    path.write_text(ablate.config_text(config, overrides, max_iters=4, log_interval=2))
    return Config.fromfile(str(path)), flags


def test_the_unet_switch_replaces_the_resnet_generator(config, tmp_path):
    """'unet' swaps the whole generator (no ResNet key survives the merge), and what it
    builds translates a demo-sized image to the same size."""
    import torch
    from cyclegan_plugin.registry import MODELS
    cfg, flags = variant_config(config, tmp_path, 'unet+bf16')
    assert flags == ['--amp', 'bfloat16']
    assert cfg.model.generator.type == 'UnetGenerator' and 'n_blocks' not in cfg.model.generator
    model = MODELS.build(cfg.model)
    G = model.generators['a2b']
    assert type(G).__name__ == 'UnetGenerator' and G.num_downs == 6
    with torch.no_grad():
        assert G(torch.zeros(1, 3, 64, 64)).shape == (1, 3, 64, 64)


def test_the_fullres_switch_gives_the_unet_its_full_resolution_level(config, tmp_path):
    """'fullres' turns full_res on in the U-Net both generators are built from; the
    discriminators and everything else stay the config's."""
    import torch
    from cyclegan_plugin.registry import MODELS
    cfg, flags = variant_config(config, tmp_path, 'unet+fullres')
    assert flags == [] and cfg.model.generator.full_res is True
    model = MODELS.build(cfg.model)
    for G in model.generators.values():
        assert type(G).__name__ == 'UnetGenerator' and G.full_res
        with torch.no_grad():
            assert G(torch.zeros(1, 3, 64, 64)).shape == (1, 3, 64, 64)
    plain = MODELS.build(variant_config(config, tmp_path, 'unet')[0].model)
    assert not plain.generators['a2b'].full_res
    assert model.discriminators.state_dict().keys() == plain.discriminators.state_dict().keys()


@pytest.mark.parametrize('name,expected', [
    ('idt25', dict(lambda_A=10.0, lambda_B=10.0, lambda_identity=0.25)),
    ('noidt', dict(lambda_A=10.0, lambda_B=10.0, lambda_identity=0.0)),
    ('cyc5', dict(lambda_A=5.0, lambda_B=5.0, lambda_identity=0.5)),
    ('gan_a2', dict(lambda_A=10.0, lambda_B=10.0, lambda_gan_A=2.0, lambda_gan_B=1.0)),
    ('gan_a4', dict(lambda_A=10.0, lambda_B=10.0, lambda_gan_A=4.0, lambda_gan_B=1.0)),
    ('idt_a0', dict(lambda_A=10.0, lambda_B=10.0, lambda_idt_A=0.0, lambda_idt_B=0.5)),
    # G_B's identity term keeps its weight: lambda_A x lambda_idt_B = 5 x 1 = 10 x 0.5
    ('cyc_a5', dict(lambda_A=5.0, lambda_B=10.0, lambda_idt_A=0.5, lambda_idt_B=1.0)),
    ('cyc_a20', dict(lambda_A=20.0, lambda_B=10.0, lambda_idt_A=0.5, lambda_idt_B=0.25)),
    # G_A's identity term keeps its weight: lambda_B x lambda_idt_A = 5 x 1 = 10 x 0.5
    ('cyc_b5', dict(lambda_A=10.0, lambda_B=5.0, lambda_idt_A=1.0, lambda_idt_B=0.5)),
    ('cnoise1', dict(lambda_A=10.0, cycle_noise=0.1)),
    ('ralsgan', dict(lambda_A=10.0, relativistic_gan=True)),
    ('r1', dict(lambda_A=10.0, lambda_r1=10.0, r1_interval=4)),
    ('cblur_a1', dict(lambda_A=10.0, cycle_blur=dict(A=1.0, B=0.0), cycle_noise=0.0)),
    ('r1_100', dict(lambda_r1=100.0, r1_interval=4)),
    ('cdet_a', dict(cycle_detach=dict(A=True, B=False), cycle_blur=dict(A=0.0, B=0.0))),
    ('cdet', dict(cycle_detach=dict(A=True, B=True))),
    ('fread_b', dict(cycle_fixed_reader=dict(A=False, B=True),
                     cycle_detach=dict(A=False, B=False))),
])
def test_the_loss_switches_reach_the_model(config, tmp_path, name, expected):
    """The loss switches (weights, the cycle's noise) change what the built model uses, and
    only that; combined with 'unet' they keep the U-Net."""
    from cyclegan_plugin.registry import MODELS
    cfg, flags = variant_config(config, tmp_path, f'unet+{name}')
    assert flags == []
    model = MODELS.build(cfg.model)
    assert {k: getattr(model, k) for k in expected} == expected
    assert type(model.generators['a2b']).__name__ == 'UnetGenerator'


@pytest.mark.parametrize('name,size', [('unet', 50), ('pool0', 0), ('pool200', 200)])
def test_the_pool_switches_set_both_history_pools(config, tmp_path, name, size):
    """'pool0' and 'pool200' size both pools of fakes; without them the config's 50 stays."""
    from cyclegan_plugin.registry import MODELS
    cfg, _ = variant_config(config, tmp_path, name)
    model = MODELS.build(cfg.model)
    assert (model.fake_A_pool.pool_size, model.fake_B_pool.pool_size) == (size, size)


@pytest.mark.parametrize('name,full_res,bins', [('unet', False, 0), ('dfr', True, 0),
                                               ('dspec', False, 32)])
def test_the_discriminator_switches_reach_both_discriminators(
        config, tmp_path, name, full_res, bins):
    """'dfr' gives both PatchGANs their full-resolution first layer, 'dspec' their spectral
    judge of 32 rings; the generators and the rest of the discriminators are the config's."""
    from cyclegan_plugin.registry import MODELS
    cfg, flags = variant_config(config, tmp_path, f'unet+{name}' if name != 'unet' else name)
    assert flags == []
    model = MODELS.build(cfg.model)
    assert [hasattr(model.discriminators[d], 'full_res_in') for d in 'ab'] == [full_res] * 2
    assert [model.discriminators[d].spectrum_bins for d in 'ab'] == [bins] * 2
    depth = cfg.model.discriminator.n_layers
    assert [model.discriminators[d].n_layers for d in 'ab'] == [depth] * 2


def test_the_fp32_switch_takes_the_demos_bf16_wrappers_out(tmp_path):
    """On the demo's config (bf16 mixed-precision wrappers) 'fp32' builds plain
    OptimWrappers with the same Adam: the same rate, betas and fused kernel."""
    from mmengine.optim import OptimWrapper, build_optim_wrapper
    from cyclegan_plugin.registry import MODELS
    demo = str(Path(__file__).resolve().parents[2] / 'configs' / 'cyclegan_mini_horse2zebra.py')
    for name, amp in (('paper', True), ('fp32', False)):
        cfg, flags = variant_config(demo, tmp_path, name)
        assert flags == []
        wrappers = build_optim_wrapper(MODELS.build(cfg.model), cfg.optim_wrapper.to_dict())
        for wrapper in wrappers.values():
            # (on the CPU the package's CPUAmpOptimWrapper stands for AmpOptimWrapper)
            assert (type(wrapper) is not OptimWrapper) == amp
            assert isinstance(wrapper, OptimWrapper)
            group = wrapper.optimizer.param_groups[0]
            assert (group['lr'], group['betas'], group['fused']) == (2e-4, (0.5, 0.999), True)


def test_a_delete_key_is_written_only_where_the_base_has_something_to_delete():
    """MMEngine pops a dict's _delete_ where the base has the key and keeps it as a key
    elsewhere, where a network would read it as an option: the config ablate writes keeps
    it only where it deletes."""
    ablate = load_tool('ablate')
    norm = dict(_delete_=True, type='instance_renorm', r_max=2.0)
    overrides = dict(model=dict(generator=dict(norm=norm)))
    kept = ablate.deletes_where_needed(overrides, dict(model=dict(generator=dict(norm='x'))))
    assert kept == overrides
    dropped = dict(model=dict(generator=dict(norm=dict(type='instance_renorm', r_max=2.0))))
    assert ablate.deletes_where_needed(overrides, dict(model=dict(generator={}))) == dropped
    replaced = dict(model=dict(generator=dict(_delete_=True, type='UnetGenerator', norm=norm)))
    assert ablate.deletes_where_needed(replaced, dict(model=dict(generator=dict(norm='x')))) \
        == dict(model=dict(generator=dict(_delete_=True, type='UnetGenerator',
                                          norm=dropped['model']['generator']['norm'])))


def test_the_grenorm2_switch_sets_the_clip_over_a_config_that_names_its_norm(tmp_path):
    """On the demo's config (generator.norm='instance_renorm', a name) 'grenorm2' replaces the
    name with its dict: the U-Nets' renorms clip r at 2."""
    from cyclegan_plugin.models.norm import InstanceRenorm
    from cyclegan_plugin.registry import MODELS
    demo = str(Path(__file__).resolve().parents[2] / 'configs' / 'cyclegan_mini_horse2zebra.py')
    cfg, flags = variant_config(demo, tmp_path, 'grenorm2')
    assert flags == []
    model = MODELS.build(cfg.model)
    for d in ('a2b', 'b2a'):
        norms = [m for m in model.generators[d].modules() if isinstance(m, InstanceRenorm)]
        assert len(norms) == 10 and {m.r_max for m in norms} == {2.0}


@pytest.mark.parametrize('name,norms,generator_norms', [
    ('dnone', dict(a=0, b=0), True), ('dnone_a', dict(a=0, b=3), True),
    ('gnone', dict(a=3, b=3), False), ('gnone_k', dict(a=3, b=3), False),
    ('grenorm', dict(a=3, b=3), False), ('grenorm2', dict(a=3, b=3), False),
    ('drenorm', dict(a=0, b=0), True)])
def test_the_norm_switches_take_the_instance_norm_out(config, tmp_path, name, norms,
                                                      generator_norms):
    """'dnone' builds both PatchGANs without instance norm, 'dnone_a' only D_B (the one
    that judges domain A), and the generators keep theirs; 'gnone' builds both U-Nets
    without it, and the discriminators keep theirs; 'grenorm' gives the U-Nets instance
    renorms in its place (r clipped at 3; 'grenorm2' at 2), 'drenorm' the PatchGANs."""
    from torch import nn
    from cyclegan_plugin.models.norm import InstanceRenorm
    from cyclegan_plugin.registry import MODELS
    cfg, flags = variant_config(config, tmp_path, f'unet+{name}')
    assert flags == []
    model = MODELS.build(cfg.model)
    assert {d: sum(isinstance(m, nn.InstanceNorm2d) for m in model.discriminators[d].modules())
            for d in 'ab'} == norms
    assert [any(isinstance(m, nn.InstanceNorm2d) for m in model.generators[d].modules())
            for d in ('a2b', 'b2a')] == [generator_norms] * 2
    assert [any(isinstance(m, InstanceRenorm) for m in model.generators[d].modules())
            for d in ('a2b', 'b2a')] == [name.startswith('grenorm')] * 2
    assert {m.r_max for m in model.generators['a2b'].modules()
            if isinstance(m, InstanceRenorm)} <= {2.0 if name == 'grenorm2' else 3.0}
    assert [sum(isinstance(m, InstanceRenorm) for m in model.discriminators[d].modules())
            for d in 'ab'] == [3 if name == 'drenorm' else 0] * 2
    # 'gnone_k' draws the generators' weights with Kaiming's init (fan-in 3 x 4 x 4 for the
    # first convolution: std sqrt(2 / 48) = 0.2), the others with the paper's std 0.02
    first = next(m for m in model.generators['a2b'].modules() if isinstance(m, nn.Conv2d))
    assert first.weight.std().item() == pytest.approx(0.2 if name == 'gnone_k' else 0.02,
                                                      rel=0.25)


@pytest.mark.filterwarnings('ignore:Detected call of')
@pytest.mark.parametrize('name,constant', [('unet', 2), ('decay75', 1)])
def test_the_decay_switch_lowers_the_rate_over_its_share_of_the_run(config, tmp_path, name,
                                                                      constant):
    """'decay75' replaces the config's schedule with the reference's linear rule decaying
    over the last 75% of the run (4 iterations here): constant for 1 iteration, where the
    config's own keeps half (2)."""
    import torch
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import PARAM_SCHEDULERS
    from cyclegan_plugin.registry import MODELS
    cfg, flags = variant_config(config, tmp_path, name)
    assert flags == [] and cfg.train_cfg.max_iters == 4
    model = MODELS.build(cfg.model)
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper.to_dict())['generators']
    (sched_cfg,) = cfg.param_scheduler
    sched = PARAM_SCHEDULERS.build(dict(sched_cfg), default_args=dict(
        optimizer=wrapper, end=cfg.train_cfg.max_iters))
    lrs = []
    for _ in range(4):
        lrs.append(wrapper.optimizer.param_groups[0]['lr'])
        sched.step()
    decay = 4 - constant
    assert lrs == pytest.approx(
        [2e-4 * (1 - max(0, i + 1 - constant) / (decay + 1)) for i in range(4)], rel=1e-12)


@pytest.mark.parametrize('name,lr_g,lr_d,n_layers,beta1', [
    ('dlr2', 2e-4, 4e-4, 3, 0.5),
    ('lr2', 4e-4, 4e-4, 3, 0.5),
    ('lr2+dlr4', 4e-4, 8e-4, 3, 0.5),
    ('glr05+dlr2', 1e-4, 4e-4, 3, 0.5),
    ('d4', 2e-4, 2e-4, 4, 0.5),
    ('beta0', 2e-4, 2e-4, 3, 0.0),
])
def test_the_rate_and_depth_switches_reach_the_optimizers_and_networks(
        config, tmp_path, name, lr_g, lr_d, n_layers, beta1):
    """The two time-scale and doubled-rate switches set the rates the built Adam optimizers
    start from (through --amp's wrappers too), 'beta0' both optimizers' first beta, the
    deeper PatchGAN gets one more stride-2 layer, and a 64x64 image still gets a patch
    map."""
    import torch
    from mmengine.optim import build_optim_wrapper
    from cyclegan_plugin.engine.amp import use_amp
    from cyclegan_plugin.registry import MODELS
    cfg, flags = variant_config(config, tmp_path, f'unet+{name}+bf16')
    assert flags == ['--amp', 'bfloat16']
    optim_wrapper = cfg.optim_wrapper.to_dict()
    use_amp(optim_wrapper, 'bfloat16')
    model = MODELS.build(cfg.model)
    wrappers = build_optim_wrapper(model, optim_wrapper)
    rates = {k: [g['lr'] for g in w.optimizer.param_groups] for k, w in wrappers.items()}
    assert rates == dict(generators=[lr_g], discriminators=[lr_d])
    assert {k: [g['betas'] for g in w.optimizer.param_groups] for k, w in wrappers.items()} == {
        k: [(beta1, 0.999)] for k in ('generators', 'discriminators')}
    D = model.discriminators['a']
    strided = [m for m in D.modules() if isinstance(m, torch.nn.Conv2d) and m.stride == (2, 2)]
    assert len(strided) == n_layers
    with torch.no_grad():
        assert D(torch.zeros(1, 3, 64, 64)).shape[-1] >= 2


def test_the_fused_switch_gives_both_optimizers_torchs_fused_adam(config, tmp_path):
    """'fused' turns on torch's fused Adam in both optimizers (through --amp's wrappers too)
    and changes nothing else: the same rates, and a step that moves every weight as the
    loop's Adam does, to rounding."""
    import copy

    import torch
    from mmengine.optim import build_optim_wrapper
    from cyclegan_plugin.engine.amp import use_amp
    from cyclegan_plugin.registry import MODELS
    cfg, flags = variant_config(config, tmp_path, 'unet+fused+bf16')
    assert flags == ['--amp', 'bfloat16']
    optim_wrapper = cfg.optim_wrapper.to_dict()
    use_amp(optim_wrapper, 'bfloat16')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    loop_model = copy.deepcopy(model)
    wrappers = build_optim_wrapper(model, optim_wrapper)
    for name, wrapper in wrappers.items():
        groups = wrapper.optimizer.param_groups
        assert [(g['fused'], g['lr'], g['betas']) for g in groups] == [(True, 2e-4, (0.5, 0.999))]
        params = list(getattr(model, name).parameters())
        loop_params = list(getattr(loop_model, name).parameters())
        loop = torch.optim.Adam(loop_params, lr=2e-4, betas=(0.5, 0.999))
        for _ in range(2):
            for p, q in zip(params, loop_params):
                p.grad = torch.randn_like(p)
                q.grad = p.grad.clone()
            wrapper.optimizer.step()
            loop.step()
        for p, q in zip(params, loop_params):
            torch.testing.assert_close(p, q, rtol=1e-6, atol=1e-7)


def file_pixels(path):
    """An image file as the training pipeline packs it: uint8, channels first."""
    import torch
    from cyclegan_plugin.io import read_image
    return torch.tensor(read_image(path)).permute(2, 0, 1)


def test_the_noresize_switch_trains_on_the_images_as_the_test_reads_them(config, tmp_path):
    """'noresize' drops the recipe's resize and crop: every training image (A and its random
    B partner) is the file's pixels, or their mirror image, at the file's size, where the
    recipe's pipeline scales them up before cropping."""
    import random

    import numpy as np
    import torch
    from mmengine.registry import init_default_scope
    from cyclegan_plugin.registry import DATASETS
    init_default_scope('cyclegan_plugin')
    random.seed(0)  # the B partners and the flips: the same draws on every run
    np.random.seed(0)
    cfg, flags = variant_config(config, tmp_path, 'unet+noresize')
    assert flags == [] and cfg.model.generator.type == 'UnetGenerator'
    paper, _ = variant_config(config, tmp_path, 'paper')
    assert 'Resize' in [t['type'] for t in paper.train_dataloader.dataset.pipeline]
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    recipe = DATASETS.build(paper.train_dataloader.dataset)
    flipped = {True: 0, False: 0}
    for i in range(len(dataset)):
        sample = dataset[i]
        for key in ('A', 'B'):
            img = sample['inputs'][f'img_{key}']
            file = file_pixels(sample['data_samples'][f'img_{key}_path'])
            assert img.shape == file.shape
            mirror = not torch.equal(img, file)
            assert not mirror or torch.equal(img, file.flip(-1))
            flipped[mirror] += 1
        scaled = recipe[i]
        original = file_pixels(scaled['data_samples']['img_A_path'])
        assert not (torch.equal(scaled['inputs']['img_A'], original)
                    or torch.equal(scaled['inputs']['img_A'], original.flip(-1)))
    assert flipped[True] and flipped[False]  # the flip stays: both kinds were drawn


def test_the_zoom_switch_zooms_every_training_image_at_its_own_size(config, tmp_path):
    """'zoom' trains on the files' pixels at their own size, as 'noresize' does, but each
    image zoomed by its own random factor first (RandomZoom before the flip)."""
    import numpy as np
    import torch
    from mmengine.registry import init_default_scope
    from cyclegan_plugin.registry import DATASETS
    init_default_scope('cyclegan_plugin')
    np.random.seed(0)
    cfg, flags = variant_config(config, tmp_path, 'unet+zoom')
    assert flags == []
    assert [t['type'] for t in cfg.train_dataloader.dataset.pipeline] == [
        'LoadImage', 'RandomZoom', 'RandomFlip', 'PackImage']
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    changed = []
    for i in range(min(len(dataset), 8)):
        sample = dataset[i]
        for key in ('A', 'B'):
            img = sample['inputs'][f'img_{key}']
            file = file_pixels(sample['data_samples'][f'img_{key}_path'])
            assert img.shape == file.shape
            changed.append(not (torch.equal(img, file) or torch.equal(img, file.flip(-1))))
    # a factor within half a pixel of 1 leaves an image as it is (or mirrors it)
    assert sum(changed) >= 0.75 * len(changed)
