"""The house rules that code review alone would let slip: no import circle in the package, no
module over 400 lines, and workflow scripts that only wire Snakemake to the package."""

import ast
import re
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
        tree = ast.parse(path.read_text())
        type_only = {  # `if TYPE_CHECKING:` imports run for the type checker alone
            id(inner)
            for node in ast.walk(tree)
            if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING"
            for inner in ast.walk(node)
        }
        for node in ast.walk(tree):
            if id(node) in type_only:
                continue
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


def _docstrings(tree: ast.AST) -> set[int]:
    return {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }


def _path_spellings(text: str) -> list[str]:
    """Where ``text`` (a string of the code, an f-string's literal part) spells a workflow
    path: a folder the workflow writes under, or the name of one of its files."""
    from deepclust.paths import PATHS

    names = {Path(p).name for p in PATHS.values() if Path(p).suffix and p[-1] != "}"}
    names -= {"{dataset}.h5"}
    found = [root for root in ("results/", "data/processed", "data/raw") if root in text]
    found += [n for n in names if text == n or text.endswith(f"/{n}")]
    return found


def test_no_workflow_path_is_spelled_outside_paths():
    """``deepclust.paths`` is the one home of the workflow's paths: the rules, the package and
    the scripts take them from there (prose in docstrings and help texts aside)."""
    spelled = []
    files = [p for p in sorted(SRC.rglob("*.py")) if p.name != "paths.py"]
    for path in [*files, *sorted((REPO / "workflow" / "scripts").glob("*.py"))]:
        tree = ast.parse(path.read_text())
        docstrings = _docstrings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.JoinedStr):
                text = "".join(v.value for v in node.values if isinstance(v, ast.Constant))
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                if id(node) in docstrings:
                    continue
                text = node.value
            else:
                continue
            spelled += [
                f"{path.relative_to(REPO)}:{node.lineno}: {s}" for s in _path_spellings(text)
            ]
    for path in [REPO / "Snakefile", *sorted((REPO / "workflow" / "rules").glob("*.smk"))]:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#")[0]
            for text in re.findall(r'"([^"]*)"', code):
                spelled += [
                    f"{path.relative_to(REPO)}:{number}: {s}" for s in _path_spellings(text)
                ]
    assert spelled == []


def test_the_path_check_sees_a_path_spelled_in_code():
    assert _path_spellings("data/processed/{dataset}.h5") == ["data/processed"]
    assert _path_spellings(" the others are under results/") == ["results/"]
    assert _path_spellings("/labels.h5") == ["labels.h5"]
    assert _path_spellings("model.pt") == ["model.pt"]
    assert _path_spellings("no metrics.json under ") == []


def test_every_rule_writes_where_targets_says_and_logs_under_its_own_name():
    """A rule's outputs are entries of ``paths.PATHS``, its log and benchmark its entry of
    ``paths.JOB_FILES``; a rule outside that table, or an entry no rule uses, fails."""
    from deepclust.paths import JOB_FILES, PATHS

    text = "".join(p.read_text() for p in sorted((REPO / "workflow" / "rules").glob("*.smk")))
    blocks = dict(re.findall(r"^rule (\w+):\n(.*?)(?=^rule |\Z)", text, re.M | re.S))
    assert set(blocks) == set(JOB_FILES)
    used = set()
    for rule, body in blocks.items():
        sections = dict(re.findall(r"^    (\w+):\n((?:        .*\n|\n)*)", body, re.M))
        assert sections["log"].strip() == f'job_log("{rule}"),', rule
        assert sections["benchmark"].strip() == f'job_benchmark("{rule}"),', rule
        outputs = re.findall(r'PATHS\["(\w+)"\]', sections["output"])
        assert outputs, f"rule {rule}: an output not from paths.PATHS"
        assert set(outputs) <= set(PATHS), rule
        used |= set(outputs)
    assert used == set(PATHS) - {"checkpoint"}  # the checkpoint is a param: never deleted


def _method_modules() -> list[Path]:
    """Every module that implements a published method: the registered networks and clusterers,
    and what they are built from (UMAP, the kNN graph, the fusion GCN, the Gaussian code, the
    consensus over seeds)."""
    from deepclust.clustering import CLUSTERERS
    from deepclust.models import MODELS

    named = {t.split(":")[0] for t in [*MODELS.values(), *CLUSTERERS.values()]}
    named |= {f"deepclust.clustering.{m}" for m in ("manifold", "graph", "fusion_gcn", "consensus")}
    named.add("deepclust.models.gaussian")
    return sorted(SRC.joinpath(*m.split(".")).with_suffix(".py") for m in named)


def test_every_method_module_cites_its_papers_in_full():
    """A reader can find each paper from the docstring alone: a References section whose every
    entry names a venue and a year (or says that the paper's text carries none), and official
    code as a repository address."""
    modules = _method_modules()
    assert len(modules) >= 16
    for path in modules:
        doc = ast.get_docstring(ast.parse(path.read_text())) or ""
        assert "\nReferences\n----------\n" in doc, f"{path.name}: no References section"
        section = doc.split("\nReferences\n----------\n")[1]
        entries = section.split("\n- ")
        assert entries[0].startswith("- "), f"{path.name}: references are a list"
        for entry in (" ".join(e.split()) for e in entries):
            assert re.search(r"\b(19|20)\d\d\b", entry) or "no author, venue or year" in entry, (
                f"{path.name}: {entry!r} has no year"
            )
        for code in re.findall(r"Code: (\S+)", section):
            assert re.fullmatch(r"github\.com/[\w.-]+/[\w.-]+\.?", code), f"{path.name}: {code}"


def test_no_reference_points_outside_the_repository():
    """The papers' texts and the team's notes are not in the repository: nothing a user reads
    may send them there (docs/history.md is the record typed before the ledger, kept as it was)."""
    outside = re.compile(r"shared/papers|METHODS\.md|FIELD-NOTES|STYLE\.md")
    texts = [*SRC.rglob("*.py"), *(REPO / "workflow").rglob("*.*"), REPO / "README.md"]
    texts += [p for p in (REPO / "docs").rglob("*.md") if p.name != "history.md"]
    found = [
        str(p.relative_to(REPO))
        for p in texts
        if p.suffix in {".py", ".md", ".yaml", ".smk", ".csv"} and outside.search(p.read_text())
    ]
    assert found == []
