"""The offload to a short GPU window (deepclust.offload), without a GPU: the plan's order and
budget cut, the pack's cap and data, the codec, the result pieces' cap, and one round trip on
the CPU (pack -> run with a plain Python that cannot import Snakemake or UMAP -> unpack ->
`snakemake -n` plans no training), with a config changed since refused by name."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import h5py
import numpy as np
import pytest
import torch
import yaml

from conftest import REPO, SNAKEMAKE, make_blobs, planned_jobs
from deepclust.data.preprocess import resize
from deepclust.offload import jobs as offload_jobs
from deepclust.offload import speeds
from deepclust.offload.archive import open_pieces, read_stream, write_pieces
from deepclust.offload.codec import content_digest, pack_dataset, restore_dataset
from deepclust.offload.jobs import Job
from deepclust.offload.pack import pack
from deepclust.offload.remote import next_level
from deepclust.offload.unpack import differences, unpack

CONFIG = {
    "device": "cpu",
    "seeds": [0],
    "datasets": {
        "blobs": {"source": "npz", "path": "blobs.npz"},
        "other": {"source": "npz", "path": "blobs.npz"},  # not targeted: not packed, not built
    },
    "extractors": {
        "dense_ae": {
            "model": "dense_ae",
            "model_args": {"hidden_dims": [16, 16]},
            "epochs": 2,
            "batch_size": 64,
            "lr": 0.001,
        },
        "conv_ae": {"model": "conv_ae", "epochs": 1, "batch_size": 64, "lr": 0.001},
    },
    "clusterers": {
        "kmeans": {"method": "kmeans", "params": {"n_init": 2}},
        "dekm": {"method": "dekm", "params": {"max_iter": 2, "tol": 0.001}},
    },
    "experiments": {
        "ae_kmeans": {"extractor": "dense_ae", "clusterer": "kmeans"},
        "cae_dekm": {"extractor": "conv_ae", "clusterer": "dekm"},
    },
}
TRAINING_RULES = {"pretrain", "features", "refine", "graph"}
TARGETS = ["results/blobs/dense_ae/seed0", "results/blobs/conv_ae/seed0/dekm/metrics.json"]
#: what the window's runs feed here: K-means on the network, the DEKM run's metrics
HOME_TARGETS = ["results/blobs/dense_ae/seed0/kmeans/metrics.json", TARGETS[1]]


def _job(name: str, seconds: float, dataset: str = "mnist") -> Job:
    return Job(
        config="c.yaml",
        dataset=dataset,
        extractor=name,
        seed=0,
        model="dense_ae",
        epochs=1,
        pretrain={},
        features={},
        settings={},
        estimate_s=seconds,
    )


def test_cut_fills_a_window_in_order_and_passes_over_a_job_too_long_for_what_is_left():
    capacity = speeds.window_capacity(100, 1)
    jobs = [_job("a", 60), _job("b", 50), _job("c", 30), _job("d", 20)]
    taken, rest = offload_jobs.cut(jobs, 100, 1)
    assert capacity == 100
    assert [j.extractor for j in taken] == ["a", "c"]  # b does not fit after a; c does
    assert [j.extractor for j in rest] == ["b", "d"]
    assert offload_jobs.windows_needed(jobs, 100, 1) == 2
    # sharing the GPU holds more; a job longer than a window takes several (it resumes)
    assert offload_jobs.cut(jobs, 100, 3)[1] == []
    assert offload_jobs.windows_needed([_job("long", 250)], 100, 1) == 3


def test_the_paper_plan_puts_each_papers_own_method_on_mnist_first_and_no_substitute_data():
    jobs = offload_jobs.paper_jobs(REPO)
    assert jobs, "the pages have GPU cells left"
    ranks = [(offload_jobs._dataset_rank(_paper_dataset(j)), j) for j in jobs]
    assert [r for r, _ in ranks] == sorted(r for r, _ in ranks)  # MNIST, Fashion-MNIST, the rest
    own = {"SDEKC": "sdekc", "SDDECC": "sddecc", "MFVC": "mfvc", "ASCAE": "ascae"}
    first_mnist = [j for r, j in ranks if r == 0]
    owns = [
        any(c.split()[1].split("/")[0] == own[c.split()[0]] for c in j.cells) for j in first_mnist
    ]
    assert owns == sorted(owns, reverse=True)  # own methods, then ablations and baselines
    assert not any(j.dataset.startswith("coil20") for j in jobs)  # a GPU does not change the data
    assert all(len(j.cells) >= 1 and j.config for j in jobs)


def _paper_dataset(job: Job) -> str:
    return job.cells[0].split("/")[-1]


def test_a_target_must_name_a_run_of_its_config(tmp_path):
    (tmp_path / "blobs.npz").write_bytes(b"")
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(CONFIG))
    jobs = offload_jobs.config_jobs("c.yaml", [TARGETS[1]], base_dir=tmp_path)
    assert [(j.extractor, sorted(j.refiners)) for j in jobs] == [("conv_ae", ["dekm"])]
    with pytest.raises(ValueError, match="results/blobs/cae/seed0: not a run of c.yaml"):
        offload_jobs.config_jobs("c.yaml", ["results/blobs/cae/seed0"], base_dir=tmp_path)
    with pytest.raises(ValueError, match="not a run's path"):
        offload_jobs.parse_target("results/blobs/cae")


def test_the_codec_narrows_bytes_and_resized_bytes_and_keeps_other_floats_with_their_content(
    tmp_path,
):
    labels = np.arange(50) % 5
    exact = (np.arange(50 * 64) % 256).astype(np.uint8).reshape(50, 1, 8, 8)
    for name, images, codec in (
        ("bytes", exact.astype(np.float32) / np.float32(255), "uint8/255"),
        ("floats", np.random.default_rng(0).random((50, 1, 8, 8), dtype=np.float32), "float32"),
    ):
        source = tmp_path / f"{name}.h5"
        with h5py.File(source, "w") as f:
            f["images"], f["labels"] = images, labels
            f.attrs["n_samples"] = 50
        info = pack_dataset(source, tmp_path / f"{name}.packed.h5")
        assert info["codec"] == codec
        restore_dataset(
            tmp_path / f"{name}.packed.h5", tmp_path / f"{name}.back.h5", info["digest"]
        )
        assert content_digest(tmp_path / f"{name}.back.h5") == content_digest(source)
    # resized on the way in: the bytes it was made from, the weights and a residual travel
    resized = resize(exact.astype(np.float32) / np.float32(255), (11, 13))
    with h5py.File(tmp_path / "resized.h5", "w") as f:
        f["images"], f["labels"] = resized, labels
    info = pack_dataset(tmp_path / "resized.h5", tmp_path / "resized.packed.h5", lambda: exact)
    assert info["codec"] == "uint8/255 resized"
    restore_dataset(tmp_path / "resized.packed.h5", tmp_path / "resized.back.h5", info["digest"])
    with h5py.File(tmp_path / "resized.back.h5") as f:
        assert f["images"][()].tobytes() == resized.tobytes()
    assert (
        pack_dataset(tmp_path / "resized.h5", tmp_path / "r2.h5", lambda: None)["codec"]
        == "float32"
    )
    with pytest.raises(ValueError, match="not written"):
        restore_dataset(tmp_path / "bytes.packed.h5", tmp_path / "other.h5", "0" * 64)
    assert not (tmp_path / "other.h5").exists()


def test_a_pack_holds_only_the_data_its_jobs_read_within_its_cap_and_names_what_waits(tmp_path):
    rng = np.random.default_rng(0)
    for name, n in (("small", 100), ("big", 5000)):  # floats: they travel as floats
        path = tmp_path / f"data/processed/{name}.h5"
        path.parent.mkdir(parents=True, exist_ok=True)
        with h5py.File(path, "w") as f:
            f["images"] = rng.random((n, 1, 16, 16), dtype=np.float32)
            f["labels"] = np.arange(n) % 3
            f.attrs["n_samples"] = n
    jobs = [_job("a", 1, "small"), _job("b", 1, "big"), _job("c", 1, "unused")]
    trained = tmp_path / jobs[0].run_dir  # a network already here travels with its job
    trained.mkdir(parents=True)
    (trained / "model.pt").write_bytes(b"weights")
    (trained / "train_log.csv").write_text("epoch,loss\n1,0.5\n")
    manifest = pack(jobs[:2], tmp_path / "pack", base_dir=tmp_path, max_mib=2.5)
    assert (tmp_path / "pack" / jobs[0].run_dir / "model.pt").read_bytes() == b"weights"
    assert [j["dataset"] for j in manifest["jobs"]] == ["small"]
    assert "data/processed/big.h5 packs to" in manifest["left"]["results/big/b/seed0"]
    assert sorted(p.name for p in (tmp_path / "pack" / "data").iterdir()) == ["small.h5"]
    assert manifest["bytes"] <= 2.5 * (1 << 20)
    with pytest.raises(ValueError, match="no job fits"):
        pack(jobs[1:2], tmp_path / "pack2", base_dir=tmp_path, max_mib=2.5)
    with pytest.raises(FileNotFoundError, match="unused.h5: not built"):
        pack(jobs[2:], tmp_path / "pack3", base_dir=tmp_path)


def test_result_pieces_stay_under_their_caps_and_name_what_was_left(tmp_path):
    home = tmp_path / "home"
    jobs = []
    for seed in range(3):
        job = _job("dense_ae", 1)
        job.seed = seed
        tail = f"mnist/dense_ae/seed{seed}"
        for path, size in (
            (f"{job.run_dir}/model.pt", 3 << 20),
            (f"{job.run_dir}/train_log.csv", 100),
            (f"results/logs/pretrain/{tail}.log", 100),
            (f"results/benchmarks/pretrain/{tail}.tsv", 20),
            (f"{job.run_dir}/features.h5", 2 << 20),
            (f"results/logs/features/{tail}.log", 100),
            (f"results/benchmarks/features/{tail}.tsv", 20),
        ):
            (home / path).parent.mkdir(parents=True, exist_ok=True)
            (home / path).write_bytes(np.random.default_rng(seed).bytes(size))
        jobs.append(job.to_dict())
    names = write_pieces(
        home,
        {"jobs": jobs, "datasets": {}},
        {"device": "cpu"},
        tmp_path / "out",
        max_files=4,
        max_file_bytes=3 << 20,
        max_total_bytes=10 << 20,
    )
    sizes = [(tmp_path / "out" / n).stat().st_size for n in names]
    assert len(names) <= 4 and max(sizes) <= 3 << 20 and sum(sizes) <= 10 << 20
    manifest, report = read_stream(open_pieces(tmp_path / "out"))
    # every network first (9 MiB), then no room for features: they are named as left out
    assert report["sent"] == [f"results/mnist/dense_ae/seed{s}: network" for s in range(3)]
    assert report["left_out"] == [f"results/mnist/dense_ae/seed{s}: features" for s in range(3)]
    (tmp_path / "out" / names[1]).unlink()
    with pytest.raises(ValueError, match="missing"):
        open_pieces(tmp_path / "out")


def test_the_gpu_is_shared_by_the_fastest_level_measured():
    assert next_level([1, 3, 6], {}) == (1, False)
    assert next_level([1, 3, 6], {1: 100.0}) == (3, False)
    assert next_level([1, 3, 6], {1: 100.0, 3: 290.0, 6: 250.0}) == (3, True)


def test_differences_name_each_key_that_changed():
    made = {"lr": 0.001, "model_args": {"hidden_dims": [8]}, "epochs": 2}
    today = {"lr": 0.002, "model_args": {"hidden_dims": [8]}, "epochs": 2, "amp": "auto"}
    assert differences(made, today) == [
        "amp: made with None, config says 'auto'",
        "lr: made with 0.001, config says 0.002",
    ]


@pytest.fixture(scope="module")
def window(tmp_path_factory):
    """A workflow folder with its data built, the pack of its jobs, and the pieces that a run
    in a Python without Snakemake or UMAP brought back."""
    root = tmp_path_factory.mktemp("offload")
    work = root / "work"
    work.mkdir()
    images, labels = make_blobs()
    np.savez(work / "blobs.npz", images=images[:, 0], labels=labels)
    config = work / "config.yaml"
    config.write_text(yaml.safe_dump(CONFIG))
    built = subprocess.run(
        [
            *SNAKEMAKE,
            "--directory",
            str(work),
            "--configfile",
            str(config),
            "--cores",
            "1",
            "data/processed/blobs.h5",
        ],
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stderr
    jobs = [
        offload_jobs.estimate(j, work)
        for j in offload_jobs.config_jobs(str(config), TARGETS, base_dir=work)
    ]
    manifest = pack(jobs, root / "pack", base_dir=work)
    blocker = root / "blocker"
    for module in ("snakemake", "umap", "pynndescent"):
        (blocker / module).mkdir(parents=True)
        (blocker / module / "__init__.py").write_text(f"raise ImportError('no {module} there')\n")
    ran = subprocess.run(
        [sys.executable, "run.py", "--out", str(root / "out"), "--deadline-s", "300"],
        cwd=root / "pack",
        capture_output=True,
        text=True,
        timeout=600,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(blocker), "HOME": str(root)},
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    return {"root": root, "work": work, "config": config, "manifest": manifest, "ran": ran}


def _dry_run(window) -> dict[str, int]:
    """The jobs Snakemake plans for the window's targets here."""
    command = [*SNAKEMAKE, "-n", "--directory", str(window["work"]), "--configfile"]
    command += [str(window["config"]), "--cores", "1", *HOME_TARGETS]
    return planned_jobs(subprocess.run(command, capture_output=True, text=True))


@pytest.mark.slow
def test_a_round_trip_trains_there_without_snakemake_and_snakemake_plans_no_training_here(window):
    manifest, work = window["manifest"], window["work"]
    assert [j["extractor"] for j in manifest["jobs"]] == ["dense_ae", "conv_ae"]
    assert set(manifest["datasets"]) == {"blobs"}  # only the data the jobs read
    assert not (window["root"] / "pack" / "data" / "other.h5").exists()
    report = json.loads(window["ran"].stdout[window["ran"].stdout.index("{") :])
    assert report["errors"] == {} and set(report["finished"].values()) == {0}
    assert {"pretrain", "refine"} <= set(_dry_run(window))
    result = unpack(window["root"] / "out", work)
    assert not result["refused"]
    assert (work / "results/blobs/conv_ae/seed0/dekm/metrics.json").exists()
    after = _dry_run(window)
    assert not TRAINING_RULES & set(after), after  # clustering and the report run here
    assert after.get("cluster") == 1
    # unpacking again keeps what is here
    again = unpack(window["root"] / "out", work, record=False)
    assert again["placed"] == [] and again["kept"]


@pytest.mark.slow
def test_results_made_with_other_parameters_than_the_config_are_refused_by_name(window):
    other = window["root"] / "other"
    shutil.copytree(window["work"] / "data", other / "data")
    changed = {
        **CONFIG,
        "extractors": {
            **CONFIG["extractors"],
            "dense_ae": {**CONFIG["extractors"]["dense_ae"], "lr": 0.01},
        },
    }
    shutil.copy(window["work"] / "blobs.npz", other / "blobs.npz")
    (other / "config.yaml").write_text(yaml.safe_dump(changed))
    # the manifest names the config by its path: the changed one is put where the job says
    job_config = window["config"]
    saved = job_config.read_text()
    try:
        job_config.write_text(yaml.safe_dump(changed))
        result = unpack(window["root"] / "out", other, record=False)
    finally:
        job_config.write_text(saved)
    assert result["refused"] == {
        "results/blobs/dense_ae/seed0": ["lr: made with 0.001, config says 0.01"]
    }
    assert not (other / "results/blobs/dense_ae/seed0/model.pt").exists()
    assert (other / "results/blobs/conv_ae/seed0/model.pt").exists()  # its own config is unchanged


@pytest.mark.slow
def test_a_job_stopped_at_the_deadline_resumes_from_its_checkpoint_in_the_next_window(tmp_path):
    """A training longer than a window: its checkpoint comes home, travels with the next
    pack, and the next window trains on from it."""
    work = tmp_path / "work"
    work.mkdir()
    images, labels = make_blobs()
    np.savez(work / "blobs.npz", images=images[:, 0], labels=labels)
    config = {**CONFIG, "datasets": {"blobs": CONFIG["datasets"]["blobs"]}}
    config["extractors"] = {"conv_ae": {**CONFIG["extractors"]["conv_ae"], "epochs": 100000}}
    config["experiments"] = {"cae_kmeans": {"extractor": "conv_ae", "clusterer": "kmeans"}}
    (work / "config.yaml").write_text(yaml.safe_dump(config))
    built = subprocess.run(
        [*SNAKEMAKE, "--directory", str(work), "--configfile", str(work / "config.yaml")]
        + ["--cores", "1", "data/processed/blobs.h5"],
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stderr
    run_dir = work / "results/blobs/conv_ae/seed0"

    def window(name: str, deadline: int) -> dict:
        jobs = offload_jobs.config_jobs(str(work / "config.yaml"), base_dir=work)
        manifest = pack(jobs, tmp_path / name, base_dir=work)
        if name == "second":  # the first window's checkpoint travels with the job
            assert (tmp_path / name / "results/blobs/conv_ae/seed0/checkpoint.pt").exists()
            assert manifest["jobs"][0]["extractor"] == "conv_ae"
        ran = subprocess.run(
            [sys.executable, "run.py", "--out", str(tmp_path / f"{name}-out")]
            + ["--deadline-s", str(deadline), "--stop-margin-s", "3"],
            cwd=tmp_path / name,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert ran.returncode == 0, ran.stdout + ran.stderr
        return unpack(tmp_path / f"{name}-out", work)

    first = window("first", 40)
    assert first["report"]["sent"] == ["results/blobs/conv_ae/seed0: checkpoint"]
    assert (run_dir / "checkpoint.pt").exists() and not (run_dir / "model.pt").exists()
    reached = torch.load(run_dir / "checkpoint.pt", weights_only=True)["epoch"]
    second = window("second", 40)
    assert second["report"]["sent"] == ["results/blobs/conv_ae/seed0: checkpoint"]
    log = (work / "results/logs/pretrain/blobs/conv_ae/seed0.log").read_text()
    assert re.search(rf"resuming from .* at epoch {reached}\b", log), log[-2000:]
    assert torch.load(run_dir / "checkpoint.pt", weights_only=True)["epoch"] > reached
