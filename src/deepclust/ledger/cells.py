"""What a paper page's cell holds: the runs that may fill it, the one it shows, how that run's
setting differs from the paper's, and where its mean stands against the published value.

A cell is one (paper row, paper dataset) (:mod:`deepclust.ledger.papers`). A cell *at the
paper's settings and data* is measured over >= :data:`MIN_SEEDS` seeds and is no stand-in
(:data:`STAND_IN`): not fewer pretraining epochs than the paper states, not other data than the
row's own. A variant or a reading of what the paper leaves open (a recipe, swapped weights, a
stopping rule) is marked too, but is still the paper's setting as far as the paper says it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from deepclust.config.compose import PAIR_SEPARATOR
from deepclust.ledger.paper_layout import for_cell

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


def cell_entry(
    entries: list[dict], marks_of: Callable[[dict], list[Mark]]
) -> tuple[dict | None, list[Mark]]:
    """The entry a cell shows and its marks (``marks_of``): the best mean measured at the
    paper's settings and data (:func:`at_settings`, >= :data:`MIN_SEEDS` seeds) where there is
    one, else :func:`best_entry`. A stand-in with a higher mean never hides a measurement at
    the paper's settings."""
    settled = [e for e in entries if e["n_seeds"] >= MIN_SEEDS and at_settings(e, marks_of(e))]
    entry = max(settled, key=lambda e: e["acc_mean"]) if settled else best_entry(entries)
    return entry, (marks_of(entry) if entry else [])


def first_epochs(entry: dict) -> int | None:
    text = (entry.get("epochs") or "").split(";")[0].strip()
    return int(float(text)) if text else None


class Mark(NamedTuple):
    """One way a cell's setting differs from the paper's: ``kind`` is ``variant`` (another
    experiment than the row's own), ``reading`` (a network, clusterer or experiment the layout
    says reads the paper differently), or one of :data:`STAND_IN`."""

    kind: str
    text: str


#: marks that make a cell a stand-in, not a measurement at the paper's settings and data:
#: fewer seeds than :data:`MIN_SEEDS`, fewer pretraining epochs than the paper states, other data
STAND_IN = frozenset({"seeds", "epochs", "data"})


def _named(mapping: dict, names: list[str]) -> list[str]:
    """The values of ``mapping`` whose key (one name, or several separated by spaces) names
    one of ``names``, in the mapping's order."""
    return [
        " ".join(text.split())
        for key, text in mapping.items()
        if any(name in key.split() for name in names)
    ]


def marks(entry: dict, method: str, paper: dict, canonical: dict | None = None) -> list[Mark]:
    """How the cell's setting differs from the paper's (empty: the paper's own)."""
    found = []
    readings = paper.get("readings") or {}
    # another experiment than the row's own is a variant; a crossover cell's name is its
    # pairing, not a reading (its network may be one)
    own = (canonical or {}).get(method, method)
    if entry["variant"] not in (own, method) and PAIR_SEPARATOR not in entry["variant"]:
        found.append(Mark("variant", f"variant `{entry['variant']}`"))
    names = [
        entry["variant"],
        *entry["extractor"].split("; "),
        *(entry.get("clusterer") or "").split("; "),
    ]
    found += [Mark("reading", text) for text in _named(readings, names)]
    if entry["n_seeds"] < MIN_SEEDS:
        found.append(Mark("seeds", f"{entry['n_seeds']} seed(s)"))
    stated, epochs = (paper.get("epochs") or {}).get(method), first_epochs(entry)
    if stated and epochs is not None and epochs < stated:
        found.append(Mark("epochs", f"{epochs} epochs (paper {stated})"))
    if not native_data(entry, method, paper):
        found.append(Mark("data", f"data `{entry['dataset']}`"))
    return found


def native_data(entry: dict, method: str, paper: dict) -> bool:
    """Whether the entry ran on the paper's own data for this row (``native`` in the layout)."""
    dataset = entry["paper_dataset"]
    return entry["dataset"] in (for_cell(paper.get("native") or {}, method, dataset) or [dataset])


def at_settings(entry: dict | None, found: list[Mark]) -> bool:
    """Measured over >= :data:`MIN_SEEDS` seeds at the paper's settings and on its data: no
    :data:`STAND_IN` mark (a variant or reading of what the paper leaves open may be one)."""
    return entry is not None and not any(mark.kind in STAND_IN for mark in found)


def reproduced(entry: dict | None, value: float | None) -> bool:
    """Within :data:`WITHIN` of the paper's ACC or above it, over >= :data:`MIN_SEEDS` seeds."""
    return (
        entry is not None
        and value is not None
        and entry["n_seeds"] >= MIN_SEEDS
        and entry["acc_mean"] >= value - WITHIN
    )


def standing(entry: dict | None, value: float | None) -> str | None:
    """``within`` (at most :data:`WITHIN` from the paper's ACC either way), ``above`` (more
    than that above it: a gain the paper does not claim points at a setup that differs, not at
    a reproduction) or ``short``; None without a mean over >= :data:`MIN_SEEDS` seeds."""
    if entry is None or value is None or entry["n_seeds"] < MIN_SEEDS:
        return None
    gap = entry["acc_mean"] - value
    return "above" if gap > WITHIN else "within" if gap >= -WITHIN else "short"
