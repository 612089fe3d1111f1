"""Clustering metrics: ACC (Hungarian), NMI, ARI and purity.

Predicted label ``-1`` means noise (DBSCAN): noise points are never mapped to a class, so they
count as errors in ACC and purity, and form one extra group in NMI and ARI. The fraction is
reported as ``noise_fraction``.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
from sklearn.metrics.cluster import contingency_matrix


def _check(labels_true: np.ndarray, labels_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    labels_true = np.asarray(labels_true).ravel()
    labels_pred = np.asarray(labels_pred).ravel()
    if labels_true.shape != labels_pred.shape:
        raise ValueError(f"{len(labels_true)} true labels but {len(labels_pred)} predicted labels")
    if len(labels_true) == 0:
        raise ValueError("no labels to score")
    return labels_true, labels_pred


def cluster_to_class_map(labels_true: np.ndarray, labels_pred: np.ndarray) -> dict[int, int]:
    """The one-to-one cluster -> class map maximising matches (Hungarian algorithm).

    Works for any numbers of clusters and classes; with more clusters than classes the extra
    clusters stay unmapped (their points count as errors). Noise (-1) is never mapped.
    """
    labels_true, labels_pred = _check(labels_true, labels_pred)
    keep = labels_pred != -1
    classes, true_idx = np.unique(labels_true[keep], return_inverse=True)
    clusters, pred_idx = np.unique(labels_pred[keep], return_inverse=True)
    counts = np.zeros((len(clusters), len(classes)), dtype=np.int64)
    np.add.at(counts, (pred_idx, true_idx), 1)
    rows, cols = linear_sum_assignment(counts, maximize=True)
    return {int(clusters[r]): int(classes[c]) for r, c in zip(rows, cols, strict=True)}


def clustering_accuracy(labels_true: np.ndarray, labels_pred: np.ndarray) -> float:
    """Unsupervised accuracy: the fraction correct under the best one-to-one cluster/class map."""
    labels_true, labels_pred = _check(labels_true, labels_pred)
    mapping = cluster_to_class_map(labels_true, labels_pred)
    clusters, index = np.unique(labels_pred, return_inverse=True)
    mapped = np.array([c in mapping for c in clusters.tolist()])  # unmapped clusters and noise
    target = np.array([mapping.get(c, 0) for c in clusters.tolist()])
    return float(np.mean(mapped[index] & (target[index] == labels_true)))


def purity(labels_true: np.ndarray, labels_pred: np.ndarray) -> float:
    """Each cluster votes for its majority class; noise points count as wrong."""
    labels_true, labels_pred = _check(labels_true, labels_pred)
    keep = labels_pred != -1
    if not keep.any():
        return 0.0
    table = contingency_matrix(labels_true[keep], labels_pred[keep])
    return float(table.max(axis=0).sum() / len(labels_true))


def evaluate(
    labels_true: np.ndarray | None, labels_pred: np.ndarray
) -> dict[str, float | int | None]:
    """All metrics; those that need ground truth are ``None`` when there is none."""
    labels_pred = np.asarray(labels_pred).ravel()
    noise = float(np.mean(labels_pred == -1))
    n_clusters_found = int(len(np.unique(labels_pred[labels_pred != -1])))
    result: dict[str, float | int | None] = {
        "acc": None,
        "nmi": None,
        "ari": None,
        "purity": None,
        "noise_fraction": noise,
        "n_clusters_found": n_clusters_found,
    }
    if labels_true is None:
        return result
    labels_true, labels_pred = _check(labels_true, labels_pred)
    result.update(
        acc=clustering_accuracy(labels_true, labels_pred),
        nmi=float(
            normalized_mutual_info_score(labels_true, labels_pred, average_method="arithmetic")
        ),
        ari=float(adjusted_rand_score(labels_true, labels_pred)),
        purity=purity(labels_true, labels_pred),
    )
    return result
