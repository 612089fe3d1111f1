"""Shared fixtures: small synthetic data made in the test, never downloaded."""

from __future__ import annotations

import gzip
import re
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from deepclust.config.compose import resolve_extends
from deepclust.paths import path

REPO = Path(__file__).resolve().parents[1]
#: the real Snakefile, run by the end-to-end tests in a subprocess
SNAKEMAKE = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile")]
SHARED_DATASETS = REPO.parent / "shared" / "datasets"
#: jobs that follow every clustering change: the tables, the run's figures and the report
DOWNSTREAM = {"aggregate", "all", "plot_run", "plot_refinement", "report"}
#: the report's name of a config the tests write (config.yaml): its tables, report and grouped
#: folders are in results/reports/config/
NAME = "config"
#: the target of end-to-end tests that check numbers, not figures
TABLES = (path("table_md", name=NAME),)


def report_file(name: str, **wildcards) -> str:
    """File ``name`` of the tests' config's report folder (``summary``, ``report``, ...)."""
    return path(name, name=NAME, **wildcards)


def snakemake_command(workdir: Path, config: dict, *args: str, **yaml_style) -> list[str]:
    """The real Snakefile on ``workdir`` with ``config`` (written there as config.yaml, sorted
    unless ``yaml_style`` says otherwise: ``yaml.safe_dump``'s options), 2 cores."""
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, **yaml_style))
    return [
        *SNAKEMAKE,
        "--directory",
        str(workdir),
        "--configfile",
        str(workdir / "config.yaml"),
        "--cores",
        "2",
        *args,
    ]


def snakemake(workdir: Path, config: dict, *args: str, **yaml_style) -> subprocess.CompletedProcess:
    return subprocess.run(
        snakemake_command(workdir, config, *args, **yaml_style),
        capture_output=True,
        text=True,
        timeout=600,
    )


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


def pixels_kmeans_config(dataset: str, folder: Path, n_init: int = 2) -> dict:
    """K-means on the pixels of an own image folder, one seed: the smallest real run."""
    return {
        "device": "cpu",
        "seeds": [0],
        "datasets": {dataset: {"source": "folder", "path": str(folder)}},
        "extractors": {"pixels": {"model": "pixels"}},
        "clusterers": {"kmeans": {"method": "kmeans", "params": {"n_init": n_init}}},
        "experiments": {"pixels_kmeans": {"extractor": "pixels", "clusterer": "kmeans"}},
    }


def small_dense_ae(epochs: int, **options) -> dict:
    """The end-to-end tests' extractor: a dense AE of two 64-unit layers, a few epochs."""
    return {
        "model": "dense_ae",
        "model_args": {"hidden_dims": [64, 64]},
        "epochs": epochs,
        "batch_size": 128,
        **options,
    }


#: every refiner at test size: the network it fine-tunes (a GCN needs one with encoder layers)
#: and parameters that make a few iterations
TINY_REFINERS = {
    "dekm": ("conv_ae", {"max_iter": 2, "update_interval": 2, "batch_size": 16}),
    "idec": ("dense_ae", {"max_iter": 8, "update_interval": 4, "batch_size": 16}),
    "sdcn": ("dense_ae", {"epochs": 2}),
    "sddecc": ("ddecn", {"epochs": 2}),
}


def write_idx_gz(path: Path, array: np.ndarray) -> None:
    """Write a uint8 array in the IDX format, gzipped (the MNIST files' format)."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(struct.pack(">I", n) for n in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


@pytest.fixture
def blobs_images():
    """Three well-separated classes of 8x8 images (:func:`make_blobs`)."""
    return make_blobs()


def make_blobs():
    """Three well-separated classes of 8x8 images: bright top, bright left, bright centre."""
    rng = np.random.default_rng(0)
    images, labels = [], []
    for label in range(3):
        for _ in range(40):
            img = rng.uniform(0, 0.1, (8, 8))
            if label == 0:
                img[:3] += 0.8
            elif label == 1:
                img[:, :3] += 0.8
            else:
                img[3:6, 3:6] += 0.8
            images.append(img.clip(0, 1))
            labels.append(label)
    return np.asarray(images, dtype=np.float32)[:, None], np.asarray(labels)
