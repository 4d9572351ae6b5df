"""The one gallery writer: a static HTML table of image files, one row per image, and a
PNG preview of its first rows (for a README or a report)."""
import html
import os
import urllib.parse
from typing import Mapping, Sequence

import numpy as np

from .files import atomic_write
from .images import encode_png


def write_gallery(path: str, rows: Sequence[Mapping[str, str]], columns: Sequence[str],
                  title: str = 'translations') -> str:
    """``path`` (an index.html): a table with one row per item and one column per name in
    ``columns``; each cell shows the image file ``row[column]`` (a path relative to the
    page's folder) with its path under it, empty where the row has no such image. Written
    whole or not at all; returns ``path``."""
    lines = ['<!DOCTYPE html>', '<html><head><meta charset="utf-8">',
             f'<title>{html.escape(title)}</title>',
             '<style>body{font-family:sans-serif} td{text-align:center;padding:4px;'
             'vertical-align:top} img{width:256px;image-rendering:pixelated}</style></head>'
             '<body>', f'<h1>{html.escape(title)}</h1>', '<table>',
             '<tr>' + ''.join(f'<th>{html.escape(c)}</th>' for c in columns) + '</tr>']
    for row in rows:
        cells = []
        for c in columns:
            if c in row:
                rel = str(row[c]).replace(os.sep, '/')
                src = html.escape(urllib.parse.quote(rel))
                cells.append(f'<td><a href="{src}"><img src="{src}"></a><br>'
                             f'{html.escape(rel)}</td>')
            else:
                cells.append('<td></td>')
        lines.append('<tr>' + ''.join(cells) + '</tr>')
    lines += ['</table>', '</body></html>']
    atomic_write(path, '\n'.join(lines).encode('utf-8'))
    return path


def write_preview(path: str, rows: Sequence[Mapping[str, np.ndarray]], columns: Sequence[str],
                  min_width: int = 768) -> str:
    """``path`` (a PNG): the HxWx3 uint8 images ``row[column]`` side by side, one row under
    the other, enlarged by a whole factor (nearest neighbour: every pixel stays visible) to
    at least ``min_width`` pixels; black where a row has no such image."""
    h, w = next(iter(rows[0].values())).shape[:2]
    grid = np.zeros((len(rows) * h, len(columns) * w, 3), np.uint8)
    for i, row in enumerate(rows):
        for j, column in enumerate(columns):
            if column in row and row[column].shape[:2] == (h, w):
                grid[i * h:(i + 1) * h, j * w:(j + 1) * w] = row[column]
    scale = max(1, -(-min_width // grid.shape[1]))
    grid = grid.repeat(scale, 0).repeat(scale, 1)
    atomic_write(path, encode_png(grid))
    return path
