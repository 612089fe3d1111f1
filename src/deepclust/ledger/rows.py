"""Reading the ledger's CSV files back: rows checked for their columns, a column's numbers.

Shared by the run ledger (:mod:`.runs`), the consensus file (:mod:`.consensus`, which
:mod:`.runs` imports, so these cannot live in :mod:`.runs`) and the views built from them.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from deepclust.io import read_csv


def read_rows(path: str | Path, columns: Iterable[str], optional: Iterable[str] = ()) -> list[dict]:
    """The rows of a results CSV (strings), empty when the file does not exist; a file without
    one of ``columns`` is an error naming it. ``optional`` columns, added after the file was
    first written, read as empty where it lacks them."""
    path, columns, optional = Path(path), list(columns), list(optional)
    if not path.exists():
        return []
    rows = read_csv(path)
    missing = set(columns) - set(optional) - set(rows[0]) if rows else set()
    if missing:
        raise ValueError(
            f"{path}: missing column(s) {', '.join(sorted(missing))}; expected {', '.join(columns)}"
        )
    return [{**dict.fromkeys(optional, ""), **row} for row in rows]


def column_floats(rows: list[dict], column: str) -> np.ndarray:
    """A column's numbers over ``rows`` (CSV text), empty cells left out."""
    return np.asarray([float(r[column]) for r in rows if r.get(column) not in (None, "")])
