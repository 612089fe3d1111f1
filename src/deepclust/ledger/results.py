"""The results tables built from the ledger: per (method, dataset, variant) mean ± std over
seeds beside the published numbers, as docs/results.csv and as the generated blocks of
docs/results.md (:func:`build`)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from deepclust.io import write_text
from deepclust.ledger.consensus_rows import consensus_ledger, consensus_markdown, read_consensus
from deepclust.ledger.papers import PAGES_DIR, build_pages, summary_markdown
from deepclust.ledger.rows import column_floats
from deepclust.ledger.runs import LEDGER, read_ledger
from deepclust.paper_values import read_paper_rows, values_by_cell
from deepclust.tables import csv_cell, entry_text, group_runs, reduce_runs

RESULTS_CSV = Path("docs/results.csv")
RESULTS_MD = Path("docs/results.md")
PAPER_VALUES = Path("workflow/resources/paper_values.csv")

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
BLOCK = re.compile(r"(<!-- ledger:(?P<filters>[^>]*)-->\n)(?P<body>.*?)(<!-- /ledger -->)", re.S)
FILTER_KEYS = ("dataset", "experiment", "show", "view", "extractor", "clusterer", "seeds")
#: extra columns a block may ask for with ``show=...``
SHOW = ("train", "dead", "runs", "clusters")
#: what a block shows: the per-experiment table (default), the networks x clusterers grid of each
#: dataset, the label-free pick per dataset, or each cell's consensus over seeds beside the seeds
#: (the last three need extractor= and clusterer=)
VIEWS = ("table", "grid", "picks", "consensus", "papers")


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


def ledger_table(rows: list[dict], paper_values: dict | None = None) -> list[dict]:
    """One entry per (method, dataset, variant): the workflow's reduction over seeds
    (:func:`deepclust.tables.reduce_runs`), with the paper's value and what the ledger adds (per
    seed ACC, epochs, loss terms, dead units, device, times, data, command)."""
    table = []
    for (dataset, experiment), runs in group_runs(rows).items():
        method, paper_dataset = runs[0]["method"], runs[0]["paper_dataset"]
        paper = paper_values or {}
        reduced = reduce_runs(runs)
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
                "paper_dataset": paper_dataset,
                "variant": experiment,
                "extractor": _distinct(runs, "extractor"),
                "clusterer": _distinct(runs, "clusterer"),
                "paper_acc": (paper.get((method, paper_dataset, "acc")) or {}).get("value"),
                "paper_nmi": (paper.get((method, paper_dataset, "nmi")) or {}).get("value"),
                "acc_mean": reduced["acc_mean"],
                "acc_std": reduced["acc_std"],
                "nmi_mean": reduced["nmi_mean"],
                "nmi_std": reduced["nmi_std"],
                "purity_mean": reduced["purity_mean"],
                "purity_std": reduced["purity_std"],
                "init_acc_mean": reduced["init_acc_mean"],
                "best_epoch_acc_mean": reduced["best_epoch_acc_mean"],
                "n_seeds": reduced["n_seeds"],
                "seeds": " ".join(r["seed"] for r in runs),
                "per_seed_acc": " ".join(f"{float(r['acc']):.3f}" for r in runs if r.get("acc")),
                "epochs": _distinct(runs, "epochs"),
                "refine_iterations": _span(column_floats(runs, "refine_iterations")),
                "train_final": _mean_terms(runs),
                "dead_units": "; ".join(r.get("dead_units") or "—" for r in runs),
                "clusters_found": " ".join(r.get("n_clusters_found") or "—" for r in runs),
                "kmeans_runs": _runs_text(runs),
                "uses_labels": reduced["uses_labels"],
                "device": devices,
                "precision": _distinct(runs, "precision"),
                "pretrain_s": _span(column_floats(runs, "pretrain_s")),
                "clustering_s": _span(column_floats(runs, "clustering_s")),
                "source": _distinct(runs, "source"),
                "command": _distinct(runs, "command"),
            }
        )
    return table


def _fmt(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _pm(entry: dict, metric: str) -> str:
    """``mean ± std`` over seeds (:func:`~deepclust.tables.entry_text`), a dash for none."""
    return entry_text(entry, metric) or "—"


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
        if key == "view" and (len(filters[key]) != 1 or filters[key][0] not in VIEWS):
            raise ValueError(f"ledger block filter {word!r}: view is one of {', '.join(VIEWS)}")
    view = filters.get("view", ["table"])[0]
    if (
        view not in ("table", "papers")
        and not {"dataset", "extractor", "clusterer"} <= filters.keys()
    ):
        raise ValueError(
            f"ledger block '{text.strip()}': view={view} needs dataset=, extractor= and clusterer="
        )
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


def entries_markdown(entries: list[dict], show: Iterable[str] = ()) -> str:
    """A results table: paper value, measured mean ± std, seeds, epochs, device, times; the
    label-using columns only when some entry has them, the command under the table when shared;
    ``show`` adds the final training loss terms (``"train"``, mean over seeds), the dead units
    of each feature layer (``"dead"``, per seed), the spread of a best-of-N's candidate runs
    (``"runs"``, per seed) and the number of clusters found (``"clusters"``, per seed: DBSCAN
    finds its own)."""
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
            [("clusters found per seed", lambda e: e["clusters_found"] or "—")]
            if "clusters" in show
            else []
        ),
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


def render_blocks(
    text: str,
    table: list[dict],
    where: str = "",
    rows: list[dict] | None = None,
    paper_values: dict | None = None,
    consensus: list[dict] | None = None,
    paper_rows: list[dict] | None = None,
    papers: str | None = None,
) -> str:
    """``text`` with every ``<!-- ledger: ... -->`` block's body regenerated from ``table`` (or,
    for the cell views, from the ledger's ``rows`` and its ``consensus`` rows; for
    ``view=papers``, the index of the paper pages laid out by ``papers``)."""

    def replace(match: re.Match) -> str:
        filters = parse_filters(match["filters"])
        view = filters.get("view", ["table"])[0]
        if view == "papers":
            if papers is None:
                raise ValueError(f"{where}: ledger block view=papers needs the paper pages' layout")
            body = summary_markdown(table, paper_rows or [], papers)
            return f"{match.group(1)}{body}\n{match.group(4)}"
        if view != "table":
            body = _cell_view(view, filters, rows or [], paper_values or {}, where, consensus or [])
            return f"{match.group(1)}{body}\n{match.group(4)}"
        entries = select(table, filters)
        if not entries:
            raise ValueError(f"{where}: ledger block '{match['filters'].strip()}' matches no runs")
        table_text = entries_markdown(entries, show=filters.get("show", ()))
        return f"{match.group(1)}{table_text}\n{match.group(4)}"

    return BLOCK.sub(replace, text)


def _cell_view(
    view: str,
    filters: dict,
    rows: list[dict],
    paper_values: dict,
    where: str,
    consensus: list[dict],
) -> str:
    from deepclust.ledger import grid

    datasets, extractors, clusterers = (filters[k] for k in ("dataset", "extractor", "clusterer"))
    if view == "consensus":
        try:
            return consensus_markdown(rows, consensus, datasets, extractors, clusterers)
        except ValueError as err:
            raise ValueError(f"{where}: ledger block view=consensus: {err}") from None
    seeds = filters.get("seeds")  # the picks as a run of these seeds alone would have made them
    if seeds is not None and view != "picks":
        raise ValueError(f"{where}: ledger block view={view}: seeds= is for view=picks")
    for dataset in datasets:
        if not grid.cells(rows, dataset, extractors, clusterers, seeds):
            raise ValueError(f"{where}: ledger block view={view}: no runs of the grid on {dataset}")
    if view == "picks":
        return grid.picks_markdown(rows, datasets, extractors, clusterers, seeds)
    return "\n\n".join(
        grid.grid_markdown(rows, d, extractors, clusterers, paper_values) for d in datasets
    )


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
    pages: str | Path | None = None,
    pages_dir: str | Path = PAGES_DIR,
    base_dir: str | Path = ".",
) -> list[str]:
    """Regenerate ``results_csv``, the ledger blocks of ``markdown`` and the paper pages (one per
    paper of the ``pages`` layout, into ``pages_dir``; none when ``pages`` is None) from the
    ledger. ``base_dir`` is where the layout's config paths are read from.

    With ``check`` nothing is written; returns the files that are stale (empty: up to date).
    """
    rows, paper_rows = read_ledger(ledger), read_paper_rows(paper)
    paper_values = values_by_cell(paper_rows)
    consensus = read_consensus(consensus_ledger(ledger))
    table = ledger_table(rows, paper_values)
    outputs = {Path(results_csv): results_csv_text(table)}
    if pages is not None:
        outputs.update(build_pages(table, paper_rows, pages, pages_dir, base_dir))
    for path in map(Path, markdown):
        outputs[path] = render_blocks(
            path.read_text(),
            table,
            where=str(path),
            rows=rows,
            paper_values=paper_values,
            consensus=consensus,
            paper_rows=paper_rows,
            papers=pages,
        )
    stale = [str(p) for p, text in outputs.items() if not p.exists() or p.read_text() != text]
    if not check:
        for path in stale:
            write_text(path, outputs[Path(path)])
    return stale
