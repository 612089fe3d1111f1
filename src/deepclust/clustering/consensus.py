"""A consensus partition over seeds: evidence accumulation (Fred and Jain, below).

Each seed of an experiment trains its own network and clusters it; the seeds disagree on some
samples. The co-association of two samples is the fraction of seeds that put them in the same
cluster; clustering ``1 - co-association`` with average linkage (scikit-learn's
``AgglomerativeClustering``) gives the partition the seeds agree on. It needs no labels, so it
is what a user without them can report instead of one seed's partition. The matrix is N x N
(float32): ``max_samples`` guards memory (10,000 samples: 400 MB).

References
----------
- Ana L. N. Fred, Anil K. Jain. Combining multiple clusterings using evidence accumulation. IEEE
  Transactions on Pattern Analysis and Machine Intelligence 27(6), 2005.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin

LINKAGES = ("average", "complete", "single")


def co_association(partitions: Sequence[np.ndarray], block: int = 2048) -> np.ndarray:
    """N x N float32: the fraction of ``partitions`` in which samples i and j share a cluster.
    Noise (label -1, DBSCAN's) shares a cluster with nothing, not even other noise."""
    partitions = [np.asarray(p).ravel() for p in partitions]
    if not partitions:
        raise ValueError("no partitions")
    n = len(partitions[0])
    if any(len(p) != n for p in partitions):
        raise ValueError(
            f"partitions of different sample counts: {sorted({len(p) for p in partitions})}"
        )
    together = np.zeros((n, n), dtype=np.float32)
    for labels in partitions:
        for start in range(0, n, block):  # one row block at a time: no N x N temporary
            rows = labels[start : start + block, None]
            together[start : start + block] += (rows == labels[None, :]) & (rows != -1)
    together /= len(partitions)
    np.fill_diagonal(together, 1.0)
    return together


class ConsensusClustering(ClusterMixin, BaseEstimator):
    """Average-linkage clustering of the seeds' co-association into ``n_clusters`` clusters.

    ``fit(partitions)`` takes one label array per seed (not features); ``labels_`` is the
    consensus, ``agreement_`` the mean adjusted Rand index between it and each seed.
    """

    def __init__(self, n_clusters: int = 8, linkage: str = "average", max_samples: int = 20_000):
        self.n_clusters = n_clusters
        self.linkage = linkage
        self.max_samples = max_samples

    def fit(self, partitions: Sequence[np.ndarray], y=None) -> ConsensusClustering:
        from sklearn.cluster import AgglomerativeClustering
        from sklearn.metrics import adjusted_rand_score

        if self.linkage not in LINKAGES:
            raise ValueError(f"linkage must be one of {LINKAGES}, got {self.linkage!r}")
        if len(partitions) < 2:
            raise ValueError(
                f"a consensus needs the partitions of 2 or more seeds, got {len(partitions)}"
            )
        n = len(partitions[0])
        if n > self.max_samples:
            raise ValueError(
                f"{n:,} samples: the co-association matrix would take {n * n * 4 / 1e9:.1f} GB; "
                f"max_samples is {self.max_samples:,}"
            )
        distance = 1.0 - co_association(partitions)
        model = AgglomerativeClustering(
            n_clusters=self.n_clusters, metric="precomputed", linkage=self.linkage
        )
        self.labels_ = model.fit_predict(distance)
        self.agreement_ = float(
            np.mean([adjusted_rand_score(np.asarray(p).ravel(), self.labels_) for p in partitions])
        )
        return self
