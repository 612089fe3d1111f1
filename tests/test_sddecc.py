"""SDDECC: the DDECN network, its MI estimator, the kNN graph, the fused GCN and its losses."""

import copy
import math

import numpy as np
import pytest
import torch

from deepclust.clustering import build_clusterer, graph_spec
from deepclust.clustering.fusion_gcn import FusionGCN, sddecc_cluster_loss
from deepclust.clustering.graph import (
    knn_graph,
    knn_indices,
    normalized_adjacency,
    sparse_adjacency,
)
from deepclust.config import ConfigError, check_config
from deepclust.io import read_graph, write_h5
from deepclust.metrics import evaluate
from deepclust.models import build_model
from deepclust.models.base import AutoEncoder
from deepclust.models.ddecn import jsd_mi_loss
from deepclust.models.gaussian import gaussian_kl
from deepclust.stages import run_graph


def test_jsd_mi_loss_scale():
    zeros = torch.zeros(8)
    assert jsd_mi_loss(zeros, zeros).item() == pytest.approx(2 * math.log(2))
    assert jsd_mi_loss(torch.full((8,), 30.0), torch.full((8,), -30.0)).item() < 1e-6
    # a critic that scores the pairs the wrong way round is penalised beyond chance
    assert jsd_mi_loss(torch.full((8,), -3.0), torch.full((8,), 3.0)).item() > 2 * math.log(2)


@pytest.mark.parametrize("dependent", [True, False])
def test_jsd_mi_critic_scores_dependent_pairs_above_shuffled_ones(dependent):
    """Trained on (x, z) pairs against in-batch shuffles, the JSD-MI estimate 2 log 2 - loss is
    clearly positive when z depends on x and about zero when it does not."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(512, 2, generator=gen)
    z = (
        x + 0.1 * torch.randn(512, 2, generator=gen)
        if dependent
        else torch.randn(512, 2, generator=gen)
    )
    torch.manual_seed(0)
    critic = torch.nn.Sequential(torch.nn.Linear(4, 32), torch.nn.ReLU(), torch.nn.Linear(32, 1))
    optimizer = torch.optim.Adam(critic.parameters(), lr=1e-2)

    def loss():
        perm = torch.randperm(len(x))
        return jsd_mi_loss(critic(torch.cat([x, z], 1)), critic(torch.cat([x[perm], z], 1)))

    for _ in range(300):
        optimizer.zero_grad()
        value = loss()
        value.backward()
        optimizer.step()
    with torch.no_grad():
        estimate = 2 * math.log(2) - np.mean([loss().item() for _ in range(10)])
    if dependent:
        assert estimate > 0.5
    else:
        assert abs(estimate) < 0.1


def test_gaussian_kl_against_closed_form():
    mu, logvar = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, math.log(4.0)]])
    # 0.5 * (sigma^2 + mu^2 - 1 - log sigma^2) per dimension
    expected = 0.5 * (1 + 1 - 1 - 0) + 0.5 * (4 + 0 - 1 - math.log(4.0))
    assert gaussian_kl(mu, logvar).item() == pytest.approx(expected)


@pytest.mark.parametrize(
    ("shape", "channels", "widths"),
    [
        ((1, 16, 16), (16, 32), [16 * 8 * 8, 32 * 4 * 4, 10]),
        ((1, 28, 28), (16, 16, 32, 32), [16 * 14 * 14, 16 * 7 * 7, 32 * 4 * 4, 32 * 2 * 2, 10]),
    ],
)
def test_ddecn_picks_the_papers_channels_and_reconstructs_the_shape(shape, channels, widths):
    model = build_model("ddecn", shape, 10)
    assert tuple(conv.out_channels for conv in model.convs) == channels
    assert all(conv.kernel_size == (3, 3) for conv in model.convs)
    x = torch.rand(4, *shape)
    assert [t.shape[1] for t in model.encoder_layers(x)] == widths
    assert model.decode(model.encode(x)).shape == x.shape
    loss, terms = model.loss(x)
    assert set(terms) == {"recon", "mi_global", "mi_local", "prior_kl"}
    assert torch.isfinite(loss)


@pytest.mark.parametrize(
    ("name", "args", "widths"),
    [("dense_ae", {"hidden_dims": (8, 6)}, [8, 6, 3]), ("conv_ae", {}, [32 * 16, 64 * 4, 128, 3])],
)
def test_encoder_layers_end_with_the_code(name, args, widths):
    """What the GCN's layers are fed: each encoder layer flattened, the clustering code last."""
    model = build_model(name, (1, 8, 8), 3, **args).eval()
    x = torch.rand(5, 1, 8, 8)
    layers = model.encoder_layers(x)
    assert [t.shape[1] for t in layers] == widths
    torch.testing.assert_close(layers[-1], model.encode(x))


def test_ddecn_ablation_switches():
    x = torch.rand(4, 1, 16, 16)
    plain = build_model(
        "ddecn", (1, 16, 16), 10, mi_weight=0.0, prior_weight=0.0, variational=False
    )
    assert set(plain.loss(x)[1]) == {"recon"}
    assert plain.fc_logvar is None and plain.joint_pass(x).logvar is None
    with pytest.raises(ValueError, match="variational"):
        build_model("ddecn", (1, 16, 16), 10, variational=False)


def test_ddecn_reconstruction_reduction_and_global_critic_input():
    torch.manual_seed(0)
    x = torch.rand(4, 1, 16, 16)
    args = dict(mi_weight=0.0, prior_weight=0.0, variational=False)
    summed = build_model("ddecn", (1, 16, 16), 10, **args)
    mean = build_model("ddecn", (1, 16, 16), 10, reduction="mean", **args)
    mean.load_state_dict(summed.state_dict())
    expected = 0.5 * ((summed(x) - x) ** 2).sum(dim=(1, 2, 3)).mean()  # eq. 13: 1/(2N) ||.||_F^2
    assert summed.loss(x)[1]["recon"].item() == pytest.approx(expected.item(), rel=1e-5)
    assert mean.loss(x)[1]["recon"].item() == pytest.approx(expected.item() / 256, rel=1e-5)
    assert mean.joint_pass(x).losses["recon"].item() == pytest.approx(
        expected.item() / 256, rel=1e-5
    )

    on_image = build_model("ddecn", (1, 16, 16), 10, global_input="image")
    assert on_image.global_critic.net[0].in_features == 256 + 10
    assert build_model("ddecn", (1, 16, 16), 10).global_critic.net[0].in_features == 32 * 4 * 4 + 10
    assert {"mi_global", "mi_local"} <= set(on_image.loss(x)[1])
    with pytest.raises(ValueError, match="global_input must be one of"):
        build_model("ddecn", (1, 16, 16), 10, global_input="pixels")


def test_ddecn_code_is_the_mean_at_inference_and_sampled_in_training():
    model = build_model("ddecn", (1, 16, 16), 10)
    x = torch.rand(4, 1, 16, 16)
    model.eval()
    assert torch.equal(model.encode(x), model.encode(x))
    _, mu, logvar = model._encode_all(x)
    model.train()
    assert not torch.equal(model.sample(mu, logvar), mu)


def _pretrain_ddecn(images, epochs, batch_size):
    """A DDECN trained on ``images`` with the MI terms on; returns it and every step's loss."""
    x = torch.as_tensor(images)
    torch.manual_seed(0)
    model = build_model("ddecn", x.shape[1:], 3, mi_weight=0.1)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(epochs):
        for batch in x.split(batch_size):
            loss, terms = model.loss(batch)
            assert all(torch.isfinite(v) for v in terms.values())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    return model.eval(), losses


def test_ddecn_loss_decreases_on_a_synthetic_set(blobs_images):
    _, losses = _pretrain_ddecn(blobs_images[0], epochs=40, batch_size=len(blobs_images[0]))
    assert np.mean(losses[-5:]) < 0.8 * np.mean(losses[:5])


def _dense_knn_reference(X, k):
    d = ((X[:, None] - X[None]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    A = np.zeros_like(d)
    rows = np.arange(len(X))[:, None]
    A[rows, np.argsort(d, axis=1)[:, :k]] = 1
    return np.maximum(A, A.T)


def test_knn_graph_matches_a_dense_reference():
    X = np.random.default_rng(0).normal(size=(40, 5)).astype(np.float32)
    edges = knn_graph(X, k=3)
    A = np.zeros((40, 40))
    A[edges[0], edges[1]] = 1
    np.testing.assert_array_equal(A, _dense_knn_reference(X, 3))
    assert (A == A.T).all() and np.diag(A).sum() == 0
    assert (A.sum(1) >= 3).all()
    assert len({tuple(e) for e in edges.T}) == edges.shape[1]  # each directed edge once


def test_knn_graph_never_links_a_sample_to_itself_even_with_duplicates():
    X = np.repeat(np.arange(6, dtype=np.float32)[:, None], 3, axis=0)  # each point three times
    edges = knn_graph(X, k=2)
    assert not (edges[0] == edges[1]).any()


def test_knn_graph_rejects_a_k_it_cannot_honour():
    with pytest.raises(ValueError, match="k = 5"):
        knn_graph(np.zeros((5, 2)), k=5)
    with pytest.raises(ValueError, match="graph metric must be one of"):
        knn_graph(np.zeros((5, 2)), k=2, metric="manhattan")


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
@pytest.mark.parametrize("working_memory_mb", [0.01, 256])  # 51-row blocks: many block pairs
def test_blocked_knn_equals_scikit_learns_exact_search(metric, working_memory_mb):
    """The blocked GEMM search, which computes each block pair once and uses it both ways,
    finds scikit-learn's exact neighbours in its order, for any block size and a ragged end."""
    from sklearn.neighbors import NearestNeighbors

    X = np.random.default_rng(3).normal(size=(437, 12)).astype(np.float32)
    mine = knn_indices(X, 4, metric=metric, working_memory_mb=working_memory_mb)
    search = NearestNeighbors(n_neighbors=5, metric=metric).fit(X)
    np.testing.assert_array_equal(mine, search.kneighbors(X, return_distance=False)[:, 1:])
    tensor = knn_indices(torch.as_tensor(X), 4, metric=metric)  # a (device) tensor works too
    np.testing.assert_array_equal(tensor, mine)


def test_normalized_adjacency_matches_the_dense_formula():
    X = np.random.default_rng(1).normal(size=(25, 3)).astype(np.float32)
    A = _dense_knn_reference(X, 3)
    edge_index, weight = normalized_adjacency(knn_graph(X, k=3), 25)
    dense = torch.zeros(25, 25)
    dense[edge_index[0], edge_index[1]] = weight
    A_hat = A + np.eye(25)
    d = A_hat.sum(1) ** -0.5
    np.testing.assert_allclose(dense.numpy(), d[:, None] * A_hat * d[None, :], rtol=1e-5)


def test_row_normalised_adjacency_is_sdcn_codes_mean_over_self_and_neighbours():
    """SDCN's code propagates over D^-1 (A + I): each node the mean of itself and its
    neighbours; the CSR matrix the GCN multiplies gives exactly that, and another name is
    refused naming the choices."""
    X = np.random.default_rng(2).normal(size=(30, 3)).astype(np.float32)
    edges = knn_graph(X, k=3)
    A_hat = _dense_knn_reference(X, 3) + np.eye(30)
    h = torch.randn(30, 4, generator=torch.Generator().manual_seed(0))
    row = sparse_adjacency(edges, 30, normalization="row")
    expected = (A_hat / A_hat.sum(1, keepdims=True)) @ h.double().numpy()
    np.testing.assert_allclose((row @ h).numpy(), expected, rtol=1e-5, atol=1e-6)
    symmetric = sparse_adjacency(edges, 30) @ h
    assert not torch.allclose(symmetric, row @ h)  # the two normalisations differ on this graph
    with pytest.raises(
        ValueError, match=r"normalization 'left': expected one of \['symmetric', 'row'\]"
    ):
        normalized_adjacency(edges, 30, "left")


def test_sparse_adjacency_gives_the_edge_list_gcn_result_and_gradients():
    """The CSR adjacency (no edges x width message tensor) computes what torch-geometric's
    edge-list propagation computes, forward and backward."""
    torch.manual_seed(0)
    X = np.random.default_rng(2).normal(size=(60, 4)).astype(np.float32)
    edges = knn_graph(X, k=3)
    edge_index, weight = normalized_adjacency(edges, 60)
    adjacency = sparse_adjacency(edges, 60)
    assert adjacency.layout == torch.sparse_csr
    dense = torch.zeros(60, 60)
    dense[edge_index[1], edge_index[0]] = weight
    torch.testing.assert_close(adjacency.to_dense(), dense)
    gcn = FusionGCN(4, [5, 3], n_clusters=2, delta=0.5)
    layers = [torch.randn(60, 5), torch.randn(60, 3)]
    results = []
    for graph in ((edge_index, weight), (adjacency,)):
        x = torch.as_tensor(X).requires_grad_()
        gcn.zero_grad()
        out = gcn(x, layers, *graph)
        (out**2).sum().backward()
        results.append((out.detach(), x.grad, [p.grad.clone() for p in gcn.parameters()]))
    (out_a, gx_a, gp_a), (out_b, gx_b, gp_b) = results
    torch.testing.assert_close(out_a, out_b)
    torch.testing.assert_close(gx_a, gx_b)
    for a, b in zip(gp_a, gp_b, strict=True):
        torch.testing.assert_close(a, b)


def test_fusion_gcn_mixes_encoder_layers_by_delta():
    torch.manual_seed(0)
    x = torch.randn(6, 4)
    layers = [torch.randn(6, 5), torch.randn(6, 3)]
    other = [torch.randn(6, 5), torch.randn(6, 3)]
    edges = knn_graph(x.numpy(), k=2)
    edge_index, weight = normalized_adjacency(edges, 6)
    gcn = FusionGCN(4, [5, 3], n_clusters=2, delta=0.5)
    h, z = torch.randn(6, 5), torch.randn(6, 5)
    torch.testing.assert_close(gcn.mix(h, z), 0.5 * h + 0.5 * z)
    assert gcn(x, layers, edge_index, weight).shape == (6, 2)
    assert not torch.allclose(gcn(x, layers, edge_index, weight), gcn(x, other, edge_index, weight))
    gcn.delta = 0.0  # the encoder's layers no longer reach the GCN
    torch.testing.assert_close(
        gcn(x, layers, edge_index, weight), gcn(x, other, edge_index, weight)
    )
    with pytest.raises(ValueError):
        FusionGCN(4, [5, 3], n_clusters=2, delta=1.5)


@pytest.mark.parametrize("class_prior", ["sample", "batch"])
def test_sddecc_cluster_loss_against_numpy(class_prior):
    rng = np.random.default_rng(0)
    logits, code, logvar = rng.normal(size=(5, 3)), rng.normal(size=(5, 2)), rng.normal(size=(5, 2))
    centres = rng.normal(size=(3, 2))
    y = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    sq = ((code[:, None] - centres[None]) ** 2).sum(-1) + np.exp(logvar).sum(1, keepdims=True)
    if class_prior == "sample":
        to_uniform = (y * np.log(3 * y)).sum(1).mean()
    else:
        shares = y.mean(0)
        to_uniform = (shares * np.log(3 * shares)).sum()
    expected = (0.5 * (y * sq).sum(1) - 0.5 * logvar.sum(1)).mean() + to_uniform
    as_t = lambda a: torch.as_tensor(a, dtype=torch.float64)  # noqa: E731
    value = sddecc_cluster_loss(
        as_t(logits), as_t(code), as_t(logvar), as_t(centres), class_prior=class_prior
    )
    assert value.item() == pytest.approx(expected)


def test_batch_class_prior_penalises_unbalanced_clusters_and_sample_prior_does_not():
    code, centres = torch.zeros(4, 2), torch.zeros(2, 2)  # the fit term is the same for all
    confident = 20.0 * torch.eye(2)
    one_cluster = confident[[0, 0, 0, 0]]
    balanced = confident[[0, 1, 0, 1]]
    for prior, penalised in (("batch", True), ("sample", False)):
        lone = sddecc_cluster_loss(one_cluster, code, None, centres, class_prior=prior)
        even = sddecc_cluster_loss(balanced, code, None, centres, class_prior=prior)
        assert (lone.item() > even.item() + 0.5) is penalised, prior
    assert sddecc_cluster_loss(balanced, code, None, centres, "batch").item() == pytest.approx(0)
    with pytest.raises(ValueError, match="class_prior"):
        sddecc_cluster_loss(balanced, code, None, centres, class_prior="per-sample")
    with pytest.raises(ValueError, match="class_prior"):
        build_clusterer("sddecc", n_clusters=3, class_prior="global")


@pytest.fixture
def pretrained_on_blobs(blobs_images):
    images, labels = blobs_images
    model, _ = _pretrain_ddecn(images, epochs=20, batch_size=32)
    return model, images, labels


@pytest.mark.parametrize("method", ["sddecc", "sdcn"])
def test_gcn_clustering_trains_jointly_and_logs_every_epoch(pretrained_on_blobs, method):
    model, images, labels = pretrained_on_blobs
    before = copy.deepcopy(model.state_dict())
    clusterer = build_clusterer(method, n_clusters=3, random_state=0, epochs=15, lr=1e-3)
    clusterer.fit(images, labels, model=copy.deepcopy(model))
    history = clusterer.history_
    assert [row["iteration"] for row in history] == list(range(1, 16))
    assert all(np.isfinite(row["loss"]) for row in history)
    assert history[-1]["loss"] < history[0]["loss"]
    assert {"recon", "mi_global", "mi_local", "changed", "acc"} <= set(history[0])
    assert set(np.unique(clusterer.labels_)) <= {0, 1, 2} and len(clusterer.labels_) == len(images)
    assert evaluate(labels, clusterer.labels_)["acc"] > 0.5
    changed = [not torch.equal(before[k], v) for k, v in clusterer.model_.state_dict().items()]
    assert any(changed)  # the encoder is trained jointly, not frozen


@pytest.mark.parametrize("name", ["ascae", "res_vae"])
def test_sdcn_stage_fine_tunes_networks_with_their_own_objective(blobs_images, name):
    """Issue 22: the GCN stage on every network; ASCAE and the Res-VAE bring their own loss."""
    images, labels = blobs_images
    torch.manual_seed(0)
    model = build_model(name, images.shape[1:], 3)
    before = copy.deepcopy(model.state_dict())
    clusterer = build_clusterer("sdcn", n_clusters=3, random_state=0, epochs=3, lr=1e-3)
    clusterer.fit(images, labels, model=model)
    assert [row["iteration"] for row in clusterer.history_] == [1, 2, 3]
    assert all(np.isfinite(row["own"]) for row in clusterer.history_)
    assert len(clusterer.labels_) == len(images)
    changed = [not torch.equal(before[k], v) for k, v in clusterer.model_.state_dict().items()]
    assert any(changed)


def test_detach_feeds_the_gcn_constants_and_keeps_eq18s_value(pretrained_on_blobs, monkeypatch):
    """``detach``: the GCN reads the encoder's layers as constants, so eq. 18 moves the encoder
    only through its fit term with Y fixed; the first epoch's loss is the same value."""
    model, images, _ = pretrained_on_blobs
    seen = []
    forward = FusionGCN.forward

    def recording(self, x, encoder_layers, *args):
        if torch.is_grad_enabled():
            seen.append(any(t.requires_grad for t in encoder_layers))
        return forward(self, x, encoder_layers, *args)

    monkeypatch.setattr(FusionGCN, "forward", recording)
    runs = {}
    for detach in (False, True):
        seen.clear()
        runs[detach] = build_clusterer(
            "sddecc", n_clusters=3, random_state=0, epochs=6, detach=detach
        ).fit(images, model=copy.deepcopy(model))
        assert seen == [not detach] * 6
    first = [runs[d].history_[0]["cluster_kl"] for d in (False, True)]
    assert first[0] == pytest.approx(first[1], rel=1e-6)
    assert runs[True].history_[-1]["loss"] != runs[False].history_[-1]["loss"]


def test_sdcn_self_supervision_adds_to_eq18_on_request(pretrained_on_blobs):
    model, images, _ = pretrained_on_blobs
    plain = build_clusterer("sddecc", n_clusters=3, random_state=0, epochs=2)
    both = build_clusterer(
        "sddecc", n_clusters=3, random_state=0, epochs=2, kl_weight=0.1, gcn_weight=0.01
    )
    plain.fit(images, model=copy.deepcopy(model))
    both.fit(images, model=copy.deepcopy(model))
    assert "kl_q" not in plain.history_[0] and {"kl_q", "kl_gcn"} <= set(both.history_[0])
    first = both.history_[0]
    assert first["cluster_kl"] == pytest.approx(plain.history_[0]["cluster_kl"], rel=1e-6)
    assert first["kl_q"] > 0 and first["kl_gcn"] > 0


def test_gcn_clustering_is_deterministic_on_cpu(pretrained_on_blobs):
    model, images, _ = pretrained_on_blobs
    runs = [
        build_clusterer("sddecc", n_clusters=3, random_state=1, epochs=5).fit(
            images, model=copy.deepcopy(model)
        )
        for _ in range(2)
    ]
    np.testing.assert_array_equal(runs[0].labels_, runs[1].labels_)
    assert runs[0].history_[-1]["loss"] == runs[1].history_[-1]["loss"]
    assert runs[0].n_iter_ == 5 and runs[0].converged_ is None  # fixed epochs, no criterion


def test_gcn_warmup_trains_only_the_gcn(pretrained_on_blobs):
    model, images, _ = pretrained_on_blobs
    before = copy.deepcopy(model.state_dict())
    warm = build_clusterer("sddecc", n_clusters=3, random_state=0, epochs=0, warmup_epochs=3)
    warm.fit(images, model=copy.deepcopy(model))
    assert [row["phase"] for row in warm.history_] == ["warmup"] * 3 and warm.n_iter_ == 3
    after = warm.model_.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # encoder frozen
    kmeans_start = warm._kmeans(
        model.encode(torch.as_tensor(images)).detach().numpy(), n_init=20, seed=0
    )
    np.testing.assert_allclose(warm.cluster_centers_, kmeans_start.cluster_centers_, rtol=1e-5)


def test_gcn_warmup_learns_the_kmeans_posterior(pretrained_on_blobs):
    """Y's column j belongs to centre j: a warm-up at a head learning rate of its own brings
    argmax Y onto the K-means labels the centres came from, before any joint step."""
    model, images, _ = pretrained_on_blobs
    warm = build_clusterer(
        "sddecc", n_clusters=3, random_state=0, epochs=0, warmup_epochs=100, warmup_lr=0.05
    )
    warm.fit(images, model=copy.deepcopy(model))
    assert np.mean(warm.labels_ == warm.init_labels_) > 0.95


def test_gcn_clustering_stops_early_below_tol(pretrained_on_blobs):
    model, images, _ = pretrained_on_blobs
    fitted = build_clusterer("sddecc", n_clusters=3, random_state=0, epochs=50, tol=1.0)
    fitted.fit(images, model=copy.deepcopy(model))
    assert fitted.n_iter_ == 1 and fitted.converged_ is True


def test_gcn_clustering_uses_a_given_graph_and_rejects_a_wrong_one(pretrained_on_blobs):
    model, images, _ = pretrained_on_blobs
    graph = knn_graph(images.reshape(len(images), -1), k=3)
    fitted = build_clusterer("sdcn", n_clusters=3, random_state=0, epochs=2)
    fitted.fit(images, model=copy.deepcopy(model), graph=graph)
    with pytest.raises(ValueError, match="edge list"):
        fitted.fit(images, model=copy.deepcopy(model), graph=graph + len(images))


def test_graph_stage_records_build_cost_and_is_checked_on_read(tmp_path, blobs_images):
    images, labels = blobs_images
    data = tmp_path / "blobs.h5"
    write_h5(data, {"images": images, "labels": labels}, {"n_clusters": 3})
    out = tmp_path / "knn3_euclidean.h5"
    attrs = run_graph(str(data), str(out), k=3, metric="euclidean", device="cpu")
    assert attrs["build_seconds"] >= 0 and attrs["device"] == "cpu"  # recorded
    assert attrs["max_rss_built_mb"] >= attrs["max_rss_loaded_mb"] > 0
    edges = read_graph(str(out), k=3, metric="euclidean", n_samples=len(images))
    np.testing.assert_array_equal(edges, knn_graph(images, k=3))
    with pytest.raises(ValueError, match="expected a kNN graph"):
        read_graph(str(out), k=5, metric="euclidean", n_samples=len(images))


def test_graph_spec_reads_params_and_defaults():
    assert graph_spec("sddecc", {}) == {"k": 3, "metric": "euclidean"}
    assert graph_spec("sdcn", {"k": 5, "metric": "cosine"}) == {"k": 5, "metric": "cosine"}
    assert graph_spec("dekm", {}) is None


def _config(model, params=None):
    return {
        "datasets": {"d": {"source": "digits"}},
        "extractors": {"e": {"model": model}},
        "clusterers": {"c": {"method": "sddecc", "params": params or {}}},
        "experiments": {"x": {"extractor": "e", "clusterer": "c"}},
    }


class Opaque(AutoEncoder):
    """A user's model that does not expose its encoder layers."""

    def __init__(self, input_shape, n_clusters):
        super().__init__()

    def encode(self, x):
        return x.flatten(1)

    def decode(self, z):
        return z


def test_config_rejects_a_gcn_on_a_model_without_encoder_layers_and_a_bad_graph(monkeypatch):
    check_config(_config("conv_ae"))
    check_config(_config("ascae"))
    from deepclust.models import MODELS

    monkeypatch.setitem(MODELS, "opaque", f"{__name__}:Opaque")
    with pytest.raises(ConfigError, match="experiments.x: .*'opaque' does not expose"):
        check_config(_config("opaque"))
    with pytest.raises(ConfigError, match="clusterers.c.params: the kNN graph"):
        check_config(_config("ddecn", {"metric": "manhattan"}))
