"""Snakemake's own cost on a finished results tree of >= 100 jobs, and what a clusterer change reruns.

Run by hand, never in CI:  .venv/bin/python bench/workflow_overhead.py [--seeds 8] [--keep DIR]

Builds, in a temporary folder, a run of the real Snakefile on the bundled digits: ``--seeds``
seeds x (pixels + a dense AE trained 2 epochs) x four K-means clusterers, plus tables, figures
and the report. Times, on that tree:

1. the full run from nothing (the denominator);
2. ``snakemake -n`` when everything is done (planning only): the first one after the config
   was written, which checks it (importing torch and scikit-learn's registries), and the
   median of three more, which take the check from its cache (deepclust.config.checks);
3. ``snakemake`` when everything is done (planning + checking every output, running nothing);
4. the run after one clusterer's parameter changes: which jobs rerun and how long it takes, as a
   fraction of the full run;
5. Snakemake's own floor: ``snakemake -n`` of a one-rule Snakefile (imports and plugins).

Appends one Markdown table to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from results_table import RESULTS, append_table

REPO = Path(__file__).resolve().parents[1]


def config(seeds: int, n_init: int = 2) -> dict:
    return {
        "device": "cpu",
        "seeds": list(range(seeds)),
        "datasets": {"digits": {"source": "digits"}},
        "extractors": {
            "pixels": {"model": "pixels"},
            "dense_ae": {
                "model": "dense_ae",
                "model_args": {"hidden_dims": [64, 64]},
                "epochs": 2,
                "batch_size": 256,
            },
        },
        "clusterers": {
            "km_a": {"method": "kmeans", "params": {"n_init": n_init}},
            "km_b": {"method": "kmeans", "params": {"n_init": 3}},
            "km_c": {"method": "kmeans", "params": {"n_init": 4}},
            "km_d": {"method": "kmeans", "params": {"n_init": 5}},
        },
        "experiments": {
            f"{extractor}_{clusterer}": {"extractor": extractor, "clusterer": clusterer}
            for extractor in ("pixels", "dense_ae")
            for clusterer in ("km_a", "km_b", "km_c", "km_d")
        },
    }


def snakemake(workdir: Path, cfg: dict, cores: int, *args: str) -> tuple[float, str]:
    (workdir / "config.yaml").write_text(yaml.safe_dump(cfg))
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(workdir),
        "--configfile",
        str(workdir / "config.yaml"),
        "--cores",
        str(cores),
        *args,
    ]
    tic = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - tic
    if done.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}")
    return seconds, done.stdout + done.stderr


def snakemake_floor(workdir: Path) -> float:
    """Seconds of ``snakemake -n`` on a one-rule Snakefile whose output exists: what any
    workflow pays before its own parsing (imports, plugins, the DAG of one job)."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "Snakefile").write_text(
        'rule a:\n    output: "a.txt"\n    shell: "touch {output}"\n'
    )
    (workdir / "a.txt").touch()
    cmd = [sys.executable, "-m", "snakemake", "--directory", str(workdir), "--cores", "1", "-n"]
    tic = time.perf_counter()
    subprocess.run(cmd, cwd=workdir, capture_output=True, check=True)
    return time.perf_counter() - tic


def job_counts(output: str) -> dict[str, int]:
    """The 'Job stats' table of a run's output, as {rule: count} (empty when nothing ran)."""
    if "Job stats:" not in output:
        return {}
    table = output.split("Job stats:")[1].split("\n\n")[0]
    return {
        m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M) if m[1] != "total"
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=8, help="8 seeds make 101 jobs")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--keep", help="build the tree here and keep it (default: a temp folder)")
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args()

    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(args.keep or tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        cfg = config(args.seeds)
        full, out = snakemake(workdir, cfg, args.cores)
        jobs = job_counts(out)
        n_jobs = sum(jobs.values())
        shutil.rmtree(workdir / ".snakemake" / "deepclust", ignore_errors=True)
        dry_checked, _ = snakemake(workdir, cfg, args.cores, "-n")
        dry = statistics.median(snakemake(workdir, cfg, args.cores, "-n")[0] for _ in range(3))
        cached, out = snakemake(workdir, cfg, args.cores)
        assert "Nothing to be done" in out, out
        changed, out = snakemake(workdir, config(args.seeds, n_init=6), args.cores)
        rerun = job_counts(out)
        floor = statistics.median(snakemake_floor(Path(tmp) / "floor") for _ in range(3))

    reran = ", ".join(f"{rule} {count}" for rule, count in sorted(rerun.items()))
    rows = [
        ["full run from nothing", n_jobs, f"{full:.1f}", "1.00"],
        ["`snakemake -n`, all done, config checked", 0, f"{dry_checked:.1f}",
         f"{dry_checked / full:.3f}"],
        ["`snakemake -n`, all done, check cached (median of 3)", 0, f"{dry:.2f}",
         f"{dry / full:.3f}"],
        ["`snakemake`, all done", 0, f"{cached:.1f}", f"{cached / full:.3f}"],
        [f"one clusterer's `n_init` changed ({reran})", sum(rerun.values()), f"{changed:.1f}",
         f"{changed / full:.3f}"],
        ["Snakemake's own start-up: `snakemake -n` of a one-rule Snakefile, done (median of 3)",
         0, f"{floor:.2f}", f"{floor / full:.3f}"],
    ]  # fmt: skip
    notes = (
        f"the real Snakefile on the bundled digits, {args.seeds} seeds x 2 extractors x 4 "
        f"K-means clusterers, `--cores {args.cores}`, load average {load:.1f} at the start; "
        "jobs of the full run: "
        + ", ".join(f"{rule} {count}" for rule, count in sorted(jobs.items()))
    )
    append_table(
        "Workflow overhead", notes, ["run", "jobs", "seconds", "of the full run"], rows, args.out
    )
    print(Path(args.out).read_text().rsplit("\n## ", 1)[-1])


if __name__ == "__main__":
    main()
