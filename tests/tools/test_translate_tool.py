"""tools/translate.py: folders, globs, videos, unreadable files, refusing to overwrite."""
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch

from cyclegan_plugin.models.generators import ResnetGenerator

from ..conftest import ROOT, load_tool, tool_main


@pytest.fixture(scope='module')
def translate_main():
    return tool_main('translate')


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp('ckpt') / 'latest_net_G.pth'
    torch.save(ResnetGenerator(ngf=8, n_blocks=1).state_dict(), path)
    return str(path)


def image(h, w, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


@pytest.fixture
def folder(tmp_path):
    src = tmp_path / 'in'
    (src / 'sub').mkdir(parents=True)
    cv2.imwrite(str(src / 'a.png'), image(37, 29))
    cv2.imwrite(str(src / 'sub' / 'b.jpg'), image(24, 40, 1))
    cv2.imwrite(str(src / 'gray.png'), image(19, 21, 2)[..., 0])
    (src / 'broken.png').write_bytes(b'\x89PNG not really')
    (src / 'notes.txt').write_text('not an image')
    return src


def test_folder_keeps_layout_sizes_and_writes_a_gallery(translate_main, checkpoint, folder,
                                                        tmp_path, capsys):
    out = tmp_path / 'out'
    assert translate_main([checkpoint, str(folder), '--out', str(out), '--batch-size', '2']) == 0
    for rel, size in (('a.png', (37, 29)), ('sub/b.jpg', (24, 40)), ('gray.png', (19, 21))):
        written = cv2.imread(str(out / rel))
        assert written is not None and written.shape[:2] == size, rel
    assert not (out / 'broken.png').exists()
    assert not list(out.rglob('*.tmp'))  # atomic writes leave nothing behind
    gallery = (out / 'index.html').read_text()
    assert gallery.count('<tr><td>') == 3 and 'sub/b.jpg' in gallery
    err = capsys.readouterr().err
    assert err.count('warning:') == 1 and 'broken.png' in err
    # --strict: the unreadable file is an error
    assert translate_main([checkpoint, str(folder), '--out', str(tmp_path / 'strict'),
                           '--strict']) == 2
    assert 'broken.png' in capsys.readouterr().err


def test_glob_and_single_image(translate_main, checkpoint, folder, tmp_path):
    out = tmp_path / 'glob'
    assert translate_main([checkpoint, str(folder / '**' / '*.png'), '--out', str(out),
                           '--ext', '.png']) == 0
    assert sorted(p.name for p in out.rglob('*.png')) == ['a.png', 'gray.png']
    assert (out / 'index.html').exists()
    assert translate_main([checkpoint, str(folder / 'a.png'), '--out', str(tmp_path / 'one'),
                           '--resize']) == 0
    assert cv2.imread(str(tmp_path / 'one' / 'a.png')).shape[:2] == (36, 28)  # reference
    assert not (tmp_path / 'one' / 'index.html').exists()


def test_never_overwrites_inputs(translate_main, checkpoint, folder, capsys):
    before = {p: p.read_bytes() for p in folder.rglob('*') if p.is_file()}
    assert translate_main([checkpoint, str(folder), '--out', str(folder)]) == 2
    assert translate_main([checkpoint, str(folder / 'a.png'), '--out', str(folder)]) == 2
    assert 'overwrite' in capsys.readouterr().err
    assert {p: p.read_bytes() for p in folder.rglob('*') if p.is_file()} == before
    # an output folder inside the input folder: its files are not taken as inputs
    inner = folder / 'translated'
    assert translate_main([checkpoint, str(folder), '--out', str(inner)]) == 0
    assert translate_main([checkpoint, str(folder), '--out', str(inner)]) == 0
    assert not (inner / 'translated').exists()


@pytest.mark.parametrize('ext,fourcc', [('.avi', 'MJPG'), ('.mp4', 'mp4v')])
def test_video_round_trip(translate_main, checkpoint, tmp_path, ext, fourcc):
    src = tmp_path / f'clip{ext}'
    writer = cv2.VideoWriter(str(src), cv2.VideoWriter_fourcc(*fourcc), 12, (40, 32))
    assert writer.isOpened()
    for i in range(5):
        writer.write(image(32, 40, i))
    writer.release()
    out = tmp_path / 'out'
    assert translate_main([checkpoint, str(src), '--out', str(out), '--batch-size', '2']) == 0
    cap = cv2.VideoCapture(str(out / f'clip{ext}'))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    assert len(frames) == 5 and frames[0].shape == (32, 40, 3)
    assert cap.get(cv2.CAP_PROP_FPS) == pytest.approx(12)
    assert [p.name for p in out.iterdir()] == [f'clip{ext}']


def test_bad_inputs_fail_clearly(translate_main, checkpoint, tmp_path, capsys):
    fake = tmp_path / 'movie.mp4'
    fake.write_text('not a video')
    assert translate_main([checkpoint, str(fake), '--out', str(tmp_path / 'o')]) == 2
    assert 'video' in capsys.readouterr().err
    assert not (tmp_path / 'o').exists() or not list((tmp_path / 'o').iterdir())
    assert translate_main([checkpoint, str(tmp_path / 'nothing.png'), '--out',
                           str(tmp_path / 'o')]) == 2
    assert 'not found' in capsys.readouterr().err
    cv2.imwrite(str(tmp_path / 'a.png'), image(8, 8))
    only_a2b = tmp_path / 'model.pth'
    torch.save({f'generators.a2b.{k}': v for k, v in torch.load(checkpoint).items()}, only_a2b)
    assert translate_main([str(only_a2b), str(tmp_path / 'a.png'), '--out',
                           str(tmp_path / 'o'), '--direction', 'b2a']) == 2
    assert "'b2a' is not in" in capsys.readouterr().err


def test_missing_checkpoint_exits_non_zero(tmp_path):
    """As a user runs it: a separate process, a message, a non-zero status."""
    proc = subprocess.run([sys.executable, str(ROOT / 'tools' / 'translate.py'),
                           str(tmp_path / 'missing.pth'), str(tmp_path), '--out',
                           str(tmp_path / 'out')], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode != 0
    assert 'does not exist' in proc.stderr and proc.returncode == 2


def test_onnxruntime_backend(translate_main, checkpoint, folder, tmp_path):
    pytest.importorskip('onnx')
    pytest.importorskip('onnxruntime')
    onnx_path = tmp_path / 'g.onnx'
    assert load_tool('export_onnx').main([checkpoint, '--out', str(onnx_path), '--no-verify']) == 0
    assert translate_main([str(onnx_path), str(folder), '--out', str(tmp_path / 'ort')]) == 0
    assert translate_main([checkpoint, str(folder), '--out', str(tmp_path / 'pt')]) == 0
    a = cv2.imread(str(tmp_path / 'ort' / 'a.png')).astype(int)
    b = cv2.imread(str(tmp_path / 'pt' / 'a.png')).astype(int)
    assert np.abs(a - b).max() <= 1
