"""Home: a window's results into ``results/``, as if the workflow had made them here.

Each job's files are placed only when what made them is what today's config asks and today's
data holds: the pretraining, features and refiner parameters the rules would hand Snakemake
(:meth:`deepclust.config.Plan.params`) and the processed dataset's content
(:func:`deepclust.offload.codec.content_digest`). A job made otherwise is refused by name, with
the keys that differ. A result already here is never overwritten (a checkpoint, which is no
result, is). Then Snakemake records the placed outputs as its own (``--touch`` with their rules
forced: it stores today's parameters and code for them), so ``snakemake -n`` plans no
retraining and the clusterers, metrics and report run here as usual. Run it again with the
next window's pieces: each window adds its jobs.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from deepclust.config import Plan
from deepclust.config import load as load_config
from deepclust.config.plan import ROOT
from deepclust.io import atomic_path
from deepclust.offload.archive import job_files, open_pieces, read_stream
from deepclust.offload.codec import content_digest
from deepclust.offload.jobs import Job, config_jobs
from deepclust.paths import BENCHMARK_DIR, LOG_DIR

#: the rules whose outputs a window makes, forced (in touch mode) to record them
RULES = ("pretrain", "features", "graph", "refine")


def differences(made: dict, today: dict, prefix: str = "") -> list[str]:
    """The keys (dotted) where two parameter sets differ."""
    keys = sorted(set(made) | set(today), key=str)
    found = []
    for key in keys:
        a, b = made.get(key), today.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            found += differences(a, b, f"{prefix}{key}.")
        elif a != b:
            found.append(f"{prefix}{key}: made with {a!r}, config says {b!r}")
    return found


def check_job(job: Job, plan: Plan, digest: str | None, base_dir: Path) -> list[str]:
    """Why ``job``'s network may not be placed (empty: it may)."""
    today = config_jobs(job.config, [job.run_dir], plan=plan, base_dir=base_dir, refine=False)
    if not today:
        return [f"not a run of {job.config} any more"]
    problems = differences(job.pretrain, today[0].pretrain)
    problems += [d for d in differences(job.features, today[0].features) if d not in problems]
    data = base_dir / job.data
    if not data.exists():
        problems.append(f"{job.data}: not here (build it: snakemake {job.data})")
    elif digest is not None and content_digest(data) != digest:
        problems.append(f"{job.data}: other content than the data the job trained on")
    return problems


def check_refiner(job: Job, name: str, plan: Plan) -> list[str]:
    if name not in plan.config["clusterers"]:
        return [f"no clusterer {name!r} in {job.config} any more"]
    return differences(job.refiners[name]["params"], plan.params("clusterers", name, "refine"))


def _job_files(job: Job, names: set[str]) -> dict[str, list[str]]:
    """The members of the stream that belong to ``job``, by output group (graphs are placed
    on their own, above)."""
    return {
        group: [p for p in files if p in names]
        for group, files in job_files(job).items()
        if not group.startswith("graph:")
    }


#: the file of each output group that names it to Snakemake (a refiner's: its metrics)
TARGET_FILE = {"network": "model", "features": "features"}
#: the job files a rule writes beside its outputs, which a later run overwrites
JOB_RECORDS = (f"{LOG_DIR}/", f"{BENCHMARK_DIR}/")


def unpack(
    folder: str | Path,
    base_dir: str | Path = ".",
    *,
    record: bool = True,
) -> dict:
    """Place the results in ``folder``'s pieces under ``base_dir``; returns ``{"placed",
    "refused", "kept", "report"}`` (``refused``: why, per run; ``kept``: results already here).
    ``record``: have Snakemake record the placed outputs (``--touch``)."""
    base_dir = Path(base_dir)
    tar = open_pieces(folder)
    manifest, report = read_stream(tar)
    names = set(tar.getnames())
    plans: dict[str, Plan] = {}
    placed: list[str] = []
    refused: dict[str, list[str]] = {}
    kept: list[str] = []
    targets: dict[str, list[str]] = {}
    graphs = {  # a graph has no params: its k and metric are its name
        file
        for value in manifest["jobs"]
        for group, files in job_files(Job.from_dict(value)).items()
        if group.startswith("graph:")
        for file in files
        if file in names
    }
    for file in sorted(graphs):
        _place(tar, file, base_dir, placed, kept)
    for value in manifest["jobs"]:
        job = Job.from_dict(value)
        groups = _job_files(job, names)
        if not any(groups.values()):
            continue  # nothing of it came back
        if job.config not in plans:
            plans[job.config] = load_config(
                *(base_dir / p for p in job.config.split()), base_dir=base_dir
            )
        plan = plans[job.config]
        digest = manifest["datasets"].get(job.dataset, {}).get("digest")
        problems = check_job(job, plan, digest, base_dir)
        if problems:
            refused[job.run_dir] = problems
            continue
        for group, files in groups.items():
            if not files:
                continue
            if group in job.refiners:
                problems = check_refiner(job, group, plan)
                graph = job.refiners[group].get("graph")
                if graph:
                    stem = f"graph:knn{graph['k']}_{graph['metric']}"
                    if not (base_dir / job_files(job)[stem][0]).exists():
                        problems.append("its kNN graph did not come back")
                if problems:
                    refused[f"{job.run_dir}/{group}"] = problems
                    continue
            if group == "checkpoint":
                if (
                    files[0] == job.path("checkpoint")
                    and not (base_dir / job.path("model")).exists()
                ):
                    _place(tar, files[0], base_dir, placed, kept, overwrite=True)
                continue
            made = [f for f in files if not f.startswith(JOB_RECORDS)]
            if any((base_dir / f).exists() for f in made):
                kept.extend(files)
                continue
            for file in files:
                _place(
                    tar,
                    file,
                    base_dir,
                    placed,
                    kept,
                    overwrite=file.startswith(JOB_RECORDS),
                )
            if group in TARGET_FILE:
                target = job.path(TARGET_FILE[group])
            else:
                target = job.path("metrics", clusterer=group)
            targets.setdefault(job.config, []).append(target)
        if (base_dir / job.path("model")).exists():  # finished: no partial state left
            (base_dir / job.path("checkpoint")).unlink(missing_ok=True)
    if record:
        for config, files in targets.items():
            record_outputs(config, files, base_dir)
    return {"placed": placed, "refused": refused, "kept": kept, "report": report}


def _place(
    tar, name: str, base_dir: Path, placed: list, kept: list, overwrite: bool = False
) -> None:
    target = base_dir / name
    if target.exists() and not overwrite:
        kept.append(name)
        return
    member = tar.extractfile(name)
    with atomic_path(target) as tmp:
        tmp.write_bytes(member.read())
    placed.append(name)


def record_outputs(config: str, targets: list[str], base_dir: Path) -> None:
    """Have Snakemake record ``targets`` as made by their rules with today's parameters
    (``--touch`` of the forced jobs: nothing runs, the metadata is written)."""
    snakefile = base_dir / "Snakefile"
    command = [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(snakefile if snakefile.exists() else ROOT / "Snakefile"),
        "--directory",
        str(base_dir),
        "--touch",
        "--cores",
        "1",
        "--forcerun",
        *RULES,
        "--configfile",
        *(str((base_dir / p).resolve()) for p in config.split()),
        "--",
        *targets,
    ]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(
            f"snakemake --touch for {len(targets)} output(s) of {config} failed:\n"
            + "\n".join(done.stderr.splitlines()[-15:])
        )
