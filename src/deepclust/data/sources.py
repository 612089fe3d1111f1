"""The download stage: bring a dataset's raw files into ``data/raw/{source}/``.

Built-in datasets are fetched from their official URLs or, offline, from the folders listed in
``data.mirror``; a manifest with each file's MD5 records what was used. For an archive such as
COIL-20's zip, a mirror may hold the extracted folder instead.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from deepclust.data.download import DownloadError, RemoteFile, fetch, md5sum, mirror_urls, url_to_path, verify
from deepclust.data.registry import get_builtin
from deepclust.io import write_json


def download_dataset(
    source: str,
    raw_dir: str | Path,
    manifest_path: str | Path,
    *,
    mirrors: Sequence[str] = (),
    retries: int = 3,
) -> dict:
    """Fetch every file of built-in ``source`` into ``raw_dir`` and write the manifest last.

    The manifest is the stage's output: it exists only once every file is in place and verified.
    """
    dataset = get_builtin(source)
    folders = [f for f in (source, dataset.family) if f]
    raw_dir = Path(raw_dir)
    raw_dir.mkdir(parents=True, exist_ok=True)
    files = {}
    for remote in dataset.files:
        folder = _local_extracted_copy(remote, mirrors, folders)
        if folder is not None:
            target = raw_dir / remote.extracted
            tmp = raw_dir / f".{remote.extracted}.tmp"
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.copytree(folder, tmp)
            shutil.rmtree(target, ignore_errors=True)
            tmp.rename(target)
            files[remote.extracted + "/"] = {"md5": None, "from": str(folder), "verified": "structure"}
            continue
        path = fetch(remote, raw_dir, dataset=source, mirrors=mirrors, folders=folders, retries=retries)
        files[remote.filename] = {"md5": md5sum(path), "published_md5": remote.md5, "verified": verify(path, remote)}
    # Structure check now, so a bad archive fails the download stage, not a later one.
    images, labels = dataset.read(raw_dir)
    if len(images) != dataset.n_samples:
        raise ValueError(f"{raw_dir}: {source} should have {dataset.n_samples} samples, read {len(images)}")
    manifest = {"source": source, "mirrors": list(mirrors), "files": files, "n_samples": len(images)}
    write_json(manifest_path, manifest)
    return manifest


def _local_extracted_copy(remote: RemoteFile, mirrors: Sequence[str], folders: Sequence[str]) -> Path | None:
    """An extracted folder in a local mirror stands in for an archive that is not there."""
    if remote.extracted is None:
        return None
    for url in mirror_urls([m for m in mirrors if "://" not in m], folders, remote.filename):
        archive = url_to_path(url)
        if archive.is_file():
            return None
        folder = archive.with_name(remote.extracted)
        if folder.is_dir():
            return folder
    return None


__all__ = ["DownloadError", "download_dataset"]
