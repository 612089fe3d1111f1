import numpy as np
import pytest

from deepclust.clustering import build_clusterer, check_clusterer_params
from deepclust.metrics import clustering_accuracy


def _blobs():
    rng = np.random.default_rng(0)
    centres = np.array([[0, 0], [10, 0], [0, 10]])
    X = np.concatenate([c + rng.normal(0, 0.5, (30, 2)) for c in centres])
    return X, np.repeat(np.arange(3), 30)


def test_kmeans_fit_predict_recovers_blobs():
    X, y = _blobs()
    km = build_clusterer("kmeans", n_clusters=3, random_state=0, n_init=5)
    labels = km.fit_predict(X)
    assert clustering_accuracy(y, labels) == 1.0
    assert km.cluster_centers_.shape == (3, 2) and not km.uses_labels


def test_kmeans_is_deterministic_for_a_seed():
    X, _ = _blobs()
    X = X + np.random.default_rng(1).normal(0, 3, X.shape)  # make restarts matter
    a = build_clusterer("kmeans", n_clusters=3, random_state=4, n_init=3).fit_predict(X)
    b = build_clusterer("kmeans", n_clusters=3, random_state=4, n_init=3).fit_predict(X)
    np.testing.assert_array_equal(a, b)


def test_best_of_by_acc_uses_labels_and_needs_them():
    X, y = _blobs()
    km = build_clusterer("kmeans", n_clusters=3, random_state=0, best_of_by_acc=4)
    assert km.uses_labels
    assert clustering_accuracy(y, km.fit_predict(X, y)) == 1.0
    with pytest.raises(ValueError, match="needs ground-truth labels"):
        km.fit(X)


def test_bad_input_is_named():
    X, _ = _blobs()
    with pytest.raises(ValueError, match="n_clusters = 100 exceeds the 90 samples"):
        build_clusterer("kmeans", n_clusters=100).fit(X)
    X[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN or Inf"):
        build_clusterer("kmeans", n_clusters=3).fit(X)
    with pytest.raises(ValueError, match="takes no parameter 'k'"):
        check_clusterer_params("kmeans", {"k": 3})
    with pytest.raises(ValueError, match="unknown clusterer 'spectral'"):
        check_clusterer_params("spectral", {})


def test_best_of_by_acc_keeps_every_run_each_with_n_init_restarts():
    from sklearn.cluster import KMeans

    X, y = _blobs()
    X = X + np.random.default_rng(1).normal(0, 3, X.shape)  # runs disagree
    km = build_clusterer("kmeans", n_clusters=3, random_state=0, best_of_by_acc=6, n_init=3)
    labels = km.fit_predict(X, y)
    assert len(km.runs_) == 6
    accs = [run["acc"] for run in km.runs_]
    assert clustering_accuracy(y, labels) == max(accs)
    first = km.runs_[0]
    expected = KMeans(3, n_init=3, random_state=first["seed"]).fit(X).inertia_
    assert first["inertia"] == pytest.approx(expected)
    assert build_clusterer("kmeans", n_clusters=3, random_state=0).fit(X).runs_ is None


def test_dec_and_idec_step_with_adam_or_with_sgd_and_momentum(blobs_images):
    """DEC's published code trains its KL stage with SGD (0.01, momentum 0.9), IDEC's on USPS
    with SGD (0.1, 0.99); Adam stays the default. SGD at lr 0 leaves the encoder as it was (the
    step is SGD's, not Adam's); another optimizer is refused at plan time, by name."""
    import torch

    from deepclust.models import build_model

    images, labels = blobs_images
    params = {"max_iter": 8, "update_interval": 4, "batch_size": 16, "random_state": 0}
    kept = {}
    for optimizer, lr in (("sgd", 0.0), ("sgd", 0.05), ("adam", 0.001)):
        torch.manual_seed(0)
        model = build_model("dense_ae", images.shape[1:], 3, hidden_dims=[16])
        start = torch.cat([p.detach().flatten().clone() for p in model.parameters()])
        refiner = build_clusterer(
            "idec", n_clusters=3, optimizer=optimizer, lr=lr, momentum=0.9, **params
        )
        built = refiner._optimizer(list(model.parameters()))
        assert type(built).__name__ == {"sgd": "SGD", "adam": "Adam"}[optimizer]
        refiner.fit(images, labels, model=model)
        kept[optimizer, lr] = torch.equal(
            start, torch.cat([p.detach().flatten() for p in model.parameters()])
        )
    assert kept == {("sgd", 0.0): True, ("sgd", 0.05): False, ("adam", 0.001): False}
    assert built.defaults["lr"] == 0.001 and "momentum" not in built.defaults
    with pytest.raises(ValueError, match="optimizer"):
        check_clusterer_params("idec", {"optimizer": "rmsprop"})
