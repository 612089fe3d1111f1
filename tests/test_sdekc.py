"""SDEKC's skip-connected CAE and the refining clusterers (DEKM, DEC/IDEC)."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from deepclust.clustering import build_clusterer, is_refiner
from deepclust.clustering.dekm import greedy_targets, sorted_eigenvectors, within_cluster_scatter
from deepclust.clustering.idec import soft_assignment, target_distribution
from deepclust.clustering.refine import label_mapping
from deepclust.config import ConfigError, check_config
from deepclust.metrics import clustering_accuracy
from deepclust.models import build_model
from deepclust.train_config import TrainConfig
from deepclust.training import Trainer

CPU = torch.device("cpu")


@pytest.mark.parametrize("size", [8, 16, 28, 32])
def test_skip_cae_shapes(size):
    model = build_model("skip_cae", (1, size, size), 10)
    x = torch.rand(3, 1, size, size)
    z, maps = model.encode_with_maps(x)
    assert z.shape == (3, 10)
    assert [m.shape[1] for m in maps] == [32, 64, 128]
    assert model(x).shape == x.shape
    assert model.decode(z).shape == x.shape


def test_skip_weights_flow_and_skip_off_is_the_plain_cae():
    torch.manual_seed(0)
    x = torch.rand(4, 1, 16, 16)
    model = build_model("skip_cae", (1, 16, 16), 10)
    out = model(x)
    model.w2 = 0.5
    assert not torch.allclose(model(x), out)
    model.w2, model.w1 = 0.001, 0.5
    assert not torch.allclose(model(x), out)
    # the encoder maps really enter: the output differs from decoding the code alone
    model.w1 = 0.999
    assert not torch.allclose(model(x), model.decode(model.encode(x)))

    plain = build_model("conv_ae", (1, 16, 16), 10)
    no_skip = build_model("skip_cae", (1, 16, 16), 10, skip=False)
    no_skip.load_state_dict(plain.state_dict())
    assert torch.equal(no_skip(x), plain(x))


def test_skip_cae_trains_through_the_shared_trainer(blobs_images):
    images, _ = blobs_images
    model = build_model("skip_cae", (1, 8, 8), 3)
    trainer = Trainer(TrainConfig(epochs=3, batch_size=32, lr=3e-3), CPU)
    trainer.fit(model, images, seed=0)
    assert trainer.history[-1]["loss"] < trainer.history[0]["loss"]


def test_within_cluster_scatter_and_eigen_step_match_numpy():
    rng = np.random.default_rng(0)
    H = rng.normal(size=(50, 4))
    labels = rng.integers(0, 3, 50)
    centres = np.stack([H[labels == k].mean(0) for k in range(3)])
    reference = sum(
        np.outer(h - centres[k], h - centres[k]) for h, k in zip(H, labels, strict=True)
    )
    S = within_cluster_scatter(torch.tensor(H), torch.tensor(labels), torch.tensor(centres))
    np.testing.assert_allclose(S.numpy(), reference, rtol=1e-10)

    V = sorted_eigenvectors(S).numpy()
    values = np.linalg.eigvalsh(reference)
    np.testing.assert_allclose(V.T @ V, np.eye(4), atol=1e-10)
    np.testing.assert_allclose(V.T @ reference @ V, np.diag(values), atol=1e-8)  # ascending

    Y = torch.tensor(H) @ torch.tensor(V)
    M = torch.tensor(centres) @ torch.tensor(V)
    target = greedy_targets(Y, torch.tensor(labels), M).numpy()
    np.testing.assert_array_equal(target[:, :-1], Y.numpy()[:, :-1])
    np.testing.assert_allclose(target[:, -1], M.numpy()[labels, -1])


def test_label_mapping_undoes_a_permutation():
    old = np.array([0, 0, 1, 1, 2, 2, 2])
    permuted = np.array([2, 0, 1, 0, 1, 1, 2])[old]  # renamed: 0->2, 1->0, 2->1
    assert np.array_equal(label_mapping(permuted, old, 3)[permuted], old)


def test_student_t_assignment_and_target_distribution():
    z = torch.tensor([[0.0, 0.0], [10.0, 0.0], [5.0, 0.0]])
    centres = torch.tensor([[0.0, 0.0], [10.0, 0.0]])
    q = soft_assignment(z, centres)
    np.testing.assert_allclose(q.sum(1).numpy(), 1.0, rtol=1e-6)
    assert q[0, 0] > 0.9 and q[1, 1] > 0.9 and torch.isclose(q[2, 0], q[2, 1])
    p = target_distribution(q)
    np.testing.assert_allclose(p.sum(1).numpy(), 1.0, rtol=1e-6)
    assert p[0, 0] > q[0, 0]  # sharper than q


def _noisy_quadrants(seed: int = 0, n: int = 400):
    """Four classes of 8x8 images (a bright quadrant each) under heavy uniform noise."""
    rng = np.random.RandomState(seed)
    labels = rng.randint(0, 4, n)
    images = rng.rand(n, 1, 8, 8).astype(np.float32) * 0.8
    for i, c in enumerate(labels):
        images[i, 0, (c % 2) * 4 : (c % 2) * 4 + 4, (c // 2) * 4 : (c // 2) * 4 + 4] += 0.5
    return images, labels


@pytest.fixture(scope="module")
def pretrained_cae():
    """A briefly pretrained CAE whose K-means is good but not perfect on the noisy quadrants."""
    images, labels = _noisy_quadrants()
    torch.manual_seed(0)
    model = build_model("conv_ae", (1, 8, 8), 4)
    # float32 on every CPU: `amp: auto` would train in bf16 where the CPU has it natively, and
    # the test's start would then depend on the machine
    Trainer(TrainConfig(epochs=10, batch_size=32, amp=False), CPU).fit(model, images, seed=0)
    return model, images, labels


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("dekm", {"max_iter": 50, "update_interval": 10, "batch_size": 64}),
        ("dekm", {"max_iter": 50, "update_interval": 10, "batch_size": 64, "warm_start": False}),
        ("idec", {"max_iter": 1000, "update_interval": 20, "batch_size": 64}),
    ],
)
def test_refinement_improves_on_its_kmeans_start(pretrained_cae, method, params):
    model, images, labels = pretrained_cae
    refiner = build_clusterer(method, n_clusters=4, random_state=0, **params)
    assert is_refiner(method) and not refiner.uses_labels
    before = copy.deepcopy(model.state_dict())
    refiner.fit(images, labels, model=copy.deepcopy(model))
    start = clustering_accuracy(labels, refiner.init_labels_)
    assert 0.8 < start < 1.0  # the fixture leaves room to improve
    assert clustering_accuracy(labels, refiner.labels_) > start
    assert refiner.converged_ and refiner.n_iter_ == len(refiner.history_) - 1
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # copy trained
    # the labels are only monitored: without them the same clustering comes out
    blind = build_clusterer(method, n_clusters=4, random_state=0, **params)
    blind.fit(images, None, model=copy.deepcopy(model))
    assert np.array_equal(blind.labels_, refiner.labels_)
    assert "acc" not in blind.history_[-1] and "acc" in refiner.history_[-1]


def test_dekm_stopping_rule(pretrained_cae):
    model, images, _ = pretrained_cae
    params = {"update_interval": 2, "batch_size": 64}
    never = build_clusterer("dekm", n_clusters=4, random_state=0, tol=0.0, max_iter=3, **params)
    never.fit(images, model=copy.deepcopy(model))
    assert never.n_iter_ == 3 and not never.converged_
    at_once = build_clusterer("dekm", n_clusters=4, random_state=0, tol=1.0, max_iter=3, **params)
    at_once.fit(images, model=copy.deepcopy(model))
    assert at_once.n_iter_ == 1 and at_once.converged_
    changed = [row["changed"] for row in never.history_[1:]]
    assert all(0.0 <= c < 1.0 for c in changed)


def test_refiners_need_a_model_and_reject_a_layer():
    base = {
        "datasets": {"d": {"source": "digits"}},
        "extractors": {"pixels": {"model": "pixels"}, "cae": {"model": "conv_ae"}},
        "clusterers": {"dekm": {"method": "dekm", "params": {}}},
        "experiments": {"e": {"extractor": "pixels", "clusterer": "dekm"}},
    }
    with pytest.raises(ConfigError, match="experiments.e: .*fine-tunes a trained model"):
        check_config(base)
    base["experiments"]["e"]["extractor"] = "cae"
    check_config(base)
    base["clusterers"]["dekm"]["layer"] = "D2"
    with pytest.raises(ConfigError, match="clusterers.dekm.layer"):
        check_config(base)
    base["clusterers"]["dekm"] = {"method": "dekm", "params": {"n_iter": 3}}
    with pytest.raises(ConfigError, match="clusterers.dekm.params: .*'n_iter'"):
        check_config(base)


def test_device_lloyd_is_scikit_learns_warm_started_kmeans():
    """DEKM's K-means on a GPU (run here on the CPU): the labels, centres and inertia of
    scikit-learn's Lloyd from the same start."""
    from sklearn.cluster import KMeans as SKKMeans

    from deepclust.clustering.dekm import lloyd

    rng = np.random.default_rng(0)
    H = np.concatenate([rng.normal(c, 1.0, (150, 5)) for c in (0.0, 3.0, 6.0, 9.0)])
    start = H[rng.choice(len(H), 4, replace=False)]
    ours, centres, inertia, n_iter = lloyd(torch.as_tensor(H), torch.as_tensor(start))
    theirs = SKKMeans(4, init=start, n_init=1).fit(H)
    np.testing.assert_array_equal(ours.numpy(), theirs.labels_)
    np.testing.assert_allclose(centres.numpy(), theirs.cluster_centers_, rtol=1e-10)
    assert inertia == pytest.approx(theirs.inertia_, rel=1e-10) and n_iter >= 1
