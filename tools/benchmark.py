"""Speed figures (a script that prints, not a test).

    python tools/benchmark.py fid   [--num-images 200 --size 256 --batch-size 50]
    python tools/benchmark.py infer [--size 256 --runs 5 --tiled 4000x3000]

fid:   FID feature extraction (all of eval_fid.py's work but the maths) over N random RGB PNGs,
       images/s. Speed does not depend on the weights' values: without --inception-weights
       the seeded rule of the reference fixtures is used.
infer: the paper's ResNet-9 generator (ngf 64) at SIZE x SIZE: images/s with torch and, when
       installed, onnxruntime (tools/export_onnx.py's export), median of --runs after a
       warm-up; and the peak resident memory of a tiled translation of a --tiled image,
       measured in a fresh process.
"""
import argparse
import json
import os
import os.path as osp
import resource
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from _common import import_plugin  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('mode', choices=['fid', 'infer'])
    p.add_argument('--device', default='cpu')
    p.add_argument('--size', type=int, default=256)
    p.add_argument('--num-images', type=int, default=200)
    p.add_argument('--batch-size', type=int, default=50)
    p.add_argument('--num-workers', type=int, default=None)
    p.add_argument('--inception-weights', default=None)
    p.add_argument('--runs', type=int, default=5)
    p.add_argument('--tiled', default='4000x3000', help="WxH of the tiled run ('' to skip)")
    p.add_argument('--tile-size', type=int, default=512)
    p.add_argument('--json', help='also write the figures here')
    p.add_argument('--_tiled-child', dest='tiled_child', help=argparse.SUPPRESS)
    return p.parse_args(argv)


def bench_fid(args):
    import cv2
    import numpy as np
    import torch
    from cyclegan_plugin.evaluation.fid import extract_folder_features
    from cyclegan_plugin.evaluation.inception import (FIDInceptionV3, load_inception,
                                                      seeded_inception_state_dict)
    if args.inception_weights:
        model = load_inception(args.inception_weights, device=args.device)
        weights = args.inception_weights
    else:
        model = FIDInceptionV3()
        model.load_state_dict(seeded_inception_state_dict(2024))
        model = model.to(args.device).eval().use_channels_last()
        weights = 'seeded rule (seed 2024)'
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as folder:
        for i in range(args.num_images):
            image = rng.integers(0, 256, (args.size, args.size, 3), dtype=np.uint8)
            cv2.imwrite(osp.join(folder, f'{i:05d}.png'), image)
        start = time.perf_counter()
        out = extract_folder_features(folder, model, dims=(2048,), batch_size=args.batch_size,
                                      num_workers=args.num_workers, device=args.device,
                                      progress=False)
        seconds = time.perf_counter() - start
    figures = dict(mode='fid', images=args.num_images, size=args.size,
                   batch_size=args.batch_size, device=args.device, weights=weights,
                   seconds=seconds, images_per_second=args.num_images / seconds,
                   torch_threads=torch.get_num_threads())
    assert out.features[2048].shape == (args.num_images, 2048)
    print(f'FID extraction: {args.num_images} images of {args.size}x{args.size}, batch '
          f'{args.batch_size}, {args.device}: {figures["images_per_second"]:.2f} images/s '
          f'({seconds:.1f} s)')
    return figures


def _median_rate(fn, batch, runs):
    fn(batch)  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn(batch)
        times.append(time.perf_counter() - start)
    return batch.shape[0] / statistics.median(times)


def _paper_translator(device):
    import torch
    from cyclegan_plugin.apis.inference import Translator
    from cyclegan_plugin.models import ResnetGenerator
    torch.manual_seed(0)
    return Translator({'a2b': ResnetGenerator(ngf=64, n_blocks=9)}, source='benchmark',
                      device=device)


def bench_infer(args):
    import torch
    translator = _paper_translator(args.device)
    net = translator.generators['a2b']
    x = torch.rand(1, 3, args.size, args.size, device=args.device) * 2 - 1
    with torch.inference_mode():
        torch_rate = _median_rate(net, x, args.runs)
    figures = dict(mode='infer', size=args.size, device=args.device,
                   torch_images_per_second=torch_rate, onnxruntime_images_per_second=None)
    print(f'ResNet-9 ngf64 {args.size}x{args.size} torch ({args.device}): '
          f'{torch_rate:.2f} images/s')
    try:
        import onnxruntime  # noqa: F401
        from export_onnx import export
    except ImportError:
        print('onnxruntime not installed: skipped')
    else:
        from cyclegan_plugin.apis.inference import OnnxTranslator
        with tempfile.TemporaryDirectory() as tmp:
            path = osp.join(tmp, 'g.onnx')
            export(translator, 'a2b', path)
            session = OnnxTranslator(path)
            ort_rate = _median_rate(lambda b: session.run(b, 'a2b'), x.cpu(), args.runs)
        figures['onnxruntime_images_per_second'] = ort_rate
        print(f'ResNet-9 ngf64 {args.size}x{args.size} onnxruntime (CPU): '
              f'{ort_rate:.2f} images/s')
    if args.tiled:
        proc = subprocess.run([sys.executable, __file__, 'infer', '--device', args.device,
                               '--tile-size', str(args.tile_size), '--_tiled-child',
                               args.tiled], capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f'tiled run failed:\n{proc.stderr[-2000:]}')
        tiled = json.loads(proc.stdout.strip().splitlines()[-1])
        figures['tiled'] = tiled
        print(f'tiled {args.tiled} (tiles {args.tile_size}): peak RSS '
              f'{tiled["peak_rss_mib"]:.0f} MiB, {tiled["seconds"]:.1f} s')
    return figures


def tiled_child(args):
    """In a fresh process, so ru_maxrss is this translation's peak."""
    import numpy as np
    from cyclegan_plugin.apis import translate
    w, h = (int(v) for v in args.tiled_child.lower().split('x'))
    image = np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8)
    translator = _paper_translator(args.device)
    start = time.perf_counter()
    out = translate(translator, image, 'a2b', tile_size=args.tile_size)
    seconds = time.perf_counter() - start
    assert out.shape == image.shape
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(dict(size=[w, h], tile_size=args.tile_size, seconds=seconds,
                          peak_rss_mib=peak)))


def main(argv=None):
    args = parse_args(argv)
    import_plugin()
    if args.tiled_child:
        return tiled_child(args)
    figures = bench_fid(args) if args.mode == 'fid' else bench_infer(args)
    figures.update(cpu_count=os.cpu_count())
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(figures, f, indent=2)


if __name__ == '__main__':
    main()
