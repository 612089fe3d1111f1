"""DBSCAN on features (MFVC's ablation clusters the UMAP embedding with it).

A new sample joins the cluster of its nearest core sample when that one lies within ``eps``
(it would have been density-reachable from it), else it is noise: DBSCAN's own rule for a
border point. The fitted state is the core samples' rows and clusters; their features come
from the space the run clustered (:mod:`deepclust.placement`).

MFVC tuned ``eps`` with labels. Two label-free rules choose it from the data instead
(``eps_rule``), both from the distance of each sample to its ``min_samples``-th nearest
neighbour (its core distance, the "k-distance"):

A member's ``core_distances_`` (its k-distance) orders a cluster from its densest part
outwards, as a centre's distance orders K-means' (:mod:`deepclust.assignments`).

- ``knee``: the knee of the sorted k-distances (Ester et al.'s k-dist plot, the point farthest
  below the chord of the normalised curve): dense regions' points lie left of it, noise right;
- ``n_clusters``: the largest eps, among the k-distances' quantiles, at which DBSCAN finds the
  number of clusters asked for (the least noise for that K); where none does, the one whose
  count is nearest (K is the one thing every clusterer here is given).

References
----------
- Martin Ester, Hans-Peter Kriegel, Jörg Sander, Xiaowei Xu. A density-based algorithm for
  discovering clusters in large spatial databases with noise. KDD 1996.
- Chen Junfen, Han Jinchi, Xie Bojun, Xie Zhenghao. Clustering algorithm based on variational
  autoencoder and manifold features (MFVC; 基于变分自编码器与流形特征的聚类算法). Journal of Shanxi University
  (Natural Science Edition) 47(1): 69-80, 2024. doi:10.13451/j.sxu.ns.2023139. No official code.
  docs/papers/MFVC.md: its tables beside our runs. Its DBSCAN ablation.
"""

from __future__ import annotations

from typing import Literal

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
    eps, min_samples, metric : DBSCAN's; ``eps`` is used as given with ``eps_rule="fixed"``.
    eps_rule : ``fixed``, ``knee`` or ``n_clusters``: how eps is chosen (module docstring); the
        eps used is ``eps_``.
    random_state : unused (DBSCAN is deterministic).
    """

    #: the scikit-learn estimator whose constraints its shared parameters follow (checked at plan time)
    sklearn_delegate = _SKDBSCAN
    #: the core samples' rows and clusters, kept in labels.h5 (their features: ``components_``)
    state_names = ("core_sample_indices_", "core_labels_", "eps_")
    #: eps candidates of the ``n_clusters`` rule: these quantiles of the k-distances
    QUANTILES = np.linspace(0.05, 1.0, 40)

    def __init__(
        self,
        n_clusters: int = 10,
        eps: float = 0.5,
        min_samples: int = 10,
        metric: str = "euclidean",
        eps_rule: Literal["fixed", "knee", "n_clusters"] = "fixed",
        random_state: int | None = None,
    ):
        self.n_clusters = n_clusters
        self.eps = eps
        self.min_samples = min_samples
        self.metric = metric
        self.eps_rule = eps_rule
        self.random_state = random_state

    def fit(self, X: np.ndarray, y=None) -> DBSCAN:
        X = validated_features(self, X)
        self.eps_ = self._choose_eps(X)
        model = self._dbscan(X, self.eps_)
        self.labels_ = model.labels_.astype(np.int64)
        self.noise_fraction_ = float(np.mean(self.labels_ == -1))
        self.core_sample_indices_ = model.core_sample_indices_.astype(np.int64)
        self.core_labels_ = self.labels_[self.core_sample_indices_]
        self.components_ = X[self.core_sample_indices_]
        # how dense each sample's neighbourhood is: what orders a cluster's members (no centre)
        self.core_distances_ = self._core_distances(X)
        return self

    def _dbscan(self, X: np.ndarray, eps: float):
        return _SKDBSCAN(eps=eps, min_samples=self.min_samples, metric=self.metric).fit(X)

    def k_distances(self, X: np.ndarray) -> np.ndarray:
        """Each sample's distance to its ``min_samples``-th nearest neighbour, itself counted
        first (as DBSCAN counts it), sorted: below eps, a sample is a core sample."""
        return np.sort(self._core_distances(X))

    def _core_distances(self, X: np.ndarray) -> np.ndarray:
        """:meth:`k_distances` in the samples' order (each sample's core distance)."""
        from sklearn.neighbors import NearestNeighbors

        k = min(self.min_samples, len(X))
        search = NearestNeighbors(n_neighbors=k, metric=self.metric).fit(X)
        return search.kneighbors(X)[0][:, -1]

    def _choose_eps(self, X: np.ndarray) -> float:
        if self.eps_rule == "fixed":
            return float(self.eps)
        distances = self.k_distances(X)
        if distances[-1] <= 0:
            raise ValueError("dbscan: every sample coincides with its neighbours; no eps to choose")
        if self.eps_rule == "knee":
            x = np.linspace(0.0, 1.0, len(distances))
            y = (distances - distances[0]) / (distances[-1] - distances[0] or 1.0)
            return float(distances[np.argmax(x - y)]) or float(distances[distances > 0][0])
        if self.eps_rule == "n_clusters":
            candidates = np.unique(np.quantile(distances, self.QUANTILES))
            candidates = candidates[candidates > 0]
            found = [len(set(self._dbscan(X, eps).labels_) - {-1}) for eps in candidates]
            # exactly K at the largest eps (least noise); else the count nearest K, larger eps first
            score = [
                (abs(n - self.n_clusters), -eps) for n, eps in zip(found, candidates, strict=True)
            ]
            return float(candidates[min(range(len(score)), key=score.__getitem__)])
        raise ValueError(
            f"dbscan: eps_rule {self.eps_rule!r}: expected 'fixed', 'knee' or 'n_clusters'"
        )

    def load_state(self, state: dict, where: str = "the fitted state") -> DBSCAN:
        """As :meth:`FittedState.load_state`; a run kept before ``eps_`` was (a fixed eps)
        places new samples with its ``eps``."""
        if state.get("eps_") is None:
            state = {**state, "eps_": np.asarray(float(self.eps))}
        return super().load_state(state, where)

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
        eps = float(self.eps_)
        return np.where(distance <= eps, self.core_labels_[nearest], -1).astype(np.int64)
