"""Contracts: the plain clusterers pass scikit-learn's estimator checks, and every refiner leaves
the same fitted attributes, as every model passes test_models' shape checks."""

import numpy as np
import pytest
import torch
from sklearn.utils.estimator_checks import parametrize_with_checks

from conftest import TINY_REFINERS
from deepclust.assignments import assignment_scores
from deepclust.clustering import CLUSTERERS, REFINERS, build_clusterer
from deepclust.models import build_model

#: parameters that keep a plain clusterer's checks fast (defaults for the others)
FAST = {"kmeans": {"n_init": 2}}
#: every registered clusterer of fixed features: a new one is checked without editing this file
PLAIN = sorted(set(CLUSTERERS) - set(REFINERS))


def test_the_plain_clusterers_are_the_registered_ones():
    assert {"kmeans", "gmm", "dbscan"} <= set(PLAIN)


@parametrize_with_checks(
    [build_clusterer(name, n_clusters=3, random_state=0, **FAST.get(name, {})) for name in PLAIN]
)
def test_plain_clusterers_follow_scikit_learns_estimator_contract(estimator, check):
    check(estimator)


def test_the_refiner_routing_table_names_exactly_the_refiner_classes():
    """The workflow routes by ``REFINERS`` (names, read without importing torch): they are
    exactly the clusterers whose class is a ModelRefiner."""
    from deepclust.clustering import get_clusterer
    from deepclust.clustering.refine import ModelRefiner

    refiners = {name for name in CLUSTERERS if issubclass(get_clusterer(name), ModelRefiner)}
    assert refiners == set(REFINERS) == set(TINY_REFINERS)


def test_every_clusterer_class_of_the_package_is_in_the_table_and_nothing_registers_on_import():
    """A new clusterer module cannot be forgotten in CLUSTERERS, and importing the package
    imports none of them (the table is read without torch)."""
    import importlib
    import inspect
    import pkgutil
    import subprocess
    import sys

    from sklearn.base import ClusterMixin

    import deepclust.clustering as package

    classes = set()
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"deepclust.clustering.{info.name}")
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if (
                cls.__module__ == module.__name__
                and issubclass(cls, ClusterMixin)
                and not inspect.isabstract(cls)
                and cls.__name__ not in {"GCNClustering", "ConsensusClustering"}
            ):
                classes.add(f"{cls.__module__}:{name}")
    assert classes == set(CLUSTERERS.values())
    probe = (
        "import sys, deepclust.clustering as c; c.get_clusterer('kmeans'); "
        "print(sorted(m for m in sys.modules if m.startswith('deepclust.clustering.')), "
        "'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.split("] ")[1].strip() == "False", out.stdout  # K-means does not load torch
    assert "deepclust.clustering.dekm" not in out.stdout and "gmm" not in out.stdout


def test_the_old_spelling_of_the_kmeans_restarts_is_refused_naming_the_new_one():
    from deepclust.clustering import build_clusterer as build

    for method in ("dekm", "idec", "sdcn", "sddecc"):
        assert build(method, n_clusters=3, n_init=2).n_init == 2
        with pytest.raises(
            ValueError, match=f"{method!r}: parameter 'kmeans_n_init' is now spelled 'n_init'"
        ):
            build(method, n_clusters=3, kmeans_n_init=2)


@pytest.mark.parametrize("method", sorted(REFINERS))
def test_every_refiner_leaves_the_same_fitted_attributes(method, blobs_images):
    images, labels = blobs_images
    torch.manual_seed(0)
    network, params = TINY_REFINERS[method]
    model = build_model(network, images.shape[1:], 3)
    refiner = build_clusterer(method, n_clusters=3, random_state=0, **params)
    assert not refiner.uses_labels
    fitted = refiner.fit(images, labels, model=model)
    n = len(images)
    assert fitted is refiner and fitted.model_ is model
    assert fitted.labels_.shape == (n,) and fitted.labels_.dtype == np.int64
    assert fitted.init_labels_.shape == (n,) and set(fitted.labels_) <= set(range(3))
    assert fitted.n_iter_ >= 1 and fitted.converged_ in (None, True, False)
    assert fitted.seconds_per_iter_ > 0
    assert fitted.cluster_centers_.shape[0] == 3 and np.isfinite(fitted.cluster_centers_).all()
    # the space the labels partition (for the label-free scores): the refined encoder's output
    assert fitted.embedding_.shape[0] == n and np.isfinite(fitted.embedding_).all()
    # what assignments.csv says of each sample: the distance to its centre in that space and,
    # where the method assigns softly (DEC/IDEC's q, the GCN's Y), its cluster's probability
    scores = assignment_scores(fitted)
    own = np.linalg.norm(fitted.embedding_ - fitted.cluster_centers_[fitted.labels_], axis=1)
    np.testing.assert_allclose(scores["distance"], own, rtol=1e-5, atol=1e-6)
    soft = getattr(fitted, "soft_labels_", None)
    assert (soft is not None) == (method in {"idec", "sdcn", "sddecc"})
    if soft is not None:
        np.testing.assert_allclose(soft.sum(axis=1), 1.0, rtol=1e-5)
        np.testing.assert_array_equal(soft.argmax(axis=1), fitted.labels_)
        np.testing.assert_allclose(scores["confidence"], soft.max(axis=1))
    # a finished run assigns images: its own as the fit did; a GCN refuses, naming why
    if fitted.needs_graph:
        with pytest.raises(ValueError, match="kNN graph of the images it was fitted on"):
            fitted.predict(images[:5])
    else:
        np.testing.assert_array_equal(fitted.predict(images), fitted.labels_)
        np.testing.assert_allclose(
            fitted.transform(images).min(axis=1), scores["distance"], rtol=1e-5, atol=1e-6
        )
    if hasattr(fitted, "predict_proba"):
        np.testing.assert_allclose(fitted.predict_proba(images), soft, rtol=1e-4, atol=1e-6)
    rows = fitted.history_
    assert [row["iteration"] for row in rows] == sorted(row["iteration"] for row in rows)
    assert all("acc" in row and "elapsed_s" in row for row in rows)  # labels were given
    np.testing.assert_array_equal(fitted.fit_predict(images, model=model), fitted.labels_)
