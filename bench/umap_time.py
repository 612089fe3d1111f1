"""Wall time of the UMAP stage (MFVC's settings) at 10,000 and 70,000 points.

Run by hand, never in CI:
    .venv/bin/python bench/umap_time.py [--features results/.../features.h5] [--dim 10]
Without ``--features`` the input is a 10-cluster Gaussian mixture in ``--dim`` dimensions (the
latent size MFVC clusters), repeated to each size. Both modes are timed: ``deterministic``
(seeded, one thread) and ``parallel`` (every core, not reproducible). The first call, which
compiles UMAP's numba code, is discarded. Appends one Markdown table to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from results_table import RESULTS, append_table

from deepclust.clustering.manifold import UMAPEmbedding


def data(n: int, dim: int, features: str | None) -> np.ndarray:
    if features:
        from deepclust.io import read_features

        X = read_features(features)[0]
        return X[np.arange(n) % len(X)]
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 5, (10, dim))
    return (centres[rng.integers(0, 10, n)] + rng.normal(0, 1, (n, dim))).astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--features", help="a features.h5 to embed (rows repeated to each size)")
    parser.add_argument("--dim", type=int, default=10)
    parser.add_argument("--sizes", type=int, nargs="*", default=[10000, 70000])
    parser.add_argument("--n-neighbors", type=int, default=27)
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args()
    # numba compilation, not timed: over 4,096 points, so that UMAP's approximate neighbour
    # search (NN-descent, compiled on first use) is compiled too, not only the exact one
    for deterministic in (True, False):
        UMAPEmbedding(
            n_neighbors=5, n_clusters=2, deterministic=deterministic, random_state=0
        ).fit_transform(data(5000, args.dim, args.features))
    rows = []
    for n in args.sizes:
        X = data(n, args.dim, args.features)
        for mode, deterministic in (("deterministic", True), ("parallel", False)):
            tic = time.perf_counter()
            UMAPEmbedding(
                n_neighbors=args.n_neighbors,
                min_dist=0.0,
                n_clusters=10,
                deterministic=deterministic,
                random_state=0,
            ).fit_transform(X)
            seconds = time.perf_counter() - tic
            rows.append((n, X.shape[1], mode, seconds))
            print(f"{n:>6} x {X.shape[1]} {mode:>13}: {seconds:7.1f} s", flush=True)
    append_table(
        f"UMAP (n_neighbors {args.n_neighbors}, min_dist 0, 10 components)",
        f"data: {args.features or f'10-cluster Gaussian mixture, {args.dim} dimensions'}",
        ["points", "input dims", "mode", "seconds"],
        [[n, d, m, f"{s:.1f}"] for n, d, m, s in rows],
        args.out,
    )


if __name__ == "__main__":
    main()
