"""Seeds aggregated: per (dataset, experiment) mean ± std of every metric from summary.csv.

``python -m deepclust.tables results/summary.csv`` prints the Markdown table used in
docs/results.md. The standard deviation is the sample one (ddof = 1); with one seed it is 0.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterable
from pathlib import Path

import numpy as np

METRICS = ("acc", "nmi", "ari", "purity")


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
        for metric in METRICS:
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

    lines = [
        "| dataset | experiment | seeds | ACC | NMI | ARI | purity |",
        "|---|---|---|---|---|---|---|",
    ]
    for e in table:
        name = e["experiment"] + (" (uses labels)" if e["uses_labels"] else "")
        lines.append(
            f"| {e['dataset']} | {name} | {e['n_seeds']} | "
            + " | ".join(cell(e, m) for m in METRICS)
            + " |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print(
        to_markdown(
            aggregate(read_summary(sys.argv[1] if len(sys.argv) > 1 else "results/summary.csv"))
        )
    )
