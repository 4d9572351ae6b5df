"""Convert CycleGAN checkpoints between our layout, the reference's and MMagic's.

    python tools/convert_checkpoint.py SRC DST --to ours|reference|mmagic|generator
        [--direction a2b] [--domains A B] [--epoch latest] [--trust-checkpoint] [--force]

SRC: any checkpoint tools/translate.py reads (ours, a model or generator state dict, a
reference checkpoint folder or file, MMagic's). DST:

* ours: a checkpoint {'meta': {'cfg': <model config>, ...}, 'state_dict': ...} that our
  model loads (empty image pools are added) and tools/translate.py reads;
* reference: a folder with <epoch>_net_G_A.pth, _G_B, _D_A, _D_B (those SRC holds), as the
  reference's --continue_train / test.py --model cycle_gan read them;
* mmagic: an MMEngine-style checkpoint MMagic's CycleGAN loads (generators.<domain> ...);
  MMagic networks see BGR images, which the tensors do not change;
* generator: the plain state dict of the --direction generator (the reference's
  latest_net_G.pth layout, for its test.py --model test).

Tensors are copied bit for bit: converting back gives identical tensors. Files are written
to a temporary name and renamed; an existing DST is kept unless --force is given.
"""
import argparse
import os.path as osp
import sys
from collections import OrderedDict

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from _common import ToolError, add_debug_flag, import_plugin, run_tool  # noqa: E402

FORMATS = ('ours', 'reference', 'mmagic', 'generator')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Convert CycleGAN checkpoints')
    parser.add_argument('src', help='checkpoint file or reference checkpoint folder')
    parser.add_argument('dst', help='file to write (a folder for --to reference)')
    parser.add_argument('--to', required=True, choices=FORMATS)
    parser.add_argument('--direction', default='a2b', choices=['a2b', 'b2a'],
                        help='--to generator: which generator; a single-generator SRC: '
                             'which direction it translates')
    parser.add_argument('--domains', nargs=2, metavar=('A', 'B'),
                        help="MMagic domain names (default: read from SRC, else 'a' 'b')")
    parser.add_argument('--epoch', default='latest', help='--to reference: file prefix')
    parser.add_argument('--trust-checkpoint', action='store_true',
                        help='allow checkpoints that pickle Python objects (MMagic)')
    parser.add_argument('--force', action='store_true', help='overwrite DST')
    add_debug_flag(parser)
    return parser.parse_args(argv)


def save_atomic(obj, path: str) -> None:
    import torch
    from cyclegan_plugin.io import atomic_write
    atomic_write(path, lambda f: torch.save(obj, f))


def model_config_text(state) -> str:
    """Our model config for the networks in ``state``, as MMEngine would dump it."""
    from mmengine.config import Config
    from cyclegan_plugin.interop.layout import infer_model_config
    return Config(dict(default_scope='cyclegan_plugin',
                       model=infer_model_config(state))).pretty_text


def to_ours(state, source, info, args):
    from cyclegan_plugin import __version__
    from cyclegan_plugin.models.image_pool import ImagePool
    state = OrderedDict(state)
    for pool in ('fake_B_pool', 'fake_A_pool'):  # empty pools, in the model's own format
        state.setdefault(f'{pool}._extra_state', ImagePool().get_extra_state())
    cfg = info.get('meta', {}).get('cfg') if source == 'cyclegan' else None
    meta = dict(cfg=cfg if isinstance(cfg, str) else model_config_text(state),
                converted_from=source, cyclegan_plugin_version=__version__)
    if info.get('domains'):
        meta['mmagic_domains'] = list(info['domains'])
    save_atomic({'meta': meta, 'state_dict': state}, args.dst)
    return [args.dst]


def to_reference(state, args):
    from cyclegan_plugin.interop.reference import ours_to_reference
    nets = ours_to_reference(state)
    paths = []
    for name, net in nets.items():
        path = osp.join(args.dst, f'{args.epoch}_net_{name}.pth')
        if osp.exists(path) and not args.force:
            raise FileExistsError(f'{path} exists (use --force to overwrite)')
        paths.append(path)
    for (name, net), path in zip(nets.items(), paths):
        save_atomic(net, path)
    return paths


def to_mmagic(state, source, domains, args):
    from cyclegan_plugin.interop.mmagic import DEFAULT_DOMAINS, ours_to_mmagic
    domains = tuple(args.domains or domains or DEFAULT_DOMAINS)
    meta = dict(converted_from=source, domain_a=domains[0], domain_b=domains[1])
    save_atomic({'meta': meta, 'state_dict': ours_to_mmagic(state, domains)}, args.dst)
    return [args.dst]


def to_generator(state, args):
    from cyclegan_plugin.interop.layout import sub_state
    gen = sub_state(state, f'generators.{args.direction}')
    if not gen:
        raise ValueError(f'{args.src} has no {args.direction} generator')
    save_atomic(gen, args.dst)
    return [args.dst]


def main(argv=None) -> int:
    args = parse_args(argv)
    if not osp.exists(args.src):
        raise ToolError(f'checkpoint {args.src} does not exist')
    if args.to != 'reference' and osp.exists(args.dst) and not args.force:
        raise ToolError(f'{args.dst} exists: use --force to overwrite it')
    import_plugin()
    from cyclegan_plugin.interop import read_model_state
    state, source, info = read_model_state(args.src, args.direction, args.domains,
                                           args.trust_checkpoint)
    nets = {k.split('.')[0] + '.' + k.split('.')[1] for k in state
            if k.startswith(('generators.', 'discriminators.'))}
    try:
        if args.to == 'ours':
            written = to_ours(state, source, info, args)
        elif args.to == 'reference':
            written = to_reference(state, args)
        elif args.to == 'mmagic':
            written = to_mmagic(state, source, info.get('domains'), args)
        else:
            written = to_generator(state, args)
    except (ValueError, FileExistsError) as err:
        raise ToolError(str(err)) from None
    print(f'{source} checkpoint with {", ".join(sorted(nets))} -> {args.to}: '
          + ', '.join(written))
    return 0


if __name__ == '__main__':
    sys.exit(run_tool(main))
