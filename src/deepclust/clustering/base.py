"""The clusterers by name, and what every clusterer shares (feature checks, parameter checks)."""

from __future__ import annotations

import importlib
import inspect

import numpy as np

from deepclust.arguments import check_values

#: every clusterer, by the name a config's ``clusterers.<name>.method`` uses -> "module:Class".
#: Read without importing anything: a class is imported when first asked for (:func:`get_clusterer`),
#: so the many small K-means jobs of a sweep do not pay for torch.
CLUSTERERS: dict[str, str] = {
    "kmeans": "deepclust.clustering.kmeans:KMeans",
    "gmm": "deepclust.clustering.gmm:GMM",
    "dbscan": "deepclust.clustering.dbscan:DBSCAN",
    "dekm": "deepclust.clustering.dekm:DEKM",
    "idec": "deepclust.clustering.idec:IDEC",
    "sddecc": "deepclust.clustering.gcn:SDDECCClustering",
    "sdcn": "deepclust.clustering.gcn:SDCN",
}

#: the clusterers that fine-tune the extractor's model (need model + images; a test keeps this
#: equal to the :class:`~deepclust.clustering.refine.ModelRefiner` subclasses above)
REFINERS: frozenset[str] = frozenset({"dekm", "idec", "sddecc", "sdcn"})

#: parameter names an earlier version spelled differently: the old spelling is refused, naming
#: the new one (``python -m deepclust.config upgrade`` respells finished runs' records)
RENAMED_PARAMS: dict[str, str] = {"kmeans_n_init": "n_init"}


def is_refiner(method: str) -> bool:
    """Whether clusterer ``method`` trains the extractor's model further (needs model + images)."""
    return method in REFINERS


def get_clusterer(method: str) -> type:
    """The class named ``method`` in :data:`CLUSTERERS`, imported on first use."""
    if method not in CLUSTERERS:
        raise ValueError(
            f"unknown clusterer {method!r}; known clusterers: {', '.join(sorted(CLUSTERERS))}"
        )
    module, name = CLUSTERERS[method].split(":")
    return getattr(importlib.import_module(module), name)


def graph_spec(method: str, params: dict) -> dict | None:
    """``{"k": ..., "metric": ...}`` of the kNN graph clusterer ``method`` propagates over
    (its parameters, else its defaults), or ``None`` when it needs no graph. The workflow builds
    each distinct graph once, as its own stage."""
    cls = get_clusterer(method)
    if not getattr(cls, "needs_graph", False):
        return None
    defaults = {p.name: p.default for p in inspect.signature(cls.__init__).parameters.values()}
    return {key: params.get(key, defaults[key]) for key in ("k", "metric")}


def keep_params(estimator, arguments: dict) -> None:
    """Keep each argument of ``estimator``'s constructor as the attribute of its name, unchanged
    (scikit-learn's convention: ``get_params`` reads them back, checks belong in ``fit``);
    ``arguments``: the constructor's ``locals()``."""
    for name in inspect.signature(type(estimator).__init__).parameters:
        if name != "self":
            setattr(estimator, name, arguments[name])


def validated_features(estimator, X, *, reset: bool = True) -> np.ndarray:
    """``X`` as a 2-D float64 array, checked as scikit-learn's own estimators check it (sets
    ``n_features_in_``, or with ``reset=False`` checks new samples against it; refuses sparse,
    complex and 1-D input with its messages), and refused with our message when it holds NaN or
    Inf (a diverged encoder's features)."""
    from sklearn.utils.validation import validate_data

    X = validate_data(estimator, X, dtype=np.float64, ensure_all_finite=False, reset=reset)
    if not np.isfinite(X).all():
        raise ValueError("features contain NaN or Inf values")
    return X


class FittedState:
    """Mixin: a clusterer whose fitted state, the arrays named in ``state_names``, outlives the
    job that fitted it. The cluster stage keeps them in labels.h5 (``state/<name>``), and
    :mod:`deepclust.placement` loads them into a fresh instance to assign new images without
    fitting again."""

    #: the fitted attributes ``predict`` needs (empty: the method cannot place new samples)
    state_names: tuple[str, ...] = ()

    def state_arrays(self) -> dict[str, np.ndarray]:
        """The fitted state, by attribute name (see :attr:`state_names`)."""
        from sklearn.utils.validation import check_is_fitted

        if not self.state_names:
            return {}
        check_is_fitted(self, list(self.state_names))
        return {name: np.asarray(getattr(self, name)) for name in self.state_names}

    def load_state(self, state: dict[str, np.ndarray | None], where: str = "the fitted state"):
        """Take a finished run's :meth:`state_arrays`; ``where`` names their file in errors."""
        if not self.state_names:
            raise ValueError(f"{type(self).__name__} keeps no fitted state to assign new samples")
        missing = [name for name in self.state_names if state.get(name) is None]
        if missing:
            raise ValueError(f"{where}: no {', '.join(missing)} for {type(self).__name__}")
        for name in self.state_names:
            setattr(self, name, np.asarray(state[name]))
        self._state_loaded()
        return self

    def _state_loaded(self) -> None:
        """Rebuild what the loaded arrays imply (``n_features_in_``, a wrapped estimator)."""


def check_clusterer_params(method: str, params: dict) -> None:
    """Fail with the parameter's name when ``params`` has a key clusterer ``method`` does not take,
    or a value it cannot take (:func:`deepclust.arguments.check_values`)."""
    cls = get_clusterer(method)
    allowed = [
        p
        for p in inspect.signature(cls.__init__).parameters
        if p not in {"self", "n_clusters", "random_state"}
    ]
    for old in sorted(set(params) & set(RENAMED_PARAMS)):
        raise ValueError(
            f"clusterer {method!r}: parameter {old!r} is now spelled {RENAMED_PARAMS[old]!r} "
            "(one name for the K-means restarts of every clusterer); rename it in the config"
        )
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ValueError(
            f"clusterer {method!r} takes no parameter {unknown[0]!r}; it takes: {', '.join(allowed)}"
        )
    check_values(cls, params, delegate=getattr(cls, "sklearn_delegate", None))


def build_clusterer(method: str, *, n_clusters: int, random_state: int | None = None, **params):
    check_clusterer_params(method, params)
    return get_clusterer(method)(n_clusters=n_clusters, random_state=random_state, **params)
