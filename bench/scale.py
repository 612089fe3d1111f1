"""The clustering stages at 70,000 samples: K-means fit, a DEKM iteration, feature extraction.

Run by hand, never in CI:
    .venv/bin/python bench/scale.py [--data data/processed/fashion_mnist.h5] [--sizes 10000 70000]

With ``--data`` (a processed dataset of at least the largest size; Fashion-MNIST is the 70,000
one) its images are used, otherwise uniform noise of MNIST's shape. For each size:

- feature extraction (img/s) of every registered model, untrained (the speed does not depend on
  the weights), in ``torch.inference_mode`` as the ``features`` stage runs it;
- K-means on a 10-d code (our wrapper, ``n_init`` restarts): seconds per fit and per Lloyd
  iteration;
- DEKM refinement of a conv AE: seconds per iteration (one mini-batch step plus its share of the
  K-means/eigen-decomposition updates every ``update_interval`` iterations).

Appends one Markdown table to bench/RESULTS.md (the kNN graph and UMAP have their own scripts).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch
from results_table import RESULTS, append_table

from deepclust.clustering import build_clusterer
from deepclust.features import extract_features
from deepclust.models import MODELS, build_model


def images_of(n: int, data: str | None) -> np.ndarray:
    if data:
        from deepclust.data.dataset import load_processed

        images = load_processed(data).images
        if len(images) < n:
            raise SystemExit(f"{data} holds {len(images)} images, fewer than {n}")
        return images[:n]
    return np.random.default_rng(0).uniform(0, 1, (n, 1, 28, 28)).astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", help="a processed dataset .h5 (default: noise, 1x28x28)")
    parser.add_argument("--sizes", type=int, nargs="*", default=[10000, 70000])
    parser.add_argument("--models", nargs="*", default=sorted(set(MODELS) - {"pixels"}))
    parser.add_argument(
        "--dekm-iterations",
        type=int,
        default=5,
        help="DEKM iterations timed (~6 s each at 70,000 on 2 cores)",
    )
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args()
    cpu = torch.device("cpu")
    load = os.getloadavg()[0]
    rows = []
    for n in args.sizes:
        images = images_of(n, args.data)
        shape = images.shape[1:]
        for name in args.models:
            try:
                model = build_model(name, shape, 10)
            except ValueError as err:  # e.g. the Res-VAE wants 32x32
                print(f"{name}: skipped ({err})")
                continue
            tic = time.perf_counter()
            extract_features(model, images, device=cpu)
            seconds = time.perf_counter() - tic
            rows.append([n, f"features: {name}", f"{seconds:.1f}", f"{n / seconds:.0f} img/s"])
            print(rows[-1], flush=True)

        code = np.random.default_rng(0).normal(size=(n, 10)).astype(np.float32)
        code += 3 * np.eye(10, dtype=np.float32)[np.arange(n) % 10]
        kmeans = build_clusterer("kmeans", n_clusters=10, n_init=20, random_state=0)
        tic = time.perf_counter()
        kmeans.fit(code)
        seconds = time.perf_counter() - tic
        per = f"{seconds / 20:.2f} s per restart, {kmeans.n_iter_} iterations in the best"
        rows.append([n, "K-means, 10-d code, 20 restarts", f"{seconds:.1f}", per])
        print(rows[-1], flush=True)

        torch.manual_seed(0)
        dekm = build_clusterer(
            "dekm", n_clusters=10, max_iter=args.dekm_iterations, tol=0.0, random_state=0
        )
        tic = time.perf_counter()
        dekm.fit(images, model=build_model("conv_ae", shape, 10), device=cpu)
        seconds = time.perf_counter() - tic
        rows.append(
            [n, f"DEKM on conv_ae, {dekm.n_iter_} iterations (incl. its K-means start)",
             f"{seconds:.1f}", f"{dekm.seconds_per_iter_ * 1000:.0f} ms per iteration"]
        )  # fmt: skip
        print(rows[-1], flush=True)
    append_table(
        "Clustering stages at scale",
        f"torch {torch.__version__} ({torch.get_num_threads()} threads), CPU; data "
        f"{args.data or 'uniform noise 1x28x28'}; load average {load:.1f} at the start",
        ["samples", "stage", "seconds", "rate"],
        rows,
        args.out,
    )


if __name__ == "__main__":
    main()
