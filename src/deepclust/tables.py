"""Seeds aggregated: one summary row per run's metrics.json (``SUMMARY_COLUMNS``), then per
(dataset, experiment) mean ± std of every metric, with the published value beside each.

``python -m deepclust.tables results/reports/default/summary.csv`` prints the Markdown table
used in docs/results.md (a config's summary is under its name, ``results/reports/{name}``);
``python -m deepclust.tables results/usps`` reads every ``metrics.json`` under a folder instead
(for runs made by naming targets, which does not write summary.csv);
``--paper workflow/resources/paper_values.csv`` adds the papers' numbers (``--config`` a
workflow config to take its ``paper`` / ``paper_name`` renamings from). The standard deviation
is the sample one (ddof = 1); with one seed it is 0.

Published numbers live in one CSV (``method, dataset, metric, value, paper, table``), never in
code. An experiment is matched by its config's ``paper`` key (default: the experiment's name),
a dataset by its ``paper_name`` (default: its name), so ``usps32`` can compare with a paper's
USPS and ``sdekc_swapped`` with SDEKC's row.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from deepclust import cli
from deepclust.config import load_yaml
from deepclust.degenerate import dead_share
from deepclust.io import read_csv, write_csv
from deepclust.label_free import SCORES
from deepclust.paper_values import read_paper_values
from deepclust.paths import PATHS

METRICS = ("acc", "nmi", "ari", "purity")
#: also averaged when present: the ACC of the K-means a refining clusterer started from, its best
#: monitored epoch by ACC (uses labels: SDCN's published protocol, shown beside the final epoch),
#: the clusterer's wall time, the share of the network's code units that are dead and the
#: partition's modularity on the dataset's pixel kNN graph (the label-free pick's score)
OPTIONAL = ("init_acc", "best_epoch_acc", "runtime_s", "dead_share", "modularity")
#: the consensus over seeds (config `consensus`): its ACC, NMI and mean ARI with each seed
CONSENSUS_COLUMNS = ("consensus_acc", "consensus_nmi", "consensus_agreement")


SUMMARY_COLUMNS = [
    "experiment",
    "dataset",
    "extractor",
    "clusterer",
    "swept",
    "seed",
    "acc",
    "nmi",
    "ari",
    "purity",
    "noise_fraction",
    "n_clusters",
    "n_clusters_found",
    # label-free, on the space the clusterer partitioned (deepclust.label_free)
    *SCORES,
    # label-free, on the dataset's pixel kNN graph: comparable across experiments (the pick's)
    "modularity",
    "uses_labels",
    # what makes the scores suspect (deepclust.degenerate), "; "-joined, and the share of the
    # network's code units that are dead
    "warnings",
    "dead_share",
    "runtime_s",
    # refining clusterers only: the K-means they started from, and how long they ran
    "init_acc",
    "init_nmi",
    "refine_iterations",
    # the best monitored epoch/iteration by ACC: USES LABELS (SDCN's published protocol), shown
    # beside the final one, never instead of it
    "best_epoch_acc",
]


def run_key(dataset, extractor, clusterer, seed) -> tuple[str, str, str, int]:
    """How a clustering run is named across metrics.json, summary rows and memberships."""
    return (str(dataset), str(extractor), str(clusterer), int(seed))


def summary_row(record: dict, memberships: dict | None = None) -> dict:
    """One run's metrics.json as a summary row (``SUMMARY_COLUMNS``).

    ``memberships``: ``{run_key: {"experiment", "swept"}}`` from the workflow's config (the
    aggregate rule's params); a run it names takes its experiment and swept values from there,
    since those belong to the config of the day, not to the result. Otherwise the record's own
    (runs made by an older version, or read outside a workflow)."""
    row = {key: record.get(key) for key in SUMMARY_COLUMNS}
    if memberships:
        member = memberships.get(
            run_key(
                record.get("dataset"),
                record.get("extractor"),
                record.get("clusterer"),
                record.get("seed", -1),
            )
        )
        if member:
            row.update(experiment=member["experiment"], swept=member.get("swept", ""))
    row.update(
        {
            k: record["metrics"].get(k)
            for k in ("acc", "nmi", "ari", "purity", "noise_fraction", "n_clusters_found")
        }
    )
    row.update({k: (record.get("label_free") or {}).get(k) for k in SCORES})
    row["warnings"] = "; ".join(record.get("warnings") or [])
    row["dead_share"] = dead_share(record.get("dead_units"))
    if "refinement" in record:
        refinement = record["refinement"]
        row["init_acc"] = refinement["init_metrics"].get("acc")
        row["init_nmi"] = refinement["init_metrics"].get("nmi")
        row["refine_iterations"] = refinement["iterations"]
        row["best_epoch_acc"] = refinement.get("best_monitored_acc_uses_labels")
    return row


def sort_summary(rows: list[dict]) -> list[dict]:
    """Summary rows in their stable order (dataset, experiment, extractor, clusterer, seed)."""
    return sorted(
        rows,
        key=lambda r: (
            r["dataset"],
            r["experiment"] or "",
            r["extractor"],
            r["clusterer"],
            r["seed"],
        ),
    )


def summary_rows(
    metrics_files: Iterable[str | Path], memberships: dict | None = None
) -> list[dict]:
    """One row (``SUMMARY_COLUMNS``) per clustering run's metrics.json, in a stable order."""
    return sort_summary(
        [summary_row(json.loads(Path(p).read_text()), memberships) for p in metrics_files]
    )


def group_runs(rows: Iterable[dict]) -> dict[tuple[str, str], list[dict]]:
    """Runs by (dataset, experiment), in that sorted order, each group's runs by seed: the rows of
    every results table (the workflow's table.csv and the ledger's docs tables alike)."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        groups.setdefault((row["dataset"], row["experiment"]), []).append(row)
    return {key: sorted(groups[key], key=lambda r: int(r["seed"])) for key in sorted(groups)}


def reduce_runs(runs: list[dict]) -> dict:
    """One group's seeds reduced: ``n_seeds``, ``seeds``, ``{metric}_mean``/``_std`` (sample std)
    of every metric, label-free score and optional column present, ``uses_labels`` (any) and
    the seeds' ``warnings`` (each said once)."""
    entry = {"n_seeds": len(runs), "seeds": sorted(int(r["seed"]) for r in runs)}
    for metric in (*METRICS, *SCORES, *OPTIONAL):
        values = np.asarray([float(r[metric]) for r in runs if r.get(metric) not in (None, "")])
        entry[f"{metric}_mean"], entry[f"{metric}_std"] = mean_std(values)
    entry["uses_labels"] = any(str(r.get("uses_labels")) == "True" for r in runs)
    said = [w for r in runs for w in (r.get("warnings") or "").split("; ") if w]
    entry["warnings"] = "; ".join(dict.fromkeys(said))
    return entry


def aggregate(rows: Iterable[dict]) -> list[dict]:
    """The workflow's results table: one entry per (dataset, experiment), metrics over seeds."""
    return [
        {"dataset": dataset, "experiment": experiment, **reduce_runs(runs)}
        for (dataset, experiment), runs in group_runs(rows).items()
    ]


def mean_std(values: np.ndarray) -> tuple[float | None, float | None]:
    """Mean and sample std (ddof = 1) over seeds; std 0 for one seed, both None for none."""
    if not len(values):
        return None, None
    return float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else 0.0


def paper_names(config: dict) -> dict[str, dict[str, str]]:
    """The config's renamings to the papers' names: ``{"experiments": {name: paper}, "datasets":
    {name: paper_name}}``, for the entries that have one."""
    return {
        "experiments": {
            n: e["paper"] for n, e in config.get("experiments", {}).items() if e.get("paper")
        },
        "datasets": {
            n: d["paper_name"] for n, d in config.get("datasets", {}).items() if d.get("paper_name")
        },
    }


def add_paper_values(
    table: list[dict],
    paper_values: dict[tuple[str, str, str], dict],
    experiment_paper: dict[str, str] | None = None,
    dataset_paper: dict[str, str] | None = None,
) -> list[dict]:
    """Put the published value and ``measured mean - published`` beside each metric.

    ``experiment_paper`` / ``dataset_paper`` rename experiments and datasets to the paper's
    names (config keys ``paper`` and ``paper_name``); unnamed ones are looked up as they are.
    Adds ``{metric}_paper``, ``{metric}_diff`` and ``paper_source`` (None where nothing matched).
    """
    experiment_paper, dataset_paper = experiment_paper or {}, dataset_paper or {}
    for entry in table:
        # a run shared by several experiments is named "a+b": the first with a paper name wins
        parts = entry["experiment"].split("+")
        method = next((experiment_paper[p] for p in parts if p in experiment_paper), parts[0])
        dataset = dataset_paper.get(entry["dataset"], entry["dataset"])
        sources = set()
        for metric in METRICS:
            found = paper_values.get((method, dataset, metric))
            mean = entry.get(f"{metric}_mean")
            entry[f"{metric}_paper"] = found["value"] if found else None
            entry[f"{metric}_diff"] = mean - found["value"] if found and mean is not None else None
            if found:
                sources.add(f"{found['paper']} {found['table']}")
        entry["paper_source"] = "; ".join(sorted(sources)) or None
    return table


def csv_cell(value):
    """How results CSVs write a value: floats to 6 decimals, lists space-separated, None empty."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6f}"
    if isinstance(value, list):
        return " ".join(map(str, value))
    return value


def csv_number(value) -> float | None:
    """A number cell as :func:`csv_cell` wrote it (text), or a number already; empty is None."""
    return None if value in (None, "") else float(value)


def write_table_csv(path: str | Path, table: list[dict]) -> None:
    """The aggregated table as CSV (numbers to 6 decimals, empty where there is none)."""
    columns = ["dataset", "experiment", "n_seeds", "seeds", "uses_labels"]
    for metric in (*METRICS, *SCORES, *OPTIONAL):
        columns += [f"{metric}_mean", f"{metric}_std"]
        if metric in METRICS:
            columns += [f"{metric}_paper", f"{metric}_diff"]
    columns += ["seed_stability", *CONSENSUS_COLUMNS, "paper_source", "warnings", "k_swept"]
    write_csv(path, [{c: csv_cell(e.get(c)) for c in columns} for e in table], columns)


def mean_std_text(mean: float | None, std: float | None) -> str | None:
    """``0.715 ± 0.012``; None when there is no mean (no labels to score)."""
    return None if mean is None else f"{mean:.3f} ± {std or 0.0:.3f}"


def entry_text(entry: dict, metric: str) -> str | None:
    """A results entry's ``mean ± std`` over seeds; the value alone for one seed (no spread to
    show); None when there is no mean."""
    mean = entry.get(f"{metric}_mean")
    if mean is None or entry["n_seeds"] != 1:
        return mean_std_text(mean, entry.get(f"{metric}_std"))
    return f"{mean:.3f}"


def paper_text(paper: float | None, diff: float | None) -> str | None:
    """``0.7986 (-0.142)``: the published value and measured − published; None when unpublished."""
    if paper is None:
        return None
    return f"{paper:.4g}" + ("" if diff is None else f" ({diff:+.3f})")


def to_markdown(table: list[dict]) -> str:
    def cell(entry, metric):
        return mean_std_text(entry[f"{metric}_mean"], entry[f"{metric}_std"]) or "—"

    def paper_cell(entry, metric):
        return paper_text(entry.get(f"{metric}_paper"), entry.get(f"{metric}_diff")) or "—"

    columns = [
        (lambda e, m=m: cell(e, m), name)
        for m, name in zip(METRICS, ("ACC", "NMI", "ARI", "purity"), strict=True)
    ]
    for metric, name in (("acc", "paper ACC (diff)"), ("nmi", "paper NMI (diff)")):
        if any(e.get(f"{metric}_paper") is not None for e in table):
            columns.append((lambda e, m=metric: paper_cell(e, m), name))
    if any(e.get("init_acc_mean") is not None for e in table):
        columns.append((lambda e: cell(e, "init_acc"), "ACC before refinement"))
    if any(e.get("best_epoch_acc_mean") is not None for e in table):
        columns.append((lambda e: cell(e, "best_epoch_acc"), "best epoch ACC (uses labels)"))
    if any(e.get("consensus_acc") is not None for e in table):
        columns.append(
            (
                lambda e: (
                    "—"
                    if e.get("consensus_acc") is None
                    else f"{e['consensus_acc']:.3f} ({e['consensus_agreement']:.2f})"
                ),
                "consensus ACC (agreement)",
            )
        )
    if any(e.get("runtime_s_mean") is not None for e in table):
        columns.append(
            (
                lambda e: "—" if e["runtime_s_mean"] is None else f"{e['runtime_s_mean']:.0f}",
                "clustering s",
            )
        )
    lines = [
        "| dataset | experiment | seeds | " + " | ".join(name for _, name in columns) + " |",
        "|---|---|---|" + "---|" * len(columns),
    ]
    for e in table:
        name = e["experiment"] + (" (uses labels)" if e["uses_labels"] else "")
        name += " (warning)" if e.get("warnings") else ""
        lines.append(
            f"| {e['dataset']} | {name} | {e['n_seeds']} | "
            + " | ".join(render(e) for render, _ in columns)
            + " |"
        )
    warned = [
        f"- {e['dataset']} / {e['experiment']}: {e['warnings']}" for e in table if e.get("warnings")
    ]
    if warned:
        lines += ["", "Warnings: the scores of these rows mean little.", "", *warned]
    return "\n".join(lines)


def load_rows(paths: Iterable[str | Path]) -> list[dict]:
    """Rows from summary.csv files, or from every metrics.json under the given folders."""
    rows: list[dict] = []
    for path in map(Path, paths):
        if path.is_dir():
            rows += summary_rows(sorted(path.rglob(Path(PATHS["metrics"]).name)))
        else:
            rows += read_csv(path)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser("python -m deepclust.tables", __doc__)
    parser.add_argument(
        "paths",
        nargs="+",
        help="summary.csv files (a config's, in its report folder) or results folders",
    )
    parser.add_argument(
        "--paper", help="published-numbers CSV (workflow/resources/paper_values.csv)"
    )
    parser.add_argument(
        "--config", help="a workflow config whose `paper` / `paper_name` keys rename its entries"
    )
    args = parser.parse_args(argv)

    def body() -> None:
        table = aggregate(load_rows(args.paths))
        if args.paper:
            names = paper_names(load_yaml(args.config)) if args.config else {}
            add_paper_values(
                table,
                read_paper_values(args.paper),
                names.get("experiments"),
                names.get("datasets"),
            )
        print(to_markdown(table))

    return cli.run(parser, body)


if __name__ == "__main__":
    raise SystemExit(main())
