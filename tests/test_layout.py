"""The house rules that code review alone would let slip: no import circle in the package, no
module over 400 lines, and workflow scripts that only wire Snakemake to the package."""

import ast
from pathlib import Path

from conftest import REPO

SRC = REPO / "src"
MAX_LINES = 400


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(SRC.rglob("*.py"))}


def import_graph() -> dict[str, set[str]]:
    """Module -> the package modules it imports anywhere in its body (a function-level import
    closes a circle as surely as a top-level one, only later)."""
    modules = _modules()
    graph = {}
    for name, path in modules.items():
        edges = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                # `from pkg import sub` imports the submodule when there is one
                targets = [
                    f"{node.module}.{a.name}"
                    if f"{node.module}.{a.name}" in modules
                    else node.module
                    for a in node.names
                ]
            else:
                continue
            edges |= {t for t in targets if t in modules and t != name}
        graph[name] = edges
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node):
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_find_cycle_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_circle_in_the_package():
    graph = import_graph()
    assert "deepclust.stages.cluster" in graph and "deepclust.tables" in graph
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


def test_no_module_over_400_lines():
    sizes = {name: len(p.read_text().splitlines()) for name, p in _modules().items()}
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}


def test_workflow_scripts_only_wire_snakemake_to_the_package():
    """Heavy logic lives in the package: a script has no function or class of its own and
    imports only from deepclust (and the standard library)."""
    for script in sorted((REPO / "workflow" / "scripts").glob("*.py")):
        tree = ast.parse(script.read_text())
        defined = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
        assert not defined, f"{script.name}: defines {[n.name for n in defined]}"
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                root = node.module.split(".")[0]
                assert root == "deepclust" or root in {"json", "glob", "pathlib"}, script.name
