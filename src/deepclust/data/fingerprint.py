"""Own data by content: what reruns preprocessing when an image changes, and only then.

Snakemake decides from modification times, and for a folder from the folder's own time only. So
an image added to a class sub-folder, or a file overwritten in place, reran nothing and the
results went on describing the old data; while a copy that renews every time (``cp`` without
``-p``, a fresh checkout, a re-provisioned share) retrained every network on unchanged data.
The preprocess rule therefore reads own data as ``ancient`` (its time never reruns anything) and
carries :func:`content_digest` in its params: the SHA-256 of every file the readers read, with
its path relative to the dataset's folder, so a changed, added, removed or renamed image (a
renamed class folder renames a class) reruns preprocessing and what follows, and a new time on
the same bytes reruns nothing.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from deepclust.data.readers import class_folders, image_files

#: read in pieces of this size, so a large .npz never sits in memory twice
CHUNK = 1 << 20


def read_files(path: str | Path) -> list[Path]:
    """The files own data at ``path`` is read from: the file itself, or a folder's images, loose
    or one class sub-folder deep, listed as :func:`deepclust.data.readers.read_image_folder`
    lists them (neither other files nor hidden folders are read)."""
    path = Path(path)
    if not path.is_dir():
        return [path]
    return [file for folder in [path, *class_folders(path)] for file in image_files(folder)]


def content_digest(path: str | Path) -> str:
    """``sha256:<hex>`` of own data's content: each file's path relative to ``path`` and bytes."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: own data not found (datasets.<name>.path)")
    total = hashlib.sha256()
    for file in read_files(path):
        digest = hashlib.sha256()
        with open(file, "rb") as handle:
            while block := handle.read(CHUNK):
                digest.update(block)
        name = file.relative_to(path).as_posix() if file != path else file.name
        total.update(f"{name}\0{digest.hexdigest()}\n".encode())
    return f"sha256:{total.hexdigest()}"
