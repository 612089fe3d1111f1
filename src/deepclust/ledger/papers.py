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

from deepclust.ledger.cells import (
    DATASET_NAMES,
    MIN_SEEDS,
    WITHIN,
    at_settings,
    cell_entry,
    honest_entries,
    marks,
    reproduced,
    standing,
)
from deepclust.ledger.orderings import ordering_lines
from deepclust.ledger.paper_layout import (
    PAGES_SPEC,
    canonical_names,
    command_for,
    load_configs,
    read_spec,
    reason_for,
)
from deepclust.tables import entry_text

PAGES_DIR = Path("docs/papers")
METRIC_NAMES = {"acc": "ACC", "nmi": "NMI", "purity": "purity"}


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
                entry, found = cell_entry(
                    honest_entries(table, method, dataset),
                    lambda e, method=method: marks(e, method, paper, canonical),
                )
                cells.append((printed, method, dataset, theirs, entry, found))
    return cells


def summary(cells: list) -> dict:
    """ACC cells of a page (:func:`page_cells`; each counted once): published, measured,
    measured over >= 3 seeds, reproduced (:func:`reproduced`, any setting), and of the cells
    measured at the paper's settings and data (:func:`at_settings`, >= 3 seeds) how many are
    within 2 points, more than 2 above and more than 2 short (:func:`standing`)."""
    seen: dict[tuple[str, str], tuple] = {}
    for _, method, dataset, theirs, entry, found in cells:
        if theirs.get("acc") is not None:
            seen[method, dataset] = (theirs["acc"], entry, found)
    settled = [
        standing(e, v)
        for v, e, found in seen.values()
        if e is not None and e["n_seeds"] >= MIN_SEEDS and at_settings(e, found)
    ]
    return {
        "cells": len(seen),
        "measured": sum(e is not None for _, e, _ in seen.values()),
        "seeds3": sum(e is not None and e["n_seeds"] >= MIN_SEEDS for _, e, _ in seen.values()),
        "reproduced": sum(reproduced(e, v) for v, e, _ in seen.values()),
        "at_settings": len(settled),
        "within": settled.count("within"),
        "above": settled.count("above"),
        "short": settled.count("short"),
    }


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
        f"{paper['title']}. {paper.get('cite', '')}",
        "",
        f"Each cell: the paper's value / **our mean ± std over seeds** (gap in points); † marks a"
        f" setting that differs from the paper's (see *Cells*). ACC cells: {count['cells']}"
        f" printed, {count['measured']} measured, {count['seeds3']} over {MIN_SEEDS}+ seeds."
        f" **{count['at_settings']} measured at the paper's settings and data** ({MIN_SEEDS}+"
        f" seeds, not a stand-in of fewer epochs or other data): {count['within']} within"
        f" {100 * WITHIN:.0f} points of the paper, {count['above']} more than"
        f" {100 * WITHIN:.0f} points above it (a setup that differs?), {count['short']} more than"
        f" {100 * WITHIN:.0f} points short. Within {100 * WITHIN:.0f} points or above at any"
        f" setting: {count['reproduced']}.",
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
    orderings = ordering_lines(paper, cells, table)
    if orderings:
        out += ["", "## Orderings the paper claims (ACC)", "", *orderings]
    out += _cells_section(cells)
    out += _missing_section(paper, cells, configs)
    notes = [" ".join(n.split()) for n in paper.get("notes") or []]
    shared = _shared_cells(paper_name, paper, paper_rows)
    if notes or shared:
        out += ["", "## Notes", ""] + [f"- {n}" for n in [*notes, *shared]]
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
            f"{'; '.join(m.text for m in found) or '—'} | [{number}] |"
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


def _shared_cells(paper_name: str, paper: dict, paper_rows: list[dict]) -> list[str]:
    """A note per other paper that prints some of this page's ACC cells too, naming each such
    cell and the other paper's value (each page compares our runs with its own paper's)."""
    own = {
        (method, dataset)
        for table in paper["tables"]
        for method in table["rows"]
        for dataset in table["datasets"]
    }
    labels = {m: t["labels"][m] for t in paper["tables"] for m in t["rows"]}
    others: dict[str, list[str]] = {}
    for r in paper_rows:
        if r["paper"] != paper_name and r["metric"] == "acc" and (r["method"], r["dataset"]) in own:
            name = DATASET_NAMES.get(r["dataset"], r["dataset"])
            others.setdefault(r["paper"], []).append(
                f"{labels[r['method']]} on {name} ({r['value']:.4g})"
            )
    return [
        f"{len(cells)} ACC cell{'s' * (len(cells) > 1)} of this page"
        f" {'are' if len(cells) > 1 else 'is'} printed by {other} too (docs/papers/{other}.md),"
        f" each page comparing our runs with its own paper's value; {other}'s: {', '.join(cells)}."
        for other, cells in others.items()
    ]


def summary_markdown(table: list[dict], paper_rows: list[dict], spec_path=PAGES_SPEC) -> str:
    """The index of the pages: per paper the ACC cells printed and measured, and of those
    measured at the paper's settings and data how many are within 2 points, above, short."""
    spec = read_spec(spec_path)
    keys = ("cells", "seeds3", "at_settings", "within", "above", "short", "reproduced")
    lines = [
        "| paper | ACC cells | measured over 3+ seeds | at the paper's settings and data |"
        " within 2 points | above by more than 2 (setup differs?) | short by more than 2 |"
        " within 2 points or above, any setting |",
        "|---|---|---|---|---|---|---|---|",
    ]
    total = dict.fromkeys(keys, 0)
    for name, paper in spec.items():
        count = summary(page_cells(name, paper, table, paper_rows))
        total = {k: total[k] + count[k] for k in keys}
        lines.append(
            f"| [{name}](papers/{name}.md) | " + " | ".join(str(count[k]) for k in keys) + " |"
        )
    lines.append("| all | " + " | ".join(str(total[k]) for k in keys) + " |")
    return "\n".join(lines)
