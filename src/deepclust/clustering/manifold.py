"""Manifold learning before clustering (N2D, MFVC): UMAP, whose embedding K-means, DBSCAN
(:mod:`deepclust.clustering.dbscan`) or a Gaussian mixture (:mod:`deepclust.clustering.gmm`) cluster.

The embedding is its own workflow stage (``manifolds:`` in the config, one HDF5 file per run and
manifold), so switching the clusterer that reads it (K-means -> DBSCAN) does not recompute UMAP.

``deterministic=True`` passes the seed to UMAP, which then runs single-threaded and gives the
same embedding for the same seed and input; ``False`` lets it use every thread (faster, not
reproducible).

References
----------
- Leland McInnes, John Healy, James Melville. UMAP: uniform manifold approximation and projection
  for dimension reduction. arXiv:1802.03426, 2018. Code: github.com/lmcinnes/umap.
- Ryan McConville, Raul Santos-Rodriguez, Robert J. Piechocki, Ian Craddock. N2D: (not too) deep
  clustering via clustering the local manifold of an autoencoded embedding. ICPR 2020. Code:
  github.com/rymc/n2d. There: n_neighbors 20, min_dist 0, n_components = n_clusters, a
  full-covariance GMM.
- Chen Junfen, Han Jinchi, Xie Bojun, Xie Zhenghao. Clustering algorithm based on variational
  autoencoder and manifold features (MFVC; 基于变分自编码器与流形特征的聚类算法). Journal of Shanxi University
  (Natural Science Edition) 47(1): 69-80, 2024. doi:10.13451/j.sxu.ns.2023139. No official code.
  docs/papers/MFVC.md: its tables beside our runs. There: n_neighbors 27, min_dist 0, K-means;
  DBSCAN as the ablation.
"""

from __future__ import annotations

import inspect

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from deepclust.arguments import check_values
from deepclust.umap_cache import load_umap


class UMAPEmbedding(TransformerMixin, BaseEstimator):
    """UMAP to ``n_components`` dimensions (``None``: the number of clusters).

    Parameters
    ----------
    n_components : output dimensions; ``None`` takes ``n_clusters``.
    n_neighbors, min_dist, metric : UMAP's.
    deterministic : seed UMAP with ``random_state`` (single-threaded, reproducible).
    n_clusters : used only when ``n_components`` is ``None``.
    random_state : seed.
    n_jobs : threads when not deterministic.
    """

    def __init__(
        self,
        n_components: int | None = None,
        n_neighbors: int = 27,
        min_dist: float = 0.0,
        metric: str = "euclidean",
        deterministic: bool = True,
        n_clusters: int = 10,
        random_state: int | None = None,
        n_jobs: int | None = None,
    ):
        self.n_components = n_components
        self.n_neighbors = n_neighbors
        self.min_dist = min_dist
        self.metric = metric
        self.deterministic = deterministic
        self.n_clusters = n_clusters
        self.random_state = random_state
        self.n_jobs = n_jobs

    def fit_transform(self, X: np.ndarray, y=None) -> np.ndarray:
        umap = load_umap()  # imported on use: importing it loads numba

        X = np.asarray(X, dtype=np.float32)
        if not np.isfinite(X).all():
            raise ValueError("features contain NaN or Inf values")
        if self.n_neighbors >= len(X):
            raise ValueError(f"n_neighbors = {self.n_neighbors} needs more than {len(X)} samples")
        seeded = self.deterministic and self.random_state is not None
        self.umap_ = umap.UMAP(
            n_components=self.n_components or self.n_clusters,
            n_neighbors=self.n_neighbors,
            min_dist=self.min_dist,
            metric=self.metric,
            random_state=self.random_state if seeded else None,
            n_jobs=1 if seeded else (self.n_jobs or -1),
        )
        self.embedding_ = self.umap_.fit_transform(X).astype(np.float32)
        return self.embedding_

    def fit(self, X: np.ndarray, y=None) -> UMAPEmbedding:
        self.fit_transform(X)
        return self


#: manifold methods, by the name a config's ``manifolds.<name>.method`` uses
MANIFOLDS: dict[str, type] = {"umap": UMAPEmbedding}


def check_manifold_params(method: str, params: dict) -> None:
    """Fail with the name of an unknown method or parameter, or of a value it cannot take."""
    if method not in MANIFOLDS:
        raise ValueError(
            f"unknown manifold method {method!r}; known: {', '.join(sorted(MANIFOLDS))}"
        )
    allowed = [
        p
        for p in inspect.signature(MANIFOLDS[method].__init__).parameters
        if p not in {"self", "n_clusters", "random_state", "n_jobs"}
    ]
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ValueError(
            f"manifold {method!r} takes no parameter {unknown[0]!r}; it takes: {', '.join(allowed)}"
        )
    check_values(MANIFOLDS[method], params)


def build_manifold(
    method: str,
    *,
    n_clusters: int,
    random_state: int | None = None,
    n_jobs: int | None = None,
    **params,
):
    check_manifold_params(method, params)
    return MANIFOLDS[method](
        n_clusters=n_clusters, random_state=random_state, n_jobs=n_jobs, **params
    )
