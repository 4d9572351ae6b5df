"""Export one generator of any CycleGAN checkpoint to ONNX, for any image size.

    python tools/export_onnx.py CHECKPOINT --out G.onnx [--direction a2b] [--config CFG]
        [--opset 17] [--no-verify] [--sizes 64x64 61x45 ...] [--tolerance 1e-4]
        [--norm instance] [--domains A B] [--trust-checkpoint]

The exported graph is the padded generator (cyclegan_plugin.apis.PaddedGenerator): input
``input`` is float32 RGB in [-1, 1], N x C x H x W with any N, H and W; it reflect-pads to
the generator's size divisor, translates, and crops back, so ``output`` has the input's
size. (Reflect padding needs each side larger than its padding: any size for the ResNet
generators, sides above half the divisor for the U-Nets.) uint8 pixels x map to
(x / 255 - 0.5) / 0.5 and back with (y + 1) / 2 * 255, truncated.

With onnxruntime installed the export is checked against PyTorch on several sizes,
odd ones included; a difference above --tolerance is an error.
"""
import argparse
import os.path as osp
import sys
import warnings

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from _common import (EXIT_FAILED, ToolError, add_checkpoint_flags,  # noqa: E402
                     add_debug_flag, import_plugin, run_tool)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Export a CycleGAN generator to ONNX')
    parser.add_argument('checkpoint', help='checkpoint file or reference checkpoint folder')
    parser.add_argument('--out', required=True, help='the .onnx file to write')
    parser.add_argument('--direction', default='a2b', choices=['a2b', 'b2a'],
                        help='which generator to export')
    parser.add_argument('--config', help='MMEngine config (else read from the checkpoint)')
    parser.add_argument('--opset', type=int, default=17, help='ONNX opset version')
    parser.add_argument('--no-verify', action='store_true',
                        help='skip the onnxruntime comparison')
    parser.add_argument('--sizes', nargs='+', metavar='HxW',
                        help='sizes to verify (default: a few around the size divisor, '
                             'odd ones included)')
    parser.add_argument('--tolerance', type=float, default=1e-4,
                        help='largest |onnxruntime - PyTorch| the verification accepts')
    add_checkpoint_flags(parser)
    add_debug_flag(parser)
    return parser.parse_args(argv)


def default_sizes(divisor: int):
    base = max(64, divisor)
    return [(base, base), (base + 1, base + 3), (2 * base - 1, base + 5)]


def export(translator, direction: str, path: str, opset: int = 17) -> None:
    """Trace the padded generator with symbolic batch/height/width and write ``path``
    (through a temporary file), with metadata the onnxruntime backend reads."""
    import torch

    wrapper = translator.wrapped(direction).cpu().eval()
    channels, divisor = translator.in_channels(direction), translator.size_divisor(direction)
    side = divisor + 3  # not a multiple: the padding must be in the traced graph
    dummy = torch.zeros(1, channels, side, side + 2)
    axes = {0: 'batch', 2: 'height', 3: 'width'}
    import io
    from cyclegan_plugin.io import atomic_write
    buffer = io.BytesIO()
    with warnings.catch_warnings():  # the exporter's notes on slices and the legacy path
        warnings.simplefilter('ignore')
        torch.onnx.export(wrapper, (dummy,), buffer, dynamo=False, opset_version=opset,
                          input_names=['input'], output_names=['output'],
                          dynamic_axes={'input': axes, 'output': axes})
    with torch.inference_mode():
        out_channels = wrapper(dummy).shape[1]
    data = _add_metadata(buffer.getvalue(), dict(
        direction=direction, in_channels=channels, out_channels=out_channels,
        size_divisor=divisor, min_side=wrapper.min_side, channel_order='rgb',
        value_range='[-1, 1]',
        source=translator.source))
    atomic_write(path, data)


def _add_metadata(data: bytes, values: dict) -> bytes:
    """The serialised ONNX model ``data`` with ``values`` as metadata properties."""
    try:
        import onnx
    except ImportError:
        warnings.warn('onnx is not installed: the file carries no direction metadata '
                      '(the onnxruntime backend then assumes a2b)')
        return data
    model = onnx.load_from_string(data)
    for key, value in values.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, str(value)
    return model.SerializeToString()


def verify(translator, direction: str, path: str, sizes, tolerance: float) -> float:
    """Largest |onnxruntime - PyTorch| over random inputs of the given sizes."""
    import torch
    from cyclegan_plugin.apis import OnnxTranslator

    onnx_translator = OnnxTranslator(path)
    channels = translator.in_channels(direction)
    generator = torch.Generator().manual_seed(0)
    worst = 0.0
    for batch, (h, w) in enumerate(sizes, start=1):
        x = torch.rand(min(batch, 2), channels, h, w, generator=generator) * 2 - 1
        expected = translator.run(x, direction).cpu()
        got = onnx_translator.run(x, direction)
        if got.shape != expected.shape:
            raise RuntimeError(f'{h}x{w}: onnxruntime gave {tuple(got.shape)}, '
                               f'PyTorch {tuple(expected.shape)}')
        diff = (got - expected).abs().max().item()
        print(f'  {h}x{w} (batch {x.shape[0]}): max |onnxruntime - torch| = {diff:.2e}')
        worst = max(worst, diff)
    if worst > tolerance:
        raise RuntimeError(f'onnxruntime differs from PyTorch by {worst:.2e} > {tolerance}')
    return worst


def main(argv=None) -> int:
    args = parse_args(argv)
    if not osp.exists(args.checkpoint):
        raise ToolError(f'checkpoint {args.checkpoint} does not exist')
    if args.config and not osp.isfile(args.config):
        raise ToolError(f'config {args.config} does not exist')
    import_plugin()
    from cyclegan_plugin.apis import init_model
    if args.config:
        translator = init_model(args.config, args.checkpoint, direction=args.direction,
                                trusted=args.trust_checkpoint)
    else:
        translator = init_model(args.checkpoint, direction=args.direction, norm=args.norm,
                                domains=args.domains, trusted=args.trust_checkpoint)
    try:
        translator.generator(args.direction)  # a clear error when the direction is missing
        sizes = ([tuple(int(v) for v in s.lower().split('x')) for s in args.sizes]
                 if args.sizes else default_sizes(translator.size_divisor(args.direction)))
    except ValueError as err:
        raise ToolError(str(err)) from None
    export(translator, args.direction, args.out, args.opset)
    print(f'wrote {args.out} ({args.direction}, opset {args.opset}, dynamic batch, '
          'height and width)')
    if args.no_verify:
        return 0
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        print('onnxruntime is not installed: export not verified')
        return 0
    try:
        worst = verify(translator, args.direction, args.out, sizes, args.tolerance)
    except RuntimeError as err:
        raise ToolError(str(err), EXIT_FAILED) from None
    print(f'verified with onnxruntime: max difference {worst:.2e} <= {args.tolerance}')
    return 0


if __name__ == '__main__':
    sys.exit(run_tool(main))
