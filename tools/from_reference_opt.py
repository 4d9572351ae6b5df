"""Turn the reference's train_opt.txt into an equivalent config of ours.

    python tools/from_reference_opt.py checkpoints/horse2zebra/train_opt.txt --out my_cfg.py

Prints the options that have no equivalent (and where their job is done instead).
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from _common import REPO, import_plugin  # noqa: E402

BASES = ('default_runtime.py', 'schedules/cyclegan_linear_200e.py',
         'datasets/unpaired_256.py', 'models/cyclegan_resnet9.py')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('train_opt', help="the reference's train_opt.txt")
    parser.add_argument('--out', required=True, help='the config file to write')
    args = parser.parse_args(argv)
    import_plugin()
    from cyclegan_plugin.interop.reference_opt import convert, read_train_opt
    if not osp.isfile(args.train_opt):
        sys.exit(f'error: {args.train_opt} does not exist')
    base_dir = osp.join(REPO, 'configs', '_base_')
    text, notes = convert(read_train_opt(args.train_opt),
                          [osp.join(base_dir, b) for b in BASES])
    with open(args.out, 'w') as f:
        f.write(text)
    print(f'wrote {args.out}')
    if notes:
        print('options with no direct equivalent:')
        for note in notes:
            print(f'  {note}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
