"""MFVC: SimAM, the Res-VAE and its fusion, UMAP, DBSCAN and GMM clusterers."""

import numpy as np
import pytest
import torch

from deepclust.clustering import build_clusterer, check_clusterer_params
from deepclust.clustering.manifold import UMAPEmbedding, build_manifold
from deepclust.config import ConfigError, check_config
from deepclust.metrics import evaluate
from deepclust.models import build_model
from deepclust.models.res_vae import ResVAEBlock, SimAM


def test_simam_matches_the_numpy_formula():
    x = np.random.default_rng(0).normal(size=(2, 3, 4, 5))
    mean = x.mean(axis=(2, 3), keepdims=True)
    var = ((x - mean) ** 2).sum(axis=(2, 3), keepdims=True) / (4 * 5 - 1)
    energy = (x - mean) ** 2 / (4 * (var + 1e-4)) + 0.5
    expected = x / (1 + np.exp(-energy))
    out = SimAM(1e-4)(torch.as_tensor(x))
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-10)
    assert not list(SimAM().parameters())  # parameter-free


def test_res_vae_block_shapes_and_the_simam_switch():
    x = torch.randn(2, 3, 8, 8)
    assert ResVAEBlock(3, 16)(x).shape == (2, 16, 8, 8)
    with_simam = build_model("res_vae", (1, 32, 32), 10)
    without = build_model("res_vae", (1, 32, 32), 10, simam=False)
    assert sum(isinstance(m, SimAM) for m in with_simam.modules()) == 10  # 5 down + 5 up blocks
    assert not any(isinstance(m, SimAM) for m in without.modules())


def test_res_vae_fuses_496_values_and_reconstructs_the_shape():
    model = build_model("res_vae", (1, 32, 32), 10, latent_dim=7).eval()
    x = torch.rand(3, 1, 32, 32)
    assert model.fused_features(x).shape == (3, 16 + 32 + 64 + 128 + 256)
    assert model.encode(x).shape == (3, 7)
    out = model.decode(model.encode(x))
    assert out.shape == x.shape and 0 <= out.min() and out.max() <= 1


def test_res_vae_loss_is_reconstruction_plus_beta_kl():
    x = torch.rand(4, 1, 32, 32)
    values = {}
    for beta in (0.0, 2.0):
        torch.manual_seed(0)
        model = build_model("res_vae", (1, 32, 32), 10, beta=beta)
        torch.manual_seed(1)
        loss, terms = model.loss(x)
        values[beta] = (loss.item(), terms["recon"].item(), terms["kl"].item())
    (l0, r0, k0), (l2, r2, k2) = values[0.0], values[2.0]
    assert (r0, k0) == pytest.approx((r2, k2)) and k0 > 0
    assert l0 == pytest.approx(r0) and l2 == pytest.approx(r2 + 2 * k2, rel=1e-5)


def test_res_vae_takes_sizes_the_poolings_do_not_divide():
    model = build_model("res_vae", (1, 28, 28), 10).eval()  # 28 -> 14 -> 7 -> 4 -> 2 -> 1
    assert model.map_sizes == [(28, 28), (14, 14), (7, 7), (4, 4), (2, 2), (1, 1)]
    x = torch.rand(2, 1, 28, 28)
    assert model(x).shape == x.shape


@pytest.fixture(scope="module")
def two_blobs():
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(0, 0.3, (40, 6)), rng.normal(4, 0.3, (40, 6))])
    return X.astype(np.float32), np.repeat([0, 1], 40)


def test_umap_is_deterministic_with_a_seed_and_separates_blobs(two_blobs):
    X, y = two_blobs
    runs = [
        UMAPEmbedding(n_neighbors=10, n_clusters=2, random_state=0).fit_transform(X)
        for _ in range(2)
    ]
    np.testing.assert_array_equal(runs[0], runs[1])
    assert runs[0].shape == (80, 2)  # n_components defaults to the number of clusters
    labels = build_clusterer("kmeans", n_clusters=2, random_state=0).fit_predict(runs[0])
    assert evaluate(y, labels)["acc"] == 1.0


def test_build_manifold_names_a_bad_parameter():
    with pytest.raises(ValueError, match="n_neigbors"):
        build_manifold("umap", n_clusters=2, n_neigbors=5)
    with pytest.raises(ValueError, match="unknown manifold"):
        build_manifold("tsne", n_clusters=2)


def test_dbscan_noise_counts_as_wrong_and_is_reported(two_blobs):
    X, y = two_blobs
    X = np.concatenate([X, [[20.0] * 6, [-20.0] * 6]])
    y = np.concatenate([y, [0, 1]])
    labels = build_clusterer("dbscan", n_clusters=2, eps=1.5, min_samples=5).fit_predict(X)
    assert (labels[-2:] == -1).all() and (labels[:-2] >= 0).all()
    scores = evaluate(y, labels)
    assert scores["noise_fraction"] == pytest.approx(2 / 82)
    assert scores["acc"] == pytest.approx(80 / 82)


def test_dbscan_chooses_eps_without_labels_by_the_k_distance_knee_or_by_k():
    """Three dense blobs of different spreads and a sprinkle of far outliers: a fixed eps
    fitted to the tightest blob breaks the widest into pieces; the knee of the k-distances and
    the largest eps that gives the asked-for K both find the three, outliers as noise, and the
    eps used (``eps_``) is what places new samples."""
    rng = np.random.default_rng(0)
    centres, spreads = np.array([[0, 0], [30, 0], [0, 30]]), (0.3, 0.6, 1.2)
    X = np.concatenate(
        [c + rng.normal(0, s, (150, 2)) for c, s in zip(centres, spreads, strict=True)]
    )
    y = np.repeat(np.arange(3), 150)
    X = np.concatenate([X, rng.uniform(-60, 90, (6, 2))])
    fixed = build_clusterer("dbscan", n_clusters=3, eps=0.15, min_samples=10).fit(X)
    assert len(set(fixed.labels_) - {-1}) != 3 or fixed.noise_fraction_ > 0.2
    for rule in ("knee", "n_clusters"):
        model = build_clusterer("dbscan", n_clusters=3, min_samples=10, eps_rule=rule).fit(X)
        assert len(set(model.labels_) - {-1}) == 3, rule
        assert evaluate(y, model.labels_[:450])["acc"] > 0.97, rule
        assert model.eps_ > 0.15 and model.eps_ < 30, rule
        assert model.state_arrays()["eps_"] == model.eps_
        np.testing.assert_array_equal(model.predict(X[:450]), model.labels_[:450])
    # a run kept before eps_ was: its fixed eps places new samples
    old = {k: v for k, v in fixed.state_arrays().items() if k != "eps_"}
    reloaded = build_clusterer("dbscan", n_clusters=3, eps=0.15, min_samples=10).load_state(old)
    assert reloaded.eps_ == 0.15
    with pytest.raises(ValueError, match="eps_rule"):
        check_clusterer_params("dbscan", {"eps_rule": "elbow"})


def test_gmm_clusters_blobs(two_blobs):
    X, y = two_blobs
    labels = build_clusterer("gmm", n_clusters=2, random_state=0).fit_predict(X)
    assert evaluate(y, labels)["acc"] == 1.0


def _config(**clusterer):
    return {
        "datasets": {"d": {"source": "digits"}},
        "extractors": {"e": {"model": "pixels"}},
        "manifolds": {"u": {"method": "umap", "params": {"n_neighbors": 5}}},
        "clusterers": {"c": {"method": "kmeans", "params": {}, **clusterer}},
        "experiments": {"x": {"extractor": "e", "clusterer": "c"}},
    }


def test_config_checks_manifold_references():
    check_config(_config(manifold="u"))
    with pytest.raises(ConfigError, match="clusterers.c.manifold: 'v' is not defined"):
        check_config(_config(manifold="v"))
    with pytest.raises(ConfigError, match="manifolds.u.layer"):
        check_config(_config(manifold="u", layer="z"))
    bad = _config(manifold="u")
    bad["manifolds"]["u"]["params"] = {"neighbours": 5}
    with pytest.raises(ConfigError, match="manifolds.u: .*neighbours"):
        check_config(bad)
