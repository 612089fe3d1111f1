"""Choosing K: a sweep over the number of clusters gets its label-free scores over K, in
table.md, the report and the sweep's figure, as a suggestion."""

import numpy as np
import pytest

from conftest import planned_jobs, report_file, snakemake
from deepclust.choose_k import k_markdown, k_rows, k_sweeps, suggested_k

SWEEPS = {
    "px_k": {f"px_k-n_clusters{k}": {"n_clusters": k} for k in (2, 3, 4)},
    "px_lr": {"px_lr-n_init1": {"params.n_init": 1}, "px_lr-n_init5": {"params.n_init": 5}},
}


def _row(experiment, silhouette, ch, db, stability, acc=None):
    return {
        "dataset": "d",
        "experiment": experiment,
        "silhouette_mean": silhouette,
        "calinski_harabasz_mean": ch,
        "davies_bouldin_mean": db,
        "seed_stability": stability,
        "acc_mean": acc,
    }


def test_only_a_sweep_of_the_number_of_clusters_alone_is_a_k_sweep():
    assert k_sweeps(SWEEPS) == {"px_k": {f"px_k-n_clusters{k}": k for k in (2, 3, 4)}}
    grid = {"g": {"g-a": {"n_clusters": 2, "params.n_init": 1}, "g-b": {"n_clusters": 3}}}
    assert k_sweeps(grid) == {}


def test_each_score_names_the_k_it_prefers_lower_davies_bouldin_and_text_cells_alike():
    table = [
        _row("px_k-n_clusters2", 0.40, 50.0, 0.9, 0.99),
        _row("px_k-n_clusters3", 0.60, 80.0, 0.5, 0.95),
        _row("px_k-n_clusters4", "0.500000", "120.0", "0.7", "", acc="0.7"),  # table.csv text
        _row("px_lr-n_init1", 0.9, 1.0, 0.1, 1.0),  # another sweep: not over K
    ]
    rows = k_rows(table, SWEEPS)
    assert [r["k"] for r in rows] == [2, 3, 4]
    assert suggested_k(rows) == {
        "silhouette": 3,
        "calinski_harabasz": 4,
        "davies_bouldin": 3,
        "seed_stability": 2,
    }
    assert rows[2]["seed_stability"] is None and rows[2]["acc"] == pytest.approx(0.7)
    assert rows[1]["best"] == ["silhouette", "davies_bouldin"]
    text = k_markdown(rows)
    assert "not the number of groups" in text
    assert "| 3 | **0.600** | 80.000 | **0.500** | 0.950 | — |" in text
    assert "silhouette 3, Calinski-Harabasz 4, Davies-Bouldin 3, seed stability 2" in text
    assert k_markdown(k_rows(table, {})) == ""


def test_the_label_free_pick_leaves_a_k_sweep_out_while_other_experiments_remain():
    from deepclust.label_free import pick_without_labels

    def entry(name, modularity, k=None):
        return {"dataset": "d", "experiment": name, "modularity_mean": modularity, "k_swept": k}

    k_sweep = [entry("k-n_clusters2", 1.0, 2), entry("k-n_clusters3", 0.9, 3)]
    (pick,) = pick_without_labels([*k_sweep, entry("ae_km", 0.8)])
    assert pick["picked"] == "ae_km"
    (pick,) = pick_without_labels(k_sweep)  # the sweep alone: it is all there is
    assert pick["picked"] == "k-n_clusters2"


@pytest.mark.slow
def test_a_k_sweep_on_three_blobs_suggests_three_in_the_table_report_and_figure(
    tmp_path, blobs_images
):
    """Three well-separated classes, no labels given: K-means swept over K = 2..5; the
    silhouette prefers 3, and the table, the report and the sweep's figure say so."""
    images, _ = blobs_images
    np.savez(tmp_path / "blobs.npz", images=images[:, 0])
    config = {
        "device": "cpu",
        "seeds": [0, 1],
        "datasets": {
            "blobs": {"source": "npz", "path": str(tmp_path / "blobs.npz"), "n_clusters": 3}
        },
        "extractors": {"pixels": {"model": "pixels"}},
        "clusterers": {
            "kmeans_k": {
                "method": "kmeans",
                "params": {"n_init": 5},
                "sweep": {"n_clusters": [2, 3, 4, 5]},
            }
        },
        "experiments": {
            "choose_k": {"extractor": "pixels", "clusterer": "kmeans_k"},
            "pixels_gmm": {"extractor": "pixels", "clusterer": "gmm"},
        },
    }
    config["clusterers"]["gmm"] = {"method": "gmm", "params": {"covariance_type": "diag"}}
    assert planned_jobs(snakemake(tmp_path, config, "-n"))["cluster"] == (4 + 1) * 2
    run = snakemake(tmp_path, config)
    assert run.returncode == 0, run.stderr[-3000:]
    table = (tmp_path / report_file("table_md")).read_text()
    over_k = table.split("Choosing K:")[1]
    assert "blobs, choose_k (K by score: silhouette 3," in over_k
    # the pick is the experiment at the dataset's K, not a K of the sweep
    picks = table.split("Label-free pick per dataset")[1].split("Choosing K")[0]
    assert "| blobs | pixels_gmm |" in picks, picks
    report = (tmp_path / report_file("report")).read_text()
    assert "<h3>Choosing K</h3>" in report and "★" in report
    figure = tmp_path / report_file("sweep_plot", experiment="choose_k")
    assert figure.stat().st_size > 0
