"""Trainer throughput (img/s) of every registered model on synthetic data of the datasets' sizes,
in each precision, next to the bound set by the model's FLOPs per image and this machine's
measured matmul rate in that precision.

Run by hand, never in CI:
    .venv/bin/python bench/train_throughput.py [--device cpu] [--epochs 3] [--precisions fp32 bf16]
        [--layouts nchw channels_last] [--compile eager compiled]
Appends one Markdown table to bench/RESULTS.md with the date, machine and command.

The bound: FLOPs of one training step (forward + backward of the model's loss, counted by
``torch.utils.flop_counter`` — matmuls and convolutions only) per image, against a large matmul's
FLOP/s on the same device and threads in the precision that ran (float32, or bfloat16 for a
bf16-autocast run, which the trainer gets with ``amp: true``). ``of bound`` is measured img/s
over that bound: how much of the machine's arithmetic the trainer uses. A model that does not
accept an input size (the Res-VAE's five poolings need 32x32) is skipped at that size.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch
from results_table import RESULTS, append_table

from deepclust.models import MODELS, build_model
from deepclust.runtime import cpu_has_native_bf16, resolve_device
from deepclust.train_config import TrainConfig
from deepclust.training import Trainer

# (name, n_samples, (C, H, W)) of the datasets the methods use
SIZES = [
    ("usps", 9298, (1, 16, 16)),
    ("mnist_test", 10000, (1, 28, 28)),
    ("mnist_test32", 10000, (1, 32, 32)),
    ("coil20", 1440, (1, 128, 128)),
]


#: precision name -> (the trainer's ``amp``, the dtype of the matmul that bounds it)
PRECISIONS = {"fp32": (False, torch.float32), "bf16": (True, torch.bfloat16)}


def cpu_note(device) -> str:
    """Whether this CPU computes bf16 natively (emulated bf16 is slower than float32)."""
    if device.type != "cpu":
        return ""
    return f" ({'native' if cpu_has_native_bf16() else 'no native'} bf16)"


def flops_per_image(model: torch.nn.Module, shape: tuple, device, batch: int = 64) -> float:
    """Matmul and convolution FLOPs of one training step (loss forward + backward), per image."""
    from torch.utils.flop_counter import FlopCounterMode

    model.to(device).train()
    x = torch.rand(batch, *shape, device=device)
    with FlopCounterMode(display=False) as counter:
        loss, _ = model.loss(x)
        loss.backward()
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops() / batch


def matmul_flops_per_s(device, n: int = 2048, repeats: int = 10, dtype=torch.float32) -> float:
    """FLOP/s of an n x n matmul in ``dtype``, the best this device does with its threads."""
    a = torch.rand(n, n, device=device).to(dtype)
    b = torch.rand(n, n, device=device).to(dtype)
    best = float("inf")
    for _ in range(3):
        torch.mm(a, b)
        if device.type == "cuda":
            torch.cuda.synchronize()
        tic = time.perf_counter()
        for _ in range(repeats):
            torch.mm(a, b)
        if device.type == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - tic)
    return 2 * n**3 * repeats / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--device", default="auto")
    parser.add_argument(
        "--epochs", type=int, default=3, help="timed epochs (the first is discarded as warm-up)"
    )
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument(
        "--samples",
        type=int,
        default=None,
        help="images per epoch at most (default: the dataset's)",
    )
    parser.add_argument("--models", nargs="*", default=sorted(MODELS))
    parser.add_argument("--sizes", nargs="*", default=[name for name, _, _ in SIZES])
    parser.add_argument(
        "--precisions", nargs="*", default=["fp32"], choices=sorted(PRECISIONS),
        help="fp32, and bf16 (autocast; emulated and slow on a CPU without native bf16)",
    )  # fmt: skip
    parser.add_argument(
        "--layouts", nargs="*", default=["nchw"], choices=["nchw", "channels_last"],
        help="memory layouts of weights and batches (the trainer's channels_last)",
    )  # fmt: skip
    parser.add_argument(
        "--compile", nargs="*", default=["eager"], choices=["eager", "compiled"],
        help="the loss as written, and/or through torch.compile (the trainer's compile: true)",
    )  # fmt: skip
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args()
    device = resolve_device(args.device, args.threads)
    load = os.getloadavg()[0]
    peaks = {p: matmul_flops_per_s(device, dtype=PRECISIONS[p][1]) for p in args.precisions}
    for precision, peak in peaks.items():
        print(f"{precision} matmul: {peak / 1e9:.1f} GFLOP/s", flush=True)
    rows = []
    cases = [
        (model_name, dataset, n, shape, precision, layout, mode)
        for model_name in args.models
        for dataset, n, shape in SIZES
        if dataset in args.sizes
        for precision in args.precisions
        for layout in args.layouts
        for mode in args.compile
    ]
    for model_name, dataset, n, shape, precision, layout, mode in cases:
        n = min(n, args.samples or n)
        amp, _ = PRECISIONS[precision]
        peak = peaks[precision]
        torch.manual_seed(0)
        try:
            model = build_model(model_name, shape, 10)
            flops = flops_per_image(model, shape, device)
        except (ValueError, RuntimeError) as err:
            print(f"{model_name:>10} {dataset:>12}: skipped ({err})", flush=True)
            continue
        images = np.random.default_rng(0).uniform(0, 1, (n, *shape)).astype(np.float32)
        trainer = Trainer(
            TrainConfig(
                epochs=args.epochs + 1,
                batch_size=args.batch_size,
                amp=amp,
                channels_last=layout == "channels_last",
            ),
            device,
            compile=mode == "compiled",
        )
        trainer.fit(model, images, seed=0)
        rate = float(np.median([row["img_per_s"] for row in trainer.history[1:]]))
        bound = peak / flops
        rows.append(
            [model_name, dataset, f"{n}x{'x'.join(map(str, shape))}", trainer.precision, layout,
             mode, f"{rate:.0f}",
             f"{flops / 1e6:.2f}", f"{bound:.0f}", f"{rate / bound:.2f}"]
        )  # fmt: skip
        print(
            f"{model_name:>10} {dataset:>12} {precision} {layout} {mode}: {rate:8.0f} img/s, "
            f"bound {bound:.0f}",
            flush=True,
        )
    append_table(
        "Trainer throughput against the FLOP bound",
        f"torch {torch.__version__} ({torch.get_num_threads()} threads), device {device}"
        f"{cpu_note(device)}, matmul "
        + ", ".join(f"{p} {peak / 1e9:.1f} GFLOP/s" for p, peak in peaks.items())
        + f", load average {load:.1f} at the start",
        ["model", "dataset size", "images", "precision", "layout", "loss",
         "img/s (median of timed epochs)",
         "MFLOP per image (train step)", "bound img/s", "of bound"],
        rows,
        args.out,
    )  # fmt: skip


if __name__ == "__main__":
    main()
