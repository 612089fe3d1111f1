"""The prepared GPU check (issue 20): one run on one GPU that says how well the pipeline uses it.

Run by hand on a GPU machine, from the source tree (no install, no Snakemake, no umap-learn):

    PYTHONPATH=src python bench/gpu_check.py [--out bench/RESULTS.md] [--budget 500]

It calls the stage functions the rules call (run_pretrain, run_graph, run_refine) on synthetic
data of the papers' sizes and measures, in one run:

- the GPU's own matmul rate (bf16, and float32 with TF32), the yardstick for the rest;
- pretraining img/s of every model at 70,000 x 28x28 (the Res-VAE at 10,000 x 32x32), eagerly
  and compiled (``compile: true``: torch.compile + CUDA graphs), against each model's FLOP bound;
- the exact kNN graph at 70,000 x 784 on the GPU, and its recall against a float64 search;
- DEKM's seconds per iteration and the GCN stage's (SDCN) peak memory and seconds per epoch at
  70,000;
- three pretraining jobs sharing the GPU (``--resources gpu=3``) against one alone.

Appends its tables to ``--out``; ``--json`` also writes every number. Sections run in that order
and each is skipped (and says so) once the ``--budget`` seconds are spent. ``--device cpu`` and
small ``--samples`` check the script itself on a machine without a GPU.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from results_table import RESULTS, append_table
from train_throughput import flops_per_image

from deepclust.clustering.graph import knn_indices
from deepclust.io import read_h5, write_h5
from deepclust.models import build_model
from deepclust.stages import run_graph, run_pretrain, run_refine

MNIST_MODELS = ["dense_ae", "conv_ae", "skip_cae", "ascae", "scae", "ddecn"]
SCALED = {"ascae": 255.0, "scae": 255.0}  # ASCAE trains on grey levels


def synthetic(path: Path, n: int, shape: tuple[int, int, int], k: int = 10) -> Path:
    """``n`` images of ``k`` blurry classes (class-specific mean image + noise), in the
    processed-dataset layout."""
    rng = np.random.default_rng(0)
    means = rng.uniform(0, 1, (k, *shape)).astype(np.float32)
    labels = np.arange(n) % k
    images = (0.7 * means[labels] + 0.3 * rng.uniform(0, 1, (n, *shape))).astype(np.float32)
    write_h5(path, {"images": images, "labels": labels}, {"n_clusters": k})
    return path


def gib(value: float | None) -> str:
    """GPU memory for the table; none is measured on the CPU."""
    return "n/a (CPU)" if value is None else f"{value:.1f} GiB"


def matmul_rate(dtype: torch.dtype, device: torch.device, n: int = 8192) -> float:
    """Best FLOP/s of an n x n matmul in ``dtype`` (float32 with TF32 where the GPU has it)."""
    a = torch.rand(n, n, device=device, dtype=dtype)
    b = torch.rand(n, n, device=device, dtype=dtype)
    best = float("inf")
    for _ in range(3):
        torch.mm(a, b)
        sync(device)
        tic = time.perf_counter()
        for _ in range(5):
            torch.mm(a, b)
        sync(device)
        best = min(best, (time.perf_counter() - tic) / 5)
    return 2 * n**3 / best


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def pretrain_rate(data: Path, name: str, folder: Path, *, device: str, epochs: int, compile_: bool):
    """run_pretrain as the rule calls it; img/s = median over epochs after the first."""
    cfg = {"model": name, "epochs": epochs, "batch_size": 256, "input_scale": SCALED.get(name, 1.0)}
    folder.mkdir(parents=True, exist_ok=True)
    tic = time.perf_counter()
    run_pretrain(
        str(data),
        cfg,
        seed=0,
        device=device,
        model_path=str(folder / "model.pt"),
        log_csv=str(folder / "log.csv"),
        checkpoint_path=str(folder / "ckpt.pt"),
        compile=compile_,
    )
    wall = time.perf_counter() - tic
    rows = [line.split(",") for line in (folder / "log.csv").read_text().splitlines()]
    header, values = rows[0], rows[1:]
    rate = [float(r[header.index("img_per_s")]) for r in values]
    seconds = [float(r[header.index("seconds")]) for r in values]
    steady = float(np.median(rate[1:])) if len(rate) > 1 else rate[0]
    return {
        "img_per_s": steady,
        "first_epoch_s": seconds[0],
        "steady_epoch_s": float(np.median(seconds[1:])) if len(seconds) > 1 else seconds[0],
        "wall_s": wall,
        "model": str(folder / "model.pt"),
    }


def refine(data: Path, model: str, method: str, params: dict, folder: Path, *, device: str,
           graph: Path | None = None) -> dict:  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    record = run_refine(
        str(data),
        model,
        {"method": method, "params": params},
        seed=0,
        device=device,
        labels_out=str(folder / "labels.h5"),
        metrics_out=str(folder / "metrics.json"),
        model_out=str(folder / "refined.pt"),
        log_csv=str(folder / "log.csv"),
        run={"experiment": method, "dataset": "synthetic", "extractor": "x", "clusterer": method},
        graph_h5=None if graph is None else str(graph),
    )
    peak = torch.cuda.max_memory_allocated() / 2**30 if device.startswith("cuda") else None
    return {
        "iterations": record["refinement"]["iterations"],
        "seconds_per_iteration": record["refinement"]["seconds_per_iteration"],
        "runtime_s": record["runtime_s"],
        "peak_gpu_gib": peak,
    }


def knn_check(data: Path, device: torch.device, n_queries: int = 2000) -> dict:
    """Time the exact kNN graph on the device; recall of k = 3 against float64 for a sample."""
    arrays, _ = read_h5(data, ("images",))
    X = arrays["images"].reshape(len(arrays["images"]), -1)
    tic = time.perf_counter()
    mine = knn_indices(X, 3, device=device)
    seconds = time.perf_counter() - tic
    rows = np.random.default_rng(0).choice(len(X), min(n_queries, len(X)), replace=False)
    X64 = torch.as_tensor(X, dtype=torch.float64, device=device)
    d = torch.cdist(X64[rows], X64)
    d[torch.arange(len(rows)), torch.as_tensor(rows, device=device)] = float("inf")
    exact = torch.topk(d, 3, largest=False).indices.cpu().numpy()
    hits = np.mean([len(set(a) & set(b)) / 3 for a, b in zip(mine[rows], exact, strict=True)])
    return {"seconds": seconds, "recall": float(hits), "n": len(X), "d": X.shape[1]}


def shared_gpu(data: Path, folder: Path, *, device: str, jobs: int, name: str, epochs: int) -> dict:
    """``jobs`` pretraining processes at once on one device: the sum of their img/s."""
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--job",
                name,
                "--data",
                str(data),
                "--device",
                device,
                "--epochs",
                str(epochs),
                "--folder",
                str(folder / f"job{i}"),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for i in range(jobs)
    ]
    rates = [json.loads(p.communicate()[0].strip().splitlines()[-1])["img_per_s"] for p in procs]
    return {"jobs": jobs, "img_per_s_each": rates, "img_per_s_total": float(sum(rates))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--samples", type=int, default=70000)
    parser.add_argument("--resvae-samples", type=int, default=10000)
    parser.add_argument(
        "--epochs", type=int, default=3, help="per throughput run (first = warm-up)"
    )
    # every model compiled: compile's default waits on the four not yet measured (docs/gpu.md);
    # the 2026-12-04 run took 204 of its 370 s with three
    parser.add_argument("--compiled", nargs="*", default=[*MNIST_MODELS, "res_vae"])
    parser.add_argument("--budget", type=float, default=500.0, help="seconds for all sections")
    parser.add_argument("--out", default=str(RESULTS))
    parser.add_argument("--json")
    parser.add_argument("--job", help=argparse.SUPPRESS)  # child process of the shared-GPU test
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.job:
        result = pretrain_rate(Path(args.data), args.job, Path(args.folder), device=args.device,
                               epochs=args.epochs, compile_=False)  # fmt: skip
        print(json.dumps(result))
        return

    start = time.perf_counter()
    left = lambda: args.budget - (time.perf_counter() - start)  # noqa: E731
    device = torch.device(args.device)
    results: dict = {"torch": torch.__version__, "device": str(device), "skipped": []}
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        results.update(
            gpu=props.name,
            capability=f"{props.major}.{props.minor}",
            memory_gib=props.total_memory / 2**30,
            bf16=torch.cuda.is_bf16_supported(including_emulation=False),
        )
        torch.backends.cuda.matmul.allow_tf32 = True
        results["matmul_tflops"] = {
            "bf16": matmul_rate(torch.bfloat16, device) / 1e12,
            "tf32": matmul_rate(torch.float32, device) / 1e12,
        }
        torch.backends.cuda.matmul.allow_tf32 = False
        results["matmul_tflops"]["fp32"] = matmul_rate(torch.float32, device) / 1e12
    else:
        results["matmul_tflops"] = {"fp32": matmul_rate(torch.float32, device, 1024) / 1e12}
    print(json.dumps(results), flush=True)
    peak = max(results["matmul_tflops"].values()) * 1e12

    work = Path(tempfile.mkdtemp(prefix="gpu_check_"))
    mnist = synthetic(work / "mnist.h5", args.samples, (1, 28, 28))
    cifar = synthetic(work / "resvae.h5", args.resvae_samples, (1, 32, 32))

    results["knn"] = knn_check(mnist, device)
    print("knn", json.dumps(results["knn"]), flush=True)

    throughput = []
    plan = [(name, mnist, (1, 28, 28), False) for name in MNIST_MODELS]
    plan.append(("res_vae", cifar, (1, 32, 32), False))
    plan += [(name, cifar if name == "res_vae" else mnist, (1, 32, 32) if name == "res_vae"
              else (1, 28, 28), True) for name in args.compiled]  # fmt: skip
    for name, data, shape, compiled in plan:
        tag = f"{name}{' compiled' if compiled else ''}"
        if left() < (90 if compiled else 20):
            results["skipped"].append(f"pretrain {tag}")
            continue
        run = pretrain_rate(data, name, work / tag.replace(" ", "_"), device=args.device,
                            epochs=args.epochs, compile_=compiled)  # fmt: skip
        flops = flops_per_image(build_model(name, shape, 10), shape, device)
        run.update(name=name, compiled=compiled, mflop_per_image=flops / 1e6,
                   of_bound=run["img_per_s"] * flops / peak)  # fmt: skip
        throughput.append(run)
        print("pretrain", json.dumps(run), flush=True)
    results["pretrain"] = throughput

    models = {r["name"]: r["model"] for r in throughput if not r["compiled"]}
    if "conv_ae" in models and left() > 60:
        results["dekm"] = refine(mnist, models["conv_ae"], "dekm",
                                 {"max_iter": 5, "update_interval": 40, "tol": 0.0},
                                 work / "dekm", device=args.device)  # fmt: skip
        print("dekm", json.dumps(results["dekm"]), flush=True)
    else:
        results["skipped"].append("dekm")
    if "conv_ae" in models and left() > 90:
        graph = work / "graph.h5"
        built = run_graph(str(mnist), str(graph), k=3, metric="euclidean", device=args.device)
        results["gcn"] = refine(mnist, models["conv_ae"], "sdcn", {"epochs": 10}, work / "gcn",
                                device=args.device, graph=graph)  # fmt: skip
        results["gcn"]["graph_s"] = built["build_seconds"]
        print("gcn", json.dumps(results["gcn"]), flush=True)
    else:
        results["skipped"].append("gcn")
    if left() > 60:
        alone = shared_gpu(mnist, work / "alone", device=args.device, jobs=1, name="conv_ae",
                           epochs=args.epochs)  # fmt: skip
        three = shared_gpu(mnist, work / "three", device=args.device, jobs=3, name="conv_ae",
                           epochs=args.epochs)  # fmt: skip
        results["shared"] = {"one": alone, "three": three}
        print("shared", json.dumps(results["shared"]), flush=True)
    else:
        results["skipped"].append("shared")
    results["seconds"] = time.perf_counter() - start
    report(results, args)


def report(results: dict, args) -> None:
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    tf = results["matmul_tflops"]
    facts = (
        f"torch {results['torch']}, {results.get('gpu', results['device'])} "
        f"(capability {results.get('capability', '-')}, bf16 {results.get('bf16', '-')}); "
        f"matmul TFLOP/s: " + ", ".join(f"{k} {v:.1f}" for k, v in tf.items()) + "; "
        f"{results['seconds']:.0f} s in all; skipped: {', '.join(results['skipped']) or 'none'}"
    )
    append_table(
        "GPU check: pretraining throughput (run_pretrain, batch 256)",
        facts + ". Bound = the fastest matmul rate above / the model's training FLOPs per image.",
        ["model", "compiled", "images", "img/s", "first epoch s", "steady epoch s",
         "MFLOP / image", "of bound"],
        [[r["name"], r["compiled"],
          f"{args.resvae_samples if r['name'] == 'res_vae' else args.samples}",
          f"{r['img_per_s']:.0f}", f"{r['first_epoch_s']:.1f}", f"{r['steady_epoch_s']:.2f}",
          f"{r['mflop_per_image']:.2f}", f"{r['of_bound']:.4f}"] for r in results["pretrain"]],
        args.out,
    )  # fmt: skip
    rows = []
    knn = results["knn"]
    rows.append(["kNN graph (exact, k = 3)", f"{knn['n']} x {knn['d']}",
                 f"{knn['seconds']:.1f} s, recall {knn['recall']:.4f} vs float64"])  # fmt: skip
    if "dekm" in results:
        d = results["dekm"]
        rows.append(["DEKM (conv_ae)", f"{args.samples}",
                     f"{d['seconds_per_iteration']:.2f} s / iteration ({d['iterations']} it.)"])  # fmt: skip
    if "gcn" in results:
        g = results["gcn"]
        rows.append(["SDCN GCN stage (conv_ae)", f"{args.samples}",
                     f"{g['seconds_per_iteration']:.2f} s / epoch, peak {gib(g['peak_gpu_gib'])}, "
                     f"graph {g['graph_s']:.1f} s"])  # fmt: skip
    if "shared" in results:
        one, three = results["shared"]["one"], results["shared"]["three"]
        rows.append(["3 conv_ae jobs on one GPU vs 1", f"{args.samples}",
                     f"{three['img_per_s_total']:.0f} vs {one['img_per_s_total']:.0f} img/s "
                     f"({three['img_per_s_total'] / one['img_per_s_total']:.2f}x)"])  # fmt: skip
    append_table("GPU check: graph, refinement, sharing", facts, ["what", "images", "result"],
                 rows, args.out)  # fmt: skip


if __name__ == "__main__":
    main()
