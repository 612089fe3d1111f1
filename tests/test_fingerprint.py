"""Own data by content (deepclust.data.fingerprint): what reruns preprocessing, and what not."""

import os
import shutil

import numpy as np
import pytest
from PIL import Image

from conftest import pixels_kmeans_config, planned_jobs, snakemake
from deepclust.data.fingerprint import content_digest, read_files


def _image(path, value):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((6, 6), value, dtype=np.uint8)).save(path)


@pytest.fixture
def folder(tmp_path):
    for k, cls in enumerate(("cat", "dog")):
        for i in range(4):
            _image(tmp_path / "pets" / cls / f"{i}.png", 60 * k + 10 * i)
    return tmp_path / "pets"


def test_the_digest_follows_the_images_and_nothing_else(folder, tmp_path):
    before = content_digest(folder)
    assert before.startswith("sha256:") and content_digest(folder) == before
    # a new time on the same bytes, a copy elsewhere, a file the reader does not read: the same
    for file in folder.rglob("*"):
        os.utime(file, (2e9, 2e9))
    (folder / "dog" / "notes.txt").write_text("not an image")
    (folder / ".thumbs").mkdir()
    _image(folder / ".thumbs" / "x.png", 1)
    assert content_digest(shutil.copytree(folder, tmp_path / "copy")) == before
    assert len(read_files(folder)) == 8
    # an image changed in place, one added, a class renamed: each a new digest
    changed = set()
    _image(folder / "dog" / "0.png", 255)
    changed.add(content_digest(folder))
    _image(folder / "dog" / "9.png", 3)
    changed.add(content_digest(folder))
    (folder / "dog").rename(folder / "wolf")
    changed.add(content_digest(folder))
    assert len(changed | {before}) == 4


def test_a_file_is_its_bytes_and_a_missing_path_is_named(tmp_path):
    np.savez(tmp_path / "a.npz", images=np.zeros((4, 3, 3)))
    digest = content_digest(tmp_path / "a.npz")
    os.utime(tmp_path / "a.npz", (2e9, 2e9))
    assert content_digest(tmp_path / "a.npz") == digest
    np.savez(tmp_path / "a.npz", images=np.ones((4, 3, 3)))
    assert content_digest(tmp_path / "a.npz") != digest
    with pytest.raises(FileNotFoundError, match="gone.npz: own data not found"):
        content_digest(tmp_path / "gone.npz")


@pytest.mark.slow
def test_own_images_rerun_on_new_content_and_not_on_new_times(folder, tmp_path):
    """Snakemake compares a folder's own time only: an image added to a class folder reran
    nothing, and a folder copied anew (a fresh time, same bytes) reran everything (issue 35)."""
    config = pixels_kmeans_config("pets", folder)
    target = "results/pets/pixels/seed0/kmeans/metrics.json"
    run = snakemake(tmp_path, config, target)
    assert run.returncode == 0, run.stderr[-3000:]
    assert planned_jobs(snakemake(tmp_path, config, target, "-n")) == {}
    for path in [folder, *folder.rglob("*")]:  # a fresh copy: every time newer than results
        os.utime(path, None)
    assert planned_jobs(snakemake(tmp_path, config, target, "-n")) == {}
    _image(folder / "dog" / "4.png", 200)  # the folder's own time does not change
    jobs = planned_jobs(snakemake(tmp_path, config, target, "-n"))
    assert jobs.get("preprocess") == 1 and jobs.get("cluster") == 1
