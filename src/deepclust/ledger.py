"""The committed record of measured runs, and the results tables built from it.

``results/`` lives on the machine that ran the workflow and is gone with it; the ledger
(``docs/runs.csv``) keeps one row per clustering run — its metrics, the training it used (epochs,
device, threads, wall time), the data it saw and the command that made it — so that every
number in ``docs/results.csv`` and in the generated tables of ``docs/results.md`` comes from a
command over runs, never from typing::

    # after a run: add (or replace) its rows in the ledger
    python -m deepclust.ledger record results/usps/ascae_mean results/usps/scae_mean \\
        --config workflow/configs/ascae.yaml --command "snakemake ... --configfile ..."
    # rebuild docs/results.csv and every generated table in docs/results.md
    python -m deepclust.ledger build
    python -m deepclust.ledger build --check   # exit 1 if either is stale (a test runs this)

A generated table in a Markdown file is the text between ``<!-- ledger: FILTERS -->`` and
``<!-- /ledger -->``; FILTERS are ``key=v1,v2`` words on ``dataset`` and ``experiment``
(the variant), listed in the order the rows should appear. Rows are keyed by (dataset,
extractor, clusterer, seed), the run's files: recording a run again replaces its row, under the
config's current experiment name.

Columns flagged "uses labels" (the best epoch by ACC, K-means' best of N by ACC) are never
the reported number; they sit beside the honest final-epoch / by-inertia one so readers see both.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
import sys
from collections.abc import Iterable
from datetime import date
from pathlib import Path

import h5py
import numpy as np

from deepclust.io import read_csv, write_csv, write_text
from deepclust.tables import csv_cell, mean_std, mean_std_text, read_paper_values

LEDGER = Path("docs/runs.csv")
RESULTS_CSV = Path("docs/results.csv")
RESULTS_MD = Path("docs/results.md")
PAPER_VALUES = Path("workflow/resources/paper_values.csv")

#: what identifies a run: its files' path (the experiment name may change with the config)
KEY = ("dataset", "extractor", "clusterer", "seed")
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
    "threads",
    "source",  # what the images were (e.g. "USPS 9,298, shared usps.npz as own data")
    "command",
    "recorded",
]
RESULT_COLUMNS = [
    "method",
    "dataset",
    "variant",
    "paper_acc",
    "paper_nmi",
    "acc_mean",
    "acc_std",
    "nmi_mean",
    "nmi_std",
    "init_acc_mean",
    "best_epoch_acc_mean",
    "n_seeds",
    "seeds",
    "per_seed_acc",
    "epochs",
    "refine_iterations",
    "uses_labels",
    "device",
    "pretrain_s",
    "source",
    "command",
]
NOT_LOSS_TERMS = {"epoch", "lr", "seconds", "img_per_s"}
BLOCK = re.compile(r"(<!-- ledger:(?P<filters>[^>]*)-->\n)(?P<body>.*?)(<!-- /ledger -->)", re.S)
FILTER_KEYS = ("dataset", "experiment", "show")
#: extra columns a block may ask for with ``show=...``
SHOW = ("train", "dead", "runs")


# -- recording runs ---------------------------------------------------------------------------


def _pretrain_environment(log_path: Path) -> dict:
    """The ``environment: {...}`` line a pretraining job logs (device, threads), if any."""
    if not log_path.exists():
        return {}
    for line in log_path.read_text().splitlines():
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
        f"{name}={_constant_units(values)}/{values.shape[1]}"
        for name, values in sorted(layers.items())
    )


def _constant_units(values: np.ndarray) -> int:
    """Units whose spread over the samples is float rounding (batches of different sizes can
    differ in the last bits) relative to their size."""
    values = values.astype(np.float64)
    scale = np.maximum(1.0, np.abs(values).max(axis=0))
    return int((np.ptp(values, axis=0) <= 1e-6 * scale).sum())


def run_row(metrics_json: Path, config: dict | None, command: str, source: str) -> dict:
    """One ledger row from a run's metrics.json and the files beside it.

    ``metrics_json`` is ``{results}/{dataset}/{extractor}/seed{seed}/{clusterer}/metrics.json``;
    the training log, the pretraining job's log and benchmark are found from there.
    """
    record = json.loads(metrics_json.read_text())
    run_dir = metrics_json.parent.parent
    results = run_dir.parent.parent.parent
    dataset, extractor, seed = record["dataset"], record["extractor"], int(record["seed"])
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

    train_log = run_dir / "train_log.csv"
    log_rows = read_csv(train_log) if train_log.exists() else []
    epochs = len(log_rows) or None
    final = log_rows[-1] if log_rows else {}
    train_final = " ".join(
        f"{k}={float(v):.4g}" for k, v in final.items() if k not in NOT_LOSS_TERMS and v != ""
    )
    job = f"{dataset}/{extractor}/seed{seed}"
    environment = _pretrain_environment(results / "logs" / "pretrain" / f"{job}.log")
    if not environment and refinement:
        environment = record.get("environment", {})
    runs = record.get("runs") or []
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
        "uses_labels": bool(record.get("uses_labels")),
        "init_acc": (refinement.get("init_metrics") or {}).get("acc"),
        "best_epoch_acc": refinement.get("best_monitored_acc_uses_labels"),
        "kmeans_runs_acc": " ".join(f"{r['acc']:.4f}" for r in runs) or None,
        "refine_iterations": refinement.get("iterations"),
        "epochs": epochs,
        "train_final": train_final or None,
        "dead_units": dead_units(run_dir / "features.h5") if log_rows else None,
        "pretrain_s": _benchmark_seconds(results / "benchmarks" / "pretrain" / f"{job}.tsv"),
        "clustering_s": record.get("runtime_s"),
        "device": environment.get("device_name") or environment.get("device"),
        "threads": environment.get("torch_threads"),
        "source": source,
        "command": command,
        "recorded": date.today().isoformat(),
    }


def _key(row: dict) -> tuple[str, ...]:
    return tuple(str(row[k]) for k in KEY)


def read_ledger(path: str | Path) -> list[dict]:
    """The ledger's rows (strings, as CSV holds them); empty when the file does not exist."""
    path = Path(path)
    if not path.exists():
        return []
    rows = read_csv(path)
    if rows and set(RUN_COLUMNS) - set(rows[0]):
        missing = ", ".join(sorted(set(RUN_COLUMNS) - set(rows[0])))
        raise ValueError(f"{path}: missing column(s) {missing}; expected {', '.join(RUN_COLUMNS)}")
    return rows


def record_runs(
    paths: Iterable[str | Path],
    ledger: str | Path = LEDGER,
    *,
    config: dict | None = None,
    command: str,
    source: str,
) -> list[dict]:
    """Add every metrics.json under ``paths`` to the ledger, replacing rows with the same key."""
    files = []
    for path in map(Path, paths):
        files += sorted(path.rglob("metrics.json")) if path.is_dir() else [path]
    if not files:
        raise ValueError(f"no metrics.json under {', '.join(map(str, paths))}")
    new = [run_row(f, config, command, source) for f in files]
    rows = {_key(r): r for r in read_ledger(ledger)}
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
    return new


# -- building the tables ----------------------------------------------------------------------


def _floats(runs: list[dict], column: str) -> np.ndarray:
    return np.asarray([float(r[column]) for r in runs if r.get(column) not in (None, "")])


def _distinct(runs: list[dict], column: str) -> str:
    return "; ".join(dict.fromkeys(r[column] for r in runs if r.get(column)))


def _mean_terms(runs: list[dict]) -> str:
    """The seeds' mean of each final training loss term, ``name=value`` words."""
    terms: dict[str, list[float]] = {}
    for run in runs:
        for word in (run.get("train_final") or "").split():
            name, _, value = word.partition("=")
            terms.setdefault(name, []).append(float(value))
    return " ".join(f"{name}={np.mean(values):.4g}" for name, values in terms.items())


def _span(values: np.ndarray) -> str | None:
    if not len(values):
        return None
    low, high = values.min(), values.max()
    return f"{low:.0f}" if round(low) == round(high) else f"{low:.0f}-{high:.0f}"


def results_table(rows: list[dict], paper_values: dict | None = None) -> list[dict]:
    """One entry per (method, dataset, variant): mean ± std over seeds, with the paper's value."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        groups.setdefault((row["dataset"], row["experiment"]), []).append(row)
    table = []
    for (dataset, experiment), runs in sorted(groups.items()):
        runs.sort(key=lambda r: int(r["seed"]))
        method, paper_dataset = runs[0]["method"], runs[0]["paper_dataset"]
        paper = paper_values or {}
        (acc_mean, acc_std), (nmi_mean, nmi_std) = (
            mean_std(_floats(runs, m)) for m in ("acc", "nmi")
        )
        devices = "; ".join(
            dict.fromkeys(
                (r["device"] or "?") + (f", {r['threads']} thread(s)" if r.get("threads") else "")
                for r in runs
                if r.get("device") or r.get("threads")
            )
        )
        table.append(
            {
                "method": method,
                "dataset": dataset,
                "variant": experiment,
                "paper_acc": (paper.get((method, paper_dataset, "acc")) or {}).get("value"),
                "paper_nmi": (paper.get((method, paper_dataset, "nmi")) or {}).get("value"),
                "acc_mean": acc_mean,
                "acc_std": acc_std,
                "nmi_mean": nmi_mean,
                "nmi_std": nmi_std,
                "init_acc_mean": mean_std(_floats(runs, "init_acc"))[0],
                "best_epoch_acc_mean": mean_std(_floats(runs, "best_epoch_acc"))[0],
                "n_seeds": len(runs),
                "seeds": " ".join(r["seed"] for r in runs),
                "per_seed_acc": " ".join(f"{float(r['acc']):.3f}" for r in runs if r.get("acc")),
                "epochs": _distinct(runs, "epochs"),
                "refine_iterations": _span(_floats(runs, "refine_iterations")),
                "train_final": _mean_terms(runs),
                "dead_units": "; ".join(r.get("dead_units") or "—" for r in runs),
                "kmeans_runs": _runs_text(runs),
                "uses_labels": any(r["uses_labels"] == "True" for r in runs),
                "device": devices,
                "pretrain_s": _span(_floats(runs, "pretrain_s")),
                "clustering_s": _span(_floats(runs, "clustering_s")),
                "source": _distinct(runs, "source"),
                "command": _distinct(runs, "command"),
            }
        )
    return table


def _fmt(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _pm(entry: dict, metric: str) -> str:
    """``mean ± std`` over seeds; the value alone for one seed (no spread to show)."""
    if entry[f"{metric}_mean"] is None:
        return "—"
    if entry["n_seeds"] == 1:
        return f"{entry[f'{metric}_mean']:.3f}"
    return mean_std_text(entry[f"{metric}_mean"], entry[f"{metric}_std"])


def _runs_text(runs: list[dict]) -> str:
    """A best-of-N's candidates, per seed: ``min / median / max`` of the N runs' ACC."""
    parts = []
    for run in runs:
        accs = np.asarray([float(a) for a in (run.get("kmeans_runs_acc") or "").split()])
        if len(accs):
            parts.append(
                f"{len(accs)}: {accs.min():.3f} / {np.median(accs):.3f} / {accs.max():.3f}"
            )
    return "; ".join(parts)


def parse_filters(text: str) -> dict[str, list[str]]:
    """``dataset=usps experiment=a,b`` -> ``{"dataset": ["usps"], "experiment": ["a", "b"]}``."""
    filters: dict[str, list[str]] = {}
    for word in text.split():
        key, sep, values = word.partition("=")
        if not sep or key not in FILTER_KEYS or not values:
            raise ValueError(
                f"ledger block filter {word!r}: expected key=v1,v2 with key one of {FILTER_KEYS}"
            )
        filters[key] = values.split(",")
        if key == "show" and set(filters[key]) - set(SHOW):
            raise ValueError(f"ledger block filter {word!r}: show takes {', '.join(SHOW)}")
    return filters


def select(table: list[dict], filters: dict[str, list[str]]) -> list[dict]:
    """The entries matching every filter, in the order the filters list them."""
    datasets, experiments = filters.get("dataset"), filters.get("experiment")
    chosen = [
        e
        for e in table
        if (datasets is None or e["dataset"] in datasets)
        and (experiments is None or e["variant"] in experiments)
    ]

    def order(e):
        return (
            experiments.index(e["variant"]) if experiments else 0,
            datasets.index(e["dataset"]) if datasets else 0,
        )

    return sorted(chosen, key=order)


def _epochs_text(entry: dict) -> str:
    """Pretraining epochs, plus a refiner's iterations (``50 + 200 it.``)."""
    text = entry["epochs"] or "—"
    return f"{text} + {entry['refine_iterations']} it." if entry["refine_iterations"] else text


def to_markdown(entries: list[dict], show: Iterable[str] = ()) -> str:
    """A results table: paper value, measured mean ± std, seeds, epochs, device, times; the
    label-using columns only when some entry has them, the command under the table when shared;
    ``show`` adds the final training loss terms (``"train"``, mean over seeds), the dead units
    of each feature layer (``"dead"``, per seed) and the spread of a best-of-N's candidate runs
    (``"runs"``, per seed)."""
    columns = [
        ("variant", lambda e: e["variant"] + (" (**uses labels**)" if e["uses_labels"] else "")),
        ("dataset", lambda e: e["dataset"]),
        ("paper ACC / NMI", lambda e: f"{_fmt(e['paper_acc'], 4)} / {_fmt(e['paper_nmi'], 4)}"),
        ("ACC", lambda e: _pm(e, "acc")),
        ("NMI", lambda e: _pm(e, "nmi")),
        ("per seed ACC", lambda e: e["per_seed_acc"] or "—"),
    ]
    if any(e["init_acc_mean"] is not None for e in entries):
        columns.append(("K-means start ACC", lambda e: _fmt(e["init_acc_mean"])))
    if any(e["best_epoch_acc_mean"] is not None for e in entries):
        columns.append(
            ("best epoch ACC (**uses labels**)", lambda e: _fmt(e["best_epoch_acc_mean"]))
        )
    columns += [
        ("seeds", lambda e: e["seeds"].replace(" ", ",")),
        ("epochs", _epochs_text),
        *(
            [("final training loss terms", lambda e: e["train_final"] or "—")]
            if "train" in show
            else []
        ),
        *([("dead units per seed", lambda e: e["dead_units"] or "—")] if "dead" in show else []),
        *(
            [
                (
                    "best-of-N runs' ACC per seed (N: min / median / max)",
                    lambda e: e["kmeans_runs"] or "—",
                )
            ]
            if "runs" in show
            else []
        ),
        ("device", lambda e: e["device"] or "—"),
        ("pretrain s", lambda e: e["pretrain_s"] or "—"),
        ("clustering s", lambda e: e["clustering_s"] or "—"),
    ]
    commands = {e["command"] for e in entries}
    if len(commands) > 1:
        columns.append(("command", lambda e: f"`{e['command']}`"))
    lines = [
        "| " + " | ".join(name for name, _ in columns) + " |",
        "|" + "---|" * len(columns),
        *("| " + " | ".join(render(e) for _, render in columns) + " |" for e in entries),
    ]
    if len(commands) == 1 and entries:
        lines += ["", f"Command: `{commands.pop()}`"]
    return "\n".join(lines)


def render_blocks(text: str, table: list[dict], where: str = "") -> str:
    """``text`` with every ``<!-- ledger: ... -->`` block's body regenerated from ``table``."""

    def replace(match: re.Match) -> str:
        filters = parse_filters(match["filters"])
        entries = select(table, filters)
        if not entries:
            raise ValueError(f"{where}: ledger block '{match['filters'].strip()}' matches no runs")
        table_text = to_markdown(entries, show=filters.get("show", ()))
        return f"{match.group(1)}{table_text}\n{match.group(4)}"

    return BLOCK.sub(replace, text)


def results_csv_text(table: list[dict]) -> str:
    """docs/results.csv's text: one row per (method, dataset, variant)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, RESULT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows({c: csv_cell(e[c]) for c in RESULT_COLUMNS} for e in table)
    return out.getvalue()


def build(
    ledger: str | Path = LEDGER,
    results_csv: str | Path = RESULTS_CSV,
    markdown: Iterable[str | Path] = (RESULTS_MD,),
    paper: str | Path = PAPER_VALUES,
    check: bool = False,
) -> list[str]:
    """Regenerate ``results_csv`` and the ledger blocks of ``markdown`` from the ledger.

    With ``check`` nothing is written; returns the files that are stale (empty: up to date).
    """
    table = results_table(read_ledger(ledger), read_paper_values(paper))
    outputs = {Path(results_csv): results_csv_text(table)}
    for path in map(Path, markdown):
        outputs[path] = render_blocks(path.read_text(), table, where=str(path))
    stale = [str(p) for p, text in outputs.items() if not p.exists() or p.read_text() != text]
    if not check:
        for path in stale:
            write_text(path, outputs[Path(path)])
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m deepclust.ledger", description=__doc__.split("\n")[0]
    )
    sub = parser.add_subparsers(dest="action", required=True)
    rec = sub.add_parser("record", help="add runs (metrics.json files or folders) to the ledger")
    rec.add_argument("paths", nargs="+")
    rec.add_argument("--config", help="the workflow config the runs used (paper names)")
    rec.add_argument("--command", required=True, help="the command that made the runs")
    rec.add_argument("--source", default="", help="what the images were")
    rec.add_argument("--ledger", default=str(LEDGER))
    bld = sub.add_parser("build", help="regenerate docs/results.csv and the Markdown tables")
    bld.add_argument("--ledger", default=str(LEDGER))
    bld.add_argument("--csv", default=str(RESULTS_CSV))
    bld.add_argument("--markdown", nargs="*", default=[str(RESULTS_MD)])
    bld.add_argument("--paper", default=str(PAPER_VALUES))
    bld.add_argument("--check", action="store_true", help="exit 1 if anything is stale")
    args = parser.parse_args(argv)

    if args.action == "record":
        config = None
        if args.config:
            import yaml

            config = yaml.safe_load(Path(args.config).read_text())
        new = record_runs(
            args.paths, args.ledger, config=config, command=args.command, source=args.source
        )
        print(f"{args.ledger}: recorded {len(new)} run(s)")
        return 0
    stale = build(args.ledger, args.csv, args.markdown, args.paper, check=args.check)
    if args.check and stale:
        print(f"stale (run `python -m deepclust.ledger build`): {', '.join(stale)}")
        return 1
    print("up to date" if not stale else f"rewrote {', '.join(stale)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
