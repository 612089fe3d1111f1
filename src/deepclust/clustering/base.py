"""The clusterer registry."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable

import numpy as np

CLUSTERERS: dict[str, type] = {}

#: Clusterers that fine-tune the extractor's model, by name -> module. They need torch, so they
#: are imported on first use: the many small K-means jobs of a sweep do not pay for torch.
REFINERS: dict[str, str] = {
    "dekm": "deepclust.clustering.dekm",
    "idec": "deepclust.clustering.idec",
    "sddecc": "deepclust.clustering.gcn",
    "sdcn": "deepclust.clustering.gcn",
}


def is_refiner(method: str) -> bool:
    """Whether clusterer ``method`` trains the extractor's model further (needs model + images)."""
    return method in REFINERS


def get_clusterer(method: str) -> type:
    """The class registered as ``method``, importing a refiner's module when first asked."""
    if method not in CLUSTERERS and method in REFINERS:
        importlib.import_module(REFINERS[method])
    if method not in CLUSTERERS:
        known = sorted({*CLUSTERERS, *REFINERS})
        raise ValueError(f"unknown clusterer {method!r}; registered clusterers: {', '.join(known)}")
    return CLUSTERERS[method]


def graph_spec(method: str, params: dict) -> dict | None:
    """``{"k": ..., "metric": ...}`` of the kNN graph clusterer ``method`` propagates over
    (its parameters, else its defaults), or ``None`` when it needs no graph. The workflow builds
    each distinct graph once, as its own stage."""
    cls = get_clusterer(method)
    if not getattr(cls, "needs_graph", False):
        return None
    defaults = {p.name: p.default for p in inspect.signature(cls.__init__).parameters.values()}
    return {key: params.get(key, defaults[key]) for key in ("k", "metric")}


def validated_features(estimator, X) -> np.ndarray:
    """``X`` as a 2-D float64 array, checked as scikit-learn's own estimators check it (sets
    ``n_features_in_``; refuses sparse, complex and 1-D input with its messages), and refused
    with our message when it holds NaN or Inf (a diverged encoder's features)."""
    from sklearn.utils.validation import validate_data

    X = validate_data(estimator, X, dtype=np.float64, ensure_all_finite=False)
    if not np.isfinite(X).all():
        raise ValueError("features contain NaN or Inf values")
    return X


def register(name: str) -> Callable[[type], type]:
    """Class decorator: make a clusterer buildable by ``name`` from config."""

    def decorator(cls: type) -> type:
        if name in CLUSTERERS:
            raise ValueError(f"clusterer name {name!r} is registered twice")
        CLUSTERERS[name] = cls
        return cls

    return decorator


def check_clusterer_params(method: str, params: dict) -> None:
    """Fail with the parameter's name when ``params`` has a key clusterer ``method`` does not take."""
    cls = get_clusterer(method)
    allowed = [
        p
        for p in inspect.signature(cls.__init__).parameters
        if p not in {"self", "n_clusters", "random_state"}
    ]
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ValueError(
            f"clusterer {method!r} takes no parameter {unknown[0]!r}; it takes: {', '.join(allowed)}"
        )


def build_clusterer(method: str, *, n_clusters: int, random_state: int | None = None, **params):
    check_clusterer_params(method, params)
    return get_clusterer(method)(n_clusters=n_clusters, random_state=random_state, **params)
