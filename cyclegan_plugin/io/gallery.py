"""The one HTML gallery writer: a static table of image files, one row per image."""
import html
import os
import urllib.parse
from typing import Mapping, Sequence

from .files import atomic_write


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
