"""The report's size for a small own-data run of photo-like images, and what fills it.

Run by hand, never in CI:  .venv/bin/python bench/report_size.py [--people 40] [--per-person 10]

Issue 35 found a 39.9 MB report.html for 400 face photos (40 people, 64x64) in a crossover
grid. This builds, in a temporary folder, an image folder of the same shape (per person a
smooth random face-like texture, per photo a shift, a brightness change and noise: photos that
compress as poorly as real ones), runs the real Snakefile on a crossover grid of two networks x
three clusterers (one seed, few epochs: the figures, not the scores, are measured) to
its report.html, and counts the report's bytes by what they hold (inlined PNG, inlined
JPEG, the rest). Appends one Markdown table to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml
from PIL import Image
from results_table import RESULTS, append_table
from scipy.ndimage import gaussian_filter, shift

from deepclust.paths import path

REPO = Path(__file__).resolve().parents[1]


def photo_folder(root: Path, people: int, per_person: int, size: int = 64) -> None:
    rng = np.random.default_rng(0)
    for person in range(people):
        face = gaussian_filter(rng.normal(size=(size, size)), 3.0)
        face = (face - face.min()) / (np.ptp(face) + 1e-9)
        folder = root / f"person{person:02d}"
        folder.mkdir(parents=True)
        for k in range(per_person):
            photo = shift(face, rng.uniform(-3, 3, 2), mode="nearest") * rng.uniform(0.7, 1.1)
            photo = np.clip(photo + rng.normal(0, 0.04, photo.shape), 0, 1)
            Image.fromarray((photo * 255).astype(np.uint8)).save(folder / f"{k}.png")


def config(folder: Path, people: int) -> dict:
    dense = {"model": "dense_ae", "model_args": {"hidden_dims": [256, 128]}, "epochs": 20}
    return {
        "name": "bench",  # its report: results/reports/bench/report.html
        "device": "cpu",
        "seeds": [0],
        "datasets": {"faces": {"source": "folder", "path": str(folder)}},
        "extractors": {
            "dense_ae": dense,
            "conv_ae": {"model": "conv_ae", "epochs": 10, "batch_size": 64},
        },
        "clusterers": {
            "kmeans": {"method": "kmeans", "params": {"n_init": 5}},
            "gmm": {"method": "gmm", "params": {"covariance_type": "diag"}},
            "dekm": {"method": "dekm", "params": {"max_iter": 3, "update_interval": 4}},
        },
        "crossover": {
            "datasets": ["faces"],
            "extractors": ["dense_ae", "conv_ae"],
            "clusterers": ["kmeans", "gmm", "dekm"],
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=40)
    parser.add_argument("--per-person", type=int, default=10)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--keep", help="build in this folder and keep it")
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.keep or tmp)
        photo_folder(work / "faces", args.people, args.per_person)
        (work / "config.yaml").write_text(yaml.safe_dump(config(work / "faces", args.people)))
        cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile")]
        cmd += ["--directory", str(work), "--configfile", str(work / "config.yaml")]
        cmd += ["--cores", str(args.cores), path("report", name="bench")]
        tic = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True)
        seconds = time.perf_counter() - tic
        if done.returncode:
            raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr[-4000:]}")
        html = (work / path("report", name="bench")).read_text()
    kinds = {"png": 0, "jpeg": 0}
    counts = {"png": 0, "jpeg": 0}
    for kind, payload in re.findall(r'src="data:image/(png|jpeg);base64,([^"]*)"', html):
        kinds[kind] += len(payload)
        counts[kind] += 1
    total = len(html.encode())
    rest = total - sum(kinds.values())
    rows = [
        ["inlined PNG figures", counts["png"], f"{kinds['png'] / 1e6:.2f}"],
        [
            "inlined JPEG figures (photographs past 250 kB)",
            counts["jpeg"],
            f"{kinds['jpeg'] / 1e6:.2f}",
        ],
        ["tables, text, config", "", f"{rest / 1e6:.2f}"],
        ["report.html", "", f"{total / 1e6:.2f}"],
    ]
    for row in rows:
        print(" | ".join(str(v) for v in row))
    n = args.people * args.per_person
    append_table(
        f"Report size: {n} photo-like images ({args.people} people, 64x64), 2 networks x 3 clusterers",
        f"one seed; the run to report.html took {seconds:.0f} s",
        ["what", "figures", "MB"],
        rows,
        args.out,
    )


if __name__ == "__main__":
    main()
