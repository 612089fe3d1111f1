"""One page per paper, shaped like its tables: the published values with our runs beside them.

``docs/papers/{NAME}.md`` is generated from three files and nothing else: the ledger
(docs/runs.csv, our runs), ``workflow/resources/paper_values.csv`` (the published numbers, per
paper) and ``workflow/resources/paper_pages.yaml`` (each paper's table layout, the orderings its
text claims, the configs its cells run from). ``python -m deepclust.ledger build`` writes them
with docs/results.csv; ``--check`` fails when one is stale or hand-edited.

A *cell* is one (paper row, paper dataset). Its runs are the ledger's experiments recorded
under that paper row (the experiment's ``paper`` key) on a dataset the config names after the
paper's (``paper_name``), so the MNIST test split never stands for full MNIST. Runs that choose
with labels (a best-of-N by ACC) never fill a cell. Of several variants, the cell shows the best
mean over >= 3 seeds (else the one with the most seeds), names it, and marks where its setting
differs from the paper's: a variant's reading, fewer seeds, fewer pretraining epochs than the
paper states, a stand-in dataset. A cell without runs says why and gives the command that
would fill it.
"""

from __future__ import annotations

from pathlib import Path

from deepclust.compose import PAIR_SEPARATOR
from deepclust.ledger.paper_layout import (
    PAGES_SPEC,
    canonical_names,
    command_for,
    for_cell,
    load_configs,
    read_spec,
    reason_for,
)
from deepclust.tables import entry_text

PAGES_DIR = Path("docs/papers")
#: a cell "reproduces" when our mean is at most this far below the paper's (or above it)
WITHIN = 0.02
#: seeds a mean needs to count as a reproduction
MIN_SEEDS = 3
DATASET_NAMES = {
    "mnist": "MNIST",
    "mnist_test": "MNIST-test",
    "fashion_mnist": "Fashion-MNIST",
    "usps": "USPS",
    "coil20": "COIL-20",
}
METRIC_NAMES = {"acc": "ACC", "nmi": "NMI", "purity": "purity"}


def honest_entries(table: list[dict], method: str, paper_dataset: str) -> list[dict]:
    """The results-table entries (one per dataset x variant) that may fill a cell."""
    return [
        e
        for e in table
        if e["method"] == method
        and e["paper_dataset"] == paper_dataset
        and not e["uses_labels"]
        and e["acc_mean"] is not None
    ]


def best_entry(entries: list[dict]) -> dict | None:
    """The best mean over >= :data:`MIN_SEEDS` seeds; else the entry with the most seeds."""
    full = [e for e in entries if e["n_seeds"] >= MIN_SEEDS]
    if full:
        return max(full, key=lambda e: e["acc_mean"])
    return max(entries, key=lambda e: (e["n_seeds"], e["acc_mean"]), default=None)


def _first_epochs(entry: dict) -> int | None:
    text = (entry.get("epochs") or "").split(";")[0].strip()
    return int(float(text)) if text else None


def marks(entry: dict, method: str, paper: dict, canonical: dict | None = None) -> list[str]:
    """How the cell's setting differs from the paper's, in words (empty: the paper's own)."""
    found = []
    readings = paper.get("readings") or {}
    # another experiment than the row's own is a variant; a crossover cell's name is its
    # pairing, not a reading (its network may be one)
    own = (canonical or {}).get(method, method)
    if entry["variant"] not in (own, method) and PAIR_SEPARATOR not in entry["variant"]:
        found.append(f"variant `{entry['variant']}`")
    for name in dict.fromkeys([entry["variant"], *entry["extractor"].split("; ")]):
        if name in readings:
            found.append(" ".join(readings[name].split()))
    if entry["n_seeds"] < MIN_SEEDS:
        found.append(f"{entry['n_seeds']} seed(s)")
    stated, epochs = (paper.get("epochs") or {}).get(method), _first_epochs(entry)
    if stated and epochs is not None and epochs < stated:
        found.append(f"{epochs} epochs (paper {stated})")
    dataset = entry["paper_dataset"]
    native = for_cell(paper.get("native") or {}, method, dataset) or [dataset]
    if entry["dataset"] not in native:
        found.append(f"data `{entry['dataset']}`")
    return found


def published(paper_rows: list[dict], paper: str, table: str) -> dict:
    """``(method, dataset, metric) -> value`` of one printed table: its own rows, then the
    paper's other tables (a row printed twice, such as the full method in its ablation table,
    is listed once)."""
    values: dict = {}
    for own in (True, False):
        for r in paper_rows:
            if r["paper"] == paper and (r["table"] == table) == own:
                values.setdefault((r["method"], r["dataset"], r["metric"]), r["value"])
    return values


def _gap(ours: float, theirs: float) -> str:
    return f"{100 * (ours - theirs):+.1f}".replace("-", "−")


def _cell_text(value: float | None, entry: dict | None, metric: str, marked: bool) -> str:
    theirs = "—" if value is None else f"{value:.4g}"
    ours = entry_text(entry, metric) if entry else None
    if ours is None:
        return f"{theirs} / —"
    gap = "" if value is None else f" ({_gap(entry[f'{metric}_mean'], value)})"
    return f"{theirs} / **{ours}**{gap}{' †' if marked else ''}"


def reproduced(entry: dict | None, value: float | None) -> bool:
    """Within :data:`WITHIN` of the paper's ACC or above it, over >= :data:`MIN_SEEDS` seeds."""
    return (
        entry is not None
        and value is not None
        and entry["n_seeds"] >= MIN_SEEDS
        and entry["acc_mean"] >= value - WITHIN
    )


def page_cells(
    paper_name: str,
    paper: dict,
    table: list[dict],
    paper_rows: list[dict],
    canonical: dict | None = None,
) -> list:
    """Every cell of the page: (printed table, method, dataset, published values, entry, marks)."""
    cells = []
    for printed in paper["tables"]:
        values = published(paper_rows, paper_name, printed["name"])
        for method in printed["rows"]:
            for dataset in printed["datasets"]:
                metrics = printed.get("metrics", ["acc", "nmi"])
                theirs = {m: values.get((method, dataset, m)) for m in metrics}
                entry = best_entry(honest_entries(table, method, dataset))
                found = marks(entry, method, paper, canonical) if entry else []
                cells.append((printed, method, dataset, theirs, entry, found))
    return cells


def summary(cells: list) -> dict:
    """ACC cells of a page (:func:`page_cells`; each counted once): published, measured,
    measured over >= 3 seeds, and reproduced (:func:`reproduced`)."""
    seen: dict[tuple[str, str], tuple] = {}
    for _, method, dataset, theirs, entry, _ in cells:
        if theirs.get("acc") is not None:
            seen[method, dataset] = (theirs["acc"], entry)
    return {
        "cells": len(seen),
        "measured": sum(e is not None for _, e in seen.values()),
        "seeds3": sum(e is not None and e["n_seeds"] >= MIN_SEEDS for _, e in seen.values()),
        "reproduced": sum(reproduced(e, v) for v, e in seen.values()),
    }


def _orderings(paper: dict, cells: list) -> list[str]:
    """Each claimed chain, per dataset: holds / does not hold on our means, and on the paper's."""
    by_cell = {(m, d): (theirs.get("acc"), entry) for _, m, d, theirs, entry, _ in cells}
    datasets = list(dict.fromkeys(d for _, _, d, *_ in cells))
    lines = []
    labels = {m: t["labels"][m] for t in paper["tables"] for m in t["rows"]}
    for chain in paper.get("orderings") or []:
        names = " < ".join(labels.get(m, m) for m in chain)
        for dataset in datasets:
            found = [by_cell.get((m, dataset)) for m in chain]
            if any(f is None or f[0] is None for f in found):
                continue  # the paper does not print the chain on this dataset
            theirs = [f[0] for f in found]
            paper_holds = all(a < b for a, b in zip(theirs, theirs[1:], strict=False))
            where = f"{names} on {DATASET_NAMES.get(dataset, dataset)}"
            theirs_text = " < ".join(f"{v:.4g}" for v in theirs)
            if any(f[1] is None for f in found):
                missing = [
                    labels.get(m, m) for m, f in zip(chain, found, strict=True) if f[1] is None
                ]
                lines.append(
                    f"- {where}: not measured ({', '.join(missing)} missing); paper {theirs_text}"
                )
                continue
            ours = [f[1]["acc_mean"] for f in found]
            holds = all(a < b for a, b in zip(ours, ours[1:], strict=False))
            verdict = "**holds**" if holds else "**does not hold**"
            ours_text = ", ".join(f"{v:.3f}" for v in ours)
            lines.append(
                f"- {where}: {verdict} (ours {ours_text}; paper {theirs_text}"
                f"{'' if paper_holds else ', which does not hold in the paper either'})"
            )
    return lines


def page_markdown(
    paper_name: str, paper: dict, table: list[dict], paper_rows: list[dict], configs: dict
) -> str:
    """The page's text; ``configs`` is :func:`load_configs`' answer."""
    cells = page_cells(paper_name, paper, table, paper_rows, canonical_names(paper, configs))
    count = summary(cells)
    out = [
        f"# {paper_name}: the paper's tables beside our runs",
        "",
        "<!-- generated by `python -m deepclust.ledger build` from docs/runs.csv,",
        "workflow/resources/paper_values.csv and workflow/resources/paper_pages.yaml: do not edit -->",
        "",
        f"{paper['title']}; the paper's text: `{paper.get('source', '')}`.",
        "",
        f"Each cell: the paper's value / **our mean ± std over seeds** (gap in points); † marks a"
        f" setting that differs from the paper's (see *Cells*). ACC cells: {count['cells']}"
        f" printed, {count['measured']} measured, {count['seeds3']} over {MIN_SEEDS}+ seeds,"
        f" **{count['reproduced']} within {100 * WITHIN:.0f} points of the paper or above**"
        f" ({MIN_SEEDS}+ seeds).",
    ]
    for printed in paper["tables"]:
        metrics = printed.get("metrics", ["acc", "nmi"])
        header = ["method"] + [
            f"{DATASET_NAMES.get(d, d)} {METRIC_NAMES[m]}"
            for d in printed["datasets"]
            for m in metrics
        ]
        out += ["", f"## {printed['name'].capitalize()}: {printed['caption']}", ""]
        out += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for method in printed["rows"]:
            texts = [printed["labels"][method]]
            for cell in cells:
                if cell[0] is printed and cell[1] == method:
                    _, _, _, theirs, entry, found = cell
                    texts += [_cell_text(theirs[m], entry, m, bool(found)) for m in metrics]
            out.append("| " + " | ".join(texts) + " |")
    ordering_lines = _orderings(paper, cells)
    if ordering_lines:
        out += ["", "## Orderings the paper claims (ACC)", "", *ordering_lines]
    out += _cells_section(cells)
    out += _missing_section(paper, cells, configs)
    if paper.get("notes"):
        out += ["", "## Notes", ""] + [f"- {' '.join(n.split())}" for n in paper["notes"]]
    return "\n".join(out) + "\n"


def _cells_section(cells: list) -> list[str]:
    seen, rows, commands = set(), [], {}
    for printed, method, dataset, _, entry, found in cells:
        if entry is None or (method, dataset) in seen:
            continue
        seen.add((method, dataset))
        number = commands.setdefault(entry["command"], len(commands) + 1)
        rows.append(
            f"| {printed['labels'][method]} | {DATASET_NAMES.get(dataset, dataset)} | "
            f"`{entry['variant']}` on `{entry['dataset']}` | {entry['per_seed_acc'] or '—'} | "
            f"{entry['epochs'] or '—'} | {entry['source'] or '—'} | "
            f"{entry['device'] or '—'}{', ' + entry['precision'] if entry['precision'] else ''} | "
            f"{'; '.join(found) or '—'} | [{number}] |"
        )
    if not rows:
        return []
    return [
        "",
        "## Cells",
        "",
        "| row | dataset | variant on data | ACC per seed | epochs | data | device | differs from the paper | command |",
        "|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        *(f"[{n}] `{c}`  " for c, n in commands.items()),
    ]


def _missing_section(paper: dict, cells: list, configs: dict) -> list[str]:
    lines, seen = [], set()
    reasons = paper.get("not_run") or {}
    for printed, method, dataset, theirs, entry, _ in cells:
        if entry is not None or (method, dataset) in seen or theirs.get("acc") is None:
            continue
        seen.add((method, dataset))
        why = reason_for(reasons, method, dataset)
        command = command_for(paper, method, dataset, configs)
        run = f"`{command}`" if command else "no bundled config runs it"
        lines.append(
            f"- {printed['labels'][method]} on {DATASET_NAMES.get(dataset, dataset)}: {why}; {run}"
        )
    return ["", "## Not measured", "", *lines] if lines else []


def build_pages(
    table: list[dict],
    paper_rows: list[dict],
    spec_path: str | Path = PAGES_SPEC,
    out_dir: str | Path = PAGES_DIR,
    base_dir: str | Path = ".",
) -> dict[Path, str]:
    """``{page path: text}`` for every paper of the spec."""
    spec = read_spec(spec_path)
    configs = load_configs(spec, Path(base_dir))
    return {
        Path(out_dir) / f"{name}.md": page_markdown(name, paper, table, paper_rows, configs)
        for name, paper in spec.items()
    }


def summary_markdown(table: list[dict], paper_rows: list[dict], spec_path=PAGES_SPEC) -> str:
    """The index of the pages: per paper the ACC cells printed, measured and reproduced."""
    spec = read_spec(spec_path)
    lines = [
        "| paper | ACC cells | measured | over 3+ seeds | within 2 points or above |",
        "|---|---|---|---|---|",
    ]
    total = dict.fromkeys(("cells", "measured", "seeds3", "reproduced"), 0)
    for name, paper in spec.items():
        count = summary(page_cells(name, paper, table, paper_rows))
        total = {k: total[k] + count[k] for k in total}
        lines.append(
            f"| [{name}](papers/{name}.md) | {count['cells']} | {count['measured']} | "
            f"{count['seeds3']} | {count['reproduced']} |"
        )
    lines.append(
        f"| all | {total['cells']} | {total['measured']} | {total['seeds3']} | {total['reproduced']} |"
    )
    return "\n".join(lines)
