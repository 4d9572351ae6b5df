"""The visualisation grid puts every image where the reference's page does."""
import torch

from cyclegan_plugin.engine import translation_grid

NAMES = ['real_A', 'fake_B', 'rec_A', 'idt_B', 'real_B', 'fake_A', 'rec_B', 'idt_A']


def tiles(names, size=4):
    return {n: torch.full((3, size, size), 10 * i, dtype=torch.uint8) for i, n in enumerate(names)}


def test_grid_layout_with_and_without_identity_images():
    grid = translation_grid(tiles(NAMES))
    assert grid.shape == (8, 16, 3)
    for i, name in enumerate(NAMES):
        row, col = divmod(i, 4)
        assert (grid[row * 4:(row + 1) * 4, col * 4:(col + 1) * 4] == 10 * i).all(), name
    no_idt = [n for n in NAMES if not n.startswith('idt')]
    grid = translation_grid({n: t for n, t in tiles(NAMES).items() if n in no_idt})
    assert grid.shape == (8, 12, 3)
    assert (grid[4:, 8:] == 10 * NAMES.index('rec_B')).all()
