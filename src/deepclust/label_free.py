"""Scores of a clustering that need no ground truth, so that runs can be compared where there are
no labels (the case of every real user).

Per run, on the space the clusterer partitioned (a feature layer, a manifold embedding, or a
refiner's final encoder output), scikit-learn's internal scores: silhouette (higher is better,
in [-1, 1]; on at most ``MAX_SILHOUETTE_SAMPLES`` samples drawn with a fixed seed, its cost being
quadratic), Calinski-Harabasz (higher is better) and Davies-Bouldin (lower is better). Per
experiment, seed stability: the mean adjusted Rand index between the partitions of every pair of
seeds (1 = every seed finds the same clusters). DBSCAN's noise (label -1) is left out of the
internal scores; a partition with fewer than two clusters has none (``None``).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

MAX_SILHOUETTE_SAMPLES = 10_000
SCORES = ("silhouette", "calinski_harabasz", "davies_bouldin")


def internal_scores(
    features: np.ndarray,
    labels: np.ndarray,
    *,
    max_samples: int = MAX_SILHOUETTE_SAMPLES,
    seed: int = 0,
) -> dict[str, float | None]:
    """``{silhouette, calinski_harabasz, davies_bouldin}`` of ``labels`` on ``features``."""
    # imported here: the tables import SCORES while the workflow parses, without scikit-learn
    from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score

    X = np.asarray(features, dtype=np.float64).reshape(len(features), -1)
    labels = np.asarray(labels).ravel()
    if len(X) != len(labels):
        raise ValueError(f"{len(labels)} labels for {len(X)} samples")
    keep = labels != -1
    X, labels = X[keep], labels[keep]
    n_clusters = len(np.unique(labels))
    if n_clusters < 2 or n_clusters >= len(X):
        return dict.fromkeys(SCORES)
    silhouette_sample = None
    if len(X) > max_samples:
        silhouette_sample = np.random.default_rng(seed).choice(len(X), max_samples, replace=False)
    if silhouette_sample is not None and len(np.unique(labels[silhouette_sample])) < 2:
        silhouette = None
    else:
        index = slice(None) if silhouette_sample is None else silhouette_sample
        silhouette = float(silhouette_score(X[index], labels[index]))
    return {
        "silhouette": silhouette,
        "calinski_harabasz": float(calinski_harabasz_score(X, labels)),
        "davies_bouldin": float(davies_bouldin_score(X, labels)),
    }


def seed_stability(partitions: Sequence[np.ndarray]) -> float | None:
    """Mean adjusted Rand index over every pair of partitions of the same samples (one per
    seed); ``None`` with fewer than two."""
    from sklearn.metrics import adjusted_rand_score

    if len(partitions) < 2:
        return None
    sizes = {len(p) for p in partitions}
    if len(sizes) != 1:
        raise ValueError(f"partitions of different sample counts: {sorted(sizes)}")
    pairs = itertools.combinations(partitions, 2)
    return float(np.mean([adjusted_rand_score(a, b) for a, b in pairs]))


#: seed stabilities closer than this are a tie, which the mean silhouette breaks
STABILITY_TIE = 0.01


def pick_without_labels(table: list[dict], tie: float = STABILITY_TIE) -> list[dict]:
    """Per dataset, the experiment a user without labels would choose from the aggregated
    ``table`` (``deepclust.tables.aggregate`` rows with ``seed_stability``), and how far it is
    from the best by ACC where there are labels to tell.

    The rule: the highest seed stability (the experiment whose seeds agree most); experiments
    within ``tie`` of it are tied and the highest mean silhouette among them wins. Experiments
    that choose with labels (a best of N by ACC) are never candidates; without a stability (one
    seed) the silhouette alone decides. The variants of a sweep over K (``k_swept``: their K)
    are left out while other experiments remain: they answer which K
    (:mod:`deepclust.choose_k`), and the fewest clusters are often the most stable. Returns
    per dataset: ``dataset, picked, decided_by, picked_acc, best, best_acc, gap`` (best minus
    picked ACC; None without labels).
    """

    def value(entry, key):
        v = entry.get(key)
        return -np.inf if v is None else float(v)

    picks = []
    for dataset in sorted({e["dataset"] for e in table}):
        entries = [e for e in table if e["dataset"] == dataset and not e.get("uses_labels")]
        if not entries:
            continue
        entries = [e for e in entries if e.get("k_swept") is None] or entries
        stable = [e for e in entries if e.get("seed_stability") is not None]
        if stable:
            top = max(value(e, "seed_stability") for e in stable)
            tied = [e for e in stable if value(e, "seed_stability") >= top - tie]
            decided_by = "seed stability" if len(tied) == 1 else "seed stability, then silhouette"
        else:
            tied, decided_by = entries, "silhouette"
        if len(entries) == 1:
            decided_by = "the only candidate"
        elif len(tied) > 1 and all(e.get("silhouette_mean") is None for e in tied):
            # nothing breaks the tie: say so rather than claim a score that is blank
            decided_by = f"undecided: {len(tied)} tied, no silhouette (the first by name)"
            tied = [min(tied, key=lambda e: e["experiment"])]
        picked = max(tied, key=lambda e: value(e, "silhouette_mean"))
        scored = [e for e in entries if e.get("acc_mean") is not None]
        best = max(scored, key=lambda e: e["acc_mean"]) if scored else None
        picks.append(
            {
                "dataset": dataset,
                "picked": picked["experiment"],
                "decided_by": decided_by,
                "picked_acc": picked.get("acc_mean"),
                "best": best["experiment"] if best else None,
                "best_acc": best["acc_mean"] if best else None,
                "gap": (
                    best["acc_mean"] - picked["acc_mean"]
                    if best and picked.get("acc_mean") is not None
                    else None
                ),
            }
        )
    return picks


def picks_markdown(picks: list[dict], tolerance: float | None = None) -> str:
    """The label-free pick per dataset (``deepclust.label_free.pick_without_labels``) beside the
    best experiment by ACC; with ``tolerance``, whether the gap is within it."""

    def acc(value):
        return "—" if value is None else f"{value:.3f}"

    def within(gap):
        return "—" if gap is None else ("yes" if gap <= tolerance + 1e-12 else "no")

    extra = [] if tolerance is None else [f"within {tolerance:.2f}"]
    header = ["dataset", "picked without labels", "decided by", "its ACC", "best by ACC"]
    lines = [
        "| " + " | ".join([*header, "best ACC", "gap", *extra]) + " |",
        "|" + "---|" * (len(header) + 2 + len(extra)),
    ]
    for p in picks:
        cells = [p["dataset"], p["picked"], p["decided_by"], acc(p["picked_acc"])]
        cells += [p["best"] or "—", acc(p["best_acc"]), acc(p["gap"])]
        cells += [within(p["gap"])] if tolerance is not None else []
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def pick_entry(row: dict) -> dict:
    """A table.csv row (CSV text) as ``deepclust.label_free.pick_without_labels`` reads it."""

    def number(key):
        return None if row.get(key) in (None, "") else float(row[key])

    return {
        "dataset": row["dataset"],
        "experiment": row["experiment"],
        "uses_labels": row.get("uses_labels") == "True",
        "k_swept": number("k_swept"),
        "seed_stability": number("seed_stability"),
        "silhouette_mean": number("silhouette_mean"),
        "acc_mean": number("acc_mean"),
    }
