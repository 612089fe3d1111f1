"""Where every file of the workflow lives: each path pattern spelled once.

The rules (``workflow/rules/*.smk``), the input functions of :mod:`deepclust.targets`, the
report's list of benchmarks, the ledger, the offload, placement and the tests take the paths
from here, so the rules and the code that finds their files cannot drift apart (a test fails on
a path spelled anywhere else, and on a rule whose outputs are not entries of :data:`PATHS`).
Imports nothing of the package: every module may use it.
"""

from __future__ import annotations

import re
from pathlib import Path

#: where every result goes
RESULTS_DIR = "results"
#: one network (or the pixels) trained on one dataset at one seed: a run's folder
RUN_DIR = f"{RESULTS_DIR}/{{dataset}}/{{extractor}}/seed{{seed}}"
#: one clusterer on that run's features
CLUSTERING_DIR = f"{RUN_DIR}/{{clusterer}}"
#: a consensus over the seeds of one clustering
CONSENSUS_DIR = f"{RESULTS_DIR}/{{dataset}}/{{extractor}}/consensus/{{clusterer}}"
#: one config's tables, figures, report and grouped folders, under the config's name
#: (:func:`deepclust.config.report_name`): a second config's run never overwrites a first's
REPORT_DIR = f"{RESULTS_DIR}/reports/{{name}}"
#: where the rules' logs and benchmark files go, one per job (:data:`JOB_FILES`)
LOG_DIR, BENCHMARK_DIR = f"{RESULTS_DIR}/logs", f"{RESULTS_DIR}/benchmarks"

#: every file (or folder) a rule writes, by name
PATHS: dict[str, str] = {
    "manifest": "data/raw/{source}/manifest.json",
    "processed": "data/processed/{dataset}.h5",
    "model": f"{RUN_DIR}/model.pt",
    "train_log": f"{RUN_DIR}/train_log.csv",
    "checkpoint": f"{RUN_DIR}/checkpoint.pt",
    "features": f"{RUN_DIR}/features.h5",
    "manifold": f"{RUN_DIR}/manifolds/{{manifold}}.h5",
    "graph": f"{RESULTS_DIR}/{{dataset}}/graphs/knn{{k}}_{{metric}}.h5",
    "labels": f"{CLUSTERING_DIR}/labels.h5",
    "metrics": f"{CLUSTERING_DIR}/metrics.json",
    "refined_model": f"{CLUSTERING_DIR}/model.pt",
    "refine_log": f"{CLUSTERING_DIR}/refine_log.csv",
    "assignments": f"{CLUSTERING_DIR}/assignments.csv",
    "consensus_labels": f"{CONSENSUS_DIR}/labels.h5",
    "consensus_metrics": f"{CONSENSUS_DIR}/metrics.json",
    "clusters": f"{REPORT_DIR}/clusters/{{dataset}}",
    "summary": f"{REPORT_DIR}/summary.csv",
    "table": f"{REPORT_DIR}/table.csv",
    "table_md": f"{REPORT_DIR}/table.md",
    "report": f"{REPORT_DIR}/report.html",
    "training_plot": f"{RUN_DIR}/plots/training.png",
    "embedding_2d": f"{RUN_DIR}/plots/embedding_2d.h5",
    "embedding_plot": f"{CLUSTERING_DIR}/plots/embedding.png",
    "confusion_plot": f"{CLUSTERING_DIR}/plots/confusion.png",
    "samples_plot": f"{CLUSTERING_DIR}/plots/samples.png",
    "refinement_plot": f"{CLUSTERING_DIR}/plots/refinement.png",
    "sweep_plot": f"{REPORT_DIR}/plots/sweep_{{experiment}}.png",
    "crossover_plot": f"{REPORT_DIR}/plots/crossover_{{dataset}}.png",
}
_RUN = "{dataset}/{extractor}/seed{seed}"
#: per rule, its job's name under :data:`LOG_DIR` (``.log``) and :data:`BENCHMARK_DIR` (``.tsv``)
JOB_FILES: dict[str, str] = {
    "download": "download/{source}",
    "preprocess": "preprocess/{dataset}",
    "pretrain": f"pretrain/{_RUN}",
    "features": f"features/{_RUN}",
    "manifold": f"manifold/{_RUN}/{{manifold}}",
    "cluster": f"cluster/{_RUN}/{{clusterer}}",
    "assignments": f"assignments/{_RUN}/{{clusterer}}",
    "group": "group/{name}/{dataset}",
    "consensus": "consensus/{dataset}/{extractor}/{clusterer}",
    "graph": "graph/{dataset}/knn{k}_{metric}",
    "refine": f"refine/{_RUN}/{{clusterer}}",
    "aggregate": "aggregate/{name}",
    "plot_training": f"plot/{_RUN}/training",
    "embed_2d": f"plot/{_RUN}/embedding_2d",
    "plot_run": f"plot/{_RUN}/{{clusterer}}",
    "plot_refinement": f"plot/{_RUN}/{{clusterer}}-refinement",
    "plot_sweep": "plot/{name}/sweep_{experiment}",
    "plot_crossover": "plot/{name}/crossover_{dataset}",
    "report": "report/{name}",
}


def path(name: str, /, **wildcards) -> str:
    """File ``name`` of :data:`PATHS`, with ``wildcards`` filled in."""
    return PATHS[name].format(**wildcards)


def log(rule: str, /, **wildcards) -> str:
    """``rule``'s log: the pattern, or with ``wildcards`` one job's file."""
    pattern = f"{LOG_DIR}/{JOB_FILES[rule]}.log"
    return pattern.format(**wildcards) if wildcards else pattern


def benchmark(rule: str, /, **wildcards) -> str:
    """``rule``'s benchmark file: the pattern, or with ``wildcards`` one job's file."""
    pattern = f"{BENCHMARK_DIR}/{JOB_FILES[rule]}.tsv"
    return pattern.format(**wildcards) if wildcards else pattern


def wildcard_regex(pattern: str) -> str:
    """A regular expression matching ``pattern``'s paths, each wildcard a named group (a seed
    digits only, the others one path segment)."""
    parts = re.split(r"\{(\w+)\}", pattern)
    return "".join(
        re.escape(part) if i % 2 == 0 else f"(?P<{part}>{_SEGMENTS.get(part, '[^/]+')})"
        for i, part in enumerate(parts)
    )


_SEGMENTS = {"seed": r"\d+"}


def base_of(file: str | Path, name: str, /, **wildcards) -> Path:
    """The folder the workflow ran in, from one of its files: ``file`` is file ``name`` of
    :data:`PATHS` with ``wildcards`` under it."""
    relative = Path(path(name, **wildcards))
    file = Path(file)
    if file.parts[-len(relative.parts) :] != relative.parts:
        raise ValueError(f"{file}: not where the workflow puts it (expected .../{relative})")
    return (
        Path(*file.parts[: -len(relative.parts)])
        if len(file.parts) > len(relative.parts)
        else Path(".")
    )


def in_folder(name: str, folder: str | Path, /, **wildcards) -> Path:
    """File ``name`` of :data:`PATHS` inside a given run or clustering folder (one a user
    names, e.g. for :mod:`deepclust.placement`), where its pattern puts it in that folder;
    ``wildcards``: those of the part below the folder (a manifold's name)."""
    pattern = PATHS[name]
    for parent in (CLUSTERING_DIR, RUN_DIR):
        if pattern.startswith(parent + "/"):
            return Path(folder) / pattern[len(parent) + 1 :].format(**wildcards)
    raise ValueError(f"{name!r} ({pattern}) lies in no run or clustering folder")
