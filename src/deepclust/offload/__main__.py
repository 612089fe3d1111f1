"""Offload the training stages to a short GPU window: plan, pack, run there, unpack here.

python -m deepclust.offload plan                      # the paper pages' GPU cells, by window
python -m deepclust.offload plan --config workflow/configs/sdekc.yaml results/mnist/cae/seed0
python -m deepclust.offload pack windows/w1           # the first window's jobs, <= 60 MiB
(there)  cd windows/w1 && python3 run.py --out $OUT      # <= 8 pieces of <= 16 MiB come back
python -m deepclust.offload unpack /path/to/pieces    # into results/, recorded for Snakemake
"""

from __future__ import annotations

import argparse
import json

from deepclust import cli
from deepclust.offload import jobs as offload_jobs
from deepclust.offload.pack import DEFAULT_MAX_MIB, pack
from deepclust.offload.unpack import unpack
from deepclust.paths import CLUSTERING_DIR


def _selected(args) -> tuple[list, list]:
    """(all missing jobs in order, estimated), for the arguments' targets."""
    if args.config:
        found = offload_jobs.config_jobs(
            " ".join(args.config), args.targets or None, refine=not args.no_refine
        )
    elif args.targets:
        raise ValueError("targets need --config (the config file(s) they are runs of)")
    else:
        found = offload_jobs.paper_jobs(refine=not args.no_refine)
    done = [j for j in found if offload_jobs.is_done(j)]
    missing = [offload_jobs.estimate(j) for j in found if not offload_jobs.is_done(j)]
    return missing, done


def _plan(args) -> int:
    missing, done = _selected(args)
    window, rest = offload_jobs.cut(missing, args.window_s, args.parallel)
    windows = offload_jobs.windows_needed(missing, args.window_s, args.parallel)
    if args.json:
        print(json.dumps({"window": [j.to_dict() for j in window], "windows": windows}, indent=1))
        return 0
    total = sum(j.estimate_s for j in missing)
    print(
        f"{len(missing)} job(s) missing ({len(done)} already here), {total / 60:.0f} GPU-minutes "
        f"alone; {windows} window(s) of {args.window_s:.0f} s at {args.parallel} at a time"
    )
    print(f"\nnext window ({len(window)} job(s)):")
    for job in window:
        refiners = f" + {', '.join(job.refiners)}" if job.refiners else ""
        print(
            f"  {job.run_dir}  {job.model} x {job.epochs} epochs{refiners}  ~{job.estimate_s:.0f} s  [{'; '.join(job.cells) or job.config}]"
        )
    if rest:
        print(f"\nlater: {len(rest)} job(s), first {rest[0].run_dir}")
    return 0


def _pack(args) -> int:
    missing, _ = _selected(args)
    window, _ = offload_jobs.cut(missing, args.window_s, args.parallel)
    manifest = pack(window, args.folder, max_mib=args.max_mib, window_s=args.window_s)
    print(
        f"{args.folder}: {len(manifest['jobs'])} job(s), {manifest['bytes'] / (1 << 20):.1f} MiB; "
        f"there: cd {args.folder} && python3 run.py --out $OUT --deadline-s {args.window_s:.0f}"
    )
    for run_dir, why in manifest["left"].items():
        print(f"  left for a later pack: {run_dir}: {why}")
    return 0


def _unpack(args) -> int:
    result = unpack(args.folder, record=not args.no_record)
    report = result["report"]
    print(
        f"{args.folder}: {len(result['placed'])} file(s) placed; the window ran on "
        f"{report.get('gpu') or report.get('device')} for {report.get('seconds')} s"
    )
    for what in report.get("left_out", []):
        print(f"  did not come back: {what}")
    for name in result["kept"]:
        print(f"  kept (already here): {name}")
    for run, problems in result["refused"].items():
        print(f"  refused {run}:")
        for problem in problems:
            print(f"    {problem}")
    return 1 if result["refused"] else 0


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser("python -m deepclust.offload", __doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, helptext in (
        ("plan", "the jobs still missing, by value, and the next window's"),
        ("pack", "a folder that runs the next window's jobs with `python3 run.py`"),
    ):
        cmd = sub.add_parser(name, help=helptext)
        if name == "pack":
            cmd.add_argument("folder", help="a new (or empty) folder")
            cmd.add_argument(
                "--max-mib",
                type=float,
                default=DEFAULT_MAX_MIB,
                help=f"what may be sent (default {DEFAULT_MAX_MIB})",
            )
        cmd.add_argument(
            "targets",
            nargs="*",
            help=f"runs of --config ({CLUSTERING_DIR}/..., or the run folder)",
        )
        cmd.add_argument(
            "--config",
            action="append",
            help="a config file; repeat for an overlay, merged in order (default: the paper pages' cells)",
        )
        cmd.add_argument(
            "--window-s",
            type=float,
            default=540.0,
            help="seconds of GPU a window gives its jobs (default 540)",
        )
        cmd.add_argument(
            "--parallel",
            type=int,
            default=3,
            help="jobs sharing the GPU, for the estimate (default 3)",
        )
        cmd.add_argument("--no-refine", action="store_true", help="pretraining and features only")
        cmd.add_argument(
            "--json",
            action="store_true",
            help=argparse.SUPPRESS if name == "pack" else "the window as JSON",
        )
    cmd = sub.add_parser("unpack", help="a window's result pieces into their places here")
    cmd.add_argument("folder", help="the folder holding results.tar.000, ...")
    cmd.add_argument(
        "--no-record",
        action="store_true",
        help="place the files without recording them for Snakemake",
    )
    cmd = sub.add_parser("run", help="(there) run a packed folder's jobs; same as its run.py")
    cmd.add_argument("rest", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    if args.command == "run":
        from deepclust.offload.remote import main as remote_main

        return remote_main(args.rest)
    body = {"plan": _plan, "pack": _pack, "unpack": _unpack}[args.command]
    return cli.run(parser, lambda: body(args))


if __name__ == "__main__":
    raise SystemExit(main())
