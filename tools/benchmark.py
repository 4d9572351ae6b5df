"""Speed figures (a script that prints, not a test).

    python tools/benchmark.py train [--sizes 128 256 --paths reference batched amp ...]
    python tools/benchmark.py fid   [--num-images 200 --size 256 --batch-size 50]
    python tools/benchmark.py infer [--size 256 --runs 5 --tiled 4000x3000]

train: iterations/s of CycleGAN.train_step with the paper's networks (ResNet-9 ngf 64, 70x70
       PatchGAN, LSGAN, pools of 50; batch 1) for each path and size, every one in a fresh
       process (so the peak memory is its own): median seconds per iteration after warm-up,
       peak memory (RSS on the CPU, allocated memory on CUDA), and GFLOP/s, with the FLOPs of
       one iteration counted by torch's FlopCounterMode and set against a matmul measured on
       the same device. Paths: see TRAIN_PATHS.
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
from _common import REPO, import_plugin  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('mode', choices=['train', 'fid', 'infer'])
    p.add_argument('--device', default='cpu')
    p.add_argument('--size', type=int, default=256)
    p.add_argument('--num-images', type=int, default=200)
    p.add_argument('--batch-size', type=int, default=50)
    p.add_argument('--num-workers', type=int, default=None)
    p.add_argument('--inception-weights', default=None)
    p.add_argument('--runs', type=int, default=5)
    p.add_argument('--tiled', default='4000x3000', help="WxH of the tiled run ('' to skip)")
    p.add_argument('--tile-size', type=int, default=512)
    p.add_argument('--sizes', type=int, nargs='+', default=[128, 256],
                   help='train: image sizes')
    p.add_argument('--paths', nargs='+', choices=sorted(TRAIN_PATHS), default=None,
                   help='train: paths to time (default on a CPU: reference, batched, and amp '
                   '(bf16) where it is native; on CUDA: reference, batched, batched_fused, '
                   'amp_cl_fused, amp_cl_graphs)')
    p.add_argument('--iters', type=int, default=5, help='train: timed iterations')
    p.add_argument('--warmup', type=int, default=2, help='train: untimed iterations first '
                   '(compiled paths get 3 more)')
    p.add_argument('--n-blocks', type=int, default=9, help='train: ResNet blocks')
    p.add_argument('--profile', action='store_true',
                   help='train, CUDA: also the GPU busy time and kernels per iteration')
    p.add_argument('--child-timeout', type=float, default=None,
                   help='train: stop a path that takes longer (seconds)')
    p.add_argument('--json', help='also write the figures here')
    p.add_argument('--_tiled-child', dest='tiled_child', help=argparse.SUPPRESS)
    p.add_argument('--_train-child', dest='train_child', help=argparse.SUPPRESS)
    return p.parse_args(argv)


# model switches and mixed precision of each training path
BATCHED = dict(batch_generator_calls=True, batch_discriminator_calls=True)
TRAIN_PATHS = {
    'reference': dict(),
    'batched': BATCHED,
    'channels_last': dict(BATCHED, channels_last=True),
    'amp': dict(BATCHED, amp='bfloat16'),
    'amp_unbatched': dict(amp='bfloat16'),
    'amp_cl': dict(BATCHED, channels_last=True, amp='bfloat16'),
    'amp_fp16_cl': dict(BATCHED, channels_last=True, amp='float16'),
    'compile': dict(BATCHED, compile=True),
    'amp_compile': dict(BATCHED, amp='bfloat16', compile=True),
    'amp_cl_compile': dict(BATCHED, channels_last=True, amp='bfloat16', compile=True),
    'batched_fused': dict(BATCHED, fused_adam=True),
    'amp_cl_fused': dict(BATCHED, channels_last=True, amp='bfloat16', fused_adam=True),
    'amp_cl_graphs': dict(BATCHED, channels_last=True, amp='bfloat16', fused_adam=True,
                          compile=dict(mode='reduce-overhead')),
}


def _median_seconds(fn, device, runs):
    """Median wall time of ``fn()`` over ``runs`` calls after one warm-up call."""
    import torch

    def once():
        fn()
        if device.startswith('cuda'):
            torch.cuda.synchronize()
    once()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        once()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def matmul_peak(device, dtype_name='float32', n=4096, runs=3):
    """GFLOP/s of an n x n x n matmul on ``device``: the ceiling the GFLOP/s are set against."""
    import torch
    dtype = getattr(torch, dtype_name)
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    return 2 * n ** 3 / _median_seconds(lambda: a @ b, device, runs) / 1e9


def conv_peak(device, runs=5):
    """GFLOP/s of the network's commonest layer (3x3, 256 -> 256 channels at 64x64, a
    residual block's conv at 256x256 input): convolutions may beat the matmul (on AMD CPUs
    torch's matmul takes MKL's generic path, its convolutions oneDNN's AVX-512 code)."""
    import torch
    x = torch.randn(1, 256, 64, 64, device=device)
    w = torch.randn(256, 256, 3, 3, device=device)
    seconds = _median_seconds(lambda: torch.nn.functional.conv2d(x, w, padding=1), device, runs)
    return 2 * 256 * 256 * 9 * 64 * 64 / seconds / 1e9


def paper_cyclegan(n_blocks=9, **switches):
    """The paper's CycleGAN (configs/_base_/models/cyclegan_resnet9.py) with fast-path
    switches, built from the registry as a config would build it."""
    from mmengine.config import Config
    from cyclegan_plugin.registry import MODELS, build
    cfg = Config.fromfile(osp.join(REPO, 'configs', '_base_', 'models',
                                   'cyclegan_resnet9.py')).model
    cfg.generator.n_blocks = n_blocks
    cfg.update(switches)
    return build(MODELS, cfg.to_dict())


def train_child(args):
    """One path at one size, in a fresh process: JSON figures on the last line of stdout."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode
    from cyclegan_plugin.engine import CycleGANOptimWrapperConstructor
    job = json.loads(args.train_child)
    switches = dict(TRAIN_PATHS[job['path']])
    amp = switches.pop('amp', None)
    fused = switches.pop('fused_adam', False)
    device, size = args.device, job['size']
    torch.manual_seed(0)
    model = paper_cyclegan(args.n_blocks, **switches).to(device)
    adam = dict(optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999)))
    if fused:  # one kernel per step for all parameters (CUDA)
        adam['optimizer']['fused'] = True
    if amp:
        adam.update(type='AmpOptimWrapper', dtype=amp)
    optim = CycleGANOptimWrapperConstructor(
        dict(generators=adam, discriminators=adam))(model)
    cast = getattr(next(iter(optim.values())), 'cast_dtype', None)  # what AMP really runs
    gen = torch.Generator().manual_seed(0)

    def batch():
        image = lambda: torch.randint(0, 256, (3, size, size), dtype=torch.uint8,  # noqa: E731
                                      generator=gen)
        return dict(inputs=dict(img_A=[image()], img_B=[image()]))

    def step():
        model.train_step(batch(), optim)
        if device.startswith('cuda'):
            torch.cuda.synchronize()

    warmup = args.warmup + (3 if switches.get('compile') else 0)
    start = time.perf_counter()
    for _ in range(warmup):
        step()
    warmup_seconds = time.perf_counter() - start
    if device.startswith('cuda'):
        torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(args.iters):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    out = dict(path=job['path'], size=size, device=device,
               amp=str(cast).replace('torch.', '') if cast else None,
               seconds_per_iter=statistics.median(times), iter_seconds=times,
               warmup_seconds=warmup_seconds,
               peak_rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    if device.startswith('cuda'):
        out['peak_cuda_mib'] = torch.cuda.max_memory_allocated() / 2 ** 20
    if args.profile and device.startswith('cuda'):  # GPU busy time vs wall time
        from torch.profiler import ProfilerActivity, profile
        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            for _ in range(3):
                step()
        kernels = [e for e in prof.events() if e.device_type.name == 'CUDA']
        out['gpu_busy_seconds_per_iter'] = sum(e.device_time for e in kernels) / 3e6
        out['kernels_per_iter'] = len(kernels) / 3
    if not switches.get('compile'):  # the counter sees eager ops only; same maths anyway
        counter = FlopCounterMode(display=False)
        with counter:
            step()
        out['flop_per_iter'] = counter.get_total_flops()
    print(json.dumps(out))


def bench_train(args):
    import torch
    cuda = args.device.startswith('cuda')
    paths = args.paths
    if paths is None:
        from cyclegan_plugin.engine import cpu_has_native_bf16
        if cuda:
            paths = ['reference', 'batched', 'batched_fused', 'amp_cl_fused', 'amp_cl_graphs']
        else:  # channels_last is ignored on the CPU (see CycleGAN)
            paths = ['reference', 'batched'] + (['amp'] if cpu_has_native_bf16() else [])
    peaks = dict(float32=matmul_peak(args.device))
    if cuda:
        peaks['bfloat16'] = matmul_peak(args.device, 'bfloat16', n=8192)
    conv = conv_peak(args.device)
    print(f'matmul peak on {args.device}: '
          + ', '.join(f'{k} {v:.0f} GFLOP/s' for k, v in peaks.items())
          + f'; fp32 3x3 conv 256->256 at 64x64: {conv:.0f} GFLOP/s')
    rows = []
    for size in args.sizes:
        for path in paths:
            job = json.dumps(dict(path=path, size=size))
            cmd = [sys.executable, __file__, 'train', '--device', args.device,
                   '--iters', str(args.iters), '--warmup', str(args.warmup),
                   '--n-blocks', str(args.n_blocks), '--_train-child', job]
            if args.profile:
                cmd.append('--profile')
            try:
                proc = subprocess.run(cmd, capture_output=True, text=True,
                                      timeout=args.child_timeout)
            except subprocess.TimeoutExpired:
                print(f'  {path} {size}x{size}: over {args.child_timeout} s, stopped')
                rows.append(dict(path=path, size=size, error='timeout'))
                continue
            if proc.returncode != 0:
                print(f'  {path} {size}x{size}: failed\n{proc.stderr[-3000:]}')
                rows.append(dict(path=path, size=size, error=proc.stderr[-3000:]))
                continue
            rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
            print(f'  {path} {size}x{size}: {rows[-1]["seconds_per_iter"]:.3f} s/iter',
                  flush=True)
    flops = {r['size']: r['flop_per_iter'] for r in rows if 'flop_per_iter' in r}
    for r in rows:
        if 'error' in r:
            continue
        ref = next((q for q in rows if q['size'] == r['size'] and q['path'] == 'reference'
                    and 'error' not in q), None)
        r['iters_per_second'] = 1 / r['seconds_per_iter']
        r['speedup_vs_reference'] = (ref['seconds_per_iter'] / r['seconds_per_iter']
                                     if ref else None)
        if r['size'] in flops:
            r['gflop_per_iter'] = flops[r['size']] / 1e9
            r['gflop_per_second'] = r['gflop_per_iter'] / r['seconds_per_iter']
            peak = peaks.get(r['amp'] or 'float32', peaks['float32'])
            r['fraction_of_matmul_peak'] = r['gflop_per_second'] / peak
            if not r['amp']:
                r['fraction_of_conv_rate'] = r['gflop_per_second'] / conv
    print_train_table(rows)
    return dict(mode='train', device=args.device, n_blocks=args.n_blocks, batch_size=1,
                matmul_peak_gflops=peaks, conv_gflops=conv, torch=torch.__version__,
                torch_threads=torch.get_num_threads(), rows=rows)


def print_train_table(rows):
    mem = 'peak CUDA MiB' if any('peak_cuda_mib' in r for r in rows) else 'peak RSS MiB'
    head = ('path', 'size', 's/iter', 'it/s', 'x ref', mem, 'GFLOP/iter', 'GFLOP/s',
            '% matmul peak', '% conv rate')
    print(' | '.join(head))
    for r in rows:
        if 'error' in r:
            print(f'{r["path"]} | {r["size"]} | failed')
            continue
        cells = (r['path'], r['size'], f'{r["seconds_per_iter"]:.3f}',
                 f'{r["iters_per_second"]:.2f}',
                 f'{r["speedup_vs_reference"]:.2f}' if r['speedup_vs_reference'] else '-',
                 f'{r.get("peak_cuda_mib", r["peak_rss_mib"]):.0f}',
                 f'{r["gflop_per_iter"]:.0f}' if 'gflop_per_iter' in r else '-',
                 f'{r["gflop_per_second"]:.0f}' if 'gflop_per_second' in r else '-',
                 f'{100 * r["fraction_of_matmul_peak"]:.0f}%'
                 if 'fraction_of_matmul_peak' in r else '-',
                 f'{100 * r["fraction_of_conv_rate"]:.0f}%'
                 if 'fraction_of_conv_rate' in r else '-')
        print(' | '.join(str(c) for c in cells))


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
    """Images/s of ``fn(batch)``: median of ``runs`` after a warm-up."""
    return batch.shape[0] / _median_seconds(lambda: fn(batch), str(batch.device), runs)


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
    if args.train_child:
        return train_child(args)
    figures = dict(train=bench_train, fid=bench_fid, infer=bench_infer)[args.mode](args)
    figures.update(cpu_count=os.cpu_count())
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(figures, f, indent=2)


if __name__ == '__main__':
    main()
