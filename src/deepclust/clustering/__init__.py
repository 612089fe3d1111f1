"""Clusterers, registered by name, with scikit-learn's ``fit``/``fit_predict`` shape.

``build_clusterer(method, n_clusters=..., random_state=..., **params)``; each method lives in its
own module and registers itself with :func:`register`.
"""

from deepclust.clustering.base import CLUSTERERS, build_clusterer, check_clusterer_params, register

from deepclust.clustering import kmeans  # noqa: E402,F401  isort: skip

__all__ = ["CLUSTERERS", "build_clusterer", "check_clusterer_params", "register"]
