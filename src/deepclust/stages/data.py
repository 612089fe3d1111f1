"""Stages of ``workflow/rules/data.smk``: fetch a built-in dataset, preprocess any dataset."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

log = logging.getLogger("deepclust")


def run_download(
    source: str,
    raw_dir: str,
    manifest: str,
    *,
    mirror: str | Sequence[str] | None,
    retries: int = 3,
) -> None:
    from deepclust.data.sources import download_dataset

    mirrors = [mirror] if isinstance(mirror, str) else list(mirror or [])
    result = download_dataset(source, raw_dir, manifest, mirrors=mirrors, retries=retries)
    log.info("downloaded %s: %s", source, json.dumps(result["files"]))


def run_preprocess(name: str, dataset_cfg: dict, output: str, manifest: str | None = None) -> None:
    from deepclust.data.preprocess import preprocess

    manifest_data = json.loads(Path(manifest).read_text()) if manifest else None
    raw_dir = Path(manifest).parent if manifest else None
    attrs = preprocess(name, dataset_cfg, output, raw_dir=raw_dir, manifest=manifest_data)
    log.info(
        "preprocessed %s: %s",
        name,
        {k: attrs[k] for k in ("n_samples", "image_shape", "n_clusters", "has_labels")},
    )
