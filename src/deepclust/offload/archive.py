"""What a window made, in a few capped pieces, and read back at home.

The results travel as one tar stream cut into pieces ``results.tar.000``, ``.001``, ... of at
most ``max_file_bytes``, no more than ``max_files`` of them and ``max_total_bytes`` in all. What
goes in is chosen by value, whole units at a time (a model without its training log is of no
use): every finished network, then the kNN graphs and the refiners' results, then the checkpoints
of the networks still training (the next window resumes them), then features (which home can
recompute from the model in seconds to minutes). What does not fit is named in the report.
The job list and the report go first.
"""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

from deepclust.offload.jobs import Job
from deepclust.paths import benchmark, log, path

PIECE = "results.tar.{:03d}"
#: members of the stream that are not results: the pack's job list, the window's report
JOBS_MEMBER, REPORT_MEMBER = "offload/jobs.json", "offload/report.json"
#: a tar member's header (and a long name's extra header), conservatively
HEADER_BYTES = 1536
END_BYTES = 10240


def _member_bytes(size: int) -> int:
    return HEADER_BYTES + -(-size // 512) * 512


def job_files(job: Job) -> dict[str, list[str]]:
    """The files a job makes, by output group (``network``, ``features``, ``checkpoint``, each
    refiner by name, and ``graph:{k}_{metric}`` per kNN graph), relative to its folder: each
    output with the log and benchmark file its rule writes."""
    w = job.wildcards
    groups = {
        "network": [*job.trained_files(), log("pretrain", **w), benchmark("pretrain", **w)],
        "features": [job.path("features"), log("features", **w), benchmark("features", **w)],
        "checkpoint": [job.path("checkpoint"), log("pretrain", **w)],
    }
    for name, refiner in job.refiners.items():
        c = {**w, "clusterer": name}
        groups[name] = [
            *(path(f, **c) for f in ("labels", "metrics", "refined_model", "refine_log")),
            log("refine", **c),
            benchmark("refine", **c),
        ]
        if graph := refiner.get("graph"):
            g = {"dataset": job.dataset, "k": graph["k"], "metric": graph["metric"]}
            groups[f"graph:knn{g['k']}_{g['metric']}"] = [path("graph", **g), log("graph", **g)]
    return groups


def units(home: Path, jobs: list[Job]) -> list[tuple[str, list[str]]]:
    """``(what, [paths relative to home])`` of every complete unit, most valuable first."""
    ranks = {"network": 0, "graph": 1, "refiner": 2, "checkpoint": 3, "features": 4}
    found, seen = [], set()
    for job in jobs:
        groups = job_files(job)
        for group, files in groups.items():
            kind = group.split(":")[0] if group.split(":")[0] in ranks else "refiner"
            if kind == "checkpoint":  # what an unfinished network leaves: its log may be missing
                if (home / groups["network"][0]).exists() or not (home / files[0]).exists():
                    continue
                files = [p for p in files if (home / p).exists()]
            elif not all((home / p).exists() for p in files):
                continue
            what = {
                "refiner": f"{job.run_dir}/{group}: refiner",
                "graph": f"{job.dataset}/{group.partition(':')[2]}: graph",
            }.get(kind, f"{job.run_dir}: {kind}")
            if what not in seen:
                seen.add(what)
                found.append((ranks[kind], len(found), what, files))
    return [(what, files) for _, _, what, files in sorted(found)]


def write_pieces(
    home: Path,
    manifest: dict,
    report: dict,
    out_dir: Path,
    *,
    max_files: int = 8,
    max_file_bytes: int = 16 << 20,
    max_total_bytes: int = 64 << 20,
) -> list[str]:
    """Write the window's results to ``out_dir`` in pieces; returns their names. The report
    (``report`` plus what went in and what was left out) is the stream's second member."""
    cap = min(max_total_bytes, max_files * max_file_bytes)
    jobs = [Job.from_dict(j) for j in manifest["jobs"]]
    jobs_blob = json.dumps(manifest).encode()
    used = END_BYTES + _member_bytes(len(jobs_blob)) + _member_bytes(64 << 10)  # report <= 64 KiB
    sent, left = [], []
    for what, paths in units(home, jobs):
        size = sum(_member_bytes((home / p).stat().st_size) for p in paths)
        if used + size <= cap:
            sent.append((what, paths))
            used += size
        else:
            left.append(what)
    report = {**report, "sent": [what for what, _ in sent], "left_out": left}
    report_blob = json.dumps(report, indent=1).encode()
    out_dir.mkdir(parents=True, exist_ok=True)
    stream = home / ".offload" / "results.tar"
    stream.parent.mkdir(exist_ok=True)
    with tarfile.open(stream, "w", format=tarfile.GNU_FORMAT) as tar:
        for name, blob in ((JOBS_MEMBER, jobs_blob), (REPORT_MEMBER, report_blob)):
            info = tarfile.TarInfo(name)
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
        for _, paths in sent:
            for path in paths:
                tar.add(home / path, arcname=path)
    names = []
    with open(stream, "rb") as f:
        while chunk := f.read(max_file_bytes):
            name = PIECE.format(len(names))
            (out_dir / name).write_bytes(chunk)
            names.append(name)
    stream.unlink()
    if len(names) > max_files:  # the cap above keeps this from happening
        raise RuntimeError(f"{out_dir}: {len(names)} pieces, more than {max_files}")
    return names


def open_pieces(folder: str | Path) -> tarfile.TarFile:
    """The stream the pieces in ``folder`` make, in order; an error names a missing piece."""
    folder = Path(folder)
    pieces = sorted(folder.glob("results.tar.[0-9][0-9][0-9]"))
    if not pieces:
        raise FileNotFoundError(f"{folder}: no result pieces (results.tar.000, ...) here")
    expected = [folder / PIECE.format(i) for i in range(len(pieces))]
    if pieces != expected:
        missing = sorted(set(expected) - set(pieces))
        raise ValueError(f"{folder}: piece(s) missing: {', '.join(p.name for p in missing)}")
    blob = b"".join(p.read_bytes() for p in pieces)
    return tarfile.open(fileobj=io.BytesIO(blob), mode="r")


def read_stream(tar: tarfile.TarFile) -> tuple[dict, dict]:
    """The pack's job list and the window's report from an opened stream."""

    def load(name: str) -> dict:
        try:
            return json.loads(tar.extractfile(name).read())
        except KeyError:
            raise ValueError(
                f"the result pieces hold no {name}: not an offload's results"
            ) from None

    return load(JOBS_MEMBER), load(REPORT_MEMBER)
