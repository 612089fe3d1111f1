"""What denormal floats cost a training step on this CPU, with and without flushing them.

Run by hand, never in CI:  .venv/bin/python bench/denormals.py [--params 1000000] [--threads 1]

A ReLU unit that stops firing gets zero gradients; Adam's first moment of its weights then
decays by beta1 every step, through the denormal range (below 1.2e-38), where x86 CPUs compute
through a slow microcode path. This times one fused Adam step over ``--params`` weights whose
first moments are denormal, and the same with ``torch.set_flush_denormal(True)`` (what
``deepclust.runtime.resolve_device`` sets for every job). Each setting runs in its own process
(the flag belongs to the threads that set it). Appends one Markdown table to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap

from results_table import RESULTS, append_table

STEP = textwrap.dedent(
    """
    import json, sys, time
    import torch
    flush, params, threads, steps = sys.argv[1] == "1", int(sys.argv[2]), int(sys.argv[3]), 20
    torch.set_num_threads(threads)
    torch.set_flush_denormal(flush)
    weight = torch.nn.Parameter(torch.randn(params))
    optimizer = torch.optim.Adam([weight], lr=1e-3, fused=True)
    weight.grad = torch.zeros_like(weight)
    optimizer.step()
    state = optimizer.state[weight]
    state["exp_avg"].fill_(1e-39)  # a dead unit's first moments, deep in the decay
    state["exp_avg_sq"].fill_(1e-6)
    best = float("inf")
    for _ in range(3):
        tic = time.perf_counter()
        for _ in range(steps):
            optimizer.step()
        best = min(best, (time.perf_counter() - tic) / steps)
    print(json.dumps({"ms": best * 1e3}))
    """
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", type=int, default=1_000_000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args()
    load = os.getloadavg()[0]
    ms = {}
    for flush in (False, True):
        done = subprocess.run(
            [sys.executable, "-c", STEP, str(int(flush)), str(args.params), str(args.threads)],
            capture_output=True,
            text=True,
            check=True,
        )
        ms[flush] = json.loads(done.stdout)["ms"]
    rows = [
        ["denormal first moments, not flushed", f"{ms[False]:.2f}", "1.00"],
        ["denormal first moments, flushed (FTZ/DAZ)", f"{ms[True]:.2f}",
         f"{ms[True] / ms[False]:.3f}"],
    ]  # fmt: skip
    append_table(
        f"Denormals in one fused Adam step over {args.params:,} weights",
        f"{args.threads} thread(s), best of 3 x 20 steps, load average {load:.1f} at the start",
        ["case", "ms per step", "of unflushed"],
        rows,
        args.out,
    )
    print(open(args.out).read().rsplit("\n## ", 1)[-1])


if __name__ == "__main__":
    main()
