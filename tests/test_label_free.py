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


def test_the_label_free_pick_and_its_distance_from_the_best_by_acc():
    from deepclust.label_free import pick_without_labels, picks_markdown

    def entry(dataset, name, stability, silhouette, acc, uses_labels=False):
        return {
            "dataset": dataset,
            "experiment": name,
            "seed_stability": stability,
            "silhouette_mean": silhouette,
            "acc_mean": acc,
            "uses_labels": uses_labels,
        }

    table = [
        entry("usps", "a", 0.950, 0.3, 0.80),
        entry("usps", "b", 0.945, 0.5, 0.85),  # tied with a on stability: the silhouette decides
        entry("usps", "c", 0.700, 0.9, 0.95),  # best by ACC, but its seeds disagree
        entry("usps", "best_of_n", 1.0, 0.9, 0.99, uses_labels=True),  # chose with labels
        entry("coil", "x", 0.9, 0.1, 0.6),
        entry("coil", "y", 0.5, 0.8, 0.7),
        entry("mine", "p", None, 0.2, None),  # one seed, no labels: the silhouette alone
        entry("mine", "q", None, 0.4, None),
    ]
    picks = {p["dataset"]: p for p in pick_without_labels(table)}
    assert picks["usps"]["picked"] == "b"
    assert picks["usps"]["decided_by"] == "seed stability, then silhouette"
    assert picks["usps"]["best"] == "c" and picks["usps"]["gap"] == pytest.approx(0.10)
    assert (picks["coil"]["picked"], picks["coil"]["decided_by"]) == ("x", "seed stability")
    assert picks["mine"] == {
        "dataset": "mine",
        "picked": "q",
        "decided_by": "silhouette",
        "picked_acc": None,
        "best": None,
        "best_acc": None,
        "gap": None,
    }
    text = picks_markdown(list(picks.values()))
    assert "| usps | b | seed stability, then silhouette | 0.850 | c | 0.950 | 0.100 |" in text
    assert "| mine | q | silhouette | — | — | — | — |" in text
