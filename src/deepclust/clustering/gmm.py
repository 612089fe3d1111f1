"""A Gaussian mixture on features (N2D clusters its UMAP embedding with one), fitted by EM
(scikit-learn's ``GaussianMixture``); a sample's cluster is its most probable component.

References
----------
- Arthur P. Dempster, Nan M. Laird, Donald B. Rubin. Maximum likelihood from incomplete data via
  the EM algorithm. Journal of the Royal Statistical Society, Series B 39(1), 1977.
- Ryan McConville, Raul Santos-Rodriguez, Robert J. Piechocki, Ian Craddock. N2D: (not too) deep
  clustering via clustering the local manifold of an autoencoded embedding. ICPR 2020. Code:
  github.com/rymc/n2d.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.mixture import GaussianMixture
from sklearn.utils.validation import check_is_fitted

from deepclust.clustering.base import FittedState, validated_features


class GMM(FittedState, ClusterMixin, BaseEstimator):
    """A Gaussian mixture (N2D's clusterer of the UMAP embedding); label = most likely component.

    Parameters
    ----------
    n_clusters : components.
    covariance_type : ``full`` as N2D.
    n_init, max_iter, tol : EM restarts (best likelihood kept), iterations, tolerance.
    random_state : seed.
    """

    #: the scikit-learn estimator whose constraints its shared parameters follow (checked at plan time)
    sklearn_delegate = GaussianMixture
    #: the fitted mixture, kept in labels.h5 (:class:`~deepclust.clustering.base.FittedState`):
    #: what assigning a sample reads. Not the covariances: as large again as the precisions'
    #: Cholesky factors (K x D x D, 300 MB for 38 components of 1,024 pixels) and never read
    state_names = ("weights_", "means_", "precisions_cholesky_")

    def __init__(
        self,
        n_clusters: int = 10,
        covariance_type: str = "full",
        n_init: int = 1,
        max_iter: int = 100,
        tol: float = 1e-3,
        random_state: int | None = None,
    ):
        self.n_clusters = n_clusters
        self.covariance_type = covariance_type
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state

    def fit(self, X: np.ndarray, y=None) -> GMM:
        X = validated_features(self, X)
        if self.n_clusters > len(X):
            raise ValueError(f"n_clusters = {self.n_clusters} exceeds the {len(X)} samples")
        self.mixture_ = GaussianMixture(
            self.n_clusters,
            covariance_type=self.covariance_type,
            n_init=self.n_init,
            max_iter=self.max_iter,
            tol=self.tol,
            random_state=self.random_state,
        ).fit(X)
        for name in self.state_names:
            setattr(self, name, getattr(self.mixture_, name))
        self.labels_ = self.mixture_.predict(X).astype(np.int64)
        self.n_iter_ = int(self.mixture_.n_iter_)
        return self

    def _state_loaded(self) -> None:
        """The mixture again, from its parameters: what scikit-learn's own fit leaves."""
        self.mixture_ = GaussianMixture(self.n_clusters, covariance_type=self.covariance_type)
        for name in self.state_names:
            setattr(self.mixture_, name, getattr(self, name))
        self.n_features_in_ = self.mixture_.n_features_in_ = self.means_.shape[1]

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The most probable component of each sample (new ones too)."""
        return self.predict_proba(X).argmax(axis=1).astype(np.int64)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Each sample's posterior over the components."""
        check_is_fitted(self, "mixture_")
        return self.mixture_.predict_proba(validated_features(self, X, reset=False))

    def centre_distances(self, X: np.ndarray) -> np.ndarray:
        """Each sample's Mahalanobis distance to every component's mean, under that component's
        covariance, ``(n_samples, n_clusters)``. It orders a cluster's members from its dense
        core outwards where the posterior cannot: on a well-separated embedding (UMAP's) the
        posterior of nearly every member rounds to 1."""
        check_is_fitted(self, "mixture_")
        X = validated_features(self, X, reset=False)
        chol = np.asarray(self.precisions_cholesky_)
        out = np.empty((len(X), len(self.means_)))
        for k, mean in enumerate(self.means_):
            diff = X - mean
            if self.covariance_type == "full":
                whitened = diff @ chol[k]
            elif self.covariance_type == "tied":
                whitened = diff @ chol
            else:  # "diag": one scale per feature; "spherical": one per component
                whitened = diff * chol[k]
            out[:, k] = np.sqrt((whitened**2).sum(axis=1))
        return out
