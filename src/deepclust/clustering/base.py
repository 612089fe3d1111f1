"""The clusterer registry."""

from __future__ import annotations

import inspect
from collections.abc import Callable

CLUSTERERS: dict[str, type] = {}


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
    if method not in CLUSTERERS:
        raise ValueError(
            f"unknown clusterer {method!r}; registered clusterers: {', '.join(sorted(CLUSTERERS))}"
        )
    allowed = [
        p
        for p in inspect.signature(CLUSTERERS[method].__init__).parameters
        if p not in {"self", "n_clusters", "random_state"}
    ]
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ValueError(
            f"clusterer {method!r} takes no parameter {unknown[0]!r}; it takes: {', '.join(allowed)}"
        )


def build_clusterer(method: str, *, n_clusters: int, random_state: int | None = None, **params):
    check_clusterer_params(method, params)
    return CLUSTERERS[method](n_clusters=n_clusters, random_state=random_state, **params)
