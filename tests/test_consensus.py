"""The consensus over seeds: co-association of the seeds' partitions, then average linkage."""

import json

import numpy as np
import pytest

from deepclust.clustering.consensus import ConsensusClustering, co_association
from deepclust.io import read_h5, write_h5
from deepclust.metrics import evaluate


def test_co_association_counts_the_seeds_that_put_two_samples_together():
    partitions = [np.array([0, 0, 1, 1]), np.array([1, 1, 0, 0]), np.array([0, 1, 1, -1])]
    together = co_association(partitions, block=3)  # row blocks of 3 and 1: same matrix
    assert together.dtype == np.float32
    np.testing.assert_allclose(
        together,
        [
            [1, 2 / 3, 0, 0],
            [2 / 3, 1, 1 / 3, 0],
            [0, 1 / 3, 1, 2 / 3],
            [0, 0, 2 / 3, 1],  # noise (-1) shares a cluster with nothing
        ],
        rtol=1e-6,
    )
    with pytest.raises(ValueError, match="different sample counts"):
        co_association([np.zeros(3), np.zeros(4)])


def test_consensus_recovers_the_partition_the_seeds_agree_on():
    """Three seeds, each with its own cluster names and 10 % of samples moved at random: the
    consensus is closer to the true partition than any seed (wrong only where two seeds agree
    on the same wrong move)."""
    rng = np.random.default_rng(0)
    truth = np.repeat(np.arange(4), 50)
    seeds = []
    for _ in range(3):
        labels = rng.permutation(4)[truth]
        moved = rng.choice(len(truth), 20, replace=False)
        labels[moved] = rng.integers(0, 4, 20)
        seeds.append(labels)
    model = ConsensusClustering(n_clusters=4).fit(seeds)
    acc = evaluate(truth, model.labels_)["acc"]
    assert acc >= 0.99 and acc > max(evaluate(truth, s)["acc"] for s in seeds)
    assert 0.7 < model.agreement_ < 1.0


@pytest.mark.parametrize(
    ("kwargs", "partitions", "message"),
    [
        ({}, [np.zeros(5)], "2 or more seeds"),
        ({"max_samples": 4}, [np.zeros(5), np.zeros(5)], "5 samples: .* max_samples is 4"),
        ({"linkage": "ward"}, [np.zeros(5), np.zeros(5)], "linkage must be one of"),
    ],
)
def test_consensus_refuses_what_it_cannot_do(kwargs, partitions, message):
    with pytest.raises(ValueError, match=message):
        ConsensusClustering(n_clusters=2, **kwargs).fit(partitions)


def test_consensus_stage_writes_labels_and_a_scored_record(tmp_path):
    from deepclust.stages import run_consensus

    truth = np.repeat([0, 1], 10)
    write_h5(
        tmp_path / "data.h5",
        {"images": np.zeros((20, 1, 2, 2), dtype=np.float32), "labels": truth},
        {"name": "d", "n_clusters": 2},
    )
    labels, metrics = [], []
    for seed, (flip, uses) in enumerate([(False, False), (True, False), (False, True)]):
        labels.append(tmp_path / f"labels{seed}.h5")
        metrics.append(tmp_path / f"metrics{seed}.json")
        write_h5(labels[-1], {"labels": 1 - truth if flip else truth}, {"n_clusters": 2})
        metrics[-1].write_text(json.dumps({"uses_labels": uses}))
    run = {"dataset": "d", "extractor": "e", "clusterer": "c", "seeds": [0, 1, 2]}
    out = {"labels_out": str(tmp_path / "c.h5"), "metrics_out": str(tmp_path / "c.json")}
    record = run_consensus(
        [str(p) for p in labels],
        [str(p) for p in metrics],
        str(tmp_path / "data.h5"),
        {"linkage": "average"},
        run=run,
        **out,
    )
    assert record["metrics"]["acc"] == 1.0 and record["agreement"] == pytest.approx(1.0)
    assert record["uses_labels"]  # one seed chose with labels: so does their consensus
    assert json.loads((tmp_path / "c.json").read_text())["seeds"] == [0, 1, 2]
    arrays, attrs = read_h5(tmp_path / "c.h5", ("labels",))
    assert len(arrays["labels"]) == 20 and attrs["n_clusters"] == 2
    write_h5(labels[0], {"labels": truth[:5]}, {"n_clusters": 2})
    with pytest.raises(ValueError, match="expected 20 labels each"):
        run_consensus(
            [str(p) for p in labels],
            [str(p) for p in metrics],
            str(tmp_path / "data.h5"),
            {},
            run=run,
            **out,
        )
