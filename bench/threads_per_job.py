"""Threads per pretraining job, end to end: a whole ``snakemake --cores N`` run of several
pretraining jobs with ``threads.pretrain`` (and ``threads.features``) at each value asked.

Run by hand, never in CI:  .venv/bin/python bench/threads_per_job.py [--threads 1 2] [--repeats 2]

Builds, in a temporary folder, the real Snakefile on USPS-sized synthetic images (9,298 x 16x16,
an own ``npz`` dataset: speed does not depend on what the pixels show) with ``--seeds`` seeds x
the ``--models`` networks trained ``--epochs`` epochs, then K-means on each. At ``threads: 1``
Snakemake runs ``--cores`` jobs side by side; at ``threads: 2`` on 2 cores, one at a time. Each
setting runs ``--repeats`` times from nothing, alternating, and the table gives the wall time
of every run and the median. Appends one Markdown table to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from pathlib import Path

import numpy as np
from results_table import RESULTS, append_table
from workflow_overhead import job_counts, snakemake

from deepclust.paths import path


def config(data: Path, threads: int, models: list[str], seeds: int, epochs: int) -> dict:
    scaled = {"ascae": 255.0, "scae": 255.0}
    return {
        "name": "bench",  # its table: results/reports/bench/table.md
        "device": "cpu",
        "seeds": list(range(seeds)),
        "threads": {"pretrain": threads, "features": threads},
        "datasets": {"synthetic": {"source": "npz", "path": str(data), "n_clusters": 10}},
        "extractors": {
            model: {
                "model": model,
                "epochs": epochs,
                "batch_size": 256,
                "input_scale": scaled.get(model, 1.0),
            }
            for model in models
        },  # fmt: skip
        "clusterers": {"kmeans": {"method": "kmeans", "params": {"n_init": 5}}},
        "experiments": {
            f"{model}_kmeans": {"extractor": model, "clusterer": "kmeans"} for model in models
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, nargs="*", default=[1, 2])
    parser.add_argument("--models", nargs="*", default=["conv_ae", "ascae"])
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args()

    load = os.getloadavg()[0]
    seconds: dict[int, list[float]] = {t: [] for t in args.threads}
    jobs = {}
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "synthetic.npz"
        rng = np.random.default_rng(0)
        np.savez(
            data,
            images=rng.uniform(0, 1, (9298, 16, 16)).astype(np.float32),
            labels=rng.integers(0, 10, 9298),
        )
        for repeat in range(args.repeats):
            for threads in args.threads:
                workdir = Path(tmp) / f"t{threads}r{repeat}"
                workdir.mkdir()
                cfg = config(data, threads, args.models, args.seeds, args.epochs)
                wall, out = snakemake(workdir, cfg, args.cores, path("table_md", name="bench"))
                seconds[threads].append(wall)
                jobs = job_counts(out)
                print(f"threads {threads}, run {repeat + 1}: {wall:.1f} s", flush=True)
    fastest = min(statistics.median(v) for v in seconds.values())
    rows = [
        [threads, " / ".join(f"{s:.1f}" for s in runs), f"{statistics.median(runs):.1f}",
         f"{statistics.median(runs) / fastest:.2f}"]
        for threads, runs in seconds.items()
    ]  # fmt: skip
    notes = (
        f"the real Snakefile, `--cores {args.cores}`, synthetic 9,298 x 16x16 images, "
        f"{args.seeds} seeds x {', '.join(args.models)} x {args.epochs} epochs + K-means; "
        f"load average {load:.1f} at the start; jobs of a run: "
        + ", ".join(f"{rule} {count}" for rule, count in sorted(jobs.items()))
    )
    append_table(
        "Threads per pretraining job, a whole run",
        notes,
        ["threads per job", "wall s (each run)", "median s", "of the fastest"],
        rows,
        args.out,
    )
    print(Path(args.out).read_text().rsplit("\n## ", 1)[-1])


if __name__ == "__main__":
    main()
