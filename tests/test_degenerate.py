"""Data and partitions on which the scores mean little are said out loud (issue 35): a single
class or every sample its own class is refused; K close to N and one-sample clusters are a
warning in the job log, metrics.json, table.md and the report."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from conftest import TABLES, pixels_kmeans_config, report_file, snakemake
from deepclust.data.preprocess import preprocess
from deepclust.degenerate import check_cluster_count, data_warnings, partition_warnings


def _kmeans_of(features):
    """A K-means clustering run on a features file beside it, as the cluster job runs it."""
    from deepclust.stages import run_cluster

    run = {"experiment": "x", "dataset": "d", "extractor": "ae", "clusterer": "km", "swept": ""}
    return run_cluster(
        str(features),
        {"method": "kmeans", "params": {"n_init": 2}},
        seed=0,
        labels_out=str(features.parent / "l.h5"),
        metrics_out=str(features.parent / "m.json"),
        run=run,
    )


def test_counts_that_cannot_mean_anything_are_refused_and_near_identity_is_warned():
    with pytest.raises(ValueError, match="where: K = 1: a partition into one cluster"):
        check_cluster_count(70, 1, "where")
    with pytest.raises(ValueError, match="K = 120 clusters for 120 samples puts every sample"):
        check_cluster_count(120, 120, "where")
    check_cluster_count(121, 120, "where")
    assert data_warnings(100, 10, 10) == []
    assert "K = 30 clusters for 100 samples" in data_warnings(100, 30, 30)[0]
    assert "the labels hold 1 class" in data_warnings(100, 3, 1)[0]


def test_partition_warnings_name_one_cluster_and_singletons_but_not_noise():
    assert partition_warnings(np.array([0, 0, 1, 1])) == []
    assert "the partition has 1 cluster" in partition_warnings(np.zeros(5, dtype=int))[0]
    assert partition_warnings(np.array([0, 0, 1, 2, -1, -1])) == [
        "2 of 3 clusters hold a single sample"
    ]


def _folder(root, counts: dict[str, int]):
    rng = np.random.default_rng(0)
    for cls, n in counts.items():
        (root / cls).mkdir(parents=True)
        for i in range(n):
            pixels = rng.integers(0, 256, (6, 6), dtype=np.uint8)
            Image.fromarray(pixels).save(root / cls / f"{i}.png")
    return root


def test_a_single_class_folder_and_one_image_per_class_are_refused_at_preprocessing(tmp_path):
    one = _folder(tmp_path / "one", {"circles": 7})
    with pytest.raises(ValueError, match=r"\(1 class\(es\)\): K = 1: a partition into one"):
        preprocess("one", {"source": "folder", "path": str(one)}, tmp_path / "one.h5")
    alone = _folder(tmp_path / "alone", {f"c{i:03d}": 1 for i in range(12)})
    with pytest.raises(ValueError, match="K = 12 clusters for 12 samples puts every sample alone"):
        preprocess("alone", {"source": "folder", "path": str(alone)}, tmp_path / "alone.h5")
    assert not (tmp_path / "one.h5").exists() and not (tmp_path / "alone.h5").exists()


@pytest.mark.slow
def test_a_near_identity_run_is_warned_in_the_log_metrics_and_table(tmp_path):
    """4 classes of 3 images: K = 4 for 12 samples runs, and every place says its scores mean
    little; a clustering whose K leaves every sample alone fails naming the clusterer."""
    folder = _folder(tmp_path / "imgs", {f"c{i}": 3 for i in range(4)})
    config = pixels_kmeans_config("few", folder)
    result = snakemake(tmp_path, config, *TABLES)
    assert result.returncode == 0, result.stderr
    metrics = json.loads((tmp_path / "results/few/pixels/seed0/kmeans/metrics.json").read_text())
    assert "K = 4 clusters for 12 samples" in metrics["warnings"][0]
    log = (tmp_path / "results/logs/cluster/few/pixels/seed0/kmeans.log").read_text()
    assert "WARNING" in log and "K = 4 clusters for 12 samples" in log
    table = (tmp_path / report_file("table_md")).read_text()
    assert "| few | pixels_kmeans (warning) |" in table
    assert "- few / pixels_kmeans: K = 4 clusters for 12 samples" in table
    csv = (tmp_path / report_file("table")).read_text()
    assert "K = 4 clusters for 12 samples" in csv

    config["clusterers"]["kmeans"]["n_clusters"] = 12
    result = snakemake(tmp_path, config, *TABLES)
    assert result.returncode != 0
    assert "(clusterers.kmeans: n_clusters): K = 12 clusters for 12 samples" in (
        result.stdout + result.stderr
    )


def test_the_report_lists_the_warned_rows(tmp_path):
    from deepclust.html_report import warnings_html

    table = tmp_path / "table.csv"
    table.write_text("dataset,experiment,warnings\nfew,a,K = 4 clusters for 12 samples\nfew,b,\n")
    text = warnings_html(table)
    assert "<b>few / a</b>: K = 4 clusters for 12 samples" in text and "few / b" not in text
    table.write_text("dataset,experiment,warnings\nfew,b,\n")
    assert warnings_html(table) == ""


def test_dead_code_units_are_counted_logged_recorded_and_warned(tmp_path, blobs_images, caplog):
    """A network whose code units never vary (ASCAE's F on own data: 43-46 of 50): the features
    job counts them per layer, and the clustering run records them with a warning past half."""
    import torch

    from deepclust.io import write_h5
    from deepclust.model_file import save_model
    from deepclust.models import build_model
    from deepclust.stages import run_features

    images, labels = blobs_images
    write_h5(tmp_path / "data.h5", {"images": images, "labels": labels}, {"n_clusters": 3})
    args = {"hidden_dims": [16], "latent_dim": 8}
    model = build_model("dense_ae", images.shape[1:], 3, **args)
    with torch.no_grad():  # 6 of the 8 code units: zero weights and bias, the same for every image
        model.encoder[-1].weight[:6] = 0
        model.encoder[-1].bias[:6] = 0
    hparams = {"model": "dense_ae", "model_args": args, "input_shape": list(images.shape[1:])}
    save_model(tmp_path / "model.pt", model, {**hparams, "n_clusters": 3, "input_scale": 1.0})
    cfg = {"model": "dense_ae", "model_args": args}
    with caplog.at_level("WARNING", logger="deepclust"):
        run_features(
            str(tmp_path / "data.h5"),
            cfg,
            str(tmp_path / "features.h5"),
            device="cpu",
            model_path=str(tmp_path / "model.pt"),
        )
    assert "6 of 8 units of layer z are dead" in caplog.text
    record = _kmeans_of(tmp_path / "features.h5")
    assert record["dead_units"]["z"] == [6, 8]
    assert any("6 of 8 units of layer z are dead" in w for w in record["warnings"])
    from deepclust.tables import summary_row

    assert summary_row(json.loads((tmp_path / "m.json").read_text()))["dead_share"] == 0.75


def test_a_refiner_is_warned_only_when_it_stopped_at_its_budget_unconverged():
    from deepclust.degenerate import refinement_warnings

    stopped = {"iterations": 300, "converged": False, "changed_at_stop": 0.0046}
    (warning,) = refinement_warnings(stopped, {"tol": 0.001})
    assert "(300 iterations, 0.46% of the labels still changing) (its tol: 0.10%)" in warning
    assert refinement_warnings({**stopped, "converged": True}, {"tol": 0.001}) == []
    assert refinement_warnings({**stopped, "converged": None}) == []  # a fixed schedule (SDCN)
    assert refinement_warnings(None) == []


def test_training_warnings_say_a_spike_at_the_end_and_a_plateau_not_a_healthy_curve():
    from deepclust.degenerate import training_warnings

    healthy = [1.0 / (1 + e) for e in range(50)]
    assert training_warnings(healthy) == []
    spike = [*healthy[:-1], 3 * healthy[-2]]
    assert training_warnings(spike)[0].startswith("the saved model is the last epoch's")
    assert "epoch 49" in training_warnings(spike)[0]
    flat = [1.0, 0.1, *[0.1] * 98]  # a small folder: lowest by epoch 2, the rest changes nothing
    (warning,) = training_warnings(flat)
    assert warning.startswith("the loss was flat after epoch 20 of 100")
    assert training_warnings([1.0, 0.5]) == []  # too short to call flat


def test_a_flat_pretraining_is_warned_with_every_clustering_of_its_network(tmp_path, blobs_images):
    """The network keeps the last epoch's weights; what its loss curve says about them travels
    with the model file to every clustering of it (metrics.json, hence the table and report)."""
    from deepclust.io import write_h5
    from deepclust.model_file import load_model
    from deepclust.stages import run_features, run_pretrain

    images, labels = blobs_images
    write_h5(tmp_path / "data.h5", {"images": images, "labels": labels}, {"n_clusters": 3})
    cfg = {"model": "dense_ae", "model_args": {"hidden_dims": [8]}, "epochs": 20}
    cfg |= {"batch_size": 256, "lr": 1e-12}  # one full batch an epoch that moves nothing
    run_pretrain(
        str(tmp_path / "data.h5"),
        cfg,
        seed=0,
        device="cpu",
        model_path=str(tmp_path / "model.pt"),
        log_csv=str(tmp_path / "train_log.csv"),
        checkpoint_path=str(tmp_path / "checkpoint.pt"),
    )
    _, hparams = load_model(tmp_path / "model.pt")
    assert any("the loss was flat" in w for w in hparams["trained_on"]["warnings"])
    run_features(
        str(tmp_path / "data.h5"),
        cfg,
        str(tmp_path / "features.h5"),
        device="cpu",
        model_path=str(tmp_path / "model.pt"),
    )
    record = _kmeans_of(tmp_path / "features.h5")
    assert any("the loss was flat" in w for w in record["warnings"])
