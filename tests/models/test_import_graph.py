"""No import cycle between modules of the ``models`` package, function-level imports included.

A cycle that only works because one side imports inside a function is still a cycle: the two modules
cannot be understood, tested or moved apart. Imports under ``if TYPE_CHECKING:`` count too. What does
not count: a submodule's implicit import of its parent package, and modules named in strings
(``"module:function"`` builders, the adapter table), which are plugins loaded by name.
"""

from __future__ import annotations

import ast
from pathlib import Path

import models


def module_names(root: Path, package: str) -> dict[str, Path]:
    """Dotted name → file, for every module of ``package`` (whose directory is ``root``)."""
    names = {}
    for path in sorted(root.rglob("*.py")):
        parts = [package, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool, modules: set[str]) -> set[str]:
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names} & modules
    base = node.module or ""
    if node.level:  # relative: resolved against the importing module's package
        anchor = module.split(".") if is_package else module.split(".")[:-1]
        anchor = anchor[: len(anchor) - (node.level - 1)]
        base = ".".join([*anchor, node.module] if node.module else anchor)
    # `from pkg import name` imports the submodule pkg.name when there is one, else a name of pkg itself.
    return {f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names} & modules


def import_graph(root: Path, package: str) -> dict[str, set[str]]:
    """Module → the modules of the same package it imports anywhere in its source."""
    modules = module_names(root, package)
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                targets |= _targets(node, module, path.name == "__init__.py", set(modules))
        graph[module] = targets - {module}
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One path ``[a, b, ..., a]`` per cycle found by a depth-first search (empty when acyclic)."""
    cycles, done, stack = [], set(), []

    def visit(node: str) -> None:
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if target in stack:
                cycles.append([*stack[stack.index(target) :], target])
            elif target not in done:
                visit(target)
        stack.pop()
        done.add(node)

    for node in sorted(graph):
        if node not in done:
            visit(node)
    return cycles


def test_models_package_has_no_import_cycle():
    root = Path(models.__file__).parent
    graph = import_graph(root, "models")
    assert {"models", "models.entry", "models.prepare", "models.frameworks.torch_fw"} <= set(graph)
    assert "models.definition" in graph["models.frameworks.torch_fw"]  # edges are found at all
    cycles = find_cycles(graph)
    assert not cycles, "import cycles in models/: " + "; ".join(" -> ".join(c) for c in cycles)


def test_the_check_sees_function_level_and_relative_imports(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("import os\nfrom pkg import b\n")
    (pkg / "b.py").write_text("def late():\n    from .sub import c\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import pkg.a\n")
    graph = import_graph(pkg, "pkg")
    assert graph["pkg.a"] == {"pkg.b"} and graph["pkg.b"] == {"pkg.sub.c"} and graph["pkg.sub.c"] == {"pkg.a"}
    assert find_cycles(graph) == [["pkg.a", "pkg.b", "pkg.sub.c", "pkg.a"]]
    (pkg / "sub" / "c.py").write_text("X = 1\n")
    assert find_cycles(import_graph(pkg, "pkg")) == []
