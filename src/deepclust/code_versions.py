"""Which code a result depends on, and when a change to it reruns the result.

Snakemake's own ``code`` trigger reruns a script rule whenever the script's *modification time*
is newer than its outputs: a ``touch`` or a ``git checkout`` that rewrites a file unchanged
retrains every network, while a fix inside the package (which is not the script) reruns
nothing. The workflow's default profile (``profiles/default``) therefore leaves that trigger
out, and the results' dependence on code is said here instead:

- :data:`STAGES` names, per stage, the package modules that compute its results;
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
from functools import cache
from pathlib import Path

from deepclust import cli

PACKAGE = Path(__file__).resolve().parent
VERSIONS = PACKAGE / "code_versions.json"
#: per stage (a rule, or the rules sharing a config section's params), the modules, relative to
#: the package, whose code computes its results; a glob names a family
STAGES: dict[str, tuple[str, ...]] = {
    "preprocess": ("data/preprocess.py", "data/readers.py", "data/registry.py", "stages/data.py"),
    "pretrain": (
        "training.py",
        "optimizers.py",
        "models/*.py",
        "model_file.py",
        "stages/pretrain.py",
    ),
    "features": ("features.py", "models/*.py", "model_file.py", "stages/pretrain.py"),
    "manifold": ("clustering/manifold.py", "stages/cluster.py"),
    "cluster": (
        "clustering/base.py",
        "clustering/kmeans.py",
        "clustering/gmm.py",
        "clustering/dbscan.py",
        "metrics.py",
        "label_free.py",
        "degenerate.py",
        "stages/cluster.py",
    ),
    "refine": (
        "clustering/base.py",
        "clustering/refine.py",
        "clustering/dekm.py",
        "clustering/idec.py",
        "clustering/gcn.py",
        "clustering/fusion_gcn.py",
        "clustering/graph.py",
        "models/*.py",
        "model_file.py",
        "metrics.py",
        "label_free.py",
        "degenerate.py",
        "stages/cluster.py",
    ),
}


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
    """A hash of the syntax trees (docstrings dropped) of ``stage``'s modules."""
    digest = hashlib.sha256()
    paths = sorted({p for pattern in STAGES[stage] for p in package.glob(pattern)})
    if not paths:
        raise ValueError(f"stage {stage!r}: no module matches {STAGES[stage]}")
    for path in paths:
        tree = _without_docstrings(ast.parse(path.read_text(), filename=str(path)))
        digest.update(str(path.relative_to(package)).encode() + b"\0")
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
