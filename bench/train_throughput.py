"""Trainer throughput (img/s) of every registered model on synthetic data of the datasets' sizes.

Run by hand, never in CI:  .venv/bin/python bench/train_throughput.py [--device cpu] [--epochs 3]
Appends one Markdown table to bench/RESULTS.md with the date, machine and command.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from results_table import RESULTS, append_table

from deepclust.models import MODELS, build_model
from deepclust.runtime import resolve_device
from deepclust.training import TrainConfig, Trainer

# (name, n_samples, (C, H, W)) of the datasets the methods use
SIZES = [
    ("usps", 9298, (1, 16, 16)),
    ("mnist_test", 10000, (1, 28, 28)),
    ("coil20", 1440, (1, 128, 128)),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--device", default="auto")
    parser.add_argument(
        "--epochs", type=int, default=3, help="timed epochs (the first is discarded as warm-up)"
    )
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--models", nargs="*", default=sorted(MODELS))
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args()
    device = resolve_device(args.device)
    rows = []
    for model_name in args.models:
        for dataset, n, shape in SIZES:
            images = np.random.default_rng(0).uniform(0, 1, (n, *shape)).astype(np.float32)
            torch.manual_seed(0)
            model = build_model(model_name, shape, 10)
            trainer = Trainer(
                TrainConfig(epochs=args.epochs + 1, batch_size=args.batch_size), device
            )
            trainer.fit(model, images, seed=0)
            rates = [row["img_per_s"] for row in trainer.history[1:]]
            rows.append((model_name, dataset, f"{n}x{'x'.join(map(str, shape))}", np.median(rates)))
            print(f"{model_name:>10} {dataset:>11}: {np.median(rates):8.0f} img/s", flush=True)
    append_table(
        "Trainer throughput",
        f"torch {torch.__version__} ({torch.get_num_threads()} threads), device {device}",
        ["model", "dataset size", "images", "img/s (median of timed epochs)"],
        [[m, d, s, f"{r:.0f}"] for m, d, s, r in rows],
        args.out,
    )


if __name__ == "__main__":
    main()
