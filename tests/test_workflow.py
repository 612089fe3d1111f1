"""End to end: the real Snakefile on a tiny config, its caching, and config errors (the bundled
methods' configs end to end: test_methods_e2e.py)."""

import csv
import os
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
import yaml

from conftest import (
    REPO,
    SNAKEMAKE,
    TABLES,
    planned_jobs,
    report_file,
    small_dense_ae,
    snakemake,
    snakemake_command,
)
from deepclust.paths import path as filled


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


def reversed_keys(value):
    """``value`` with every mapping's keys in reverse order."""
    if isinstance(value, dict):
        return {k: reversed_keys(value[k]) for k in reversed(list(value))}
    return [reversed_keys(v) for v in value] if isinstance(value, list) else value


@pytest.mark.slow
def test_tiny_config_end_to_end_and_caching(tmp_path):
    config = tiny_config(tmp_path)
    run = snakemake(tmp_path, config, "--resources", "gpu=1")  # the user card's command shape
    assert run.returncode == 0, run.stderr[-3000:]

    rows = list(csv.DictReader(open(tmp_path / report_file("summary"))))
    assert {(r["dataset"], r["extractor"], r["clusterer"], r["seed"]) for r in rows} == {
        (d, e, "kmeans", "0") for d in ("digits", "mine") for e in ("pixels", "dense_ae")
    } | {("digits", "pixels", f"kmeans_sweep-max_iter{i}", "0") for i in (1, 100)}
    by_key = {(r["dataset"], r["extractor"]): r for r in rows if r["clusterer"] == "kmeans"}
    assert 0.5 < float(by_key["digits", "pixels"]["acc"]) <= 1.0  # pixel K-means on digits: ~0.79
    assert by_key["mine", "pixels"]["acc"] == ""  # no labels: metrics skipped, not faked
    table = {
        (r["dataset"], r["experiment"]): r
        for r in csv.DictReader(open(tmp_path / report_file("table")))
    }
    pixels = table["digits", "pixels_kmeans"]  # joined through the dataset's paper_name
    assert float(pixels["acc_paper"]) == 0.5 and pixels["paper_source"] == "Made-up table 9"
    assert float(pixels["acc_diff"]) == pytest.approx(float(pixels["acc_mean"]) - 0.5, abs=1e-5)
    assert table["digits", "ae_kmeans"]["acc_paper"] == ""  # no published number: none shown
    table_md = (tmp_path / report_file("table_md")).read_text()
    assert "| digits | pixels_kmeans | 1 |" in table_md
    # the label-free pick: one per dataset, the unlabelled one too, by the modularity of each
    # partition on the dataset's pixel kNN graph (one seed: a tie is undecided, never guessed)
    picks = table_md.split("Label-free pick per dataset")[1]
    decided = (
        r"(\S+ \| modularity|undecided: \S+ / \S+ \| undecided: 2 tied on modularity, one seed)"
    )
    assert re.search(rf"^\| digits \| {decided} \| 0\.\d+ \|", picks, re.M), picks
    assert re.search(rf"^\| mine \| {decided} \| — \|", picks, re.M), picks
    summary = list(csv.DictReader(open(tmp_path / report_file("summary"))))
    assert all(-0.5 <= float(r["modularity"]) < 1 for r in summary), summary
    # the report: per (dataset, experiment) embedding, confusion and samples, per trained
    # extractor its training curve, all inlined; the unlabelled dataset still gets its figures
    report = (tmp_path / report_file("report")).read_text()
    # (+ one networks x clusterers heatmap per dataset)
    assert report.count('src="data:image/png;base64,') == (4 + 2) * 3 + 2 + 1 + 2
    assert (tmp_path / report_file("sweep_plot", experiment="iterations")).exists()
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

    # Snakemake's own report of the run (the figures are marked with report())
    zipped = snakemake(tmp_path, config, "--report", str(tmp_path / "report.zip"))
    assert zipped.returncode == 0 and (tmp_path / "report.zip").stat().st_size, zipped.stderr

    # Nothing changed: nothing to do.
    assert planned_jobs(snakemake(tmp_path, config, "-n")) == {}
    # Scripts newer than every result (a touch, a checkout that rewrote them unchanged): the
    # workflow's default profile leaves Snakemake's mtime-based code trigger out, so nothing to
    # do; with that trigger back, every job would rerun (issue 35)
    for path in [*(tmp_path / "results").rglob("*"), *(tmp_path / "data").rglob("*")]:
        os.utime(path, (946684800, 946684800))  # 2000-01-01, older than any script
    assert planned_jobs(snakemake(tmp_path, config, "-n")) == {}
    triggers = ("--rerun-triggers", "mtime", "params", "input", "software-env", "code")
    assert planned_jobs(snakemake(tmp_path, config, "-n", *triggers)).get("pretrain") == 2
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


def test_coil20_config_plans_thirteen_rows_on_two_sizes_of_one_file(tmp_path):
    """workflow/configs/coil20.yaml, planned on a stand-in for the 32x32 file: six networks per
    seed (pixels need none), K-means for five rows and a refinement for eight (DEKM, SDEKC as
    printed and swapped, DEC and IDEC on the dense AE with targets every 140 and every 30
    batches, DCEC on the CAE)."""
    images = np.random.default_rng(0).integers(0, 256, (40, 32, 32), dtype=np.uint8)
    np.savez(tmp_path / "coil20_32.npz", images=images, labels=np.repeat(np.arange(20), 2))
    config = yaml.safe_load((REPO / "workflow" / "configs" / "coil20.yaml").read_text())
    for dataset in config["datasets"].values():
        dataset["path"] = str(tmp_path / "coil20_32.npz")
    jobs = planned_jobs(snakemake(tmp_path, config, "-n", *TABLES))
    assert jobs == {
        "preprocess": 2,
        "pretrain": 18,
        "features": 15,
        "cluster": 15,
        "refine": 24,
        "graph": 2,  # each size's pixel kNN graph, on which the label-free pick scores its rows
        "aggregate": 1,
    }, jobs


def test_a_key_written_twice_is_refused_naming_both_lines(tmp_path):
    """PyYAML (and so Snakemake) keeps the last of a key written twice in one mapping; the
    workflow refuses it before any job, naming the file and both lines (issue 35)."""
    config = tiny_config(tmp_path)
    command = snakemake_command(tmp_path, config, "-n")
    path = tmp_path / "config.yaml"
    lines = path.read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip().startswith("n_init:"))
    lines.insert(at + 1, lines[at])
    path.write_text("\n".join(lines) + "\n")
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode != 0
    assert (
        f"line {at + 2}: key 'n_init' is written twice in one mapping (first on line {at + 1})"
        in (result.stdout + result.stderr)
    )
    assert not (tmp_path / "results").exists()


def test_crossover_config_trains_each_network_once_for_every_stage(tmp_path, blobs_images):
    """workflow/configs/crossover.yaml as bundled (its blocks_from found from another working
    directory), on a fixture: 6 networks x 6 clusterers, one pretraining per network and seed."""
    images, labels = blobs_images
    np.savez(tmp_path / "blobs.npz", images=images[:, 0], labels=labels)
    config = yaml.safe_load((REPO / "workflow" / "configs" / "crossover.yaml").read_text())
    config["datasets"] = {"blobs": {"source": "npz", "path": str(tmp_path / "blobs.npz")}}
    config["crossover"]["datasets"] = ["blobs"]
    config["seeds"] = [0, 1]
    jobs = planned_jobs(snakemake(tmp_path, config, "-n", *TABLES))
    assert jobs == {
        "preprocess": 1,
        "pretrain": 12,  # 6 networks x 2 seeds
        "features": 12,
        "manifold": 24,  # MFVC's and N2D's UMAP of each network
        "cluster": 36,  # K-means, UMAP + K-means, UMAP + GMM
        "graph": 2,  # SDCN's kNN graph, shared by every network, and the label-free pick's
        "refine": 36,  # DEKM, IDEC, SDCN
        "consensus": 36,  # each cell's two seeds
        "aggregate": 1,
    }, jobs


def test_parsing_a_checked_workflow_imports_neither_torch_nor_scikit_learn(tmp_path):
    """The config check needs the registries (torch, scikit-learn); its result is cached
    (deepclust.config.checks), so a dry run, and on a cluster every job's parse, skips both imports."""
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


@pytest.mark.slow
def test_two_configs_run_one_after_the_other_keep_both_reports(tmp_path):
    """Each config's tables, report and figures go under its name (its file's, or `name:`):
    a second config on the same folder and dataset writes beside the first, never over it."""

    def run(file: str, config: dict) -> subprocess.CompletedProcess:
        (tmp_path / file).write_text(yaml.safe_dump(config))
        cmd = [*SNAKEMAKE, "--directory", str(tmp_path), "--configfile", str(tmp_path / file)]
        return subprocess.run([*cmd, "--cores", "2"], capture_output=True, text=True)

    first = {
        "device": "cpu",
        "datasets": {"digits": {"source": "digits"}},
        "extractors": {"pixels": {"model": "pixels"}},
        "clusterers": {"kmeans": {"method": "kmeans", "params": {"n_init": 2}}},
        "experiments": {"pixels_kmeans": {"extractor": "pixels", "clusterer": "kmeans"}},
    }
    assert (done := run("first.yaml", first)).returncode == 0, done.stderr[-3000:]
    report = tmp_path / filled("report", name="first")
    table = tmp_path / filled("table_md", name="first")
    before = report.read_text(), table.read_text(), report.stat().st_mtime_ns
    second = {
        **first,
        "name": "second_try",
        "clusterers": {"gmm": {"method": "gmm", "params": {"n_init": 1}}},
        "experiments": {"pixels_gmm": {"extractor": "pixels", "clusterer": "gmm"}},
    }
    assert (done := run("second.yaml", second)).returncode == 0, done.stderr[-3000:]
    assert (report.read_text(), table.read_text(), report.stat().st_mtime_ns) == before
    assert "pixels_kmeans" in before[1] and "pixels_gmm" not in before[1]
    theirs = (tmp_path / filled("table_md", name="second_try")).read_text()
    assert "pixels_gmm" in theirs and "pixels_kmeans" not in theirs
    assert "pixels_gmm" in (tmp_path / filled("report", name="second_try")).read_text()
    assert not (tmp_path / "results" / "report.html").exists()


def test_pretraining_jobs_go_first_when_jobs_wait_for_cores(tmp_path):
    """The trainings are the longest jobs: started after most clustering jobs they set a
    run's end (issue 50), so they, and they alone, carry a priority."""
    result = snakemake(tmp_path, tiny_config(tmp_path), "-n")
    assert result.returncode == 0, result.stderr
    blocks = re.findall(
        r"^(?:local)?rule (\w+):\n((?:    .*\n)*)", result.stdout + result.stderr, re.M
    )
    prioritised = {rule for rule, body in blocks if "priority: 10" in body}
    assert "pretrain" in {rule for rule, _ in blocks} and prioritised == {"pretrain"}


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
        (
            lambda c: c["extractors"]["dense_ae"].update(amp="bf16"),
            "invalid config: extractors.dense_ae.amp: 'bf16' is not one of ['auto', True, False]",
        ),
        (
            lambda c: c["extractors"]["dense_ae"].update(min_steps=-1),
            "invalid config: extractors.dense_ae.min_steps: -1 is less than the minimum of 0",
        ),
        (  # an entry that extends another is checked as the merged entry
            lambda c: c["extractors"].update(deeper={"extends": "dense_ae", "epochz": 3}),
            "invalid config: extractors.deeper: Additional properties are not allowed ('epochz'",
        ),
        (  # a parameter's value, checked before any job (issue 35)
            lambda c: c["clusterers"]["kmeans"]["params"].update(n_init="five"),
            "invalid config: clusterers.kmeans.params: n_init: expected int, got 'five'",
        ),
        (  # ... and against the scikit-learn estimator's own constraints
            lambda c: c["clusterers"]["kmeans"]["params"].update(n_init=0),
            "clusterers.kmeans.params: The 'n_init' parameter must be",
        ),
        (
            lambda c: c["extractors"]["dense_ae"]["model_args"].update(hidden_dims=[8, "x"]),
            "extractors.dense_ae.model_args: hidden_dims: expected",
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
