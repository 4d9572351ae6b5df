"""cyclegan_plugin.apis.files: folders, globs and videos translated in this process, each
output equal to translate() of its input, nothing written over an input."""
import cv2
import numpy as np
import pytest
import torch

from cyclegan_plugin.apis import Translator, translate
from cyclegan_plugin.apis.files import (InputError, collect_inputs, output_path,
                                        translate_files, translate_video)
from cyclegan_plugin.io import BadImageError, read_image
from cyclegan_plugin.registry import MODELS

from .test_inference import SMALL_MODEL, synthetic


@pytest.fixture(scope='module')
def translator():
    torch.manual_seed(0)
    return Translator.from_model(MODELS.build(SMALL_MODEL).eval())


@pytest.fixture
def photos(tmp_path):
    """photos/a.png, photos/sub/b.jpg, a note and an unreadable .png."""
    root = tmp_path / 'photos'
    (root / 'sub').mkdir(parents=True)
    cv2.imwrite(str(root / 'a.png'), synthetic(36, 44, seed=1))
    cv2.imwrite(str(root / 'sub' / 'b.jpg'), synthetic(40, 40, seed=2))
    (root / 'notes.txt').write_text('not an image')
    (root / 'sub' / 'broken.png').write_bytes(b'\x89PNG not really')
    return root


def test_a_folder_is_translated_file_by_file_with_a_gallery(translator, photos, tmp_path):
    out = tmp_path / 'out'
    kind, items = collect_inputs(str(photos), str(out))
    assert kind == 'folder'
    assert [rel for _, rel in items] == ['a.png', 'sub/b.jpg', 'sub/broken.png']
    result = translate_files(translator, items, str(out), progress=False, gallery='photos')
    assert [rel for _, rel, _ in result.written] == ['a.png', 'sub/b.jpg']
    assert [err.path for err in result.skipped] == [str(photos / 'sub' / 'broken.png')]
    assert isinstance(result.skipped[0], BadImageError)
    for path, rel, written in result.written:
        assert written == output_path(str(out), rel)
        expected = translate(translator, read_image(path))
        if written.endswith('.png'):  # lossless: the very pixels
            np.testing.assert_array_equal(read_image(written), expected)
        else:
            assert read_image(written).shape == expected.shape
    assert 'sub/b.jpg' in (out / 'index.html').read_text()
    with pytest.raises(BadImageError, match='broken.png'):
        translate_files(translator, items, str(tmp_path / 'strict'), strict=True,
                        progress=False)


def test_a_glob_keeps_paths_below_its_fixed_part_and_ext_picks_the_format(translator, photos,
                                                                       tmp_path):
    out = tmp_path / 'out'
    kind, items = collect_inputs(str(photos / '**' / '*.jpg'), str(out))
    assert kind == 'glob' and [rel for _, rel in items] == ['sub/b.jpg']
    result = translate_files(translator, items, str(out), ext='png', progress=False)
    assert [w for _, _, w in result.written] == [str(out / 'sub' / 'b.png')]
    assert output_path(str(out), 'x.gif') == str(out / 'x.png')  # a format we cannot write


def test_inputs_are_never_overwritten(translator, photos, tmp_path):
    with pytest.raises(InputError, match='input folder'):
        collect_inputs(str(photos), str(photos))
    items = [(str(photos / 'a.png'), 'a.png')]
    with pytest.raises(InputError, match='overwrite inputs'):
        translate_files(translator, items, str(photos), progress=False)
    with pytest.raises(InputError, match='not found'):
        collect_inputs(str(tmp_path / 'missing'), str(tmp_path / 'out'))
    empty = tmp_path / 'empty'
    empty.mkdir()
    with pytest.raises(InputError, match='no images'):
        collect_inputs(str(empty), str(tmp_path / 'out'))


def test_a_video_keeps_its_frames_fps_and_size(translator, tmp_path):
    path = str(tmp_path / 'clip.avi')
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'MJPG'), 12.0, (44, 36))
    for seed in range(3):
        writer.write(synthetic(36, 44, seed=seed))
    writer.release()
    assert collect_inputs(path, str(tmp_path / 'out'))[0] == 'video'
    result = translate_video(translator, path, str(tmp_path / 'out'), progress=False)
    assert (result.frames, result.fps) == (3, 12.0)
    cap = cv2.VideoCapture(result.path)
    assert cap.get(cv2.CAP_PROP_FRAME_COUNT) == 3
    assert (cap.get(cv2.CAP_PROP_FRAME_WIDTH), cap.get(cv2.CAP_PROP_FRAME_HEIGHT)) == (44, 36)
    cap.release()
    assert sorted(p.name for p in (tmp_path / 'out').iterdir()) == ['clip.avi']  # no leftovers
