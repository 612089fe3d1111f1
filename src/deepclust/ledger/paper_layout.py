"""Each paper page's layout (``workflow/resources/paper_pages.yaml``), read and checked, and
what it says about a cell: the configs' experiment that is a row's own, the command that runs a
cell, a per-cell entry of the layout (``"m1 m2/dataset"`` or ``"dataset"`` keys).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from deepclust import paths
from deepclust.config import load as load_config

PAGES_SPEC = Path("workflow/resources/paper_pages.yaml")
SPEC_KEYS = {
    *("title", "cite", "configs", "tables", "epochs", "native", "readings", "orderings"),
    *("not_run", "notes"),
}
TABLE_KEYS = {"name", "caption", "datasets", "rows", "labels", "metrics"}


def read_spec(path: str | Path = PAGES_SPEC) -> dict:
    """The page layouts, checked: an unknown key or a missing one is an error naming it."""
    spec = yaml.safe_load(Path(path).read_text()) or {}
    for name, paper in spec.items():
        for key in set(paper) - SPEC_KEYS:
            raise ValueError(f"{path}: {name}.{key}: unknown key (expected {sorted(SPEC_KEYS)})")
        for key in ("title", "configs", "tables"):
            if key not in paper:
                raise ValueError(f"{path}: {name}: missing {key!r}")
        for table in paper["tables"]:
            for key in set(table) - TABLE_KEYS:
                raise ValueError(f"{path}: {name} {table.get('name')}: unknown key {key!r}")
            missing = set(table["rows"]) - set(table.get("labels", {}))
            if missing:
                raise ValueError(f"{path}: {name} {table['name']}: no label for {sorted(missing)}")
    return spec


def load_configs(spec: dict, base_dir: Path) -> dict[str, dict]:
    """``{path: resolved config}`` for every config the layout names, each read once; an entry
    of several paths (``base.yaml overlay.yaml``) is the overlay merged onto its base."""
    paths = dict.fromkeys(path for paper in spec.values() for path in paper["configs"])
    return {
        path: load_config(*(base_dir / p for p in path.split()), base_dir=base_dir).config
        for path in paths
    }


def canonical_names(paper: dict, configs: dict[str, dict]) -> dict[str, str]:
    """``{paper row: experiment}``: the row's own experiment, the first one named after it in
    the first of the paper's configs that has one (``sddecc_convae`` is ``convae_kmeans``).
    ``configs`` is :func:`load_configs`' answer."""
    names: dict[str, str] = {}
    for path in paper["configs"]:
        for name, experiment in (configs[path].get("experiments") or {}).items():
            names.setdefault((experiment.get("paper") or name), name)
    return names


def cell_run(paper: dict, method: str, paper_dataset: str, configs: dict[str, dict]) -> dict | None:
    """What runs a cell: ``{"config", "experiment", "dataset", "extractor", "clusterer",
    "seeds"}`` from the first of the paper's configs that has it (the row's own experiment
    before one named otherwise), or None. ``configs`` is :func:`load_configs`' answer."""
    for path in paper["configs"]:
        config = configs[path]
        found = []
        for name, experiment in (config.get("experiments") or {}).items():
            if (experiment.get("paper") or name) != method:
                continue
            for dataset, entry in (config.get("datasets") or {}).items():
                wanted = experiment.get("datasets")
                if ((entry or {}).get("paper_name") or dataset) == paper_dataset and (
                    wanted is None or dataset in wanted
                ):
                    found.append((name != method, name, dataset, experiment))
        if found:
            _, name, dataset, experiment = min(found, key=lambda f: f[:2])
            return {
                "config": path,
                "experiment": name,
                "dataset": dataset,
                "extractor": experiment["extractor"],
                "clusterer": experiment["clusterer"],
                "seeds": list(experiment.get("seeds") or config.get("seeds", [0])),
            }
    return None


def command_for(
    paper: dict, method: str, paper_dataset: str, configs: dict[str, dict]
) -> str | None:
    """The command that runs a cell (:func:`cell_run`)."""
    run = cell_run(paper, method, paper_dataset, configs)
    if run is None:
        return None
    seeds = run["seeds"]
    seed = seeds[0] if len(seeds) == 1 else ("{" + ",".join(map(str, seeds)) + "}")
    target = paths.path("metrics", **{**run, "seed": seed})
    return f"snakemake --cores 8 --resources gpu=1 {target} --configfile {run['config']}"


def for_cell(mapping: dict, method: str, dataset: str):
    """A spec entry for one cell: a ``"m1 m2/dataset"`` key naming the method, else the
    ``"dataset"`` key (None: neither)."""
    for key, value in mapping.items():
        methods, _, where = key.rpartition("/")
        if where == dataset and method in methods.split():
            return value
    return mapping.get(dataset)


def reason_for(reasons: dict, method: str, dataset: str) -> str:
    """Why a cell has no runs, in one line."""
    return " ".join((for_cell(reasons, method, dataset) or "not run yet").split())
