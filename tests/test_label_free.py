"""Label-free scores: better for a partition that follows the data, seed stability as ARI."""

import numpy as np
import pytest

from deepclust.label_free import internal_scores, seed_stability


@pytest.fixture
def blobs():
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    truth = np.repeat(np.arange(3), 100)
    return centres[truth] + rng.normal(size=(300, 2)), truth


def test_well_separated_blobs_score_better_than_a_random_partition(blobs):
    X, truth = blobs
    good = internal_scores(X, truth)
    bad = internal_scores(X, np.random.default_rng(1).integers(0, 3, len(X)))
    assert good["silhouette"] > 0.7 and abs(bad["silhouette"]) < 0.1
    assert good["calinski_harabasz"] > 100 * bad["calinski_harabasz"]
    assert good["davies_bouldin"] < 0.5 < bad["davies_bouldin"]  # lower is better


def test_silhouette_on_a_fixed_subsample_and_noise_left_out(blobs):
    X, truth = blobs
    full = internal_scores(X, truth)
    sampled = internal_scores(X, truth, max_samples=150, seed=3)
    assert sampled == internal_scores(X, truth, max_samples=150, seed=3)  # seeded
    assert sampled["silhouette"] == pytest.approx(full["silhouette"], abs=0.05)
    assert sampled["calinski_harabasz"] == full["calinski_harabasz"]  # on every sample
    noisy = truth.copy()
    noisy[::10] = -1  # DBSCAN's noise
    kept = noisy != -1
    assert internal_scores(X, noisy) == internal_scores(X[kept], truth[kept])


def test_no_score_for_fewer_than_two_clusters(blobs):
    X, _ = blobs
    assert internal_scores(X, np.zeros(len(X), int)) == {
        "silhouette": None,
        "calinski_harabasz": None,
        "davies_bouldin": None,
    }
    with pytest.raises(ValueError, match="299 labels for 300 samples"):
        internal_scores(X, np.zeros(299, int))


def test_seed_stability_is_the_mean_pairwise_ari(blobs):
    _, truth = blobs
    relabelled = (truth + 1) % 3  # the same partition under other names
    assert seed_stability([truth, relabelled, truth]) == pytest.approx(1.0)
    random = [np.random.default_rng(s).integers(0, 3, len(truth)) for s in range(3)]
    assert abs(seed_stability(random)) < 0.05
    assert seed_stability([truth]) is None
    with pytest.raises(ValueError, match="different sample counts"):
        seed_stability([truth, truth[:10]])


def test_modularity_on_a_graph_of_two_cliques():
    from deepclust.label_free import graph_modularity

    # two 5-cliques joined by one edge, every edge both ways (as the graph stage writes them)
    pairs = [(i, j) for c in (0, 5) for i in range(c, c + 5) for j in range(c, c + 5) if i < j]
    pairs.append((4, 5))
    edges = np.array(
        [
            [a for a, b in pairs] + [b for a, b in pairs],
            [b for a, b in pairs] + [a for a, b in pairs],
        ]
    )
    by_clique = np.repeat([0, 1], 5)
    # inside share 20/21; each clique holds half the degree: 20/21 - 2 * (1/2)^2
    assert graph_modularity(edges, by_clique) == pytest.approx(20 / 21 - 0.5)
    assert graph_modularity(edges, np.zeros(10, int)) == pytest.approx(0.0)
    split_wrong = np.array([0, 0, 1, 1, 1, 0, 0, 1, 1, 1])
    assert graph_modularity(edges, split_wrong) < 0.1 < graph_modularity(edges, by_clique)
    # noise is a cluster of one per sample, not one cluster of all the noise
    noisy = by_clique.copy()
    noisy[[0, 9]] = -1
    assert graph_modularity(edges, noisy) < graph_modularity(edges, by_clique)
    relabelled = by_clique.copy()
    relabelled[[0, 9]] = [7, 8]
    assert graph_modularity(edges, noisy) == pytest.approx(graph_modularity(edges, relabelled))
    with pytest.raises(ValueError, match="samples"):
        graph_modularity(edges, by_clique[:8])


def test_modularity_on_the_knn_graph_ranks_the_moons_above_kmeans_cut_across_them():
    """Two interleaved half-moons: K-means cuts across them, the kNN graph follows them."""
    from sklearn.cluster import KMeans
    from sklearn.datasets import make_moons

    from deepclust.clustering.graph import knn_graph
    from deepclust.label_free import PICK_GRAPH, graph_modularity

    X, truth = make_moons(400, noise=0.05, random_state=0)
    edges = knn_graph(X.astype(np.float32), PICK_GRAPH["k"], metric=PICK_GRAPH["metric"])
    cut = KMeans(2, n_init=5, random_state=0).fit_predict(X)
    assert graph_modularity(edges, truth) > graph_modularity(edges, cut) + 0.01


def entry(dataset, name, modularity, stability, acc, *, std=0.0, silhouette=0.0, **extra):
    return {
        "dataset": dataset,
        "experiment": name,
        "modularity_mean": modularity,
        "modularity_std": std,
        "seed_stability": stability,
        "silhouette_mean": silhouette,
        "acc_mean": acc,
        **extra,
    }


def test_the_label_free_pick_compares_modularity_then_stability_and_says_when_it_cannot():
    from deepclust.label_free import pick_without_labels, picks_markdown

    table = [
        # usps: a leads on modularity by more than the tie; c's own-space silhouette is ignored
        entry("usps", "a", 0.80, 0.70, 0.95),
        entry("usps", "b", 0.70, 0.99, 0.80),
        entry("usps", "c", 0.60, 0.95, 0.70, silhouette=0.99),
        entry("usps", "best_of_n", 0.99, 1.0, 0.99, uses_labels=True),  # chose with labels
        # coil: x and y within x's spread over seeds (0.01): the more stable y wins
        entry("coil", "x", 0.700, 0.80, 0.60, std=0.01),
        entry("coil", "y", 0.695, 0.90, 0.70),
        entry("coil", "z", 0.650, 0.99, 0.50),
        # digits: p and q tied on both modularity and stability: undecided, both named
        entry("digits", "p", 0.500, 0.900, 0.80),
        entry("digits", "q", 0.499, 0.895, 0.75),
        # mine: one seed, no labels; tied on modularity, no stability to break it
        entry("mine", "m", 0.40, None, None),
        entry("mine", "n", 0.3995, None, None),
        entry("mine", "o", 0.30, None, None),
        entry("solo", "s", 0.1, None, None),
    ]
    picks = {p["dataset"]: p for p in pick_without_labels(table)}
    assert (picks["usps"]["picked"], picks["usps"]["decided_by"]) == ("a", "modularity")
    assert picks["usps"]["best"] == "a" and picks["usps"]["gap"] == pytest.approx(0.0)
    assert (picks["coil"]["picked"], picks["coil"]["decided_by"]) == (
        "y",
        "modularity, then seed stability",
    )
    assert picks["coil"]["gap"] == pytest.approx(0.0)
    assert picks["digits"]["picked"] is None
    assert picks["digits"]["candidates"] == ["p", "q"]
    assert (
        picks["digits"]["decided_by"]
        == "undecided: 2 tied on modularity, seed stability within 0.01"
    )
    # an undecided pick is judged by its worst candidate
    assert picks["digits"]["picked_acc"] == 0.75 and picks["digits"]["gap"] == pytest.approx(0.05)
    assert picks["mine"]["picked"] is None and picks["mine"]["candidates"] == ["m", "n"]
    assert picks["mine"]["decided_by"] == "undecided: 2 tied on modularity, one seed"
    assert picks["mine"]["gap"] is None
    assert (picks["solo"]["picked"], picks["solo"]["decided_by"]) == ("s", "the only candidate")
    text = picks_markdown(list(picks.values()))
    assert "| usps | a | modularity | 0.950 | a | 0.950 | 0.000 |" in text
    assert "| digits | undecided: p / q | undecided: 2 tied on modularity," in text
    assert "those of its worst candidate" in text


def test_without_a_modularity_the_pick_is_undecided_not_a_silhouette_contest():
    from deepclust.label_free import pick_without_labels

    table = [
        entry("d", "a", None, 0.9, None, silhouette=0.9),
        entry("d", "b", None, 0.5, None, silhouette=0.1),
    ]
    (pick,) = pick_without_labels(table)
    assert pick["picked"] is None and pick["decided_by"].startswith("undecided: no modularity")
