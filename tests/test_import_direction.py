"""Dependencies point one way: ``bench -> export -> runtime -> ssr core -> data_tools -> _native``.

Every static import in the package sources (``import x``, ``from x import y``, relative
ones resolved, including imports inside functions) is checked against that order. The
``ssr`` CLI dispatcher (``ssr/cli.py``) names command modules as strings and is the one
place allowed to reach every layer.

Inside ``data_tools`` the imports form no cycle either (:func:`test_data_tools_has_no_import_cycle`):
no module imports, at the top or lazily inside a function, a module that imports it back,
directly or through others. (A package's ``__init__`` running before its submodules is
Python's own order, not an edge.)
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {"data_tools": "ssr.data_tools", "runtime": "ssr.runtime", "export": "ssr.export", "bench": "ssr.bench", "ssr": "ssr"}
RANK = {"ssr._native": 0, "ssr.data_tools": 1, "ssr": 2, "ssr.runtime": 3, "ssr.export": 4, "ssr.bench": 5}
ALLOWED_EVERYWHERE = {"ssr/cli.py"}


def _layer(module: str) -> str | None:
    if module != "ssr" and not module.startswith("ssr."):
        return None
    for prefix in ("ssr._native", "ssr.data_tools", "ssr.runtime", "ssr.export", "ssr.bench"):
        if module == prefix or module.startswith(prefix + "."):
            return prefix
    return "ssr"


def _sources() -> list[tuple[Path, str]]:
    found = []
    for folder, package in FOLDERS.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            relative = path.relative_to(ROOT / folder).with_suffix("")
            parts = [p for p in relative.parts if p != "__init__"]
            module = ".".join([package, *parts])
            if folder == "ssr" and parts and parts[0] in ("data_tools", "runtime", "export", "bench"):
                continue
            found.append((path, module if path.name != "__init__.py" else module))
    return found


def _imports(path: Path, module: str) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), str(path))
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            # `from ssr import _native` imports a submodule, `from x import name` an attribute
            # of x: both belong to the layer of `x.name`
            names += [(node.lineno, f"{target}.{alias.name}") for alias in node.names]
    return names


def test_imports_point_down_the_layers() -> None:
    violations = []
    for path, module in _sources():
        rel = path.relative_to(ROOT).as_posix()
        if rel in ALLOWED_EVERYWHERE:
            continue
        own = _layer(module)
        for line, target in _imports(path, module):
            layer = _layer(target)
            if layer is None or layer == own:
                continue
            if RANK[layer] > RANK[own]:
                violations.append(f"{rel}:{line} ({own}) imports {target} ({layer})")
    assert not violations, "imports against the layer order:\n" + "\n".join(violations)


def test_the_checker_sees_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from ssr.runtime.stream import FrameStream\n    from . import format\n")
    found = _imports(bad, "ssr.data_tools.bad")
    assert (2, "ssr.runtime.stream.FrameStream") in found and (3, "ssr.data_tools.format") in found
    with pytest.raises(AssertionError):
        assert RANK[_layer("ssr.runtime.stream")] <= RANK[_layer("ssr.data_tools.bad")]


def _module_graph(prefix: str) -> dict[str, dict[str, int]]:
    """``module -> {imported module: first line}`` over the sources of ``prefix`` (an import
    of a name resolves to the module that defines it: ``from .format import X`` is an edge to
    ``format``, ``from . import format`` too)."""
    modules = {module: path for path, module in _sources() if module == prefix or module.startswith(prefix + ".")}

    def resolve(target: str) -> str | None:
        while target and target not in modules:
            target = target.rpartition(".")[0]
        return target or None

    graph: dict[str, dict[str, int]] = {}
    for module, path in modules.items():
        edges = graph.setdefault(module, {})
        for line, target in _imports(path, module):
            found = resolve(target)
            if found is not None and found != module:
                edges.setdefault(found, line)
    return graph


def _cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """The import cycles of ``graph``: one list of modules per strongly connected component
    of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph.get(node, {}):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
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


def test_data_tools_has_no_import_cycle() -> None:
    graph = _module_graph("ssr.data_tools")
    assert "ssr.data_tools.format" in graph and "ssr.data_tools.exr" in graph
    problems = []
    for component in _cycles(graph):
        edges = [f"{a} imports {b} (line {graph[a][b]})" for a in component for b in component if b in graph[a]]
        problems.append(" <-> ".join(component) + ":\n    " + "\n    ".join(edges))
    assert not problems, "import cycles in data_tools:\n" + "\n".join(problems)


def test_the_cycle_check_sees_a_cycle(tmp_path: Path) -> None:
    """A lazy import inside a function counts: a <-> b, and a three-module loop, are found."""
    a = tmp_path / "a.py"
    a.write_text("from .b import thing\n")
    b = tmp_path / "b.py"
    b.write_text("def f():\n    from .a import other\n")
    assert (2, "ssr.data_tools.a.other") in _imports(b, "ssr.data_tools.b")
    assert _cycles({"a": {"b": 1}, "b": {"a": 2}, "c": {"a": 1}}) == [["a", "b"]]
    assert _cycles({"x": {"y": 1}, "y": {"z": 1}, "z": {"x": 1}}) == [["x", "y", "z"]]
    assert _cycles({"x": {"y": 1}, "y": {}}) == []
