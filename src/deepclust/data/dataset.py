"""Reading a processed dataset back: the one place that knows ``data/processed/{dataset}.h5``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from deepclust.io import read_h5


@dataclass
class ImageData:
    """Images (N, C, H, W) float32 in [0, 1], optional int64 labels, and the file's attributes."""

    images: np.ndarray
    labels: np.ndarray | None
    attrs: dict

    @property
    def n_clusters(self) -> int:
        return int(self.attrs["n_clusters"])

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.images.shape[1:])


def load_processed(path: str | Path) -> ImageData:
    arrays, attrs = read_h5(path, ("images", "labels"))
    images = arrays["images"]
    if images is None or images.ndim != 4:
        raise ValueError(f"{path}: expected an 'images' array of shape (N, C, H, W)")
    return ImageData(images=images, labels=arrays["labels"], attrs=attrs)
