"""DBSCAN on features (MFVC's ablation clusters the UMAP embedding with it)."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import DBSCAN as _SKDBSCAN

from deepclust.clustering.base import validated_features


class DBSCAN(ClusterMixin, BaseEstimator):
    """scikit-learn's DBSCAN; label -1 is noise, which the metrics count as wrong, never mapped.

    Parameters
    ----------
    n_clusters : not used to cluster (DBSCAN finds its own number); kept for the common signature.
    eps, min_samples, metric : DBSCAN's.
    random_state : unused (DBSCAN is deterministic).
    """

    #: the scikit-learn estimator whose constraints its shared parameters follow (checked at plan time)
    sklearn_delegate = _SKDBSCAN

    def __init__(
        self,
        n_clusters: int = 10,
        eps: float = 0.5,
        min_samples: int = 10,
        metric: str = "euclidean",
        random_state: int | None = None,
    ):
        self.n_clusters = n_clusters
        self.eps = eps
        self.min_samples = min_samples
        self.metric = metric
        self.random_state = random_state

    def fit(self, X: np.ndarray, y=None) -> DBSCAN:
        X = validated_features(self, X)
        model = _SKDBSCAN(eps=self.eps, min_samples=self.min_samples, metric=self.metric).fit(X)
        self.labels_ = model.labels_.astype(np.int64)
        self.noise_fraction_ = float(np.mean(self.labels_ == -1))
        return self
