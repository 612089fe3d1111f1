"""Time and peak memory of the kNN graph build (GCN clustering) at the datasets' sizes.

Run by hand, never in CI:
    .venv/bin/python bench/knn_graph.py [--data data/processed/fashion_mnist.h5] [--k 3]
Without ``--data`` it uses uniform noise of 70,000 x 784 (Fashion-MNIST's size): the search cost
does not depend on the pixel values. Each size runs in a fresh process so ``ru_maxrss`` is the
build's own peak. Appends one Markdown table to bench/RESULTS.md with the date, machine, command.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np


def build_once(data: str | None, n: int, k: int, metric: str) -> dict:
    from deepclust.clustering.graph import knn_graph

    if data:
        from deepclust.data.dataset import load_processed

        X = load_processed(data).images[:n].reshape(n, -1)
    else:
        X = np.random.default_rng(0).uniform(0, 1, (n, 784)).astype(np.float32)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    tracemalloc.start()
    tic = time.perf_counter()
    edges = knn_graph(X, k, metric=metric)
    seconds = time.perf_counter() - tic
    traced_peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return {
        "n": n,
        "d": X.shape[1],
        "edges": int(edges.shape[1]),
        "seconds": seconds,
        "traced_peak_mb": traced_peak,
        "input_mb": X.nbytes / 2**20,
        "rss_before_mb": rss_before,
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", help="a processed dataset (.h5); default: noise of 784 pixels")
    parser.add_argument("--sizes", type=int, nargs="*", default=[10000, 70000])
    parser.add_argument("--k", type=int, default=3)
    parser.add_argument("--metric", default="euclidean")
    parser.add_argument("--out", default=str(Path(__file__).with_name("RESULTS.md")))
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # child process: one size
    args = parser.parse_args()
    if args.one:
        print(json.dumps(build_once(args.data, args.one, args.k, args.metric)))
        return
    rows = []
    for n in args.sizes:
        child = [
            sys.executable,
            __file__,
            "--one",
            str(n),
            "--k",
            str(args.k),
            "--metric",
            args.metric,
        ]
        if args.data:
            child += ["--data", args.data]
        row = json.loads(subprocess.run(child, check=True, capture_output=True, text=True).stdout)
        rows.append(row)
        print(row, flush=True)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs"
    source = args.data or "uniform noise, 784 pixels"
    lines = [
        f"\n## kNN graph build (k = {args.k}, {args.metric}) — {stamp}\n",
        f"Machine: {machine}; data: {source}  ",
        f"Command: `{' '.join([Path(sys.executable).name, *sys.argv])}`\n",
        "| samples | pixels | edges | seconds | traced peak (MB) | input (MB) | process max RSS (MB) |",
        "|---|---|---|---|---|---|---|",
        *[
            f"| {r['n']} | {r['d']} | {r['edges']} | {r['seconds']:.1f} | {r['traced_peak_mb']:.0f}"
            f" | {r['input_mb']:.0f} | {r['max_rss_mb']:.0f} |"
            for r in rows
        ],
    ]
    with open(args.out, "a") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
