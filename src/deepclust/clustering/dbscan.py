"""DBSCAN on features (MFVC's ablation clusters the UMAP embedding with it).

A new sample joins the cluster of its nearest core sample when that one lies within ``eps``
(it would have been density-reachable from it), else it is noise: DBSCAN's own rule for a
border point. The fitted state is the core samples' rows and clusters; their features come
from the space the run clustered (:mod:`deepclust.placement`).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import DBSCAN as _SKDBSCAN
from sklearn.utils.validation import check_is_fitted

from deepclust.clustering.base import FittedState, validated_features


class DBSCAN(FittedState, ClusterMixin, BaseEstimator):
    """scikit-learn's DBSCAN; label -1 is noise, which the metrics count as wrong, never mapped.

    Parameters
    ----------
    n_clusters : not used to cluster (DBSCAN finds its own number); kept for the common signature.
    eps, min_samples, metric : DBSCAN's.
    random_state : unused (DBSCAN is deterministic).
    """

    #: the scikit-learn estimator whose constraints its shared parameters follow (checked at plan time)
    sklearn_delegate = _SKDBSCAN
    #: the core samples' rows and clusters, kept in labels.h5 (their features: ``components_``)
    state_names = ("core_sample_indices_", "core_labels_")

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
        self.core_sample_indices_ = model.core_sample_indices_.astype(np.int64)
        self.core_labels_ = self.labels_[self.core_sample_indices_]
        self.components_ = X[self.core_sample_indices_]
        return self

    def load_components(self, fitted: np.ndarray) -> DBSCAN:
        """The core samples' features, from the ``fitted`` samples (the run's feature space)."""
        self.components_ = np.asarray(fitted)[self.core_sample_indices_]
        self.n_features_in_ = self.components_.shape[1]
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The cluster of each sample's nearest core sample within ``eps``, else -1 (noise)."""
        from sklearn.metrics import pairwise_distances_argmin_min

        check_is_fitted(self, "components_")
        X = validated_features(self, X, reset=False)
        if len(self.components_) == 0:
            return np.full(len(X), -1, dtype=np.int64)
        nearest, distance = pairwise_distances_argmin_min(X, self.components_, metric=self.metric)
        return np.where(distance <= self.eps, self.core_labels_[nearest], -1).astype(np.int64)
