"""Which cluster each image went to, and how firmly: a run's ``assignments.csv``.

``labels.h5`` holds a run's cluster numbers by row of the processed dataset. Beside them, the
clustering job keeps what the method says about each sample (:func:`assignment_scores`):

- ``distance``: to its cluster's centre, in the space the method partitioned (the features,
  scaled as K-means scaled them; UMAP's embedding; a refiner's final code), for the methods
  with centres (K-means, DEKM, DEC/IDEC, the GCN clusterers' code centres; a Gaussian mixture's
  component mean, in the Mahalanobis metric of the component's covariance); for DBSCAN, which
  has no centres, the sample's core distance (to its ``min_samples``-th nearest neighbour: the
  denser its neighbourhood, the more typical);
- ``confidence``: the probability the method gives the sample's cluster, for the methods that
  have one (a Gaussian mixture's posterior, DEC/IDEC's Student-t ``q``, the GCN's ``Y``).

:func:`write_assignments` joins them with each image's source (its file, for an image folder:
:func:`deepclust.data.dataset.load_index`) into ``assignments.csv``; a score the method
does not have, or a noise sample's (DBSCAN's ``-1``), is left empty.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from deepclust.data.dataset import load_index
from deepclust.io import read_h5, read_labels, write_csv

#: the per-sample scores labels.h5 may hold, in assignments.csv's column order
SCORES = ("distance", "confidence")


def assignment_scores(estimator, space: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Per sample of a fitted clusterer, ``distance`` and/or ``confidence`` (see above) where
    the method has them; NaN for noise. ``space``: what a plain clusterer was fitted on (a
    refiner's own space is its ``embedding_``)."""
    from sklearn.metrics.pairwise import euclidean_distances

    labels = np.asarray(estimator.labels_)
    rows = np.arange(len(labels))
    member = labels >= 0
    scores: dict[str, np.ndarray] = {}

    def own_column(matrix: np.ndarray) -> np.ndarray:
        values = np.full(len(labels), np.nan)
        values[member] = matrix[rows[member], labels[member]]
        return values

    centres = getattr(estimator, "cluster_centers_", None)
    embedding = getattr(estimator, "embedding_", None)
    if centres is not None and embedding is not None:  # a refiner: its final code
        scores["distance"] = own_column(euclidean_distances(embedding, centres))
    elif centres is not None and hasattr(estimator, "transform") and space is not None:
        scores["distance"] = own_column(estimator.transform(space))
    elif hasattr(estimator, "centre_distances") and space is not None:  # a mixture's components
        scores["distance"] = own_column(estimator.centre_distances(space))
    elif getattr(estimator, "core_distances_", None) is not None:  # DBSCAN: how dense around it
        scores["distance"] = np.where(member, estimator.core_distances_, np.nan)
    soft = getattr(estimator, "soft_labels_", None)
    if soft is None and hasattr(estimator, "predict_proba") and space is not None:
        soft = estimator.predict_proba(space)
    if soft is not None:
        scores["confidence"] = own_column(np.asarray(soft))
    return scores


def assignment_rows(
    labels: np.ndarray,
    scores: dict[str, np.ndarray | None],
    sources: list[str],
    classes: list[str] | None = None,
) -> list[dict]:
    """One row per image: ``index`` (its row in the processed dataset), ``source``, ``cluster``,
    the scores there are, and ``class`` when the data has labels."""
    if len(sources) != len(labels):
        raise ValueError(f"{len(labels)} labels for {len(sources)} images")
    present = [name for name in SCORES if scores.get(name) is not None]
    rows = []
    for i, (source, cluster) in enumerate(zip(sources, labels, strict=True)):
        row = {"index": i, "source": source, "cluster": int(cluster)}
        for name in present:
            value = float(scores[name][i])
            row[name] = f"{value:.6g}" if np.isfinite(value) else ""
        if classes is not None:
            row["class"] = classes[i]
        rows.append(row)
    return rows


def write_assignments(labels_h5: str | Path, data_h5: str | Path, out_csv: str | Path) -> int:
    """A run's ``assignments.csv`` from its labels.h5 and the processed dataset; returns the row
    count. A labels file from before the scores were kept gives the columns it has."""
    labels, _ = read_labels(labels_h5)
    scores, _ = read_h5(labels_h5, SCORES)
    sources, truth, attrs = load_index(data_h5)
    classes = None
    if truth is not None:
        names = attrs.get("class_names") or []
        classes = [names[k] if k < len(names) else str(k) for k in truth.tolist()]
    if len(labels) != len(sources):
        raise ValueError(
            f"{labels_h5}: {len(labels)} labels, but {data_h5} has "
            f"{len(sources)} images (a run of another version of the dataset?)"
        )
    rows = assignment_rows(labels, scores, sources, classes)
    write_csv(out_csv, rows)
    return len(rows)
