"""Contact sheets: one row of member images per cluster, what a cluster holds at a glance.

Where the method scores its members (labels.h5's ``distance`` to the centre or ``confidence``:
:mod:`deepclust.assignments`), a row shows the cluster's most typical members on the left
(nearest the centre, or most confident) and its least typical on the right, the members a
user checks first when deciding whether to trust a cluster: a cluster whose edge looks like
its core is sound, one whose edge is another class is not. Without a score (DBSCAN, a run from
before the scores were kept) the row is random members, drawn with the run's seed.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from deepclust.plots import NOISE, cluster_names, plt, save_figure


def typical_members(
    members: np.ndarray, score: np.ndarray | None, count: int, *, ascending: bool, rng
) -> tuple[np.ndarray, np.ndarray]:
    """A cluster's ``members`` to show, ``count`` at most: ``(most, least)`` typical by
    ``score`` (all of them as ``most`` when they fit), or random ones as ``most`` without one."""
    if score is None:
        return rng.choice(members, min(count, len(members)), replace=False), members[:0]
    order = members[np.argsort(score[members] if ascending else -score[members], kind="stable")]
    if len(order) <= count:
        return order, order[:0]
    half = (count + 1) // 2
    return order[:half], order[len(order) - (count - half) :]


def contact_sheet_figure(
    images: np.ndarray,
    labels_pred: np.ndarray,
    path: str | Path,
    per_cluster: int = 10,
    seed: int = 0,
    labels_true: np.ndarray | None = None,
    class_names: Sequence[str] | None = None,
    scores: dict[str, np.ndarray | None] | None = None,
) -> None:
    """One row per cluster (see the module doc), named as every figure of the run names its
    cluster (:func:`deepclust.plots.cluster_names`), with its member count."""
    images, labels_pred = np.asarray(images), np.asarray(labels_pred)
    named = cluster_names(labels_pred, labels_true, class_names)
    clusters = sorted(np.unique(labels_pred), key=lambda c: (c == NOISE, c))
    scores = scores or {}
    name = next((n for n in ("distance", "confidence") if scores.get(n) is not None), None)
    score = None if name is None else np.asarray(scores[name], dtype=float)
    rng = np.random.default_rng(seed)
    columns = per_cluster + (1 if score is not None else 0)  # a blank column between the halves
    height = len(clusters) * 0.72 + 0.3  # inches: a row a cluster, and the caption's line
    fig, axes = plt.subplots(
        len(clusters), columns, figsize=(columns * 0.7 + 1.0, height), squeeze=False
    )
    # the caption's line is a fixed 0.3 inch: matplotlib's default margins are fractions of the
    # figure, a blank band above a sheet of 38 clusters
    fig.subplots_adjust(top=1 - 0.3 / height, bottom=0.05 / height, hspace=0.1, wspace=0.05)
    for row, cluster in zip(axes, clusters, strict=True):
        members = np.flatnonzero(labels_pred == cluster)
        ranked = score is not None and cluster != NOISE  # noise has no centre, no score
        most, least = typical_members(
            members, score if ranked else None, per_cluster, ascending=name == "distance", rng=rng
        )
        for ax in row:
            ax.axis("off")
        cells = list(zip(row, most, strict=False))
        cells += list(zip(row[columns - len(least) :], least, strict=True))
        for ax, i in cells:
            img = images[i]
            img = img[0] if img.shape[0] == 1 else np.moveaxis(img, 0, -1)
            ax.imshow(img, cmap="gray" if img.ndim == 2 else None)
        row[0].text(
            -0.15,
            0.5,
            f"{named[int(cluster)]} ({len(members)})",
            transform=row[0].transAxes,
            ha="right",
            va="center",
            fontsize=10,
        )
    if score is not None:
        typical = "nearest the centre" if name == "distance" else "most confident"
        atypical = "farthest" if name == "distance" else "least confident"
        fig.suptitle(f"← {typical}   ·   {atypical} →", fontsize=10, y=1 - 0.05 / height)
    save_figure(fig, path, dpi=72)  # thumbnails: photos compress poorly, the report stays small
