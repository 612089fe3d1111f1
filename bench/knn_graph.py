"""Time, peak memory and recall of the kNN graph build (GCN clustering) at the datasets' sizes.

Run by hand, never in CI:
    .venv/bin/python bench/knn_graph.py [--data data/processed/fashion_mnist.h5] [--k 3]
Without ``--data`` it uses uniform noise of 70,000 x 784 (Fashion-MNIST's size): the search cost
does not depend on the pixel values. Each size runs in a fresh process, and the process's peak
RSS is read before and after the build: the difference is the build's own memory. Recall: for
2,000 random samples, the share of their k neighbours that a float64 brute-force search also
finds (the build is exact but in float32). Appends one Markdown table to bench/RESULTS.md with
the date, machine, command.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np
from results_table import RESULTS, append_table


def recall(X: np.ndarray, edges: np.ndarray, k: int, metric: str, n_queries: int = 2000) -> float:
    """Share of the float64 k nearest neighbours of sampled rows that the graph links them to."""
    from sklearn.metrics import pairwise_distances

    rows = np.random.default_rng(0).choice(len(X), min(n_queries, len(X)), replace=False)
    d = pairwise_distances(X[rows].astype(np.float64), X.astype(np.float64), metric=metric)
    d[np.arange(len(rows)), rows] = np.inf
    exact = np.argpartition(d, k, axis=1)[:, :k]
    linked = {(int(a), int(b)) for a, b in edges.T}
    return float(
        np.mean([(r, int(j)) in linked for r, js in zip(rows, exact, strict=True) for j in js])
    )


def build_once(data: str | None, n: int, k: int, metric: str, device: str) -> dict:
    import torch  # noqa: F401  imported before the "before" reading: not the build's memory

    from deepclust.clustering.graph import knn_graph

    if data:
        from deepclust.data.dataset import load_processed

        X = load_processed(data).images[:n].reshape(n, -1)
    else:
        X = np.random.default_rng(0).uniform(0, 1, (n, 784)).astype(np.float32)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    tic = time.perf_counter()
    edges = knn_graph(X, k, metric=metric, device=device)
    seconds = time.perf_counter() - tic
    max_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "n": n,
        "d": X.shape[1],
        "edges": int(edges.shape[1]),
        "seconds": seconds,
        "input_mb": X.nbytes / 2**20,
        "rss_before_mb": rss_before,
        "max_rss_mb": max_rss,
        "recall": recall(X, edges, k, metric),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", help="a processed dataset (.h5); default: noise of 784 pixels")
    parser.add_argument("--sizes", type=int, nargs="*", default=[10000, 70000])
    parser.add_argument("--k", type=int, default=3)
    parser.add_argument("--metric", default="euclidean")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", default=str(RESULTS))
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # child process: one size
    args = parser.parse_args()
    if args.one:
        print(json.dumps(build_once(args.data, args.one, args.k, args.metric, args.device)))
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
            "--device",
            args.device,
        ]
        if args.data:
            child += ["--data", args.data]
        row = json.loads(subprocess.run(child, check=True, capture_output=True, text=True).stdout)
        rows.append(row)
        print(row, flush=True)
    append_table(
        f"kNN graph build (k = {args.k}, {args.metric})",
        f"data: {args.data or 'uniform noise, 784 pixels'}; device {args.device}; "
        f"{os.environ.get('OMP_NUM_THREADS') or os.cpu_count()} threads",
        [
            "samples",
            "pixels",
            "edges",
            "seconds",
            "input (MB)",
            "peak RSS before the build (MB)",
            "peak RSS after it (MB)",
            "recall vs float64 (2,000 samples)",
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
                f"{r['recall']:.4f}",
            ]
            for r in rows
        ],
        args.out,
    )


if __name__ == "__main__":
    main()
