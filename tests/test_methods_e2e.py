"""End to end: each bundled method config (ASCAE, SDEKC, SDDECC, MFVC) through the real Snakefile
on a fixture, and what a change to one of its stages reruns; a crossover config sharing a method
config's runs."""

import csv
import json
import re

import h5py
import numpy as np
import pytest
import yaml

from conftest import (
    DOWNSTREAM,
    REPO,
    TABLES,
    every_dataset,
    method_config,
    planned_jobs,
    report_file,
    small_dense_ae,
    snakemake,
)


@pytest.mark.slow
def test_ascae_experiment_end_to_end(tmp_path, blobs_images):
    """The `ascae` and `scae` experiments of workflow/configs/ascae.yaml, 2 epochs on a fixture."""
    config = every_dataset(method_config(tmp_path, blobs_images, "ascae", size=16))
    for extractor in config["extractors"].values():
        extractor["epochs"] = 2
    # the lambda sweep, the 100- and 20-epoch MNIST variants and the readings that differ only
    # in model_args (initialisation, Keras defaults: unit-tested in test_ascae.py) are left out
    for section in ("extractors", "experiments"):
        config[section] = {
            k: v
            for k, v in config[section].items()
            if not any(t in k for t in ("lambda", "e100", "e20", "glorot", "init", "keras"))
        }
    # the tables are the target: the figures are tested elsewhere
    run = snakemake(tmp_path, config, *TABLES)
    assert run.returncode == 0, run.stderr[-3000:]
    rows = {r["experiment"]: r for r in csv.DictReader(open(tmp_path / report_file("summary")))}
    assert set(rows) == set(config["experiments"])
    assert {"ascae", "scae", "ascae_mean", "scae_mean", "ascae_mean_best50"} <= set(rows)
    assert rows["ascae_best50"]["uses_labels"] == "True" and rows["ascae"]["uses_labels"] == "False"
    assert all(0.0 <= float(r["acc"]) <= 1.0 for r in rows.values())
    # F and D2, K-means by inertia and the best of 50: the same trained model, one pretraining
    # per network (ASCAE and SCAE, summed and per-pixel mean: 4 networks)
    networks = {experiment["extractor"] for experiment in config["experiments"].values()}
    assert networks == {"ascae", "scae", "ascae_mean", "scae_mean"}
    pretrained = (tmp_path / "results" / "benchmarks" / "pretrain" / "blobs").rglob("*.tsv")
    assert len(list(pretrained)) == len(networks)
    record = json.loads(
        (tmp_path / "results/blobs/ascae/seed0/kmeans_best50/metrics.json").read_text()
    )
    assert len(record["runs"]) == 50 and record["params"]["params"]["n_init"] == 10


@pytest.mark.slow
def test_sdekc_experiments_end_to_end_and_refiner_caching(tmp_path, blobs_images):
    """workflow/configs/sdekc.yaml on a fixture: SDEKC, DEKM, CAE + K-means, DCEC (IDEC's loss on
    the CAE) and DEC's loss alone on it."""
    config = method_config(tmp_path, blobs_images, "sdekc")
    # the MNIST-test and Fashion-MNIST variants (fewer epochs) are left out
    config["experiments"] = {k: v for k, v in config["experiments"].items() if "datasets" not in v}
    for extractor in config["extractors"].values():
        extractor["epochs"] = 2
    config["clusterers"]["dekm"]["params"].update(max_iter=3, update_interval=2, batch_size=32)
    for name in ("idec", "dec"):
        config["clusterers"][name]["params"].update(max_iter=10, update_interval=5, batch_size=32)
    # the tables are the target: the report's figures are tested by the tiny config's test
    run = snakemake(tmp_path, config, *TABLES, "--resources", "gpu=1")
    assert run.returncode == 0, run.stderr[-3000:]

    rows = {r["experiment"]: r for r in csv.DictReader(open(tmp_path / report_file("summary")))}
    assert set(rows) == {
        *("sdekc", "skip_cae_kmeans", "sdekc_swapped", "skip_cae_swapped_kmeans"),
        *("dekm", "cae_kmeans", "dcec", "cae_dec"),
    }
    assert all(r["uses_labels"] == "False" and 0 <= float(r["acc"]) <= 1 for r in rows.values())
    assert rows["sdekc"]["init_acc"] and rows["sdekc"]["refine_iterations"]
    assert rows["cae_kmeans"]["init_acc"] == ""  # K-means alone refines nothing
    run_dir = tmp_path / "results" / "blobs" / "skip_cae" / "seed0" / "dekm"
    record = json.loads((run_dir / "metrics.json").read_text())
    assert 1 <= record["refinement"]["iterations"] <= 3
    assert record["refinement"]["init_metrics"]["acc"] is not None
    log_rows = list(csv.DictReader(open(run_dir / "refine_log.csv")))
    assert int(log_rows[-1]["iteration"]) == record["refinement"]["iterations"]
    assert {"loss", "changed", "acc", "nmi"} <= set(log_rows[0])
    assert (run_dir / "model.pt").exists()
    # three networks pretrained once each, shared by K-means and the refiners
    assert len(list((tmp_path / "results" / "benchmarks" / "pretrain").rglob("*.tsv"))) == 3

    # A DEKM hyper-parameter reruns the three DEKM refinements (and the summary), nothing else.
    config["clusterers"]["dekm"]["params"]["tol"] = 0.01
    jobs = planned_jobs(snakemake(tmp_path, config, "-n", *TABLES))
    assert jobs.pop("refine") == 3 and set(jobs) <= DOWNSTREAM, jobs


@pytest.mark.slow
def test_sddecc_experiments_end_to_end_and_graph_caching(tmp_path, blobs_images):
    """workflow/configs/sddecc.yaml on a fixture: SDDECC and its ConvAE ablations (GCN, K-means),
    SDCN, and the paper rows read both ways (issue 19); switching the paper rows' reading
    retrains no network. The tables are the target (the figures are tested elsewhere)."""
    config = every_dataset(method_config(tmp_path, blobs_images, "sddecc"))
    # the other readings of the GCN stage (class prior, warm-up, detach, 200 epochs, SDCN terms
    # added) and the networks that differ only in model_args are the same stages with other
    # parameters: unit-tested in test_sddecc.py
    keep = ("sddecc", "convae_gcn", "sdcn", "sddecc_eq18", "convae_gcn_eq18", "convae_kmeans")
    config["experiments"] = {name: config["experiments"][name] for name in keep}
    for extractor in config["extractors"].values():
        extractor["epochs"] = 2
    for clusterer in config["clusterers"].values():
        if clusterer["method"] in ("sddecc", "sdcn"):
            clusterer["params"]["epochs"] = 3
            if clusterer["params"].get("warmup_epochs"):
                clusterer["params"]["warmup_epochs"] = 2

    # The paper rows as they were before issue 19 (eq. 18 as written), run first; moving them to
    # the SDCN loss reruns their GCN stage only: no pretraining, features or graph.
    experiments = config["experiments"]
    before = {
        **config,
        "experiments": {
            "sddecc": experiments["sddecc_eq18"],
            "convae_gcn": experiments["convae_gcn_eq18"],
        },
    }
    run = snakemake(tmp_path, before, *TABLES, "--resources", "gpu=1")
    assert run.returncode == 0, run.stderr[-3000:]
    now = {**config, "experiments": {k: experiments[k] for k in ("sddecc", "convae_gcn")}}
    assert {experiments[k]["extractor"] for k in now["experiments"]} == {"ddecn", "convae"}
    jobs = planned_jobs(snakemake(tmp_path, now, "-n", *TABLES))
    assert jobs.pop("refine") == 2 and set(jobs) <= DOWNSTREAM, jobs

    run = snakemake(tmp_path, config, *TABLES, "--resources", "gpu=1")
    assert run.returncode == 0, run.stderr[-3000:]
    rows = {r["experiment"]: r for r in csv.DictReader(open(tmp_path / report_file("summary")))}
    assert set(rows) == set(experiments)
    assert all(r["uses_labels"] == "False" and 0 <= float(r["acc"]) <= 1 for r in rows.values())
    assert rows["sddecc"]["refine_iterations"] == "3" and rows["sddecc"]["init_acc"]
    run_dir = tmp_path / "results" / "blobs" / "ddecn" / "seed0" / "sddecc"  # eq. 18's run
    log_rows = list(csv.DictReader(open(run_dir / "refine_log.csv")))
    assert {"recon", "mi_global", "mi_local", "cluster_kl", "acc"} <= set(log_rows[0])
    record = json.loads((run_dir / "metrics.json").read_text())
    assert (
        record["refinement"]["best_monitored_acc_uses_labels"]
        >= float(rows["sddecc_eq18"]["acc"]) - 1e-9
    )
    graphs = tmp_path / "results" / "blobs" / "graphs"
    # one graph for every GCN, and the pixel graph the label-free pick scores partitions on
    assert sorted(p.name for p in graphs.iterdir()) == ["knn10_euclidean.h5", "knn3_euclidean.h5"]

    # A GCN hyper-parameter reruns the two eq. 18 GCN stages only: no graph, no pretraining.
    config["clusterers"]["sddecc"]["params"]["cluster_weight"] = 1.5
    jobs = planned_jobs(snakemake(tmp_path, config, "-n", *TABLES))
    assert jobs.pop("refine") == 2 and set(jobs) <= DOWNSTREAM, jobs
    # A different k is a different graph, built once for the GCNs that ask for it.
    config["clusterers"]["sddecc"]["params"]["k"] = 5
    jobs = planned_jobs(snakemake(tmp_path, config, "-n", *TABLES))
    assert jobs.pop("graph") == 1 and jobs.pop("refine") == 2, jobs
    assert set(jobs) <= DOWNSTREAM, jobs


@pytest.mark.slow
def test_mfvc_experiments_end_to_end_and_manifold_caching(tmp_path, blobs_images):
    """workflow/configs/mfvc.yaml on a fixture (resized to 32x32): MFVC and N2D; switching
    MFVC's K-means to DBSCAN reuses the cached UMAP embedding."""
    config = method_config(tmp_path, blobs_images, "mfvc", size=32)
    for extractor in config["extractors"].values():
        extractor["epochs"] = 1
    experiments = config["experiments"]
    config["experiments"] = {k: experiments[k] for k in ("mfvc", "n2d")}
    run = snakemake(tmp_path, config, *TABLES, "--resources", "gpu=1")
    assert run.returncode == 0, run.stderr[-3000:]
    rows = {r["experiment"]: r for r in csv.DictReader(open(tmp_path / report_file("summary")))}
    assert set(rows) == {"mfvc", "n2d"}
    assert all(0 <= float(r["acc"]) <= 1 for r in rows.values())
    embedding = tmp_path / "results" / "blobs" / "res_vae" / "seed0" / "manifolds" / "umap_mfvc.h5"
    with h5py.File(embedding) as f:
        assert f["features"].shape == (120, 3)  # n_components = number of clusters

    config["experiments"]["mfvc_dbscan"] = experiments["mfvc_dbscan"]
    jobs = planned_jobs(snakemake(tmp_path, config, "-n", *TABLES))
    assert jobs.pop("cluster") == 1 and set(jobs) <= DOWNSTREAM, jobs

    # The CPU overlay's shorter-trained networks: Res-VAEs at 50 epochs with and without SimAM, at
    # 5 epochs and N2D's AE at 20 (Fashion-MNIST), planned on the one test dataset: four networks,
    # four embeddings, nine clusterings (DBSCAN with its eps fixed and at the k-distances' knee).
    overlay = yaml.safe_load((REPO / "workflow" / "configs" / "mfvc_cpu.yaml").read_text())
    bundled = yaml.safe_load((REPO / "workflow" / "configs" / "mfvc.yaml").read_text())
    for experiment in overlay["experiments"].values():
        assert set(experiment.pop("datasets")) <= set(bundled["datasets"]), experiment
        experiment.pop("seeds", None)
    config["extractors"].update(overlay["extractors"])
    config["experiments"].update(overlay["experiments"])
    config["experiments"]["mfvc_no_simam"] = experiments["mfvc_no_simam"]  # not selected: no job
    config["only_experiments"] = overlay["only_experiments"]
    assert set(overlay["only_experiments"]) == set(overlay["experiments"])
    jobs = planned_jobs(snakemake(tmp_path, config, "-n", *TABLES))
    stages = {rule: jobs.pop(rule, 0) for rule in ("pretrain", "features", "manifold", "cluster")}
    assert stages == {"pretrain": 4, "features": 4, "manifold": 4, "cluster": 9}, stages
    assert set(jobs) <= DOWNSTREAM | {"plot_training"}, jobs


@pytest.mark.slow
def test_crossover_shares_a_method_configs_runs_and_picks_without_labels(tmp_path, blobs_images):
    """A crossover config borrowing a method config's network and stages reruns none of that
    config's runs (the experiment names differ: membership is the tables' business, not the
    run's), adds its other cells, and the tables carry the heatmap cells and the pick."""
    images, labels = blobs_images
    np.savez(tmp_path / "blobs.npz", images=images[:, 0], labels=labels)
    idec_params = {"max_iter": 8, "update_interval": 4, "batch_size": 16}
    method = {
        "device": "cpu",
        "seeds": [0, 1],
        "datasets": {"blobs": {"source": "npz", "path": str(tmp_path / "blobs.npz")}},
        "extractors": {"ae": small_dense_ae(2)},
        "clusterers": {
            "kmeans": {"method": "kmeans", "params": {"n_init": 2}},
            "idec": {"method": "idec", "params": idec_params},
        },
        "experiments": {"ae_kmeans": {"extractor": "ae", "clusterer": "kmeans"}},
    }
    run = snakemake(tmp_path, method, *TABLES)
    assert run.returncode == 0, run.stderr[-3000:]
    (tmp_path / "method.yaml").write_text(yaml.safe_dump(method))

    crossover = {
        "device": "cpu",
        "seeds": [0, 1],
        "blocks_from": ["method.yaml"],
        "crossover": {"extractors": ["ae"], "clusterers": ["kmeans", "idec"]},
        "consensus": {},  # and the consensus of each cell's seeds, with the defaults
    }
    jobs = planned_jobs(snakemake(tmp_path, crossover, "-n", *TABLES))
    assert jobs.pop("refine") == 2 and jobs.pop("consensus") == 2, jobs
    assert set(jobs) <= DOWNSTREAM, jobs  # ae.kmeans: the method config's cached runs
    run = snakemake(tmp_path, crossover, *TABLES, report_file("crossover_plot", dataset="blobs"))
    assert run.returncode == 0, run.stderr[-3000:]
    rows = list(csv.DictReader(open(tmp_path / report_file("summary"))))
    assert sorted({r["experiment"] for r in rows}) == ["ae.idec", "ae.kmeans"]
    assert all(r["silhouette"] for r in rows)
    table = {r["experiment"]: r for r in csv.DictReader(open(tmp_path / report_file("table")))}
    assert set(table) == {"ae.idec", "ae.kmeans"}
    assert all(table[e]["seed_stability"] for e in table)
    assert all(0 <= float(table[e]["consensus_acc"]) <= 1 for e in table)
    assert "consensus ACC (agreement)" in (tmp_path / report_file("table_md")).read_text()
    # the consensus's linkage reruns the consensus and the tables only
    crossover["consensus"] = {"linkage": "complete"}
    jobs = planned_jobs(snakemake(tmp_path, crossover, "-n", *TABLES))
    assert jobs.pop("consensus") == 2 and set(jobs) <= DOWNSTREAM, jobs
    markdown = (tmp_path / report_file("table_md")).read_text()
    assert re.search(r"\| blobs \| ae\.(kmeans|idec) \|", markdown)  # the label-free pick
    assert (tmp_path / report_file("crossover_plot", dataset="blobs")).stat().st_size > 0
