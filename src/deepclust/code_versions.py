"""Which code a result depends on, and when a change to it reruns the result.

Snakemake's own ``code`` trigger reruns a script rule whenever the script's *modification time*
is newer than its outputs: a ``touch`` or a ``git checkout`` that rewrites a file unchanged
retrains every network, while a fix inside the package (which is not the script) reruns
nothing. The workflow's default profile (``profiles/default``) therefore leaves that trigger
out, and the results' dependence on code is said here instead:

- :data:`STAGES` names, per stage, its entry module (the ``stages`` module its rule's script
  calls); the stage's code is every package module reachable from it (:func:`stage_modules`),
  read from the syntax trees: imports, at module level or inside functions, with the packages'
  ``__init__`` they run, and the ``"deepclust.x.y:Name"`` strings of the registries (:data:`deepclust.models.MODELS`,
  :data:`deepclust.clustering.CLUSTERERS`), which import their classes on first use. A new
  model or clusterer module, or a helper a stage imports, is covered without editing a list;
- ``code_versions.json`` records, per stage, a ``version`` and the ``fingerprint`` of those
  modules: a hash of their syntax trees without docstrings, so a comment, a docstring or a
  reformatting leaves it unchanged;
- a rule's params carry ``code_version`` once a stage's version is above 1, so raising it
  reruns that stage and what follows, and nothing else.

A test fails when a fingerprint no longer matches the code: whoever changed the code then
decides. A change that alters results raises the version (``python -m deepclust.code_versions
--bump STAGE``); a refactor only records the new fingerprint (``--record``) and reruns nothing.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
from functools import cache
from pathlib import Path

from deepclust import cli

PACKAGE = Path(__file__).resolve().parent
VERSIONS = PACKAGE / "code_versions.json"
#: per stage (a rule, or the rules sharing a config section's params), the module, relative to
#: the package, that its rule's script calls; what that module reaches is the stage's code
STAGES: dict[str, tuple[str, ...]] = {
    "preprocess": ("stages/data.py",),
    "pretrain": ("stages/pretrain.py",),
    "features": ("stages/pretrain.py",),
    "manifold": ("stages/cluster.py",),
    "cluster": ("stages/cluster.py",),
    "refine": ("stages/cluster.py",),
}


def _module_file(dotted: str, package: Path) -> Path | None:
    """The file of module ``dotted`` (``deepclust.a.b``) under ``package``, or ``None`` when it
    names no module there (another package, or an attribute such as a class)."""
    parts = dotted.split(".")
    if parts[0] != package.name:
        return None
    base = package.joinpath(*parts[1:])
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _dotted(path: Path, package: Path) -> str:
    parts = [package.name, *path.relative_to(package).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _lazy_exports(init: Path) -> dict[str, str]:
    """A package face's ``_EXPORTS`` (name -> the module that defines it, imported on first
    use, PEP 562), or nothing."""
    for node in ast.parse(init.read_text(), filename=str(init)).body:
        if (
            isinstance(node, ast.Assign)
            and any(getattr(t, "id", None) == "_EXPORTS" for t in node.targets)
            and isinstance(node.value, ast.Dict)
        ):
            return {
                k.value: v.value
                for k, v in zip(node.value.keys, node.value.values, strict=True)
                if isinstance(k, ast.Constant) and isinstance(v, ast.Constant)
            }
    return {}


def _imported(path: Path, package: Path) -> set[Path]:
    """The package modules that ``path`` imports, anywhere in its code (a name taken from a
    package's lazy face: the module that defines it), or names as a registry's
    ``"package.module:Name"`` string; each with the packages above it, whose ``__init__`` runs
    on import."""
    here = _dotted(path, package).split(".")
    if path.name != "__init__.py":
        here = here[:-1]  # the package a relative import starts from
    names: set[str] = set()
    registry = re.compile(rf"{re.escape(package.name)}(\.\w+)+:\w+")
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(here[: len(here) - node.level + 1] + ([base] if base else []))
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
            face = _module_file(base, package)  # a name a package's face loads on first use
            if face is not None and face.name == "__init__.py":
                lazy = _lazy_exports(face)
                names.update(lazy[a.name] for a in node.names if a.name in lazy)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if registry.fullmatch(node.value):
                names.add(node.value.split(":")[0])
    found: set[Path] = set()
    for name in names:
        parts = name.split(".")
        for end in range(1, len(parts) + 1):
            if (module := _module_file(".".join(parts[:end]), package)) is not None:
                found.add(module)
    return found


def stage_modules(stage: str, package: Path = PACKAGE) -> list[str]:
    """The modules (relative to the package) whose code computes ``stage``'s results: its entry
    modules and every package module they reach by import, sorted."""
    todo = [package / entry for entry in STAGES[stage]]
    missing = [str(p.relative_to(package)) for p in todo if not p.is_file()]
    if missing:
        raise ValueError(f"stage {stage!r}: no module {missing} in {package}")
    for entry in list(todo):  # the packages above an entry run their __init__ on its import
        parts = _dotted(entry, package).split(".")
        todo += [
            p for end in range(1, len(parts)) if (p := _module_file(".".join(parts[:end]), package))
        ]
    seen: set[Path] = set()
    while todo:
        path = todo.pop()
        if path not in seen:
            seen.add(path)
            todo.extend(_imported(path, package) - seen)
    return sorted(str(p.relative_to(package)) for p in seen)


def _without_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            node.body = body[1:] or [ast.Pass()]
    return tree


def fingerprint(stage: str, package: Path = PACKAGE) -> str:
    """A hash of the syntax trees (docstrings dropped) of ``stage``'s modules (:func:`stage_modules`)."""
    digest = hashlib.sha256()
    for name in stage_modules(stage, package):
        path = package / name
        tree = _without_docstrings(ast.parse(path.read_text(), filename=str(path)))
        digest.update(name.encode() + b"\0")
        digest.update(ast.dump(tree, annotate_fields=False, include_attributes=False).encode())
    return digest.hexdigest()[:16]


@cache
def recorded() -> dict[str, dict]:
    """``{stage: {"version", "fingerprint"}}`` as committed (none before the first record)."""
    return json.loads(VERSIONS.read_text()) if VERSIONS.exists() else {}


def version(stage: str) -> int:
    """The committed version of ``stage``'s code (1 until a change altered its results)."""
    return int(recorded().get(stage, {}).get("version", 1))


def stale() -> list[str]:
    """The stages whose code no longer matches its recorded fingerprint."""
    return [s for s in STAGES if recorded().get(s, {}).get("fingerprint") != fingerprint(s)]


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser("python -m deepclust.code_versions", __doc__)
    parser.add_argument("--record", action="store_true", help="record today's fingerprints")
    parser.add_argument("--bump", nargs="+", default=[], metavar="STAGE", help="raise versions")
    args = parser.parse_args(argv)

    def body() -> int:
        versions = {s: dict(recorded().get(s, {"version": 1})) for s in STAGES}
        unknown = sorted(set(args.bump) - set(STAGES))
        if unknown:
            raise ValueError(f"unknown stage(s) {unknown}; stages: {', '.join(STAGES)}")
        for stage in args.bump:
            versions[stage]["version"] += 1
        if args.record or args.bump:
            for stage in STAGES:
                versions[stage]["fingerprint"] = fingerprint(stage)
            VERSIONS.write_text(json.dumps(versions, indent=2) + "\n")
            recorded.cache_clear()
        for stage in STAGES:
            mark = "changed since recorded" if stage in stale() else "as recorded"
            print(f"{stage}: version {versions[stage]['version']}, code {mark}")
        return 1 if stale() else 0

    return cli.run(parser, body)


if __name__ == "__main__":
    raise SystemExit(main())
