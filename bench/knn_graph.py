"""Time and peak memory of the kNN graph build (GCN clustering) at the datasets' sizes.

Run by hand, never in CI:
    .venv/bin/python bench/knn_graph.py [--data data/processed/fashion_mnist.h5] [--k 3]
Without ``--data`` it uses uniform noise of 70,000 x 784 (Fashion-MNIST's size): the search cost
does not depend on the pixel values. Each size runs in a fresh process, and the process's peak
RSS is read before and after the build: the difference is the build's own memory. Appends one Markdown table to bench/RESULTS.md with the date, machine, command.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np
from results_table import RESULTS, append_table


def build_once(data: str | None, n: int, k: int, metric: str) -> dict:
    from deepclust.clustering.graph import knn_graph

    if data:
        from deepclust.data.dataset import load_processed

        X = load_processed(data).images[:n].reshape(n, -1)
    else:
        X = np.random.default_rng(0).uniform(0, 1, (n, 784)).astype(np.float32)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    tic = time.perf_counter()
    edges = knn_graph(X, k, metric=metric)
    seconds = time.perf_counter() - tic
    return {
        "n": n,
        "d": X.shape[1],
        "edges": int(edges.shape[1]),
        "seconds": seconds,
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
    parser.add_argument("--out", default=str(RESULTS))
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
    append_table(
        f"kNN graph build (k = {args.k}, {args.metric})",
        f"data: {args.data or 'uniform noise, 784 pixels'}",
        [
            "samples",
            "pixels",
            "edges",
            "seconds",
            "input (MB)",
            "peak RSS before the build (MB)",
            "peak RSS after it (MB)",
        ],
        [
            [
                r["n"],
                r["d"],
                r["edges"],
                f"{r['seconds']:.1f}",
                f"{r['input_mb']:.0f}",
                f"{r['rss_before_mb']:.0f}",
                f"{r['max_rss_mb']:.0f}",
            ]
            for r in rows
        ],
        args.out,
    )


if __name__ == "__main__":
    main()
