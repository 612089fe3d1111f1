"""One folder that trains a list of jobs on a machine with PyTorch and nothing of ours.

The folder holds the package's code (``src/deepclust``, which the jobs import instead of any
installed copy), each dataset the jobs read, narrowed (:mod:`deepclust.offload.codec`), the
networks already trained here whose refiners are still to run, the checkpoints of jobs an
earlier window left unfinished, the job list (``jobs.json``) and
``run.py``. It fits a cap on what may be sent: jobs whose data would break it are left for the
next pack, named. Nothing under ``results/`` or ``data/`` here is changed.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from deepclust import __version__
from deepclust.config.checks import PACKAGE, code_fingerprint
from deepclust.io import write_json, write_text
from deepclust.offload.codec import pack_dataset, source_bytes
from deepclust.offload.jobs import Job, n_images

MIB = 1 << 20
#: what may be sent with the command: 64 MiB, less room for a small checkout that travels with
#: it (some lenders send the working tree too; this one is under 2 MB)
DEFAULT_MAX_MIB = 60
MANIFEST = "jobs.json"
#: suffixes of the package's files the jobs need (code, the schema, resources)
PACKAGE_SUFFIXES = (".py", ".yaml", ".json", ".csv", ".txt")
RUNNER = '''"""Run the packed jobs here: python3 run.py --out DIR (see python3 run.py --help)."""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "src"))  # the packed code, never an installed copy

from deepclust.offload.remote import main  # noqa: E402

raise SystemExit(main(sys.argv[1:], home=HERE))
'''


def copy_package(target: Path) -> int:
    """The package's code under ``target/src/deepclust``; returns its bytes."""
    size = 0
    for path in sorted(PACKAGE.rglob("*")):
        if path.is_file() and path.suffix in PACKAGE_SUFFIXES and "__pycache__" not in path.parts:
            out = target / "src" / "deepclust" / path.relative_to(PACKAGE)
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, out)
            size += path.stat().st_size
    return size


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def pack(
    jobs: list[Job],
    out_dir: str | Path,
    *,
    base_dir: str | Path = ".",
    max_mib: float = DEFAULT_MAX_MIB,
    window_s: float | None = None,
) -> dict:
    """Write the folder for ``jobs`` (in order) to ``out_dir`` (new or empty) and return its
    manifest: ``jobs`` packed, ``left`` (run dir -> why not), ``datasets``, ``bytes``."""
    base_dir, out_dir = Path(base_dir), Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise FileExistsError(f"{out_dir}: not empty; pack into a new folder")
    if not jobs:
        raise ValueError("no jobs to pack: every target is already here")
    out_dir.mkdir(parents=True, exist_ok=True)
    cap = int(max_mib * MIB)
    used = copy_package(out_dir) + len(RUNNER)
    datasets: dict[str, dict] = {}
    packed, left = [], {}
    for job in jobs:
        job.n_images = job.n_images or n_images(job.dataset, base_dir)
        source = base_dir / job.data
        if job.dataset not in datasets:
            if not source.exists():
                raise FileNotFoundError(
                    f"{source}: not built; run `snakemake {job.data} --configfile "
                    f"{job.config.split()[0]}` first"
                )
            target = out_dir / "data" / f"{job.dataset}.h5"
            info = pack_dataset(
                source,
                target,
                unresized=lambda job=job: source_bytes(job.dataset, job.data_config, base_dir),
            )
            if used + info["bytes"] > cap:
                target.unlink()
                left[job.run_dir] = (
                    f"{job.data} packs to {info['bytes'] / MIB:.1f} MiB; "
                    f"{(cap - used) / MIB:.1f} MiB of {max_mib:g} were left"
                )
                datasets[job.dataset] = {"left": True}
                continue
            used += info["bytes"]
            datasets[job.dataset] = {"file": f"data/{job.dataset}.h5", **info}
        elif datasets[job.dataset].get("left"):
            left[job.run_dir] = left.get(job.run_dir) or f"{job.data} did not fit (above)"
            continue
        # a network trained here already travels, so that its refiners fine-tune this one
        trained = job.trained_files()
        if all((base_dir / path).exists() for path in trained):
            for path in trained:
                out = out_dir / path
                out.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(base_dir / path, out)
                used += (base_dir / path).stat().st_size
        checkpoint = base_dir / job.path("checkpoint")
        if checkpoint.exists():  # an earlier window's unfinished training resumes from it
            if used + checkpoint.stat().st_size > cap:
                left[job.run_dir] = "its checkpoint does not fit beside the data"
                continue
            out = out_dir / job.path("checkpoint")
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(checkpoint, out)
            used += checkpoint.stat().st_size
        packed.append(job)
    if not packed:
        shutil.rmtree(out_dir / "src", ignore_errors=True)
        raise ValueError(
            f"no job fits {max_mib:g} MiB: " + "; ".join(f"{k}: {v}" for k, v in left.items())
        )
    manifest = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "deepclust": __version__,
        "code": code_fingerprint(),
        "window_s": window_s,
        "datasets": {k: v for k, v in datasets.items() if not v.get("left")},
        "jobs": [job.to_dict() for job in packed],
        "left": left,
    }
    write_json(out_dir / MANIFEST, manifest)
    write_text(out_dir / "run.py", RUNNER)
    manifest["bytes"] = folder_bytes(out_dir)
    if manifest["bytes"] > cap:  # the manifest and runner are small; this is a bug if it fires
        raise RuntimeError(f"{out_dir}: {manifest['bytes'] / MIB:.1f} MiB, over {max_mib:g} MiB")
    return manifest


def read_manifest(folder: str | Path) -> dict:
    path = Path(folder) / MANIFEST
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no job list here (not a packed folder)") from None
