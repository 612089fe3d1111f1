"""End to end: the real Snakefile on a tiny config, its caching, and config errors."""

import csv
import json
import re
import subprocess
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml

from conftest import REPO, small_dense_ae, snakemake_command
from deepclust.config import resolve_extends

#: jobs that follow every clustering change: the tables, the run's figures and the report
DOWNSTREAM = {"aggregate", "all", "plot_run", "plot_refinement", "report"}
#: the target of end-to-end tests that check numbers, not figures
TABLES = ("results/table.md",)


def tiny_config(tmp_path: Path) -> dict:
    images = np.random.default_rng(0).integers(0, 256, (60, 8, 8), dtype=np.uint8)
    np.savez(tmp_path / "unlabelled.npz", images=images)
    (tmp_path / "paper_values.csv").write_text(
        "# a made-up paper\nmethod,dataset,metric,value,paper,table\n"
        "pixels_kmeans,optdigits,acc,0.5,Made-up,table 9\n"
    )
    return {
        "device": "cpu",
        "seeds": [0],
        "paper_values": str(tmp_path / "paper_values.csv"),
        "datasets": {
            "digits": {"source": "digits", "paper_name": "optdigits"},
            "mine": {"source": "npz", "path": str(tmp_path / "unlabelled.npz"), "n_clusters": 3},
        },
        "extractors": {
            "pixels": {"model": "pixels"},
            "dense_ae": small_dense_ae(epochs=2),
        },
        "clusterers": {
            "kmeans": {"method": "kmeans", "params": {"n_init": 2}},
            "kmeans_sweep": {
                "method": "kmeans",
                "params": {"n_init": 1},
                "sweep": {"params.max_iter": [1, 100]},
            },
        },
        "experiments": {
            "pixels_kmeans": {"extractor": "pixels", "clusterer": "kmeans"},
            "ae_kmeans": {"extractor": "dense_ae", "clusterer": "kmeans"},
            "iterations": {
                "extractor": "pixels",
                "clusterer": "kmeans_sweep",
                "datasets": ["digits"],
            },
        },
    }


def method_config(tmp_path: Path, blobs_images, name: str, **dataset) -> dict:
    """workflow/configs/{name}.yaml run on the blobs fixture only, seed 0, on the CPU."""
    images, labels = blobs_images
    np.savez(tmp_path / "blobs.npz", images=images[:, 0], labels=labels)
    # resolved here: the tests change entries by keys (method, params) that an entry which
    # `extends` another does not repeat
    bundled = yaml.safe_load((REPO / "workflow" / "configs" / f"{name}.yaml").read_text())
    config = resolve_extends(bundled)
    config["datasets"] = {
        "blobs": {"source": "npz", "path": str(tmp_path / "blobs.npz"), **dataset}
    }
    config["seeds"] = [0]
    config["device"] = "cpu"
    return config


def every_dataset(config: dict) -> dict:
    """The config with each experiment's own `datasets` list dropped: every row on the fixture."""
    for experiment in config["experiments"].values():
        experiment.pop("datasets", None)
    return config


def snakemake(workdir: Path, config: dict, *args: str, **yaml_style) -> subprocess.CompletedProcess:
    return subprocess.run(
        snakemake_command(workdir, config, *args, **yaml_style),
        capture_output=True,
        text=True,
        timeout=600,
    )


def reversed_keys(value):
    """``value`` with every mapping's keys in reverse order."""
    if isinstance(value, dict):
        return {k: reversed_keys(value[k]) for k in reversed(list(value))}
    return [reversed_keys(v) for v in value] if isinstance(value, list) else value


def planned_jobs(result: subprocess.CompletedProcess) -> dict[str, int]:
    """The 'Job stats' table of a dry run, as {rule: count}."""
    assert result.returncode == 0, result.stderr + result.stdout
    text = result.stdout + result.stderr
    if "Nothing to be done" in text:
        return {}
    table = text.split("Job stats:")[1].split("\n\n")[0]
    return {
        m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M) if m[1] != "total"
    }


@pytest.mark.slow
def test_tiny_config_end_to_end_and_caching(tmp_path):
    config = tiny_config(tmp_path)
    run = snakemake(tmp_path, config, "--resources", "gpu=1")  # the user card's command shape
    assert run.returncode == 0, run.stderr[-3000:]

    rows = list(csv.DictReader(open(tmp_path / "results" / "summary.csv")))
    assert {(r["dataset"], r["extractor"], r["clusterer"], r["seed"]) for r in rows} == {
        (d, e, "kmeans", "0") for d in ("digits", "mine") for e in ("pixels", "dense_ae")
    } | {("digits", "pixels", f"kmeans_sweep-max_iter{i}", "0") for i in (1, 100)}
    by_key = {(r["dataset"], r["extractor"]): r for r in rows if r["clusterer"] == "kmeans"}
    assert 0.5 < float(by_key["digits", "pixels"]["acc"]) <= 1.0  # pixel K-means on digits: ~0.79
    assert by_key["mine", "pixels"]["acc"] == ""  # no labels: metrics skipped, not faked
    table = {
        (r["dataset"], r["experiment"]): r
        for r in csv.DictReader(open(tmp_path / "results" / "table.csv"))
    }
    pixels = table["digits", "pixels_kmeans"]  # joined through the dataset's paper_name
    assert float(pixels["acc_paper"]) == 0.5 and pixels["paper_source"] == "Made-up table 9"
    assert float(pixels["acc_diff"]) == pytest.approx(float(pixels["acc_mean"]) - 0.5, abs=1e-5)
    assert table["digits", "ae_kmeans"]["acc_paper"] == ""  # no published number: none shown
    assert "| digits | pixels_kmeans | 1 |" in (tmp_path / "results" / "table.md").read_text()
    # the report: per (dataset, experiment) embedding, confusion and samples, per trained
    # extractor its training curve, all inlined; the unlabelled dataset still gets its figures
    report = (tmp_path / "results" / "report.html").read_text()
    assert report.count('src="data:image/png;base64,') == (4 + 2) * 3 + 2 + 1
    assert (tmp_path / "results" / "plots" / "sweep_iterations.png").exists()
    assert "ae_kmeans on mine" in report and "pixels_kmeans on digits" in report
    plots = tmp_path / "results" / "mine" / "pixels" / "seed0" / "kmeans" / "plots"
    assert {p.name for p in plots.iterdir()} == {"embedding.png", "confusion.png", "samples.png"}
    for name in (
        "model.pt",
        "train_log.csv",
        "features.h5",
        "kmeans/metrics.json",
        "kmeans/labels.h5",
    ):
        assert (tmp_path / "results" / "digits" / "dense_ae" / "seed0" / name).exists(), name
    assert (
        tmp_path / "results" / "logs" / "pretrain" / "digits" / "dense_ae" / "seed0.log"
    ).exists()

    # Nothing changed: nothing to do.
    assert planned_jobs(snakemake(tmp_path, config, "-n")) == {}
    # The same config with every key in another order and in YAML's flow style: nothing to do.
    reordered = snakemake(
        tmp_path, reversed_keys(config), "-n", sort_keys=False, default_flow_style=True
    )
    assert planned_jobs(reordered) == {}
    # A setting that changes no result (schema x-rerun: false): nothing to do.
    settings = yaml.safe_load(yaml.safe_dump(config))
    settings["extractors"]["dense_ae"].update(checkpoint_every=5, feature_batch_size=7)
    assert planned_jobs(snakemake(tmp_path, settings, "-n")) == {}

    # A clusterer hyper-parameter: only clustering and aggregation rerun.
    config["clusterers"]["kmeans"]["params"]["n_init"] = 3
    jobs = planned_jobs(snakemake(tmp_path, config, "-n"))
    assert (
        jobs.get("cluster") == 4
        and "pretrain" not in jobs
        and "plot_training" not in jobs
        and "features" not in jobs
        and "preprocess" not in jobs
    )

    # An extractor hyper-parameter: its pretraining reruns (both datasets), pixels do not.
    config["clusterers"]["kmeans"]["params"]["n_init"] = 2
    config["extractors"]["dense_ae"]["epochs"] = 3
    jobs = planned_jobs(snakemake(tmp_path, config, "-n"))
    assert jobs.get("pretrain") == 2 and jobs.get("features") == 2 and jobs.get("cluster") == 2


@pytest.mark.slow
def test_ascae_experiment_end_to_end(tmp_path, blobs_images):
    """The `ascae` and `scae` experiments of workflow/configs/ascae.yaml, 2 epochs on a fixture."""
    config = every_dataset(method_config(tmp_path, blobs_images, "ascae", size=16))
    for extractor in config["extractors"].values():
        extractor["epochs"] = 2
    # the lambda sweep and the 100-epoch MNIST-test variants are left out
    for section in ("extractors", "experiments"):
        config[section] = {
            k: v
            for k, v in config[section].items()
            if not any(t in k for t in ("lambda", "e100", "glorot"))
        }
    # the tables are the target: the figures are tested elsewhere
    run = snakemake(tmp_path, config, *TABLES)
    assert run.returncode == 0, run.stderr[-3000:]
    rows = {r["experiment"]: r for r in csv.DictReader(open(tmp_path / "results" / "summary.csv"))}
    assert set(rows) == set(config["experiments"])
    assert {"ascae", "scae", "ascae_mean", "scae_mean", "ascae_mean_best50"} <= set(rows)
    assert rows["ascae_best50"]["uses_labels"] == "True" and rows["ascae"]["uses_labels"] == "False"
    assert all(0.0 <= float(r["acc"]) <= 1.0 for r in rows.values())
    # F and D2, K-means by inertia and the best of 50: the same trained model, one pretraining
    # per network (sums, per-pixel means, the init and Keras-default readings: 8 networks)
    networks = {experiment["extractor"] for experiment in config["experiments"].values()}
    assert len(networks) == 8
    pretrained = (tmp_path / "results" / "benchmarks" / "pretrain" / "blobs").rglob("*.tsv")
    assert len(list(pretrained)) == len(networks)
    record = json.loads(
        (tmp_path / "results/blobs/ascae/seed0/kmeans_best50/metrics.json").read_text()
    )
    assert len(record["runs"]) == 50 and record["params"]["params"]["n_init"] == 10


def test_coil20_config_plans_nine_methods_on_two_sizes_of_one_file(tmp_path):
    """workflow/configs/coil20.yaml, planned on a stand-in for the 32x32 file: six networks per
    seed (pixels need none), K-means for five rows and a refinement for five."""
    images = np.random.default_rng(0).integers(0, 256, (40, 32, 32), dtype=np.uint8)
    np.savez(tmp_path / "coil20_32.npz", images=images, labels=np.repeat(np.arange(20), 2))
    config = yaml.safe_load((REPO / "workflow" / "configs" / "coil20.yaml").read_text())
    for dataset in config["datasets"].values():
        dataset["path"] = str(tmp_path / "coil20_32.npz")
    jobs = planned_jobs(snakemake(tmp_path, config, "-n", "results/table.md"))
    assert jobs == {
        "preprocess": 2,
        "pretrain": 18,
        "features": 15,
        "cluster": 15,
        "refine": 15,
        "aggregate": 1,
    }, jobs


@pytest.mark.slow
def test_sdekc_experiments_end_to_end_and_refiner_caching(tmp_path, blobs_images):
    """workflow/configs/sdekc.yaml on a fixture: SDEKC, DEKM, CAE + K-means, DEC, IDEC."""
    config = method_config(tmp_path, blobs_images, "sdekc")
    # the MNIST-test and Fashion-MNIST variants (fewer epochs) are left out
    config["experiments"] = {k: v for k, v in config["experiments"].items() if "datasets" not in v}
    for extractor in config["extractors"].values():
        extractor["epochs"] = 2
    config["clusterers"]["dekm"]["params"].update(max_iter=3, update_interval=2, batch_size=32)
    for name in ("idec", "dec"):
        config["clusterers"][name]["params"].update(max_iter=10, update_interval=5, batch_size=32)
    run = snakemake(tmp_path, config, "--resources", "gpu=1")
    assert run.returncode == 0, run.stderr[-3000:]

    rows = {r["experiment"]: r for r in csv.DictReader(open(tmp_path / "results" / "summary.csv"))}
    assert set(rows) == {
        *("sdekc", "skip_cae_kmeans", "sdekc_swapped", "skip_cae_swapped_kmeans"),
        *("dekm", "cae_kmeans", "idec", "dec"),
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
    jobs = planned_jobs(snakemake(tmp_path, config, "-n"))
    assert jobs.pop("refine") == 3 and set(jobs) <= DOWNSTREAM, jobs


@pytest.mark.slow
def test_sddecc_experiments_end_to_end_and_graph_caching(tmp_path, blobs_images):
    """workflow/configs/sddecc.yaml on a fixture: SDDECC, its three ablations, SDCN and every
    reading of issue 19; switching the paper rows' reading retrains no network. The tables are
    the target: the figures of ~20 runs would take most of the time (they are tested elsewhere)."""
    config = every_dataset(method_config(tmp_path, blobs_images, "sddecc"))
    # every GCN reading; the networks that differ only in their model_args (loss scale, critic
    # inputs) with K-means alone are left out: their arguments are unit-tested
    config["experiments"] = {
        name: e
        for name, e in config["experiments"].items()
        if e["extractor"] in ("ddecn", "convae", "sdcn_ae")
    }
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
    rows = {r["experiment"]: r for r in csv.DictReader(open(tmp_path / "results" / "summary.csv"))}
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
    assert [p.name for p in graphs.iterdir()] == ["knn3_euclidean.h5"]  # one graph, every GCN

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
    run = snakemake(tmp_path, config, "--resources", "gpu=1")
    assert run.returncode == 0, run.stderr[-3000:]
    rows = {r["experiment"]: r for r in csv.DictReader(open(tmp_path / "results" / "summary.csv"))}
    assert set(rows) == {"mfvc", "n2d"}
    assert all(0 <= float(r["acc"]) <= 1 for r in rows.values())
    embedding = tmp_path / "results" / "blobs" / "res_vae" / "seed0" / "manifolds" / "umap_mfvc.h5"
    with h5py.File(embedding) as f:
        assert f["features"].shape == (120, 3)  # n_components = number of clusters

    config["experiments"]["mfvc_dbscan"] = experiments["mfvc_dbscan"]
    jobs = planned_jobs(snakemake(tmp_path, config, "-n"))
    assert jobs.pop("cluster") == 1 and set(jobs) <= DOWNSTREAM, jobs

    # The CPU overlay's shorter-trained networks: Res-VAEs at 50 epochs with and without SimAM, at
    # 5 epochs and N2D's AE at 20 (Fashion-MNIST), planned on the one test dataset: four networks,
    # four embeddings, eight clusterings.
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
    jobs = planned_jobs(snakemake(tmp_path, config, "-n"))
    stages = {rule: jobs.pop(rule, 0) for rule in ("pretrain", "features", "manifold", "cluster")}
    assert stages == {"pretrain": 4, "features": 4, "manifold": 4, "cluster": 8}, stages
    assert set(jobs) <= DOWNSTREAM | {"plot_training"}, jobs


def test_parsing_a_checked_workflow_imports_neither_torch_nor_scikit_learn(tmp_path):
    """The config check needs the registries (torch, scikit-learn); its result is cached
    (deepclust.plan), so a dry run, and on a cluster every job's parse, skips both imports."""
    config = tiny_config(tmp_path)
    config["clusterers"]["dec"] = {"method": "idec", "params": {"gamma": 0.0}}
    config["experiments"]["dec"] = {"extractor": "dense_ae", "clusterer": "dec"}
    first = planned_jobs(snakemake(tmp_path, config, "-n"))
    cmd = snakemake_command(tmp_path, config, "-n")
    again = subprocess.run(
        [cmd[0], "-X", "importtime", *cmd[1:]], capture_output=True, text=True, timeout=600
    )
    assert planned_jobs(again) == first and first["refine"] == 2
    imported = set(re.findall(r"^import time:.*\|\s*([\w.]+)$", again.stderr, re.M))
    assert "snakemake" in imported
    assert not {m for m in imported if m.split(".")[0] in ("torch", "sklearn")}


def test_configfile_replaces_the_default_instead_of_merging(tmp_path):
    (tmp_path / "config.yaml").write_text(
        (REPO / "config.yaml").read_text()
    )  # has conv_ae, cae_kmeans
    result = snakemake(tmp_path, tiny_config(tmp_path), "-n")
    assert result.returncode == 0, result.stderr
    assert "conv_ae" not in result.stdout + result.stderr
    assert planned_jobs(result)["pretrain"] == 2


def test_sweep_in_config_expands_to_runs_without_editing_the_snakefile(tmp_path):
    config = tiny_config(tmp_path)
    config["extractors"]["dense_ae"]["sweep"] = {"model_args.hidden_dims": [[32], [64], [16, 16]]}
    jobs = planned_jobs(snakemake(tmp_path, config, "-n"))
    assert jobs["pretrain"] == 3 * 2  # three variants x two datasets
    # plus pixels on both datasets, plus the tiny config's own max_iter sweep (digits only)
    assert jobs["cluster"] == 3 * 2 + 2 + 2
    assert jobs["plot_sweep"] == 2  # one figure per swept experiment: ae_kmeans, iterations


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda c: c.update(epochz=3),
            "invalid config: Additional properties are not allowed ('epochz' was unexpected)",
        ),
        (
            lambda c: c["extractors"]["dense_ae"].update(epochs=0),
            "invalid config: extractors.dense_ae.epochs: 0 is less than the minimum of 1",
        ),
        (
            lambda c: c["extractors"]["dense_ae"].update(lr="fast"),
            "invalid config: extractors.dense_ae.lr: 'fast' is not of type 'number'",
        ),
        (
            lambda c: c["extractors"]["dense_ae"].update(model="resnet"),
            "extractors.dense_ae.model: unknown model 'resnet'",
        ),
        (
            lambda c: c["extractors"]["dense_ae"]["model_args"].update(depth=3),
            "extractors.dense_ae.model_args",
        ),
        (lambda c: c["clusterers"]["kmeans"].update(method="spectral"), "clusterers.kmeans.method"),
        (lambda c: c["clusterers"]["kmeans"]["params"].update(k=3), "takes no parameter 'k'"),
        (
            lambda c: c["experiments"]["ae_kmeans"].update(extractor="vae"),
            "experiments.ae_kmeans.extractor",
        ),
        (lambda c: c["datasets"].update(cifar={"source": "cifar10"}), "datasets.cifar.source"),
        (lambda c: c["datasets"]["mine"].pop("path"), "datasets.mine.path"),
        (lambda c: c.update(device="tpu"), "invalid config: device: "),
        (
            lambda c: c.update(only_experiments=["ae_kmeans", "ae_kmean"]),
            "invalid config: only_experiments: 'ae_kmean' not defined under experiments",
        ),
        (
            lambda c: c["extractors"]["dense_ae"].update(sweep={"epochs": [2, 0]}),
            "invalid config: extractors.dense_ae-epochs0.epochs: 0 is less than the minimum of 1",
        ),
        (
            lambda c: c["extractors"].update(deeper={"extends": "dense_aee", "epochs": 3}),
            "invalid config: extractors.deeper.extends: 'dense_aee' is not defined under extractors",
        ),
        (  # an entry that extends another is checked as the merged entry
            lambda c: c["extractors"].update(deeper={"extends": "dense_ae", "epochz": 3}),
            "invalid config: extractors.deeper: Additional properties are not allowed ('epochz'",
        ),
    ],
)
def test_bad_config_fails_before_any_job_and_names_the_key(tmp_path, edit, message):
    config = tiny_config(tmp_path)
    edit(config)
    result = snakemake(tmp_path, config, "-n")
    assert result.returncode != 0
    assert message in result.stdout + result.stderr
    assert not (tmp_path / "results").exists() and not (tmp_path / "data").exists()
