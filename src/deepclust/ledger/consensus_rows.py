"""Consensus rows: one per (dataset, network, clusterer) whose seeds' partitions the workflow's
``consensus`` stage combined (:mod:`deepclust.clustering.consensus`).

A consensus is not a seed, so it does not fit the run ledger's (dataset, extractor, clusterer,
seed) key: it has its own file beside it (``docs/consensus.csv`` next to ``docs/runs.csv``),
filled by the same ``record`` command (a ``.../consensus/{clusterer}/metrics.json`` goes here),
and a ``view=consensus`` block that sets each consensus beside the mean of the seeds it combined.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from deepclust.io import write_csv
from deepclust.ledger.rows import column_floats, read_rows
from deepclust.tables import csv_cell, mean_std

#: what identifies a consensus: the cell whose seeds it combined
KEY = ("dataset", "extractor", "clusterer")
NAMES = ("command", "source", "recorded")
CONSENSUS_COLUMNS = [
    *KEY,
    "seeds",  # the seeds combined, space-separated
    "acc",
    "nmi",
    "ari",
    "purity",
    "agreement",  # mean ARI between the consensus and each seed's partition (no labels)
    "uses_labels",  # a seed's clustering used labels
    "clustering_s",
    "source",
    "command",
    "recorded",
]


def is_consensus(metrics_json: Path) -> bool:
    """Whether a metrics.json is a consensus stage's (``{extractor}/consensus/{clusterer}/``)."""
    return Path(metrics_json).parent.parent.name == "consensus"


def consensus_ledger(run_ledger: str | Path) -> Path:
    """The consensus file that goes with a run ledger: ``consensus.csv`` beside it."""
    return Path(run_ledger).with_name("consensus.csv")


def consensus_row(metrics_json: Path, command: str, source: str) -> dict:
    record = json.loads(Path(metrics_json).read_text())
    metrics = record.get("metrics", {})
    return {
        **{k: record[k] for k in KEY},
        "seeds": " ".join(str(s) for s in record.get("seeds") or []),
        **{m: metrics.get(m) for m in ("acc", "nmi", "ari", "purity")},
        "agreement": record.get("agreement"),
        "uses_labels": bool(record.get("uses_labels")),
        "clustering_s": record.get("runtime_s"),
        "source": source,
        "command": command,
        "recorded": date.today().isoformat(),
    }


def read_consensus(path: str | Path) -> list[dict]:
    """The consensus rows (CSV text); empty when the file does not exist."""
    return read_rows(path, CONSENSUS_COLUMNS)


def record_consensus(
    files: list[Path], path: str | Path, *, command: str, source: str, keep_names: bool = False
) -> list[dict]:
    """Add (or replace, by cell) the consensus metrics.json ``files`` in the file at ``path``;
    with ``keep_names`` a cell already there keeps its command, source and date."""
    rows = {tuple(r[k] for k in KEY): r for r in read_consensus(path)}
    new = [consensus_row(f, command, source) for f in files]
    for row in new:
        key = tuple(str(row[k]) for k in KEY)
        if keep_names and key in rows:
            row.update({k: rows[key][k] for k in NAMES})
        rows[key] = {k: csv_cell(v) for k, v in row.items()}
    write_csv(
        path, sorted(rows.values(), key=lambda r: tuple(r[k] for k in KEY)), CONSENSUS_COLUMNS
    )
    return new


def consensus_markdown(
    runs: list[dict],
    consensus: list[dict],
    datasets: list[str],
    extractors: list[str],
    clusterers: list[str],
) -> str:
    """Each recorded consensus of the grid beside the seeds it combined: their ACC (mean ± std,
    from the run ledger ``runs``), the consensus's ACC and NMI, its gain over the seeds' mean
    and its agreement with them (unlabelled: the agreement alone). Cells without a consensus
    are left out."""
    lines = [
        "| dataset | cell | seeds | seeds' ACC | consensus ACC | gain | consensus NMI | agreement |",
        "|---|---|---|---|---|---|---|---|",
    ]
    found = {tuple(r[k] for k in KEY): r for r in consensus}
    for dataset in datasets:
        for extractor in extractors:
            for clusterer in clusterers:
                cell = (dataset, extractor, clusterer)
                row = found.get(cell)
                if row is None:
                    continue
                seeds = row["seeds"].split()
                combined = [
                    r for r in runs if tuple(r[k] for k in KEY) == cell and r["seed"] in seeds
                ]
                accs = column_floats(combined, "acc")
                mean, std = mean_std(accs)
                seeds_text = "—" if mean is None else f"{mean:.3f} ± {std:.3f} ({len(accs)})"
                labelled = mean is not None and row["acc"] not in ("", None)
                gain = f"{float(row['acc']) - mean:+.3f}" if labelled else "—"
                lines.append(
                    f"| {dataset} | {extractor}.{clusterer} | {len(seeds)} | {seeds_text} | "
                    f"{_number(row['acc'])} | {gain} | {_number(row['nmi'])} | "
                    f"{_number(row['agreement'])} |"
                )
    if len(lines) == 2:
        raise ValueError(f"no consensus recorded for the grid on {', '.join(datasets)}")
    return "\n".join(
        lines
        + [
            "",
            "Consensus: average linkage on the seeds' co-association (the fraction of seeds that "
            "put two samples together); agreement: its mean ARI with each seed's partition. "
            "No label is read to form it.",
        ]
    )


def _number(text: str) -> str:
    return "—" if text in ("", None) else f"{float(text):.3f}"
