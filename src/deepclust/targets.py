"""The files each rule reads, for a :class:`~deepclust.config.Plan`: Snakemake's input functions
and target lists, as plain functions of a plan and a job's wildcards (any mapping of wildcard
names to values), so that ``workflow/rules/common.smk`` only names them and the tests can call
them without Snakemake. The paths themselves are in :mod:`deepclust.paths`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from deepclust.config import PIXELS
from deepclust.config.rerun import canonical
from deepclust.data.fingerprint import content_digest
from deepclust.data.registry import BUILTIN_DATASETS
from deepclust.label_free import PICK_GRAPH
from deepclust.paths import benchmark, path

if TYPE_CHECKING:
    from deepclust.config import Plan

#: built-in sources with files to download (the others are generated or bundled)
DOWNLOADED_SOURCES = sorted(name for name, d in BUILTIN_DATASETS.items() if d.files)


def preprocess_inputs(plan: Plan, w: Mapping) -> dict:
    """The download manifest of a built-in source, or the user's own file/folder."""
    dataset = plan.config["datasets"][w["dataset"]]
    if dataset["source"] in DOWNLOADED_SOURCES:
        return {"manifest": path("manifest", source=dataset["source"])}
    if dataset.get("path"):
        return {"own_data": dataset["path"]}
    return {}


def preprocess_params(plan: Plan, w: Mapping) -> dict:
    """The dataset's entry as the preprocess rule's param; for own data with its
    :func:`~deepclust.data.fingerprint.content_digest` (``content``), which reruns preprocessing
    when the data changes where its modification time would not say so."""
    params = plan.params("datasets", w["dataset"], "preprocess")
    if params.get("path"):  # own data (the config refuses a path for a built-in)
        params = canonical({**params, "content": content_digest(params["path"])})
    return params


def features_inputs(plan: Plan, w: Mapping) -> dict:
    """The processed images, and the trained model unless the extractor is raw pixels."""
    inputs = {"data": path("processed", **w)}
    if plan.config["extractors"][w["extractor"]]["model"] != PIXELS:
        inputs["model"] = path("model", **w)
    return inputs


def cluster_inputs(plan: Plan, w: Mapping) -> dict:
    """features.h5, or the embedding of the clusterer's manifold."""
    manifold = plan.config["clusterers"][w["clusterer"]].get("manifold")
    if manifold:
        return {"features": path("manifold", **{**w, "manifold": manifold})}
    return {"features": path("features", **w)}


def refine_inputs(plan: Plan, w: Mapping) -> dict:
    """Images and pretrained model, plus the cached kNN graph for a GCN clusterer."""
    inputs = {"data": path("processed", **w), "model": path("model", **w)}
    graph = plan.graphs.get(w["clusterer"])
    if graph is not None:
        inputs["graph"] = path("graph", dataset=w["dataset"], **graph)
    return inputs


def run_info(w: Mapping) -> dict:
    """What a clustering run is, recorded in its metrics.json. Which experiment(s) it belongs to
    is the aggregate rule's business (:meth:`Plan.memberships`): renaming an experiment, or a
    new config (crossover.yaml) that shares the run, must not rerun it."""
    return canonical({key: w[key] for key in ("dataset", "extractor", "clusterer")})


def consensus_inputs(plan: Plan, w: Mapping) -> dict:
    """The processed data and each seed's labels and metrics.json of one clustering."""
    seeds = plan.consensus_groups[w["dataset"], w["extractor"], w["clusterer"]]
    runs = [{**w, "seed": s} for s in seeds]
    return {
        "data": path("processed", **w),
        "labels": [path("labels", **run) for run in runs],
        "metrics": [path("metrics", **run) for run in runs],
    }


def consensus_info(plan: Plan, w: Mapping) -> dict:
    key = (w["dataset"], w["extractor"], w["clusterer"])
    seeds = plan.consensus_groups[key]
    return canonical({"dataset": key[0], "extractor": key[1], "clusterer": key[2], "seeds": seeds})


def all_consensus(plan: Plan) -> list[str]:
    return sorted(
        path("consensus_metrics", dataset=d, extractor=e, clusterer=c)
        for d, e, c in plan.consensus_groups
    )


def all_assignments(plan: Plan) -> list[str]:
    """Every clustering run's assignments.csv (:mod:`deepclust.assignments`)."""
    return sorted({path("assignments", **r) for r in plan.runs})


def grouped_runs(plan: Plan, dataset: str) -> dict[str, str]:
    """Per experiment on ``dataset``, its lowest seed's assignments.csv: what the grouping of
    an image folder (:mod:`deepclust.grouping`) chooses from."""
    lowest: dict[str, dict] = {}
    for r in plan.runs:
        known = lowest.get(r["experiment"])
        if r["dataset"] == dataset and (known is None or r["seed"] < known["seed"]):
            lowest[r["experiment"]] = r
    return {name: path("assignments", **r) for name, r in sorted(lowest.items())}


def pick_graphs(plan: Plan) -> dict[str, str]:
    """Per dataset, the pixel kNN graph every partition of it is scored on for the label-free
    pick (:data:`deepclust.label_free.PICK_GRAPH`)."""
    datasets = sorted({r["dataset"] for r in plan.runs})
    return {d: path("graph", dataset=d, **PICK_GRAPH) for d in datasets}


def all_groups(plan: Plan) -> list[str]:
    """The grouped-images folder of every dataset read from an image folder."""
    datasets = sorted({r["dataset"] for r in plan.runs})
    return [
        path("clusters", name=plan.name, dataset=d)
        for d in datasets
        if plan.config["datasets"][d]["source"] == "folder"
    ]


def paper_values_file(plan: Plan, root: str | Path) -> str:
    """The published numbers the tables print beside ours (``paper_values`` or the bundled)."""
    return plan.config.get("paper_values") or str(
        Path(root) / "workflow" / "resources" / "paper_values.csv"
    )


def report_runs(plan: Plan) -> list[dict]:
    """The report's sections and figures (:func:`deepclust.stages.report.report_runs`)."""
    from deepclust.stages.report import report_runs as sections

    return canonical(
        sections(
            plan.runs,
            sweeps=plan.sweeps,
            refining=plan.refiners,
            trained=plan.trained_extractors,
            name=plan.name,
        )
    )


def report_figures(plan: Plan) -> list[str]:
    return [png for run in report_runs(plan) for png, _ in run["figures"]]


def report_benchmarks(plan: Plan) -> list[str]:
    """This config's jobs' benchmark files (their names from :data:`JOB_FILES`): the report's
    job runtimes list only these, not those an earlier config left in the folder."""
    own = (("name", plan.name),)  # this config's tables, report and figures
    jobs: set[tuple[str, tuple]] = {("aggregate", own), ("report", own)}
    jobs |= {("plot_sweep", (*own, ("experiment", e))) for e in plan.sweeps}
    for r in plan.runs:
        run = {"dataset": r["dataset"], "extractor": r["extractor"], "seed": r["seed"]}
        clustering = {**run, "clusterer": r["clusterer"]}
        dataset = plan.config["datasets"][r["dataset"]]
        jobs |= {("preprocess", (("dataset", r["dataset"]),))}
        jobs |= {("graph", tuple({"dataset": r["dataset"], **PICK_GRAPH}.items()))}
        jobs |= {("plot_crossover", (*own, ("dataset", r["dataset"])))}
        if dataset["source"] in DOWNLOADED_SOURCES:
            jobs.add(("download", (("source", dataset["source"]),)))
        if dataset["source"] == "folder":
            jobs.add(("group", (*own, ("dataset", r["dataset"]))))
        for rule in ("pretrain", "features", "plot_training", "embed_2d"):
            jobs.add((rule, tuple(run.items())))
        for rule in ("cluster", "refine", "plot_run", "plot_refinement", "assignments"):
            jobs.add((rule, tuple(clustering.items())))
        jobs.add(("consensus", tuple((k, v) for k, v in clustering.items() if k != "seed")))
        if manifold := plan.config["clusterers"][r["clusterer"]].get("manifold"):
            jobs.add(("manifold", tuple({**run, "manifold": manifold}.items())))
        if graph := plan.graphs.get(r["clusterer"]):
            jobs.add(("graph", tuple({"dataset": r["dataset"], **graph}.items())))
    return sorted(benchmark(rule, **dict(w)) for rule, w in jobs)
