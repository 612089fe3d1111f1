import numpy as np
import pytest

from deepclust.metrics import cluster_to_class_map, clustering_accuracy, evaluate, purity


def test_acc_is_invariant_to_cluster_renaming():
    y = np.array([0, 0, 1, 1, 2, 2])
    assert clustering_accuracy(y, np.array([2, 2, 0, 0, 1, 1])) == 1.0


def test_acc_hand_computed():
    # Clusters: A={0,0,1}, B={1,1,2}, C={2}. Best map A->0, B->1, C->2: 2 + 2 + 1 = 5 of 7.
    y = np.array([0, 0, 1, 1, 1, 2, 2])
    pred = np.array([5, 5, 5, 7, 7, 7, 9])
    assert clustering_accuracy(y, pred) == pytest.approx(5 / 7)
    assert cluster_to_class_map(y, pred) == {5: 0, 7: 1, 9: 2}


def test_acc_more_clusters_than_classes_leaves_extra_clusters_wrong():
    y = np.array([0, 0, 0, 1, 1, 1])
    pred = np.array([0, 0, 1, 2, 2, 3])  # 4 clusters, 2 classes: only 2 clusters can be mapped
    assert clustering_accuracy(y, pred) == pytest.approx(4 / 6)
    assert purity(y, pred) == 1.0  # purity lets every cluster vote: here all are pure


def test_acc_fewer_clusters_than_classes():
    y = np.array([0, 1, 2, 0, 1, 2])
    assert clustering_accuracy(y, np.zeros(6, dtype=int)) == pytest.approx(2 / 6)


def test_purity_hand_computed():
    y = np.array([0, 0, 1, 1, 1, 2, 2])
    pred = np.array([5, 5, 5, 7, 7, 7, 9])
    assert purity(y, pred) == pytest.approx((2 + 2 + 1) / 7)


def test_noise_counts_as_wrong_and_is_reported():
    y = np.array([0, 0, 1, 1])
    pred = np.array([0, -1, 1, 1])
    m = evaluate(y, pred)
    assert m["acc"] == pytest.approx(3 / 4)
    assert m["purity"] == pytest.approx(3 / 4)
    assert m["noise_fraction"] == pytest.approx(1 / 4)
    assert m["n_clusters_found"] == 2


def test_nmi_ari_known_values():
    y = np.array([0, 0, 1, 1])
    m = evaluate(y, np.array([1, 1, 0, 0]))
    assert m["nmi"] == pytest.approx(1.0) and m["ari"] == pytest.approx(1.0)
    # One cluster for everything: no information.
    m = evaluate(y, np.zeros(4, dtype=int))
    assert m["nmi"] == pytest.approx(0.0) and m["ari"] == pytest.approx(0.0)


def test_unlabelled_data_skips_label_metrics():
    m = evaluate(None, np.array([0, 1, 1]))
    assert m["acc"] is None and m["nmi"] is None and m["ari"] is None and m["purity"] is None
    assert m["n_clusters_found"] == 2


def test_length_mismatch_is_an_error():
    with pytest.raises(ValueError, match="3 true labels but 2 predicted"):
        clustering_accuracy(np.array([0, 1, 2]), np.array([0, 1]))


def test_acc_matches_brute_force_over_all_maps():
    import itertools

    rng = np.random.default_rng(0)
    for _ in range(20):
        y = rng.integers(0, 4, 30)
        pred = rng.integers(0, 4, 30)
        best = max(
            np.mean(np.asarray(perm)[pred] == y) for perm in itertools.permutations(range(4))
        )
        assert clustering_accuracy(y, pred) == pytest.approx(best)
