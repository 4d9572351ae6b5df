"""Write our configs in MMEngine's pure-Python style, from the text-style ones in configs/.

    python tools/make_py_configs.py [--check]

configs/ (text style, ``_base_ = [...]``) is the one source of truth; this writes the same
configs to cyclegan_plugin/configs/ in the pure-Python style that MMDetection 3.x and MMPretrain
ship, so that any host config can say, with no prior import and no patch::

    from mmengine.config import read_base
    with read_base():
        from cyclegan_plugin.configs.cyclegan_horse2zebra import *

Each file is translated, not flattened: its comments and expressions are kept, ``_base_``
becomes a ``with read_base():`` block of relative imports, and a dict assigned to a name that a
base defines becomes ``name.merge(...)`` (text-style configs merge such dicts into the base's;
pure-Python assignment would replace them). ``--check`` writes nothing and exits 1 naming any
file that is missing or differs (the tests run it).
"""
import argparse
import ast
import os
import os.path as osp
import sys

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
SOURCE = osp.join(REPO, 'configs')
TARGET = osp.join(REPO, 'cyclegan_plugin', 'configs')
HEADER = ('# Generated from configs/{rel} by tools/make_py_configs.py:\n'
          '# edit that file and run the tool again (the tests check that both agree).\n')


def _sources():
    """Relative paths of every text-style config, sorted."""
    found = []
    for folder, _, names in os.walk(SOURCE):
        for name in names:
            if name.endswith('.py'):
                found.append(osp.relpath(osp.join(folder, name), SOURCE))
    return sorted(found)


def _base_names(rel: str, bases) -> set:
    """Every top-level name the bases of ``rel`` define (their own bases included)."""
    names = set()
    for base in bases:
        path = osp.normpath(osp.join(osp.dirname(rel), base))
        tree = ast.parse(open(osp.join(SOURCE, path)).read())
        names |= {t.id for node in tree.body if isinstance(node, ast.Assign)
                  for t in node.targets if isinstance(t, ast.Name)} - {'_base_'}
        names |= _base_names(path, _bases(tree))
    return names


def _bases(tree) -> list:
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name) and node.targets[0].id == '_base_'):
            value = ast.literal_eval(node.value)
            return [value] if isinstance(value, str) else list(value)
    return []


def _module(rel_from: str, base: str) -> str:
    """The relative import that reaches text-style ``base`` from the file ``rel_from``."""
    target = osp.normpath(osp.join(osp.dirname(rel_from), base))
    up = osp.relpath(osp.dirname(target) or '.', osp.dirname(rel_from) or '.')
    parts = [] if up == '.' else up.split(os.sep)
    dots = 1 + sum(1 for p in parts if p == '..')
    names = [p for p in parts if p != '..'] + [osp.splitext(osp.basename(target))[0]]
    return '.' * dots + '.'.join(names)


def translate(rel: str) -> str:
    """The pure-Python text of the text-style config ``configs/<rel>``."""
    text = open(osp.join(SOURCE, rel)).read()
    lines = text.splitlines(keepends=True)
    tree = ast.parse(text)
    bases = _bases(tree)
    inherited = _base_names(rel, bases)
    edits = []  # (first line, last line, replacement), 1-based and inclusive
    for node in tree.body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)):
            continue
        name = node.targets[0].id
        if name == '_base_':
            imports = ''.join(f'    from {_module(rel, b)} import *  # noqa: F401,F403\n'
                              for b in bases)
            edits.append((node.lineno, node.end_lineno, 'with read_base():\n' + imports + '\n'))
        elif name in inherited and isinstance(node.value, ast.Call) and getattr(
                node.value.func, 'id', None) == 'dict':
            value = ast.get_source_segment(text, node.value)
            edits.append((node.lineno, node.end_lineno, f'{name}.merge({value})\n'))
    for first, last, new in sorted(edits, reverse=True):
        lines[first - 1:last] = [new]
    body = ''.join(lines)
    if bases:
        body = _after_leading_comments(body, 'from mmengine.config import read_base\n\n')
    return HEADER.format(rel=rel.replace(os.sep, '/')) + body


def _after_leading_comments(body: str, insert: str) -> str:
    lines = body.splitlines(keepends=True)
    i = 0
    while i < len(lines) and lines[i].startswith('#'):
        i += 1
    return ''.join(lines[:i] + [insert] + lines[i:])


def expected_files() -> dict:
    """{path under cyclegan_plugin/configs: text} of every generated file, __init__ files
    included (they make the folders packages that setuptools installs)."""
    files = {}
    for rel in _sources():
        files[rel] = translate(rel)
        folder = osp.dirname(rel)
        while True:
            init = osp.join(folder, '__init__.py')
            files.setdefault(init, '"""Our configs in MMEngine\'s pure-Python style '
                                   '(generated by tools/make_py_configs.py)."""\n')
            if not folder:
                break
            folder = osp.dirname(folder)
    return files


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--check', action='store_true',
                        help='write nothing; exit 1 if a generated file is missing or differs')
    args = parser.parse_args(argv)
    stale = []
    for rel, text in expected_files().items():
        path = osp.join(TARGET, rel)
        current = open(path).read() if osp.isfile(path) else None
        if current == text:
            continue
        stale.append(rel)
        if not args.check:
            os.makedirs(osp.dirname(path), exist_ok=True)
            with open(path, 'w') as f:
                f.write(text)
    if args.check and stale:
        print('cyclegan_plugin/configs is out of date with configs/ for: ' + ', '.join(stale)
              + '\nrun: python tools/make_py_configs.py', file=sys.stderr)
        return 1
    if not args.check:
        print(f'wrote {len(stale)} file(s) to {TARGET}' if stale else 'up to date')
    return 0


if __name__ == '__main__':
    sys.exit(main())
