"""The SLURM profile on a real (local, single-node) SLURM: every job goes through sbatch to the
partition the profile names, small clustering jobs are grouped, results equal a local run's, and
a pretraining job that SLURM requeues resumes from its checkpoint.

Needs root and Debian's slurm-wlm + munge (see tests/slurm_cluster.py); skipped otherwise, with the
reason. CI installs them and sets DEEPCLUST_REQUIRE_SLURM=1, which turns the skip into a failure.
"""

import csv
import os
import re
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from conftest import REPO, SNAKEMAKE, report_file
from slurm_cluster import LocalSlurm, unavailable_reason

# one local SLURM per machine: the tests share it (a module fixture; xdist --dist loadfile)
pytestmark = pytest.mark.slow

#: how this test's site is polled: no accounting database, so squeue (MinJobAge is an hour)
SITE = [
    "--resources",
    "mem_mb=8000",  # this node has 2 CPUs: 2 grouped K-means runs (4 GB each) at a time
    "--slurm-no-account",
    "--slurm-status-command",
    "squeue",
    "--slurm-init-seconds-before-status-checks",
    "2",
    "--seconds-between-status-checks",
    "2",
]
LOCALRULES = {
    "all",
    "download",
    "aggregate",
    "plot_sweep",
    "plot_crossover",
    "report",
    "assignments",
    "group",
}


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    reason = unavailable_reason()
    if reason:
        if os.environ.get("DEEPCLUST_REQUIRE_SLURM"):
            pytest.fail(f"DEEPCLUST_REQUIRE_SLURM is set but: {reason}")
        pytest.skip(f"local SLURM: {reason}")
    with LocalSlurm(tmp_path_factory.mktemp("slurm")) as cluster:
        yield cluster


def two_seeds_two_clusterers() -> dict:
    """2 seeds x (pixels with 2 clusterers + a trained AE with 1) on scikit-learn's digits."""
    return {
        "device": "cpu",
        "seeds": [0, 1],
        "datasets": {"digits": {"source": "digits"}},
        "extractors": {
            "pixels": {"model": "pixels"},
            "dense_ae": {
                "model": "dense_ae",
                "model_args": {"hidden_dims": [32]},
                "epochs": 2,
                "batch_size": 128,
            },
        },
        "clusterers": {
            "kmeans": {"method": "kmeans", "params": {"n_init": 2}},
            "kmeans_one": {"method": "kmeans", "params": {"n_init": 1}},
        },
        "experiments": {
            "pixels_kmeans": {"extractor": "pixels", "clusterer": "kmeans"},
            "pixels_kmeans_one": {"extractor": "pixels", "clusterer": "kmeans_one"},
            "ae_kmeans": {"extractor": "dense_ae", "clusterer": "kmeans"},
        },
    }


def run_snakemake(workdir: Path, config: dict, *args: str, env=None, **popen):
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    cmd = [*SNAKEMAKE, "--directory", str(workdir), "--configfile", str(workdir / "config.yaml")]
    if popen:
        return subprocess.Popen([*cmd, *args], env=env, text=True, **popen)
    return subprocess.run([*cmd, *args], env=env, capture_output=True, text=True, timeout=1200)


def metrics(workdir: Path) -> dict:
    rows = csv.DictReader(open(workdir / report_file("summary")))
    return {(r["extractor"], r["clusterer"], r["seed"]): (r["acc"], r["nmi"]) for r in rows}


def test_workflow_through_slurm_matches_local_run_with_grouped_clustering(slurm, tmp_path):
    config = two_seeds_two_clusterers()
    target = report_file("summary")
    local = run_snakemake(tmp_path / "local", config, "--cores", "2", target)
    assert local.returncode == 0, local.stderr[-3000:]

    before = {j["id"] for j in slurm.jobs()}
    run = run_snakemake(
        tmp_path / "slurm",
        config,
        "--profile",
        str(REPO / "profiles" / "slurm"),
        *SITE,
        target,
        env=slurm.env,
    )
    log = run.stdout + run.stderr
    assert run.returncode == 0, log[-5000:]
    jobs = [j for j in slurm.jobs() if j["id"] not in before]

    # Every job but the profile's localrules went through sbatch, and succeeded first time.
    assert set(re.findall(r"^localrule (\w+):", log, re.M)) <= LOCALRULES
    assert all(j["state"] == "COMPLETED" for j in jobs), jobs
    kinds = sorted(re.sub(r"_wildcards_.*", "", j["comment"]) for j in jobs)
    # 1 preprocess, 2 pretrainings, 4 feature extractions; the 6 K-means runs (2 seeds x
    # (2 pixel clusterers + 1 on the AE)) are 6 components of group "clustering", and the
    # profile allows 20 per job: one SLURM job for all of them (the plugin names a group job
    # by its group and rules), instead of six; and the pixel kNN graph of the label-free pick.
    assert kinds == sorted(
        ["rule_preprocess", "rule_graph"]
        + ["rule_pretrain"] * 2
        + ["rule_features"] * 4
        + ["rule_clustering_cluster"]
    ), kinds
    # GPU rules asked for a GPU on the gpu partition, the rest for none on the cpu partition.
    for j in jobs:
        gpu_rule = j["comment"].startswith(("rule_pretrain", "rule_features"))
        assert (j["partition"], j["gpus"]) == (("gpu", 1) if gpu_rule else ("cpu", 0)), j

    # Same numbers as on one machine: the cluster changes where jobs run, not what they compute.
    assert metrics(tmp_path / "slurm") == metrics(tmp_path / "local")
    assert len(metrics(tmp_path / "local")) == 6


def test_requeued_pretraining_resumes_from_its_checkpoint(slurm, tmp_path):
    config = two_seeds_two_clusterers()
    config["seeds"] = [0]
    config["extractors"]["dense_ae"].update({"epochs": 60, "checkpoint_every": 1, "batch_size": 64})
    run_dir = tmp_path / "results" / "digits" / "dense_ae" / "seed0"
    before = {j["id"] for j in slurm.jobs()}
    proc = run_snakemake(
        tmp_path,
        config,
        "--profile",
        str(REPO / "profiles" / "slurm"),
        *SITE,
        str(run_dir.relative_to(tmp_path) / "model.pt"),
        env=slurm.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        # Wait until the job has written a checkpoint a few epochs in, then requeue it, as
        # SLURM does when a higher-priority job preempts it (PreemptMode=REQUEUE).
        deadline = time.monotonic() + 300
        while _epochs(run_dir, "train_log.live.csv") < 3:  # the log of a run still training
            assert proc.poll() is None, proc.stdout.read()[-3000:]
            assert time.monotonic() < deadline, "pretraining never got going"
            time.sleep(0.5)
        assert (run_dir / "checkpoint.pt").exists()
        (job,) = [j for j in slurm.jobs() if j["id"] not in before and "pretrain" in j["comment"]]
        slurm.run("scontrol", "requeue", job["id"])
        # SLURM holds a requeued job back ~2 minutes (Reason=BeginTime); as an admin may, let
        # it start at once: the test is about what the job does when it runs again
        deadline = time.monotonic() + 60
        while _state(slurm, job["id"]) != "PENDING":
            assert time.monotonic() < deadline, _state(slurm, job["id"])
            time.sleep(0.2)
        # ...but not within the second of the requeue: slurmd refuses a credential made in the
        # second it revoked the job's last one (ctime <= revoked, whole seconds), and the job
        # ends FAILED ("Job credential revoked"). SLURM's own hold-back avoids that.
        time.sleep(2)
        slurm.run("scontrol", "update", f"jobid={job['id']}", "StartTime=now")
        out, _ = proc.communicate(timeout=900)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out[-5000:]
    (job,) = [j for j in slurm.jobs() if j["id"] == job["id"]]
    assert job["restarts"] == 1 and job["state"] == "COMPLETED", job

    # The second run started from the checkpoint, not from epoch 0, and finished the schedule.
    pretrain_log = tmp_path / "results" / "logs" / "pretrain" / "digits" / "dense_ae" / "seed0.log"
    resumed = re.search(r"resumed from epoch (\d+)", pretrain_log.read_text())
    assert resumed and int(resumed[1]) >= 3, pretrain_log.read_text()[-2000:]
    assert _epochs(run_dir) == 60 and (run_dir / "model.pt").exists()
    assert not (run_dir / "checkpoint.pt").exists()  # deleted once the model is written


def _state(slurm, job_id: str) -> str:
    return next(j["state"] for j in slurm.jobs() if j["id"] == job_id)


def _epochs(run_dir: Path, name: str = "train_log.csv") -> int:
    try:
        return len(list(csv.DictReader(open(run_dir / name))))
    except (FileNotFoundError, csv.Error):
        return 0


def test_slurm_profile_names_real_rules_and_sends_every_gpu_rule_to_the_gpu_partition():
    """Static, no SLURM needed: a renamed rule must not silently drop out of the profile."""
    profile = yaml.safe_load((REPO / "profiles" / "slurm" / "config.yaml").read_text())
    rules_text = "".join(p.read_text() for p in (REPO / "workflow" / "rules").glob("*.smk"))
    blocks = dict(re.findall(r"^rule (\w+):\n(.*?)(?=^rule |\Z)", rules_text, re.M | re.S))
    gpu_rules = {name for name, body in blocks.items() if re.search(r"^\s+gpu=1,", body, re.M)}
    assert gpu_rules == {"pretrain", "features", "refine"}
    for rule in gpu_rules:
        assert profile["set-resources"][rule]["slurm_partition"] == "gpu", rule
    named = set(profile["set-resources"]) | {g.split("=")[0] for g in profile["groups"]}
    assert named <= set(blocks), named - set(blocks)
    groups = {g.split("=")[1] for g in profile["groups"]}
    assert groups == {c.split("=")[0] for c in profile["group-components"]}
    snakefile = (REPO / "Snakefile").read_text()
    localrules = set(re.findall(r"^    (\w+),$", snakefile.split("localrules:")[1], re.M))
    assert localrules == LOCALRULES and localrules - {"all"} <= set(blocks)
