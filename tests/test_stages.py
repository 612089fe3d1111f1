"""The stage functions the scripts call: feature layers, clusterer layer choice, summary."""

import csv
import json

import numpy as np
import pytest

from deepclust.io import read_features
from deepclust.stages import (
    run_aggregate,
    run_cluster,
    run_features,
    run_pretrain,
    run_refine,
)
from deepclust.tables import SUMMARY_COLUMNS


@pytest.fixture
def trained_ascae(tmp_path, blobs_images):
    from deepclust.io import write_h5

    images, labels = blobs_images
    write_h5(tmp_path / "data.h5", {"images": images, "labels": labels}, {"n_clusters": 3})
    cfg = {
        "model": "ascae",
        "model_args": {"lam": 1.0},
        "epochs": 2,
        "batch_size": 32,
        "input_scale": 255.0,
    }
    run_pretrain(
        str(tmp_path / "data.h5"),
        cfg,
        seed=0,
        device="cpu",
        model_path=str(tmp_path / "model.pt"),
        log_csv=str(tmp_path / "log.csv"),
        checkpoint_path=str(tmp_path / "ckpt.pt"),
        threads=1,
    )
    run_features(
        str(tmp_path / "data.h5"),
        cfg,
        str(tmp_path / "features.h5"),
        device="cpu",
        model_path=str(tmp_path / "model.pt"),
    )
    return tmp_path


def test_features_file_holds_every_layer_and_the_default(trained_ascae):
    features, labels, attrs = read_features(str(trained_ascae / "features.h5"))
    assert attrs["default_layer"] == "F" and attrs["layers"] == ["D2", "F"]
    assert features.shape == (120, 50) and labels.shape == (120,)
    d2, _, _ = read_features(str(trained_ascae / "features.h5"), "D2")
    assert d2.shape == (120, 3)
    f_layer, _, _ = read_features(str(trained_ascae / "features.h5"), "F")
    np.testing.assert_array_equal(features, f_layer)


def test_clusterer_picks_a_layer_and_names_missing_ones(trained_ascae):
    run = {"experiment": "x", "dataset": "d", "extractor": "ascae", "clusterer": "km", "swept": ""}
    record = run_cluster(
        str(trained_ascae / "features.h5"),
        {"method": "kmeans", "params": {"n_init": 2}, "layer": "D2"},
        seed=0,
        labels_out=str(trained_ascae / "l.h5"),
        metrics_out=str(trained_ascae / "m.json"),
        run=run,
    )
    assert record["params"]["layer"] == "D2" and 0 <= record["metrics"]["acc"] <= 1
    assert json.loads((trained_ascae / "m.json").read_text())["environment"]["packages"]["numpy"]
    with pytest.raises(ValueError, match="no feature layer 'D1'.*'D2', 'F'"):
        run_cluster(
            str(trained_ascae / "features.h5"),
            {"method": "kmeans", "layer": "D1"},
            seed=0,
            labels_out=str(trained_ascae / "l2.h5"),
            metrics_out=str(trained_ascae / "m2.json"),
            run=run,
        )
    assert not (trained_ascae / "m2.json").exists()

    # a features file with a non-finite value (a diverged model, or a user's own file)
    from deepclust.io import write_h5

    bad = np.ones((6, 3), dtype=np.float32)
    bad[2, 1] = np.nan
    write_h5(
        str(trained_ascae / "bad.h5"),
        {"features": bad, "labels": np.arange(6) % 2},
        {"n_clusters": 2, "default_layer": "x", "layers": ["x"]},
    )
    with pytest.raises(ValueError, match=r"bad\.h5: feature layer 'features' contains NaN or Inf"):
        run_cluster(
            str(trained_ascae / "bad.h5"),
            {"method": "kmeans"},
            seed=0,
            labels_out=str(trained_ascae / "l3.h5"),
            metrics_out=str(trained_ascae / "m3.json"),
            run=run,
        )
    assert not (trained_ascae / "m3.json").exists() and not (trained_ascae / "l3.h5").exists()
    with pytest.raises(
        ValueError, match=r"\(clusterers.km: n_clusters\): K = 1000 clusters for 120 samples"
    ):
        run_cluster(
            str(trained_ascae / "features.h5"),
            {"method": "kmeans", "n_clusters": 1000},
            seed=0,
            labels_out=str(trained_ascae / "l4.h5"),
            metrics_out=str(trained_ascae / "m4.json"),
            run=run,
        )
    assert not (trained_ascae / "m4.json").exists()

    rows = run_aggregate([str(trained_ascae / "m.json")], str(trained_ascae / "summary.csv"))
    assert rows[0]["clusterer"] == "km"
    header = next(csv.reader(open(trained_ascae / "summary.csv")))
    assert header == SUMMARY_COLUMNS


def test_dekm_refines_an_ascae_checkpoint_at_its_input_scale(trained_ascae):
    """Any trained extractor combines with a refiner: here ASCAE (F layer, pixels x 255)."""
    from deepclust.model_file import load_model

    run = {"experiment": "x", "dataset": "d", "extractor": "ascae", "clusterer": "dk", "swept": ""}
    record = run_refine(
        str(trained_ascae / "data.h5"),
        str(trained_ascae / "model.pt"),
        # tol 0: it never converges, and says so
        {
            "method": "dekm",
            "params": {"max_iter": 2, "update_interval": 2, "batch_size": 32, "tol": 0},
        },
        seed=0,
        device="cpu",
        labels_out=str(trained_ascae / "dk.h5"),
        metrics_out=str(trained_ascae / "dk.json"),
        model_out=str(trained_ascae / "dk.pt"),
        log_csv=str(trained_ascae / "dk.csv"),
        run=run,
        threads=1,
    )
    assert record["refinement"]["iterations"] == 2 and not record["uses_labels"]
    assert record["refinement"]["converged"] is False
    (warning,) = [w for w in record["warnings"] if w.startswith("refinement stopped")]
    changed = record["refinement"]["changed_at_stop"]
    assert f"(2 iterations, {changed:.2%} of the labels still changing) (its tol: 0.00%)" in warning
    refined, hparams = load_model(trained_ascae / "dk.pt")
    original, _ = load_model(trained_ascae / "model.pt")
    assert hparams["input_scale"] == 255.0 and hparams["refined_by"]["method"] == "dekm"
    changed = [
        not np.array_equal(a.numpy(), b.numpy())
        for a, b in zip(refined.state_dict().values(), original.state_dict().values(), strict=True)
    ]
    assert any(changed)  # the encoder was trained further
    rows = list(csv.DictReader(open(trained_ascae / "dk.csv")))
    assert [int(r["iteration"]) for r in rows] == list(
        range(record["refinement"]["iterations"] + 1)
    )


def test_runs_carry_label_free_scores_and_the_table_their_seed_stability(tmp_path):
    """Each run scores its own partition without labels; the table adds, per experiment, how
    alike its seeds' partitions are: 1 for blobs any seed finds, and on unlabelled data too."""
    from deepclust.io import write_h5

    rng = np.random.default_rng(0)
    truth = np.repeat(np.arange(3), 40)
    features = np.array([[0, 0], [8, 0], [0, 8]])[truth] + rng.normal(size=(120, 2))
    write_h5(tmp_path / "f.h5", {"features": features, "labels": None}, {"n_clusters": 3})
    metrics = []
    for seed in (0, 1):
        out = tmp_path / f"seed{seed}"
        run = {"experiment": "px_km", "dataset": "d", "extractor": "px", "clusterer": "km"}
        record = run_cluster(
            str(tmp_path / "f.h5"),
            {"method": "kmeans", "params": {"n_init": 2}},
            seed=seed,
            labels_out=str(out / "labels.h5"),
            metrics_out=str(out / "metrics.json"),
            run={**run, "swept": ""},
        )
        assert record["metrics"]["acc"] is None  # no labels
        assert record["label_free"]["silhouette"] > 0.6
        metrics.append(str(out / "metrics.json"))
    run_aggregate(metrics, str(tmp_path / "summary.csv"), table_csv=str(tmp_path / "table.csv"))
    (row,) = csv.DictReader(open(tmp_path / "table.csv"))
    assert float(row["seed_stability"]) == pytest.approx(1.0)
    assert float(row["silhouette_mean"]) > 0.6 and row["acc_mean"] == ""
    summary = list(csv.DictReader(open(tmp_path / "summary.csv")))
    assert all(float(r["davies_bouldin"]) < 1.0 for r in summary)
