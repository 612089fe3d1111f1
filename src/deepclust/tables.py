"""Seeds aggregated: per (dataset, experiment) mean ± std of every metric from summary.csv.

``python -m deepclust.tables results/summary.csv`` prints the Markdown table used in
docs/results.md; ``python -m deepclust.tables results/usps`` reads every ``metrics.json`` under
a folder instead (for runs made by naming targets, which does not write summary.csv). The
standard deviation is the sample one (ddof = 1); with one seed it is 0.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterable
from pathlib import Path

import numpy as np

METRICS = ("acc", "nmi", "ari", "purity")
#: also averaged when present: the ACC of the K-means a refining clusterer started from
OPTIONAL = ("init_acc",)


def read_summary(path: str | Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def aggregate(rows: Iterable[dict]) -> list[dict]:
    """Group runs by (dataset, experiment) and reduce each metric over seeds."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        groups.setdefault((row["dataset"], row["experiment"]), []).append(row)
    table = []
    for (dataset, experiment), runs in sorted(groups.items()):
        entry = {
            "dataset": dataset,
            "experiment": experiment,
            "n_seeds": len(runs),
            "seeds": sorted(int(r["seed"]) for r in runs),
        }
        for metric in (*METRICS, *OPTIONAL):
            values = np.asarray([float(r[metric]) for r in runs if r.get(metric) not in (None, "")])
            entry[f"{metric}_mean"] = float(values.mean()) if len(values) else None
            entry[f"{metric}_std"] = (
                float(values.std(ddof=1)) if len(values) > 1 else (0.0 if len(values) else None)
            )
        entry["uses_labels"] = any(str(r.get("uses_labels")) == "True" for r in runs)
        table.append(entry)
    return table


def to_markdown(table: list[dict]) -> str:
    def cell(entry, metric):
        mean = entry[f"{metric}_mean"]
        return "—" if mean is None else f"{mean:.3f} ± {entry[f'{metric}_std']:.3f}"

    metrics = list(METRICS)
    header = ["ACC", "NMI", "ARI", "purity"]
    if any(e.get("init_acc_mean") is not None for e in table):
        metrics.append("init_acc")
        header.append("ACC before refinement")
    lines = [
        "| dataset | experiment | seeds | " + " | ".join(header) + " |",
        "|---|---|---|" + "---|" * len(header),
    ]
    for e in table:
        name = e["experiment"] + (" (uses labels)" if e["uses_labels"] else "")
        lines.append(
            f"| {e['dataset']} | {name} | {e['n_seeds']} | "
            + " | ".join(cell(e, m) for m in metrics)
            + " |"
        )
    return "\n".join(lines)


def load_rows(paths: Iterable[str | Path]) -> list[dict]:
    """Rows from summary.csv files, or from every metrics.json under the given folders."""
    from deepclust.stages import summary_rows

    rows: list[dict] = []
    for path in map(Path, paths):
        if path.is_dir():
            rows += summary_rows(sorted(path.rglob("metrics.json")))
        else:
            rows += read_summary(path)
    return rows


if __name__ == "__main__":
    print(to_markdown(aggregate(load_rows(sys.argv[1:] or ["results/summary.csv"]))))
