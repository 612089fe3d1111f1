"""Training steps with glibc's default malloc against the trainer's (``runtime.keep_freed_memory``):
img/s and page faults per step, each model at the USPS / MNIST 28x28 / 32x32 sizes.

Run by hand, never in CI:
    .venv/bin/python bench/allocator.py [--threads 2] [--pairs 3] [--models ascae conv_ae]

The malloc setting is per process and one-way, so every measurement is a fresh process (this
script with ``--child``), and the two settings alternate (A B A B ...) so that a machine whose
speed drifts slows both alike; the table gives medians and the median of the pairwise ratios.
Each child times ``--steps`` steps of the model's loss with fused Adam at batch 256,
channels-last, after three warm-up steps: what the trainer does, without its bookkeeping.
Appends one Markdown table to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from results_table import RESULTS, append_table

SIZES = {"usps": (1, 16, 16), "mnist": (1, 28, 28), "mnist32": (1, 32, 32)}
MODELS = ["ascae", "conv_ae", "ddecn", "dense_ae", "res_vae", "scae", "skip_cae"]


def child(model_name: str, size: str, keep: bool, threads: int, steps: int) -> dict:
    """One process's measurement: img/s and minor page faults per step."""
    import resource

    import torch

    from deepclust.models import build_model
    from deepclust.runtime import flush_denormals, keep_freed_memory

    flush_denormals()
    kept = keep_freed_memory() if keep else False
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    layout = torch.channels_last
    model = build_model(model_name, SIZES[size], 10).to(memory_format=layout).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)
    x = torch.rand(256, *SIZES[size]).contiguous(memory_format=layout)

    def step() -> None:
        loss, _ = model.loss(x)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    for _ in range(3):
        step()
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    tic = time.perf_counter()
    for _ in range(steps):
        step()
    seconds = time.perf_counter() - tic
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
    return {"img_s": steps * 256 / seconds, "faults": faults / steps, "kept": kept}


def measure(model: str, size: str, keep: bool, args: argparse.Namespace) -> dict:
    command = [sys.executable, __file__, "--child", model, size, str(int(keep))]
    command += ["--threads", str(args.threads), "--steps", str(args.steps)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--child", nargs=3, metavar=("MODEL", "SIZE", "KEEP"), help="internal")
    parser.add_argument("--models", nargs="*", default=MODELS)
    parser.add_argument("--sizes", nargs="*", default=list(SIZES))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args()
    if args.child:
        model, size, keep = args.child
        print(json.dumps(child(model, size, keep == "1", args.threads, args.steps)))
        return
    load = os.getloadavg()[0]
    rows = []
    for model in args.models:
        for size in args.sizes:
            if model == "res_vae" and size == "usps":
                continue  # the Res-VAE runs at 32x32 in MFVC; 28x28 stands for MNIST
            pairs = [
                (measure(model, size, False, args), measure(model, size, True, args))
                for _ in range(args.pairs)
            ]
            default = statistics.median(p[0]["img_s"] for p in pairs)
            kept = statistics.median(p[1]["img_s"] for p in pairs)
            ratio = statistics.median(p[1]["img_s"] / p[0]["img_s"] for p in pairs)
            row = [
                model,
                "x".join(map(str, SIZES[size])),
                f"{default:.0f}",
                f"{kept:.0f}",
                f"{ratio:.2f}",
                f"{statistics.median(p[0]['faults'] for p in pairs):.0f}",
                f"{statistics.median(p[1]['faults'] for p in pairs):.0f}",
            ]
            print(" ".join(row), flush=True)
            rows.append(row)
    append_table(
        "glibc malloc: default vs freed memory kept (runtime.keep_freed_memory)",
        f"{args.threads} thread(s), batch 256, channels-last, fused Adam, {args.steps} timed steps "
        f"a process, {args.pairs} alternating pairs of processes; load average {load:.1f} at "
        "the start",
        [
            "model",
            "images",
            "img/s default",
            "img/s kept",
            "kept / default (median of pairs)",
            "page faults a step, default",
            "page faults a step, kept",
        ],
        rows,
        args.out,
    )


if __name__ == "__main__":
    main()
