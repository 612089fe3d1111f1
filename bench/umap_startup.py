"""A UMAP job's start-up: a fresh process fitting 400 points, with and without the on-disk cache
of umap-learn's compiled code (deepclust.umap_cache).

Run by hand, never in CI:
    .venv/bin/python bench/umap_startup.py [--runs 3] [--points 400]
Each figure is a whole process (interpreter, imports, compilation or cache load, the fit), as a
Snakemake job pays it. Both modes share one fresh ``NUMBA_CACHE_DIR``, warmed by an untimed run
of each, so pynndescent's code (cached by pynndescent itself) loads from disk in both; what
differs is umap-learn's own code: compiled in every process, or compiled once and then loaded.
Appends one Markdown table to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

from results_table import RESULTS, append_table

FIT = """
import sys
import numpy as np
if sys.argv[1] == "plain":
    import umap
else:
    from deepclust.umap_cache import load_umap
    umap = load_umap()
rng = np.random.default_rng(0)
x = rng.normal(size=(int(sys.argv[2]), 10)).astype("float32")
umap.UMAP(n_neighbors=15, n_components=2, random_state=0, n_jobs=1).fit_transform(x)
"""


def seconds(mode: str, points: int, env: dict) -> float:
    tic = time.perf_counter()
    subprocess.run([sys.executable, "-c", FIT, mode, str(points)], env=env, check=True)
    return time.perf_counter() - tic


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3, help="timed processes per mode")
    parser.add_argument("--points", type=int, default=400)
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache, "PYTHONWARNINGS": "ignore"}
        first = seconds("cached", args.points, env)  # compiles umap-learn and writes the cache
        print(f"first process with the cache on: {first:.1f} s", flush=True)
        for mode, label in (
            ("plain", "umap-learn as installed: compiles in every process"),
            ("cached", "deepclust.umap_cache: compiled once, then loaded"),
        ):
            times = [seconds(mode, args.points, env) for _ in range(args.runs)]
            print(f"{mode}: {', '.join(f'{t:.1f}' for t in times)} s", flush=True)
            rows.append([label, args.runs, f"{statistics.median(times):.1f}", f"{min(times):.1f}"])
    rows.append(
        ["deepclust.umap_cache, the first process (writes the cache)", 1, f"{first:.1f}", ""]
    )
    append_table(
        f"UMAP job start-up: a fresh process fitting {args.points} points x 10 dims to 2-D",
        f"load average {os.getloadavg()[0]:.1f} at the end",
        ["process", "runs", "median s", "min s"],
        rows,
        args.out,
    )


if __name__ == "__main__":
    main()
