"""Where a model's training step spends its time, in both memory layouts (NCHW, channels-last).

Run by hand, never in CI:
    .venv/bin/python bench/profile_model.py [--model res_vae] [--shape 1 32 32] [--threads 1]

Times ``--steps`` AdamW steps of the model's loss at batch ``--batch-size`` on the CPU after a
warm-up, counts the step's FLOPs (matmuls and convolutions) and prints the torch.profiler table
of the slowest operators. Appends one Markdown table (img/s, share of the FLOP bound, the top
operators' share of the time) per layout to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import functools
import os
import time

import torch
from results_table import RESULTS, append_table
from torch.profiler import ProfilerActivity, profile
from torch.utils.flop_counter import FlopCounterMode
from train_throughput import matmul_flops_per_s

from deepclust.models import build_model


def train_step(model: torch.nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor) -> None:
    loss, _ = model.loss(x)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="res_vae")
    parser.add_argument("--shape", type=int, nargs=3, default=[1, 32, 32])
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cpu = torch.device("cpu")
    load = os.getloadavg()[0]
    peak = matmul_flops_per_s(cpu)
    rows = []
    for layout in (torch.contiguous_format, torch.channels_last):
        torch.manual_seed(0)
        model = build_model(args.model, tuple(args.shape), 10).to(memory_format=layout).train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
        x = torch.rand(args.batch_size, *args.shape).contiguous(memory_format=layout)

        step = functools.partial(train_step, model, optimizer, x)
        with FlopCounterMode(display=False) as counter:
            step()
        flops = counter.get_total_flops() / args.batch_size
        for _ in range(2):
            step()
        tic = time.perf_counter()
        for _ in range(args.steps):
            step()
        rate = args.steps * args.batch_size / (time.perf_counter() - tic)
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(3):
                step()
        ops = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
        total = sum(e.self_cpu_time_total for e in ops)
        top = ", ".join(f"{e.key} {e.self_cpu_time_total / total:.0%}" for e in ops[:4])
        name = "channels-last" if layout is torch.channels_last else "NCHW"
        print(f"{name}: {rate:.0f} img/s\n" + prof.key_averages().table(
            sort_by="self_cpu_time_total", row_limit=12))  # fmt: skip
        rows.append([name, f"{rate:.0f}", f"{flops / 1e6:.1f}", f"{rate * flops / peak:.2f}", top])
    append_table(
        f"Profile of one training step: {args.model} on {'x'.join(map(str, args.shape))}",
        f"torch {torch.__version__}, {args.threads} thread(s), batch {args.batch_size}, AdamW; "
        f"float32 matmul {peak / 1e9:.1f} GFLOP/s on the same threads; load average {load:.1f}",
        ["layout", "img/s", "MFLOP per image", "of bound", "self time, top operators"],
        rows,
        args.out,
    )


if __name__ == "__main__":
    main()
