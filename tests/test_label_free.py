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
