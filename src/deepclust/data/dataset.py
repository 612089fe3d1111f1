"""Reading a processed dataset back: the one place that knows ``data/processed/{dataset}.h5``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from deepclust.io import read_h5


@dataclass
class ImageData:
    """Images (N, C, H, W) float32 in [0, 1], optional int64 labels, the file's attributes, and
    where each image came from (:attr:`sources`)."""

    images: np.ndarray
    labels: np.ndarray | None
    attrs: dict
    files: np.ndarray | None = None

    @property
    def sources(self) -> list[str]:
        """Each image's origin: its file relative to the dataset's folder (``cat/001.png``) for
        an image folder, else ``name[row]``: the row of the own array file (``usps.npz[17]``)
        or of the built-in dataset (``mnist[17]``, the training images first)."""
        return _sources(self.files, self.attrs, len(self.images))

    @property
    def n_clusters(self) -> int:
        return int(self.attrs["n_clusters"])

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.images.shape[1:])


def load_processed(path: str | Path) -> ImageData:
    arrays, attrs = read_h5(path, ("images", "labels", "sources"))
    images = arrays["images"]
    if images is None or images.ndim != 4:
        raise ValueError(f"{path}: expected an 'images' array of shape (N, C, H, W)")
    return ImageData(images=images, labels=arrays["labels"], attrs=attrs, files=arrays["sources"])


def load_index(path: str | Path) -> tuple[list[str], np.ndarray | None, dict]:
    """A processed dataset's :attr:`ImageData.sources`, labels and attributes, without reading
    the images (a run's assignments need only these)."""
    arrays, attrs = read_h5(path, ("labels", "sources"))
    try:
        with h5py.File(path, "r") as f:
            n_images = len(f["images"])
    except (OSError, KeyError) as err:
        raise ValueError(f"{path}: no 'images' array ({err})") from err
    return _sources(arrays["sources"], attrs, n_images), arrays["labels"], attrs


def _sources(files: np.ndarray | None, attrs: dict, n_images: int) -> list[str]:
    if files is not None:
        return [str(f) for f in files]
    path = attrs.get("path")
    name = Path(path).name if path else attrs.get("source", "images")
    return [f"{name}[{i}]" for i in range(n_images)]
