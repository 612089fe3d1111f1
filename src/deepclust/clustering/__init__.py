"""Clusterers, named in one table, with scikit-learn's ``fit``/``fit_predict`` shape.

``build_clusterer(method, n_clusters=..., random_state=..., **params)``; each method lives in its
own module, named in :data:`CLUSTERERS`. Refiners (``dekm``, ``idec``, the GCN
clusterers ``sddecc`` and ``sdcn``) fine-tune
the extractor's encoder instead of clustering fixed features; see
:mod:`deepclust.clustering.refine`.
"""

from deepclust.clustering.base import (
    CLUSTERERS,
    REFINERS,
    RENAMED_PARAMS,
    build_clusterer,
    check_clusterer_params,
    get_clusterer,
    graph_spec,
    is_refiner,
)

__all__ = [
    "CLUSTERERS",
    "REFINERS",
    "build_clusterer",
    "check_clusterer_params",
    "get_clusterer",
    "graph_spec",
    "is_refiner",
    "RENAMED_PARAMS",
]
