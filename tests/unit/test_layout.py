"""mirror/ stays a stack of stages (docs/layout.md): no module imports itself back through
others, and no import of mirror's own modules hides inside a function to dodge a circle."""

import ast
from pathlib import Path

MIRROR = Path(__file__).resolve().parents[2] / "mirror"


def _modules() -> dict[str, Path]:
    found = {}
    for path in MIRROR.rglob("*.py"):
        parts = path.relative_to(MIRROR.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _targets(node: ast.AST, modules: dict[str, Path]) -> list[str]:
    """The mirror modules one import statement loads (from mirror.x import y: mirror.x.y when it is a module)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names if alias.name in modules]
    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and node.module in modules:
        subs = [f"{node.module}.{alias.name}" for alias in node.names if f"{node.module}.{alias.name}" in modules]
        return subs or [node.module]
    return []


def _module_level(tree: ast.Module):
    """Statements that run when the module is imported: the top level and its if/try blocks, not defs."""
    todo = list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        yield node
        for field in ("body", "orelse", "finalbody", "handlers"):
            todo += [n for n in getattr(node, field, []) if isinstance(n, ast.AST)]


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    graph = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(), str(path))
        graph[name] = {t for node in _module_level(tree) for t in _targets(node, modules)} - {name}
    return graph


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_graph_is_read():
    """Guards the checks below against reading nothing: known edges of the build are seen."""
    graph = _graph()
    assert "mirror.resolve.pins" in graph["mirror.resolve.lock"]
    assert "mirror.upstream.simple" in graph["mirror.upstream.upstream"]  # from mirror.upstream import simple
    assert "mirror.errors" in graph["mirror.settings"]


def test_no_module_level_import_circle_in_mirror():
    assert _circles(_graph()) == []


def test_the_circle_finder_finds_one():
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_function_level_import_of_mirror_modules():
    """A late import of the project's own code is how a circle hides; third-party ones may be late
    for a reason given beside them (an optional, heavy dependency)."""
    modules = _modules()
    late = []
    for name, path in modules.items():
        tree = ast.parse(path.read_text(), str(path))
        top = {id(node) for node in _module_level(tree)}
        for node in ast.walk(tree):
            if id(node) not in top and _targets(node, modules):
                late.append(f"{path.relative_to(MIRROR.parent)}:{node.lineno}")
    assert late == []
