"""Recording runs: one ledger row per clustering run, from the files the workflow left beside
its metrics.json (training log, pretraining log and benchmark, features)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import date
from pathlib import Path

import h5py

from deepclust import paths as layout
from deepclust.degenerate import dead_units as count_dead
from deepclust.io import read_csv, read_graph, read_labels, write_csv
from deepclust.label_free import PICK_GRAPH, SCORES, graph_modularity, seed_stability
from deepclust.ledger.consensus_rows import consensus_ledger, is_consensus, record_consensus
from deepclust.ledger.rows import read_rows
from deepclust.tables import csv_cell

LEDGER = Path("docs/runs.csv")

#: what identifies a run: its files' path (the experiment name may change with the config)
KEY = ("dataset", "extractor", "clusterer", "seed")
#: what a run was recorded as, kept when it is recorded again with ``keep_names``
NAMES = ("experiment", "method", "paper_dataset", "command", "source", "recorded")
#: columns added after the ledger began: a ledger without them reads them as empty
LABEL_FREE_COLUMNS = (*SCORES, "seed_stability", "modularity")
LATER_COLUMNS = (*LABEL_FREE_COLUMNS, "precision")
RUN_COLUMNS = [
    "dataset",
    "experiment",
    "extractor",
    "clusterer",
    "seed",
    "method",  # the paper's name for the row (config `paper`, else the experiment)
    "paper_dataset",  # the paper's name for the dataset (config `paper_name`, else its own)
    "swept",
    "acc",
    "nmi",
    "ari",
    "purity",
    "n_clusters_found",
    # label-free (deepclust.label_free): the run's own scores, the mean ARI between the
    # partitions of every seed of its (dataset, extractor, clusterer) found beside it, and its
    # partition's modularity on the dataset's pixel kNN graph (where that graph was built)
    *LABEL_FREE_COLUMNS,
    "uses_labels",
    "init_acc",  # a refining clusterer's K-means start
    "best_epoch_acc",  # the best monitored epoch by ACC: USES LABELS, never the reported number
    "kmeans_runs_acc",  # K-means' best of N by ACC: every run's ACC (space-separated)
    "refine_iterations",
    "epochs",
    "train_final",  # the last training epoch's loss terms, "name=value" words
    "dead_units",  # per feature layer, units constant over the samples ("F=13/50")
    "pretrain_s",
    "clustering_s",
    "device",
    "precision",  # what the network was pretrained in: fp32 or bf16-autocast (empty before)
    "threads",
    "source",  # what the images were (e.g. "USPS 9,298, shared usps.npz as own data")
    "command",
    "recorded",
]
NOT_LOSS_TERMS = {"epoch", "lr", "seconds", "img_per_s"}


def _read_log(log_path: Path) -> str:
    """A pretraining job's log, empty when the job left none (a run recorded from its outputs)."""
    return log_path.read_text() if log_path.exists() else ""


def _pretrain_environment(log_text: str) -> dict:
    """The ``environment: {...}`` line a pretraining job logs (device, threads), if any."""
    for line in log_text.splitlines():
        if "environment: " in line:
            try:
                return json.loads(line.split("environment: ", 1)[1])
            except json.JSONDecodeError:
                return {}
    return {}


def _benchmark_seconds(path: Path) -> float | None:
    """Wall time ``s`` of a Snakemake benchmark file (the job's last attempt)."""
    if not path.exists():
        return None
    rows = read_csv(path, delimiter="\t")
    return float(rows[0]["s"]) if rows else None


def _resumed_epoch(log_text: str) -> int:
    """The epoch a pretraining job resumed its checkpoint at (its log's last "resuming from ...
    at epoch N" line), 0 for a job that started afresh or has no log."""
    found = re.findall(r"resuming from .* at epoch (\d+)", log_text)
    return int(found[-1]) if found else 0


def _pretrain_seconds(benchmark: Path, log_text: str, log_rows: list[dict]) -> float | None:
    """The pretraining's wall time: the finishing job's benchmark, plus, when that job resumed a
    checkpoint at epoch N, the training log's seconds of epochs 1..N (the earlier attempts'
    training, which the benchmark of the last attempt does not hold; epochs an attempt trained
    past its last checkpoint were lost and are not counted)."""
    seconds = _benchmark_seconds(benchmark)
    resumed = _resumed_epoch(log_text)
    if seconds is None or not resumed:
        return seconds
    earlier = [r.get("seconds") for r in log_rows if int(r["epoch"]) <= resumed]
    if len(earlier) < resumed or any(v in (None, "") for v in earlier):
        return seconds  # a log without every earlier epoch's time: the last attempt alone
    return seconds + sum(float(v) for v in earlier)


def dead_units(features_h5: Path) -> str | None:
    """``layer=dead/width`` for every layer of a features.h5: units with the same value for every
    sample, which carry nothing to clustering (a ReLU that never fires is 0 throughout; a linear
    unit that is merely negative for every sample is not dead); ``None`` without the file."""
    if not features_h5.exists():
        return None
    with h5py.File(features_h5, "r") as f:
        default = f.attrs.get("default_layer", "z")
        layers = {str(default): f["features"][()]}
        if "layers" in f and isinstance(f["layers"], h5py.Group):
            layers.update({name: f["layers"][name][()] for name in f["layers"]})
    return " ".join(
        f"{name}={dead}/{width}" for name, (dead, width) in sorted(count_dead(layers).items())
    )


def run_row(metrics_json: Path, config: dict | None, command: str, source: str) -> dict:
    """One ledger row from a run's metrics.json and the files beside it.

    ``metrics_json`` is where the workflow puts it (:data:`deepclust.targets.PATHS`); the
    training log, the pretraining job's log and benchmark are found from there.
    """
    record = json.loads(metrics_json.read_text())
    dataset, extractor, seed = record["dataset"], record["extractor"], int(record["seed"])
    run = {"dataset": dataset, "extractor": extractor, "seed": seed}
    base = layout.base_of(metrics_json, "metrics", **run, clusterer=record["clusterer"])
    config = config or {}
    experiments = config.get("experiments", {})
    # the config's names now for this (dataset, extractor, clusterer): a row renamed in the
    # config (e.g. a reading promoted to the paper row) is recorded under its new name
    current = sorted(
        name
        for name, e in experiments.items()
        if e.get("extractor") == extractor
        and e.get("clusterer") == record["clusterer"]
        and dataset in (e.get("datasets") or config.get("datasets", {}))
    )
    experiment = "+".join(current) or record.get("experiment") or ""
    names = experiment.split("+")
    method = next(
        (experiments[n]["paper"] for n in names if experiments.get(n, {}).get("paper")), names[0]
    )
    paper_dataset = config.get("datasets", {}).get(dataset, {}).get("paper_name") or dataset
    metrics = record.get("metrics", {})
    refinement = record.get("refinement") or {}

    train_log = base / layout.path("train_log", **run)
    log_rows = read_csv(train_log) if train_log.exists() else []
    epochs = len(log_rows) or None
    final = log_rows[-1] if log_rows else {}
    train_final = " ".join(
        f"{k}={float(v):.4g}" for k, v in final.items() if k not in NOT_LOSS_TERMS and v != ""
    )
    log_text = _read_log(base / layout.log("pretrain", **run))
    environment = _pretrain_environment(log_text)
    if not environment and refinement:
        environment = record.get("environment", {})
    runs = record.get("runs") or []
    label_free = record.get("label_free") or {}
    return {
        "dataset": dataset,
        "experiment": experiment,
        "extractor": extractor,
        "clusterer": record["clusterer"],
        "seed": seed,
        "method": method,
        "paper_dataset": paper_dataset,
        "swept": record.get("swept"),
        **{m: metrics.get(m) for m in ("acc", "nmi", "ari", "purity", "n_clusters_found")},
        **{k: label_free.get(k) for k in SCORES},
        "seed_stability": _seed_stability(base, {**run, "clusterer": record["clusterer"]}),
        "modularity": _modularity(base, {**run, "clusterer": record["clusterer"]}),
        "uses_labels": bool(record.get("uses_labels")),
        "init_acc": (refinement.get("init_metrics") or {}).get("acc"),
        "best_epoch_acc": refinement.get("best_monitored_acc_uses_labels"),
        "kmeans_runs_acc": " ".join(f"{r['acc']:.4f}" for r in runs) or None,
        "refine_iterations": refinement.get("iterations"),
        "epochs": epochs,
        "train_final": train_final or None,
        "dead_units": dead_units(base / layout.path("features", **run)) if log_rows else None,
        "pretrain_s": _pretrain_seconds(
            base / layout.benchmark("pretrain", **run), log_text, log_rows
        ),
        "clustering_s": record.get("runtime_s"),
        "device": environment.get("device_name") or environment.get("device"),
        "precision": (record.get("pretraining") or {}).get("precision"),
        "threads": environment.get("torch_threads"),
        "source": source,
        "command": command,
        "recorded": date.today().isoformat(),
    }


def _seed_stability(base: Path, run: dict) -> float | None:
    """Mean pairwise ARI of the partitions of every seed of one (dataset, extractor) with
    ``run``'s clusterer (their labels under ``base``); None below two seeds."""
    paths = sorted(base.glob(layout.path("labels", **{**run, "seed": "*"})))
    return seed_stability([read_labels(path)[0] for path in paths])


def _modularity(base: Path, run: dict) -> float | None:
    """The run's partition on its dataset's pixel kNN graph (the label-free pick's score), where
    the workflow built that graph under ``base``; None otherwise."""
    graph = base / layout.path("graph", dataset=run["dataset"], **PICK_GRAPH)
    labels_h5 = base / layout.path("labels", **run)
    if not graph.exists() or not labels_h5.exists():
        return None
    labels = read_labels(labels_h5)[0]
    return graph_modularity(read_graph(graph, **PICK_GRAPH, n_samples=len(labels)), labels)


def _key(row: dict) -> tuple[str, ...]:
    return tuple(str(row[k]) for k in KEY)


def read_ledger(path: str | Path) -> list[dict]:
    """The ledger's rows (strings, as CSV holds them); empty when the file does not exist. A
    ledger written before the label-free or precision columns reads them as empty."""
    return read_rows(path, RUN_COLUMNS, optional=LATER_COLUMNS)


def record_runs(
    paths: Iterable[str | Path],
    ledger: str | Path = LEDGER,
    *,
    config: dict | None = None,
    command: str,
    source: str,
    keep_names: bool = False,
) -> list[dict]:
    """Add every metrics.json under ``paths`` to the ledger, replacing rows with the same key
    (a consensus over seeds goes to the consensus file beside it, :mod:`.consensus`);
    with ``keep_names``, a run the ledger already has keeps the names it was recorded under
    (experiment, method, command, source, date) and only its measured columns are read again
    (a crossover config sharing a method config's run adds its label-free columns, say)."""
    files = []
    for path in map(Path, paths):
        files += sorted(path.rglob(Path(layout.PATHS["metrics"]).name)) if path.is_dir() else [path]
    if not files:
        raise ValueError(f"no metrics.json under {', '.join(map(str, paths))}")
    combined, consensus_rows = [f for f in files if is_consensus(f)], []
    if combined:
        consensus_rows = record_consensus(
            combined,
            consensus_ledger(ledger),
            command=command,
            source=source,
            keep_names=keep_names,
        )
        files = [f for f in files if not is_consensus(f)]
    rows = {_key(r): r for r in read_ledger(ledger)}
    new = [run_row(f, config, command, source) for f in files]
    if keep_names:
        new = [{**r, **{k: rows[_key(r)][k] for k in NAMES}} if _key(r) in rows else r for r in new]
    rows.update({_key(r): {k: csv_cell(v) for k, v in r.items()} for r in new})
    ordered = sorted(
        rows.values(),
        key=lambda r: (
            r["dataset"],
            r["experiment"],
            r["extractor"],
            r["clusterer"],
            int(r["seed"]),
        ),
    )
    write_csv(ledger, ordered, RUN_COLUMNS)
    return new + consensus_rows
