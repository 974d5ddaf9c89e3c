"""The package is layered: no module imports, directly or through others, a module that imports it."""

from __future__ import annotations

import ast
from pathlib import Path

import descriptor_pipeline

PACKAGE = Path(descriptor_pipeline.__file__).parent


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports() -> dict[str, set[str]]:
    """Module -> the descriptor_pipeline modules it imports (at any level of the file, lazy ones too)."""
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py") if "_workflow" not in p.parts}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.ImportFrom):  # relative: from the module's package, level - 1 up
                package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
                base = ".".join(package[: len(package) - (node.level - 1)])
                first = f"{base}.{node.module}" if node.module else base
                targets = [first] + [f"{first}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            found.update(t for t in targets if t in modules and t != name)
        graph[name] = found
    return graph


def test_no_import_cycle() -> None:
    graph = imports()
    assert len(graph) > 20
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                raise AssertionError("import cycle: " + " -> ".join(stack[stack.index(nxt):] + [nxt]))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)


def test_the_low_layers_import_nothing_above_them() -> None:
    graph = imports()
    low = {"descriptor_pipeline.errors": set(), "descriptor_pipeline.layout": {"descriptor_pipeline.errors"},
           "descriptor_pipeline.io": {"descriptor_pipeline.errors"}}
    for name, allowed in low.items():
        assert graph[name] <= allowed, (name, graph[name])
    assert "descriptor_pipeline.cli" not in set().union(*graph.values())  # nothing imports the command line
