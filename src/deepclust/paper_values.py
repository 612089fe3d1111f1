"""The papers' published numbers (``workflow/resources/paper_values.csv``), read and checked.

One row per published value: ``method, dataset, metric, value, paper, table``. The results
tables look a value up by (method, dataset, metric); the paper pages by paper as well, since two
papers may print the same cell with different numbers.
"""

from __future__ import annotations

import csv
from pathlib import Path

PAPER_COLUMNS = ("method", "dataset", "metric", "value", "paper", "table")


def read_paper_rows(path: str | Path) -> list[dict]:
    """Every published number of the CSV, in file order: ``{method, dataset, metric, value,
    paper, table}`` with ``value`` a float.

    Lines starting with ``#`` are comments. A missing column, a value that is not a number or
    the same (paper, method, dataset, metric) twice is an error naming the file and line; the
    same cell printed by two papers (e.g. AE + K-means on USPS) is two rows.
    """
    path = Path(path)
    with open(path, newline="") as f:
        lines = [line for line in f if line.strip() and not line.lstrip().startswith("#")]
    reader = csv.DictReader(lines)
    missing = set(PAPER_COLUMNS) - set(reader.fieldnames or ())
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
    rows: list[dict] = []
    seen: set[tuple[str, str, str, str]] = set()
    for n, row in enumerate(reader, start=2):
        key = (row["paper"], row["method"], row["dataset"], row["metric"])
        try:
            value = float(row["value"])
        except ValueError:
            raise ValueError(
                f"{path}: data row {n}: value {row['value']!r} is not a number"
            ) from None
        if key in seen:
            raise ValueError(f"{path}: data row {n}: {key} is listed twice")
        seen.add(key)
        rows.append({**{c: row[c] for c in PAPER_COLUMNS}, "value": value})
    return rows


def read_paper_values(path: str | Path) -> dict[tuple[str, str, str], dict]:
    """``(method, dataset, metric) -> {value, paper, table}`` from the published-numbers CSV.

    Where two papers print the same cell, the row listed first (the method's own paper) is the
    one results tables show; the per-paper pages (:mod:`deepclust.ledger.papers`) show each
    paper's own. Errors as :func:`read_paper_rows`.
    """
    return values_by_cell(read_paper_rows(path))


def values_by_cell(rows: list[dict]) -> dict[tuple[str, str, str], dict]:
    """:func:`read_paper_values` of rows already read."""
    values: dict[tuple[str, str, str], dict] = {}
    for row in rows:
        key = (row["method"], row["dataset"], row["metric"])
        values.setdefault(
            key, {"value": row["value"], "paper": row["paper"], "table": row["table"]}
        )
    return values
