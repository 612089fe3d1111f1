"""Scores of a clustering that need no ground truth, so that runs can be compared where there are
no labels (the case of every real user), and the pick among experiments that rests on them.

Per run, on the space the clusterer partitioned (a feature layer, a manifold embedding, or a
refiner's final encoder output), scikit-learn's internal scores: silhouette (higher is better,
in [-1, 1]; on at most ``MAX_SILHOUETTE_SAMPLES`` samples drawn with a fixed seed, its cost being
quadratic), Calinski-Harabasz (higher is better) and Davies-Bouldin (lower is better). These are
each in a space of the run's own, so they never rank one experiment against another.

Comparable across experiments: the modularity of a run's partition on one graph shared by every
experiment of the dataset, the kNN graph of its images' pixels (:data:`PICK_GRAPH`, the graph
stage's file): the share of neighbour pairs inside clusters minus the share expected by chance
(Newman 2006). Per experiment, seed stability: the mean adjusted Rand index between the
partitions of every pair of seeds (1 = every seed finds the same clusters). DBSCAN's noise
(label -1) is left out of the internal scores and is a cluster of one each in the modularity;
a partition with fewer than two clusters has no internal scores (``None``).

References
----------
- M. E. J. Newman. Modularity and community structure in networks. PNAS 103(23), 2006.
- Peter J. Rousseeuw. Silhouettes: a graphical aid to the interpretation and validation of
  cluster analysis. Journal of Computational and Applied Mathematics 20, 1987.
- Asa Ben-Hur, Andre Elisseeff, Isabelle Guyon. A stability based method for discovering
  structure in clustered data. Pacific Symposium on Biocomputing, 2002.
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


def graph_modularity(edge_index: np.ndarray, labels: np.ndarray) -> float | None:
    """Newman's modularity of ``labels`` on an undirected graph given as a symmetric (2, E) edge
    list (every edge both ways, as :func:`deepclust.clustering.graph.knn_graph` writes it): the
    share of edge ends whose two samples share a cluster, minus the share expected if edges
    joined samples at random given each cluster's total degree. In [-1/2, 1); 0 is no better
    than chance. A noise label (-1) is a cluster of its own per sample; ``None`` without edges."""
    edges = np.asarray(edge_index)
    labels = np.asarray(labels).ravel()
    if edges.ndim != 2 or edges.shape[0] != 2:
        raise ValueError(f"edge_index must be (2, E), got {edges.shape}")
    if edges.size and edges.max() >= len(labels):
        raise ValueError(f"the graph has {edges.max() + 1}+ samples, the partition {len(labels)}")
    if not edges.shape[1]:
        return None
    noise = labels == -1
    labels = labels.astype(np.int64, copy=True)
    labels[noise] = labels.max(initial=0) + 1 + np.arange(noise.sum())
    _, clusters = np.unique(labels, return_inverse=True)
    inside = float(np.mean(clusters[edges[0]] == clusters[edges[1]]))
    degree_share = np.bincount(clusters[edges[0]], minlength=clusters.max() + 1) / edges.shape[1]
    return inside - float(np.sum(degree_share**2))


#: the graph the pick scores every partition of a dataset on: k nearest neighbours of each image
#: by Euclidean distance between pixels, the graph stage's file (SDCN's graph at the same k)
PICK_GRAPH = {"k": 10, "metric": "euclidean"}
#: mean modularities closer than this (or than the leading experiment's spread over seeds, when
#: larger) are a tie, which seed stability breaks
MODULARITY_TIE = 0.002
#: seed stabilities closer than this are a tie too: then the pick is undecided
STABILITY_TIE = 0.01


#: the rule in words, as table.md, the report and docs/results.md state it
PICK_RULE = (
    f"the highest mean modularity on the dataset's pixel kNN graph (k = {PICK_GRAPH['k']}), "
    f"a score every experiment is measured by alike; within {MODULARITY_TIE} of it (or of the "
    "leader's standard deviation over seeds, when larger), the highest seed stability (mean "
    f"pairwise ARI of the seeds' partitions); tied on that too (within {STABILITY_TIE}), or "
    "one seed: undecided. An experiment that chose with labels is never picked"
)


def pick_without_labels(
    table: list[dict], modularity_tie: float = MODULARITY_TIE, stability_tie: float = STABILITY_TIE
) -> list[dict]:
    """Per dataset, the experiment a user without labels would choose from the aggregated
    ``table`` (``deepclust.tables.aggregate`` rows with ``modularity_mean``/``_std`` and
    ``seed_stability``), and how far it is from the best by ACC where there are labels to tell.

    Only scores that mean the same for every experiment are compared: the modularity on the
    dataset's pixel kNN graph (:func:`graph_modularity`) and seed stability; never a score
    computed in an experiment's own space. The rule: the highest mean modularity; experiments
    within ``modularity_tie`` of it (or within the leader's standard deviation over seeds, when
    larger) are tied, and the most stable of them wins; when that is tied too (within
    ``stability_tie``), or there is one seed and so no stability, the pick is *undecided*:
    ``picked`` is None and ``candidates`` names the tied experiments, highest modularity first.
    Experiments that choose with labels (a best of N by ACC) are never candidates; the variants
    of a sweep over K (``k_swept``) are left out while other experiments remain (they answer
    which K: :mod:`deepclust.choose_k`). Returns per dataset: ``dataset, picked, candidates,
    decided_by, picked_acc, best, best_acc, gap`` (best minus picked ACC; for an undecided pick,
    the ACC and gap of its worst candidate; None without labels).
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
        ranked = sorted(entries, key=lambda e: (-value(e, "modularity_mean"), e["experiment"]))
        leader = ranked[0]
        if len(entries) == 1:
            tied, decided_by = [leader], "the only candidate"
        elif leader.get("modularity_mean") is None:
            tied, decided_by = ranked, "undecided: no modularity (no pixel graph)"
        else:
            band = max(modularity_tie, value(leader, "modularity_std"))
            tied = [
                e
                for e in ranked
                if value(e, "modularity_mean") >= value(leader, "modularity_mean") - band
            ]
            decided_by = "modularity"
            stable = [e for e in tied if e.get("seed_stability") is not None]
            if len(tied) > 1 and stable:
                top = max(value(e, "seed_stability") for e in stable)
                tied = [e for e in stable if value(e, "seed_stability") >= top - stability_tie]
                decided_by = "modularity, then seed stability"
            if len(tied) > 1:
                reason = "one seed" if not stable else f"seed stability within {stability_tie}"
                decided_by = f"undecided: {len(tied)} tied on modularity, {reason}"
        scored = [e for e in entries if e.get("acc_mean") is not None]
        best = max(scored, key=lambda e: e["acc_mean"]) if scored else None
        worst = min(tied, key=lambda e: value(e, "acc_mean"))
        picks.append(
            {
                "dataset": dataset,
                "picked": tied[0]["experiment"] if len(tied) == 1 else None,
                "candidates": [e["experiment"] for e in tied],
                "decided_by": decided_by,
                "picked_acc": worst.get("acc_mean"),
                "best": best["experiment"] if best else None,
                "best_acc": best["acc_mean"] if best else None,
                "gap": (
                    best["acc_mean"] - worst["acc_mean"]
                    if best and worst.get("acc_mean") is not None
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
        cells = [p["dataset"], picked_text(p), p["decided_by"], acc(p["picked_acc"])]
        cells += [p["best"] or "—", acc(p["best_acc"]), acc(p["gap"])]
        cells += [within(p["gap"])] if tolerance is not None else []
        lines.append("| " + " | ".join(cells) + " |")
    if any(p["picked"] is None for p in picks):
        lines += ["", "An undecided pick's ACC and gap are those of its worst candidate."]
    return "\n".join(lines)


def picked_text(pick: dict) -> str:
    """The picked experiment, or ``undecided: a / b`` naming the tied candidates."""
    if pick["picked"] is not None:
        return pick["picked"]
    return "undecided: " + " / ".join(pick["candidates"])


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
        "modularity_mean": number("modularity_mean"),
        "modularity_std": number("modularity_std"),
        "acc_mean": number("acc_mean"),
    }
