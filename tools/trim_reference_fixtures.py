"""Copy the reference fixtures the tests need into the repository, trimmed.

    python tools/trim_reference_fixtures.py ../shared/reference tests/data/reference

The full set (pytorch-CycleGAN-and-pix2pix and pytorch-fid outputs, about 47 MB) lives outside
the repository; the tests run on this copy unless CYCLEGAN_REFERENCE_DIR names another set of
the same layout. What is left out the tests derive from what is kept, as the fixture READMEs
say it was made:

* nets/*/input.pt: ``(input_uint8.float() / 255 - 0.5) / 0.5``, recomputed;
* nets/*/output_train.pt: bit-identical to output_eval.pt (no dropout, no batch norm);
* step2.pt's Adam moments: the tests compare only the step counters of step 2's optimizers
  (step 2's weights are checked against step2_net_*.pth);
* step1.pt's ``exp_avg_sq``: after one Adam step it is ``(1 - beta2) * g * g`` of the gradient
  ``g = 2 * exp_avg`` (``exp_avg`` is kept), recomputed with Adam's own operation (bit for bit:
  the tests check it where the full set has it);
* fid/stats/sigma_*_dims768.npy (4.7 MB each): the 768-d statistics are checked through mu,
  the trace of sigma and FID, which results.json records.

Every file is copied as it is, except step1.pt and step2.pt, saved again without those.
"""
import argparse
import os
import os.path as osp
import shutil
import sys

import torch

SKIP_NETS = ('input.pt', 'output_train.pt')


def _copy(src, dst):
    os.makedirs(osp.dirname(dst), exist_ok=True)
    shutil.copyfile(src, dst)


def _trimmed_step(src, dst, keep):
    record = torch.load(src, map_location='cpu', weights_only=True)
    for key in ('optimizer_G_state', 'optimizer_D_state'):
        record[key] = dict(record[key], state={
            i: {k: v for k, v in s.items() if k in keep} for i, s in record[key]['state'].items()})
    os.makedirs(osp.dirname(dst), exist_ok=True)
    torch.save(record, dst)


def trim(src: str, dst: str) -> int:
    """Copy ``src`` to ``dst`` as the module docstring says; returns the bytes written."""
    total = 0
    for folder, _, names in os.walk(src):
        rel_folder = osp.relpath(folder, src)
        for name in sorted(names):
            rel = osp.normpath(osp.join(rel_folder, name))
            parts = rel.split(os.sep)
            if parts[:2] == ['cyclegan', 'nets'] and name in SKIP_NETS:
                continue
            if parts[:2] == ['fid', 'stats'] and name.startswith('sigma_') \
                    and name.endswith('_dims768.npy'):
                continue
            target = osp.join(dst, rel)
            if parts[0] == 'cyclegan' and name in ('step1.pt', 'step2.pt'):
                keep = ('step', 'exp_avg') if name == 'step1.pt' else ('step',)
                _trimmed_step(osp.join(src, rel), target, keep)
            else:
                _copy(osp.join(src, rel), target)
            total += os.path.getsize(target)
    return total


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('src', help='the full fixture folder (holds cyclegan/ and fid/)')
    parser.add_argument('dst', help='where the trimmed copy goes (replaced)')
    args = parser.parse_args(argv)
    if not osp.isdir(osp.join(args.src, 'cyclegan')) or not osp.isdir(osp.join(args.src, 'fid')):
        sys.exit(f'error: {args.src} holds no cyclegan/ and fid/ fixture folders')
    if osp.isdir(args.dst):
        shutil.rmtree(args.dst)
    size = trim(args.src, args.dst)
    print(f'wrote {args.dst}: {size / 2 ** 20:.1f} MiB')
    return 0


if __name__ == '__main__':
    sys.exit(main())
