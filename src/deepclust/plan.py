"""What the Snakefile must know about a config before it plans any job, worked out once.

:func:`workflow_plan` checks the config (:func:`deepclust.config.check_config`) and returns
the facts the rules are built from: which clusterers fine-tune a model (the ``refine`` rule)
and which kNN graph each GCN clusterer reads. Both need the model and clusterer registries,
that is torch and scikit-learn: seconds that every dry run, and on a cluster every job (each
parses the workflow again), would pay. :func:`cached_plan` therefore keeps the plan in
``.snakemake/deepclust/`` under a key of the config and the package's code (every module's
content), so an unchanged workflow is parsed without either import, and any edit
to the config or the package checks it again.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from deepclust.io import write_text
from deepclust.rerun import canonical

PACKAGE = Path(__file__).resolve().parent
CACHE_DIR = Path(".snakemake") / "deepclust"


def workflow_plan(config: dict) -> dict:
    """Check ``config`` (a :class:`~deepclust.config.ConfigError` names the first bad key) and
    return ``{"refiners": [clusterer names], "graphs": {clusterer name: {"k", "metric"}}}``."""
    from deepclust.clustering import graph_spec, is_refiner
    from deepclust.config import check_config

    check_config(config)
    clusterers = config["clusterers"]
    graphs = {n: graph_spec(c["method"], c.get("params", {})) for n, c in clusterers.items()}
    return {
        "refiners": sorted(n for n, c in clusterers.items() if is_refiner(c["method"])),
        "graphs": {n: spec for n, spec in sorted(graphs.items()) if spec is not None},
    }


def code_fingerprint(package: Path = PACKAGE) -> str:
    """A hash of every module's path and content: changes with an edit, not with a ``touch``
    or a checkout that rewrites a file unchanged (which a modification time would)."""
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def cached_plan(config: dict, cache_dir: str | Path = CACHE_DIR) -> dict:
    """:func:`workflow_plan` of ``config``, from the cache when this config was checked by this
    code before. A config that fails the check is never cached; a cache that cannot be written
    (a read-only folder) only costs the check next time."""
    text = json.dumps([canonical(config), code_fingerprint()], sort_keys=True, default=repr)
    path = Path(cache_dir) / f"plan-{hashlib.sha256(text.encode()).hexdigest()[:32]}.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        pass
    plan = workflow_plan(config)
    try:
        write_text(path, json.dumps(plan, sort_keys=True))
    except OSError:
        pass
    return plan
