"""plusn's modules import one another without circles, counting every import: module-level,
inside functions and under TYPE_CHECKING (a circle hidden there still ties the modules up)."""

from __future__ import annotations

import ast
from pathlib import Path

import plusn

ROOT = Path(plusn.__file__).parent


def _modules() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _targets(module: str, node: ast.Import | ast.ImportFrom, is_package: bool, known: set[str]) -> list[str]:
    """The plusn modules an import statement names (a name imported from a package counts as its
    submodule when there is one)."""
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    else:
        base = module.split(".") if is_package else module.split(".")[:-1]
        if node.level:
            base = base[:len(base) - (node.level - 1)]
            target = ".".join(base + ([node.module] if node.module else []))
        else:
            target = node.module or ""
        names = [f"{target}.{a.name}" if f"{target}.{a.name}" in known else target for a in node.names]
    out = []
    for name in names:
        while name and name not in known:
            name = name.rpartition(".")[0]
        if name.startswith("plusn") and name != module:
            out.append(name)
    return out


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for module, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import | ast.ImportFrom):
                graph[module].update(_targets(module, node, path.name == "__init__.py", set(modules)))
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
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
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_the_walker_finds_a_circle_through_a_function_level_import() -> None:
    graph = {"plusn.a": {"plusn.b"}, "plusn.b": {"plusn.c"}, "plusn.c": {"plusn.a"}, "plusn.d": {"plusn.a"}}
    assert circles(graph) == [["plusn.a", "plusn.b", "plusn.c"]]
    tree = ast.parse("def f():\n    from ..fleet import base\n")
    node = next(n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom))
    assert _targets("plusn.routing.build", node, False, {"plusn.fleet", "plusn.fleet.base"}) == ["plusn.fleet.base"]


def test_plusn_has_no_import_circles() -> None:
    graph = import_graph()
    assert "plusn.fleet.backend" in graph["plusn.assemble"]
    assert circles(graph) == []
