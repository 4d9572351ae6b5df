"""The package's module-level imports form no cycle: each module can be read, and changed,
from its imports down. A module importing its own parent packages is Python's own order (a
package's __init__ runs before its modules), not a cycle; imports inside functions are not
counted (they run after every module has loaded)."""
import ast

from .conftest import ROOT

PACKAGE = ROOT / 'cyclegan_plugin'


def module_graph():
    """{module: {modules it imports at module level}} for every module of the package but
    the generated configs."""
    modules = {}
    for path in PACKAGE.rglob('*.py'):
        rel = path.relative_to(PACKAGE.parent).with_suffix('')
        if rel.parts[1:2] in (('configs',), ('.mim',)):
            continue
        is_package = rel.name == '__init__'
        modules['.'.join(rel.parts[:-1] if is_package else rel.parts)] = (path, is_package)

    def known(name):
        while name and name not in modules:
            name = name.rpartition('.')[0]
        return name

    graph = {}
    for name, (path, is_package) in modules.items():
        here = name.split('.') if is_package else name.split('.')[:-1]
        targets = set()
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ''
                if node.level:
                    parts = here[:len(here) - node.level + 1]
                    base = '.'.join(parts + ([node.module] if node.module else []))
                targets.update([base] + [f'{base}.{alias.name}' for alias in node.names])
        graph[name] = {t for t in map(known, targets)
                       if t and t != name and not name.startswith(t + '.')}
    return graph


def cycles(graph):
    """The strongly connected parts of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            part = []
            while not part or part[-1] != v:
                part.append(stack.pop())
                on_stack.discard(part[-1])
            if len(part) > 1:
                found.append(sorted(part))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_the_import_graph_has_no_cycle():
    graph = module_graph()
    assert len(graph) > 40 and 'cyclegan_plugin.models.cyclegan' in graph
    assert 'cyclegan_plugin.registry' in graph['cyclegan_plugin.models.cyclegan']
    assert cycles(graph) == []


def test_a_cycle_would_be_found():
    assert cycles({'a': {'b'}, 'b': {'c'}, 'c': {'a'}, 'd': {'a'}}) == [['a', 'b', 'c']]
