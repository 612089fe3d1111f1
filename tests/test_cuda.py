"""The CUDA path, where a GPU exists (skipped elsewhere): every model pretrains, extracts features
and is refined on the GPU at tiny size through the stage functions the rules call; GPU and CPU
features agree; a model saved on the GPU reloads on the CPU; an interrupted GPU run resumes;
the kNN graph built on the GPU is the CPU's.

Needs no Snakemake: ``PYTHONPATH=src python -m pytest tests/test_cuda.py`` on a GPU machine.
``DEEPCLUST_TEST_DEVICE=cpu`` runs the same tests on the CPU, to check this file's own logic on
a machine without a GPU (its CPU-vs-GPU comparisons then compare the CPU with itself).
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch

from conftest import TINY_REFINERS
from deepclust.clustering.graph import knn_graph
from deepclust.io import read_features, write_h5
from deepclust.model_file import load_model
from deepclust.models import MODELS
from deepclust.stages import run_features, run_graph, run_pretrain, run_refine
from deepclust.train_config import TrainConfig
from deepclust.training import Trainer

DEVICE = os.environ.get("DEEPCLUST_TEST_DEVICE", "cuda")
pytestmark = pytest.mark.skipif(
    DEVICE.startswith("cuda") and not torch.cuda.is_available(), reason="needs a CUDA GPU"
)
TRAINED = sorted(set(MODELS) - {"pixels"})


@pytest.fixture(scope="module")
def data_h5(tmp_path_factory):
    """Three classes of 16x16 images (bright top / left / centre), 96 of them."""
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 0.1, (96, 1, 16, 16)).astype(np.float32)
    labels = np.arange(96) % 3
    images[labels == 0, :, :5] += 0.8
    images[labels == 1, :, :, :5] += 0.8
    images[labels == 2, :, 5:11, 5:11] += 0.8
    path = tmp_path_factory.mktemp("data") / "data.h5"
    write_h5(path, {"images": images.clip(0, 1), "labels": labels}, {"n_clusters": 3})
    return path


def _extractor(name: str) -> dict:
    cfg = {"model": name, "epochs": 2, "batch_size": 32}
    if name in {"ascae", "scae"}:
        cfg.update(input_scale=255.0, model_args={"lam": 1.0})
    return cfg


@pytest.fixture(scope="module")
def pretrained(data_h5, tmp_path_factory):
    """Every trained model, pretrained on the GPU: name -> folder with model.pt."""
    runs = {}
    for name in TRAINED:
        folder = tmp_path_factory.mktemp(name)
        run_pretrain(
            str(data_h5),
            _extractor(name),
            seed=0,
            device=DEVICE,
            model_path=str(folder / "model.pt"),
            log_csv=str(folder / "log.csv"),
            checkpoint_path=str(folder / "ckpt.pt"),
        )
        runs[name] = folder
    return runs


@pytest.mark.parametrize("name", TRAINED)
def test_pretrained_on_the_gpu_reloads_on_the_cpu(pretrained, name):
    model, hparams = load_model(pretrained[name] / "model.pt", "cpu")
    assert all(p.device.type == "cpu" for p in model.parameters())
    assert hparams["trained_on"]["device"].startswith(DEVICE)
    expected = "fp32"
    if DEVICE.startswith("cuda") and torch.cuda.is_bf16_supported(including_emulation=False):
        expected = "bf16-autocast"
    assert hparams["trained_on"]["precision"] == expected
    assert not (pretrained[name] / "ckpt.pt").exists()


@pytest.mark.parametrize("name", TRAINED)
def test_gpu_and_cpu_features_agree(data_h5, pretrained, name):
    """The same weights give the same features on both devices, up to TF32 / kernel rounding."""
    folder = pretrained[name]
    for device in (DEVICE, "cpu"):
        run_features(
            str(data_h5),
            _extractor(name),
            str(folder / f"features_{device}.h5"),
            device=device,
            model_path=str(folder / "model.pt"),
        )
    gpu, _, attrs = read_features(str(folder / f"features_{DEVICE}.h5"))
    cpu, _, _ = read_features(str(folder / "features_cpu.h5"))
    assert attrs["pretraining"]["device"].startswith(DEVICE)
    scale = max(float(np.abs(cpu).max()), 1e-6)
    np.testing.assert_allclose(gpu / scale, cpu / scale, atol=5e-3)


def _refine(data_h5, model, clusterer: dict, out, graph=None) -> dict:
    """run_refine as the rule calls it, on DEVICE, writing into ``out``."""
    return run_refine(
        str(data_h5),
        str(model),
        clusterer,
        seed=0,
        device=DEVICE,
        labels_out=str(out / "labels.h5"),
        metrics_out=str(out / "metrics.json"),
        model_out=str(out / "refined.pt"),
        log_csv=str(out / "log.csv"),
        run={"experiment": "e", "dataset": "d", "extractor": "x", "clusterer": clusterer["method"]},
        graph_h5=None if graph is None else str(graph),
    )


@pytest.mark.parametrize("method", sorted(TINY_REFINERS))
def test_every_refiner_runs_on_the_gpu(data_h5, pretrained, tmp_path, method):
    name, params = TINY_REFINERS[method]
    clusterer = {"method": method, "params": params}
    graph = None
    if method in {"sdcn", "sddecc"}:
        graph = tmp_path / "graph.h5"
        attrs = run_graph(str(data_h5), str(graph), k=3, metric="euclidean", device=DEVICE)
        assert attrs["device"].startswith(DEVICE)
    record = _refine(data_h5, pretrained[name] / "model.pt", clusterer, tmp_path, graph)
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["environment"]["device"].startswith(DEVICE)
    assert saved["pretraining"]["device"].startswith(DEVICE)
    assert 0.0 <= record["metrics"]["acc"] <= 1.0
    model, _ = load_model(tmp_path / "refined.pt", "cpu")
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_an_interrupted_gpu_run_resumes_where_it_stopped(tmp_path):
    """Checkpoints on the GPU hold its RNG and optimizer state; the resumed run continues."""
    from deepclust.models import build_model

    images = np.random.default_rng(1).uniform(0, 1, (64, 1, 8, 8)).astype(np.float32)
    cfg = TrainConfig(epochs=4, batch_size=16, checkpoint_every=1)
    device = torch.device(DEVICE)
    ckpt = tmp_path / "ckpt.pt"

    class Stop(Exception):
        pass

    def stop(epoch, row):
        if epoch == 2:
            raise Stop

    first = Trainer(cfg, device, checkpoint_path=ckpt, checkpoint_min_seconds=0, callbacks=(stop,))
    with pytest.raises(Stop):
        first.fit(build_model("conv_ae", (1, 8, 8), 4), images, seed=0)
    again = Trainer(cfg, device, checkpoint_path=ckpt, checkpoint_min_seconds=0)
    again.fit(build_model("conv_ae", (1, 8, 8), 4), images, seed=0)
    assert again.resumed_from == 2 and len(again.history) == 4
    assert all(np.isfinite(row["loss"]) for row in again.history)


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_the_gpu_knn_graph_is_the_cpus(metric):
    X = np.random.default_rng(2).normal(size=(3000, 64)).astype(np.float32)
    gpu = knn_graph(X, 3, metric=metric, device=DEVICE)
    cpu = knn_graph(X, 3, metric=metric, device="cpu")
    # TF32 is off for this search's float32 GEMM only if the backend honours it; allow the odd
    # near-tie to differ, as bench/gpu_check.py's recall does
    same = len({*map(tuple, gpu.T)} & {*map(tuple, cpu.T)})
    assert same / cpu.shape[1] >= 0.999


def test_a_compiled_step_trains_like_the_eager_one():
    """compile: true (torch.compile; CUDA graphs on a GPU) is a speed setting: same losses."""
    from deepclust.models import build_model

    images = np.random.default_rng(3).uniform(0, 1, (256, 1, 16, 16)).astype(np.float32)
    losses = {}
    for compiled in (False, True):
        torch.manual_seed(0)
        trainer = Trainer(TrainConfig(epochs=3, batch_size=64), torch.device(DEVICE),
                          compile=compiled)  # fmt: skip
        trainer.fit(build_model("conv_ae", (1, 16, 16), 4), images, seed=0)
        losses[compiled] = [row["loss"] for row in trainer.history]
    np.testing.assert_allclose(losses[True], losses[False], rtol=2e-2)


@pytest.mark.parametrize("name", TRAINED)
def test_every_model_is_refined_by_dekm_on_the_gpu(data_h5, pretrained, tmp_path, name):
    """Any pretrained network combines with a feature refiner; here each with DEKM."""
    dekm = {"method": "dekm", "params": TINY_REFINERS["dekm"][1]}
    record = _refine(data_h5, pretrained[name] / "model.pt", dekm, tmp_path)
    assert record["refinement"]["iterations"] >= 1
    assert record["environment"]["device"].startswith(DEVICE)
