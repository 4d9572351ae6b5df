"""docs/tools.md documents every command-line tool in tools/ and every flag it takes (#16).

Each script of tools/ (but the ``_common.py`` library) needs a ``## tools/<name>`` section in
docs/tools.md, and each long flag in the tool's ``--help`` needs to appear in that section as
`` `--flag` ``. The flags of a Python tool come from its own argument parser, run in this
process with ``--help`` (no subprocess); those of a shell script from its ``--help`` output
when it handles ``--help``, else from its usage text.
"""
import argparse
import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT, TOOLS, load_tool

DOC = ROOT / 'docs' / 'tools.md'
LIBRARIES = {'_common.py'}  # imported by the tools, not run by a user
FLAG = re.compile(r'--[a-z][-a-z0-9_]*')
AUTOMATIC = {'--help'}  # argparse's own, in every Python tool (the doc says so once)


def tool_names():
    return sorted(p.name for p in TOOLS.iterdir()
                  if p.is_file() and p.suffix in ('.py', '.sh') and p.name not in LIBRARIES)


def doc_sections() -> dict:
    """heading -> body of every ``## `` section of docs/tools.md."""
    sections = {}
    for part in re.split(r'^## ', DOC.read_text(), flags=re.M)[1:]:
        heading, _, body = part.partition('\n')
        sections[heading.strip()] = body
    return sections


def python_tool_flags(name: str, capsys, monkeypatch) -> set:
    """The long flags of ``tools/<name>``'s ``--help``: its ``parse_args(['--help'])`` (or
    ``main(['--help'])`` where the parser is built in main) must print the help and exit 0.
    Only flags its parser defines count: a help text may mention another program's flag
    (benchmark.py names the reference's --num_threads)."""
    module = load_tool(name[:-len('.py')])
    entry = getattr(module, 'parse_args', None) or getattr(module, 'main')
    parsers = []
    original = argparse.ArgumentParser.parse_known_args

    def recording(self, *args, **kwargs):
        parsers.append(self)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(argparse.ArgumentParser, 'parse_known_args', recording)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        entry(['--help'])
    monkeypatch.undo()
    help_text = capsys.readouterr().out
    assert exit_info.value.code in (0, None), \
        f'tools/{name} --help exited {exit_info.value.code}'
    assert parsers, f'tools/{name}: no argparse parser ran for --help'
    defined = {option for parser in parsers for action in parser._actions
               if action.help is not argparse.SUPPRESS for option in action.option_strings}
    flags = set(FLAG.findall(help_text)) & defined
    assert flags >= {f for f in defined if FLAG.fullmatch(f)}, \
        f'tools/{name}: its --help does not list every flag its parser defines'
    return flags - AUTOMATIC


def shell_tool_flags(name: str) -> set:
    """A shell script's flags: its --help output when it handles --help, else the long flags
    of its usage text (the comment lines at its top and its usage lines)."""
    path = TOOLS / name
    text = path.read_text()
    if '"--help"' in text:
        proc = subprocess.run(['bash', str(path), '--help'], capture_output=True, text=True,
                              timeout=30, cwd=ROOT)
        assert proc.returncode == 0, f'tools/{name} --help exited {proc.returncode}'
        usage = proc.stdout + proc.stderr
    else:
        lines = text.splitlines()
        head = [line for line in lines[1:] if line.startswith('#')]
        usage = '\n'.join(head + [line for line in lines if 'usage' in line.lower()])
    return set(FLAG.findall(usage)) - AUTOMATIC


@pytest.mark.parametrize('name', tool_names())
def test_tool_flags_documented(name, capsys, monkeypatch):
    sections = doc_sections()
    heading = f'tools/{name}'
    if heading not in sections:
        pytest.fail(f'tools/{name} has no "## {heading}" section in docs/tools.md: document '
                    'it in docs/tools.md (what it is for, a usage line, a table of its flags)')
    if name.endswith('.py'):
        flags = python_tool_flags(name, capsys, monkeypatch)
    else:
        flags = shell_tool_flags(name)
    section = sections[heading]
    missing = sorted(f for f in flags if f'`{f}`' not in section)
    if missing:
        pytest.fail(f'tools/{name}: {", ".join(missing)} not in its "## {heading}" section: '
                    f'document it in docs/tools.md (a row `{missing[0]}` | default | what it '
                    'does, in its flag table)')
    # and the flag table names no flag the tool does not have (a renamed or removed one)
    rows = [line.split('|')[1] for line in section.splitlines()
            if line.startswith('|') and line.count('|') > 2]
    listed = {f for cell in rows for f in re.findall(r'`(--[a-z][-a-z0-9_]*)`', cell)}
    unknown = sorted(listed - flags - AUTOMATIC)
    if unknown:
        pytest.fail(f'tools/{name} has no {", ".join(unknown)}, yet the flag table of '
                    f'"## {heading}" in docs/tools.md lists it: fix docs/tools.md')


def test_doc_sections_name_existing_tools():
    sections = doc_sections()
    assert 'Conventions' in sections, 'docs/tools.md lost its "## Conventions" section'
    documented = {h[len('tools/'):] for h in sections if h.startswith('tools/')}
    gone = sorted(documented - set(tool_names()))
    if gone:
        pytest.fail(f'docs/tools.md has sections for {", ".join(gone)}, which are not in '
                    'tools/ (any more): remove or rename them in docs/tools.md')
