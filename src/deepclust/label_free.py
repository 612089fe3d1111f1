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
