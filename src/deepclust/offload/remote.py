"""There: run the packed jobs, several sharing the GPU, until the window's deadline.

``python3 run.py --out DIR`` in a packed folder (:mod:`deepclust.offload.pack`) needs Python,
PyTorch, h5py, scikit-learn and scipy, nothing else. It restores the datasets (checking their
content), then runs each job in a process of its own (:func:`run_job`: the workflow's own
stage functions, logs and benchmarks where the workflow keeps them, a checkpoint about once a
minute on a GPU). With ``--parallel auto`` it measures the GPU's throughput with the jobs
themselves (1, then 3, then 6 at a time, from their per-epoch logs) and keeps the fastest. A
little before ``--deadline-s`` it stops what still runs (each keeps its last checkpoint) and
writes what was made into at most ``--max-files`` pieces in ``--out``
(:mod:`deepclust.offload.archive`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from deepclust.offload.archive import job_files, write_pieces
from deepclust.offload.jobs import Job

#: concurrency levels tried by --parallel auto, in order
LEVELS = (1, 3, 6)
#: seconds of training counted at each level (after its new jobs logged their first epoch)
PROBE_S = 20.0
#: seconds before the deadline when running jobs are stopped, for the archive to be written
STOP_MARGIN_S = 30.0


def restore_data(home: Path, manifest: dict) -> None:
    """Each packed dataset back to ``data/processed/`` with the content it was packed with."""
    from deepclust.offload.codec import restore_dataset

    for name, info in manifest["datasets"].items():
        target = home / "data" / "processed" / f"{name}.h5"
        if not target.exists():
            restore_dataset(home / info["file"], target, info["digest"])


def _benchmark(path: Path, seconds: float) -> None:
    """A Snakemake-shaped benchmark file (the ledger reads its ``s``)."""
    from deepclust.io import write_text

    hms = time.strftime("%H:%M:%S", time.gmtime(seconds))
    write_text(path, f"s\th:m:s\n{seconds:.4f}\t{hms}\n")


def _made(path: str) -> str:
    """``path`` with its folder made (Snakemake makes a job's log and output folders)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def _stage(log: str, benchmark: str | None, threads: int | None):
    """One stage as its rule runs it: logged to ``log``, timed into ``benchmark``."""
    from deepclust.runtime import logged

    tic = time.perf_counter()
    with logged(_made(log), threads=threads):
        yield
    if benchmark is not None:
        _benchmark(Path(benchmark), time.perf_counter() - tic)


def run_job(job: Job, home: Path, device: str = "auto") -> None:
    """One job, in the folder ``home`` laid out as the workflow's: pretraining (resuming its
    checkpoint), features, then each refiner (after its kNN graph), each stage with the log and
    benchmark file its rule would write (:func:`~deepclust.offload.archive.job_files`). A stage
    whose outputs exist is not run again."""
    from deepclust.stages.cluster import run_graph, run_refine
    from deepclust.stages.pretrain import run_features, run_pretrain

    os.chdir(home)
    files = job_files(job)
    threads = 1 if device == "cpu" else None
    model, train_log, *logs = files["network"]
    if not Path(model).exists():
        with _stage(*logs, threads):
            run_pretrain(
                job.data,
                dict(job.pretrain),
                seed=job.seed,
                device=device,
                model_path=model,
                log_csv=train_log,
                checkpoint_path=files["checkpoint"][0],
                threads=threads,
                compile=job.settings.get("compile", False),
                checkpoint_every=1,  # on a GPU at most once a minute (training.py)
            )
    features, *logs = files["features"]
    if not Path(features).exists():
        with _stage(*logs, threads):
            run_features(
                job.data,
                dict(job.features),
                features,
                device=device,
                model_path=model,
                threads=threads,
                batch_size=job.settings.get("feature_batch_size"),
            )
    for name, refiner in job.refiners.items():
        labels, metrics, refined, refine_log, *logs = files[name]
        if Path(metrics).exists():
            continue
        graph = None
        if spec := refiner.get("graph"):
            graph, graph_log = files[f"graph:knn{spec['k']}_{spec['metric']}"]
            if not Path(graph).exists():
                with _stage(graph_log, None, threads):
                    run_graph(job.data, graph, threads=threads, device=device, **spec)
        with _stage(*logs, threads):
            run_refine(
                job.data,
                model,
                dict(refiner["params"]),
                seed=job.seed,
                device=device,
                labels_out=labels,
                metrics_out=metrics,
                model_out=refined,
                log_csv=refine_log,
                run=dict(refiner["run"]),
                graph_h5=graph,
                threads=threads,
            )


class Scheduler:
    """Jobs as child processes, as many at a time as the level in force."""

    def __init__(self, jobs: list[Job], home: Path, device: str, env: dict):
        self.queue = list(jobs)
        self.home, self.device, self.env = home, device, env
        self.running: dict[str, tuple[subprocess.Popen, Job, float]] = {}
        self.finished: dict[str, int] = {}  # run dir -> exit status
        self.errors: dict[str, str] = {}  # run dir -> the end of a failed job's output
        self.trained: dict[str, int] = {}  # run dir -> images its pretraining has trained

    def fill(self, level: int) -> None:
        while self.queue and len(self.running) < level:
            job = self.queue.pop(0)
            spec = self.home / ".offload" / f"{job.run_dir.replace('/', '_')}.json"
            spec.parent.mkdir(exist_ok=True)
            spec.write_text(json.dumps(job.to_dict()))
            command = [
                sys.executable,
                "-m",
                "deepclust.offload.remote",
                "--job",
                str(spec),
                "--device",
                self.device,
            ]
            log = open(self.home / ".offload" / f"{spec.stem}.out", "w")  # noqa: SIM115
            process = subprocess.Popen(
                command, cwd=self.home, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
            self.running[job.run_dir] = (process, job, time.monotonic())
            print(f"started {job.run_dir} ({len(self.running)} running)", flush=True)

    def reap(self) -> None:
        for run_dir, (process, _, started) in list(self.running.items()):
            if process.poll() is not None:
                self.finished[run_dir] = process.returncode
                del self.running[run_dir]
                state = "done" if process.returncode == 0 else f"failed ({process.returncode})"
                if process.returncode != 0:
                    output = self.home / ".offload" / f"{run_dir.replace('/', '_')}.out"
                    self.errors[run_dir] = "\n".join(output.read_text().splitlines()[-12:])
                print(f"{state}: {run_dir} in {time.monotonic() - started:.0f} s", flush=True)

    def images_trained(self) -> int:
        """Images every job has trained so far (from its per-epoch log; a job past its
        pretraining keeps the count it reached)."""
        for _, job, _ in self.running.values():
            live = self.home / job.run_dir / "train_log.live.csv"
            if live.exists():
                epochs = max(len(live.read_text().splitlines()) - 1, 0)
                seen = self.trained.get(job.run_dir, 0)
                self.trained[job.run_dir] = max(seen, epochs * (job.n_images or 0))
        return sum(self.trained.values())

    def all_logging(self) -> bool:
        return all(
            (self.home / job.run_dir / "train_log.live.csv").exists()
            for _, job, _ in self.running.values()
        )

    def stop(self) -> None:
        for process, _, _ in self.running.values():
            process.send_signal(signal.SIGTERM)
        for run_dir, (process, _, _) in list(self.running.items()):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
            print(f"stopped at the deadline: {run_dir}", flush=True)


def next_level(levels: list[int], measured: dict[int, float]) -> tuple[int, bool]:
    """The next level to measure, or (all measured) the fastest; and whether it is settled."""
    untried = [n for n in levels if n not in measured]
    if untried:
        return untried[0], False
    return max(measured, key=measured.get), True


def schedule(
    jobs: list[Job], home: Path, *, device: str, parallel: str, deadline: float
) -> tuple[dict, dict, dict]:
    """Run ``jobs`` until done or ``deadline`` (a ``time.monotonic()``); returns (exit status
    per finished job, throughput measured per level, the output's end of each failed job)."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(home / "src"), os.environ.get("PYTHONPATH", "")]),
    }
    scheduler = Scheduler(jobs, home, device, env)
    measured: dict[int, float] = {}
    fixed = None if parallel == "auto" else int(parallel)
    levels = [fixed] if fixed else ([1] if device == "cpu" else list(LEVELS))
    level = levels[0]
    probe_start = None
    while scheduler.queue or scheduler.running:
        if time.monotonic() >= deadline:
            scheduler.stop()
            break
        scheduler.reap()
        scheduler.fill(level)
        if fixed is None and len(levels) > len(measured):
            if probe_start is None and scheduler.all_logging():
                probe_start = (time.monotonic(), scheduler.images_trained())
            elif probe_start is not None and time.monotonic() - probe_start[0] >= PROBE_S:
                seconds = time.monotonic() - probe_start[0]
                rate = (scheduler.images_trained() - probe_start[1]) / seconds
                measured[level] = rate
                print(f"{level} at a time: {rate:.0f} img/s", flush=True)
                level, settled = next_level(levels, measured)
                if settled:
                    print(f"keeping {level} at a time", flush=True)
                probe_start = None
        time.sleep(0.5)
    scheduler.reap()
    return scheduler.finished, measured, scheduler.errors


def main(argv: list[str] | None = None, home: Path | None = None) -> int:
    parser = argparse.ArgumentParser(prog="run.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", help="where the result pieces go (e.g. $OUT)")
    parser.add_argument(
        "--deadline-s",
        type=float,
        default=540.0,
        help="seconds this run may take in all (default 540)",
    )
    parser.add_argument(
        "--parallel", default="auto", help="jobs at a time: auto (measure 1, 3, 6) or a number"
    )
    parser.add_argument("--device", default="auto", help="auto (CUDA when there is one), cuda, cpu")
    parser.add_argument("--max-files", type=int, default=8, help="pieces at most (default 8)")
    parser.add_argument(
        "--max-file-mib", type=float, default=16.0, help="MiB a piece at most (default 16)"
    )
    parser.add_argument(
        "--max-total-mib", type=float, default=64.0, help="MiB in all at most (default 64)"
    )
    parser.add_argument(
        "--stop-margin-s",
        type=float,
        default=STOP_MARGIN_S,
        help=f"seconds before the deadline when running jobs stop (default {STOP_MARGIN_S:g})",
    )
    parser.add_argument("--job", help=argparse.SUPPRESS)  # a child process: run this one job
    args = parser.parse_args(argv)
    if args.job:
        run_job(Job.from_dict(json.loads(Path(args.job).read_text())), Path.cwd(), args.device)
        return 0
    start = time.monotonic()
    home = Path(home or Path.cwd())
    from deepclust.offload.pack import read_manifest

    manifest = read_manifest(home)
    if not args.out:
        parser.error("--out is required: the folder the result pieces are written to")
    restore_data(home, manifest)
    device = args.device
    if device == "auto":
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
    jobs = [Job.from_dict(j) for j in manifest["jobs"]]
    print(f"{len(jobs)} job(s) on {device}; deadline in {args.deadline_s:.0f} s", flush=True)
    finished, measured, errors = schedule(
        jobs,
        home,
        device=device,
        parallel=args.parallel,
        deadline=start + args.deadline_s - args.stop_margin_s,
    )
    report = {
        "device": device,
        "gpu": _gpu_name(device),
        "finished": finished,
        "throughput": {str(k): round(v) for k, v in measured.items()},
        "errors": errors,
        "seconds": round(time.monotonic() - start, 1),
    }
    pieces = write_pieces(
        home,
        manifest,
        report,
        Path(args.out),
        max_files=args.max_files,
        max_file_bytes=int(args.max_file_mib * (1 << 20)),
        max_total_bytes=int(args.max_total_mib * (1 << 20)),
    )
    print(json.dumps({**report, "pieces": pieces}, indent=1), flush=True)
    return 0


def _gpu_name(device: str) -> str | None:
    if not device.startswith("cuda"):
        return None
    import torch

    return torch.cuda.get_device_name(0)


if __name__ == "__main__":
    raise SystemExit(main())
