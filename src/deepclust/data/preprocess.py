"""Preprocessing: raw arrays -> ``data/processed/{dataset}.h5`` with images (N, C, H, W) float32 in [0, 1].

Every model reads images in [0, 1]; a model that wants another pixel scale (ASCAE trains on
[0, 255]) says so with its extractor's ``input_scale``, so one processed file serves all models.
The transforms applied (resize, grey/RGB) are recorded in the file's attributes.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from deepclust.data import readers
from deepclust.data.registry import OWN_DATA_SOURCES, get_builtin
from deepclust.degenerate import check_cluster_count, data_warnings
from deepclust.io import write_h5

log = logging.getLogger("deepclust")

_LUMA = np.asarray([0.299, 0.587, 0.114], dtype=np.float32)


def to_unit_nchw(image: np.ndarray, where: str) -> np.ndarray:
    """One image or a stack -> float32 (N, C, H, W) in [0, 1].

    Accepts (H, W), (N, H, W), (N, H, W, C) and (N, C, H, W) with C in {1, 3}; uint8 is scaled
    by 1/255, floats must lie in [0, 1] (or [0, 255], then scaled). Channels-last wins when
    both readings are possible.
    """
    array = np.asarray(image)
    if array.ndim == 2:
        array = array[None]
    if array.ndim == 3:
        array = array[:, None]
    elif array.ndim == 4:
        if array.shape[-1] in (1, 3):
            array = array.transpose(0, 3, 1, 2)
        elif array.shape[1] not in (1, 3):
            raise ValueError(f"{where}: images of shape {image.shape}: expected 1 or 3 channels")
    else:
        raise ValueError(
            f"{where}: images of shape {np.shape(image)}: expected (N, H, W), (N, H, W, C) or (N, C, H, W)"
        )
    if array.dtype == np.uint8:
        return array.astype(np.float32) / 255.0
    if array.dtype == bool or not np.issubdtype(array.dtype, np.number):
        raise ValueError(f"{where}: images must be numeric, got dtype {array.dtype}")
    array = array.astype(np.float32)
    if not np.isfinite(array).all():
        raise ValueError(f"{where}: images contain NaN or Inf values")
    low, high = float(array.min(initial=0.0)), float(array.max(initial=0.0))
    if low < 0.0 or high > 255.0:
        raise ValueError(
            f"{where}: pixel values span [{low}, {high}]; expected [0, 1], [0, 255] or uint8"
        )
    return array / 255.0 if high > 1.0 else array


def convert_channels(images: np.ndarray, channels: str | None) -> np.ndarray:
    """``grey`` (luminance), ``rgb`` (grey repeated) or ``None`` (keep)."""
    if channels is None or (channels == "grey" and images.shape[1] == 1):
        return images
    if channels == "grey":
        return np.tensordot(images, _LUMA, axes=([1], [0]))[:, None].astype(np.float32)
    if channels == "rgb":
        return images if images.shape[1] == 3 else np.repeat(images, 3, axis=1)
    raise ValueError(f"channels must be 'grey', 'rgb' or null, got {channels!r}")


def resize(images: np.ndarray, size: Sequence[int] | None) -> np.ndarray:
    """Antialiased bilinear resize of (N, C, H, W) to ``size`` = (H, W); ``None`` keeps the size."""
    if size is None or tuple(images.shape[2:]) == tuple(size):
        return images
    out = F.interpolate(
        torch.from_numpy(images),
        size=tuple(size),
        mode="bilinear",
        antialias=True,
        align_corners=False,
    )
    return out.clamp_(0.0, 1.0).numpy()


def prepare_image(
    image: np.ndarray, channels: str | None, size: Sequence[int] | None, where: str
) -> np.ndarray:
    """One image file's pixels, (H, W) or (H, W, C), as the dataset's (1, C, H, W): one image,
    never a stack of H rows (an RGB image is not 8 images of 8 x 3)."""
    return resize(convert_channels(to_unit_nchw(np.asarray(image)[None], where), channels), size)


def normalise_size(size: int | Sequence[int] | None) -> tuple[int, int] | None:
    if size is None:
        return None
    if isinstance(size, int):
        return (size, size)
    return (int(size[0]), int(size[1]))


def load_raw(
    name: str, cfg: dict, raw_dir: str | Path | None
) -> tuple[np.ndarray | list, np.ndarray | None, dict]:
    """Read a configured dataset's raw data: a built-in from ``raw_dir`` or own data from ``cfg['path']``."""
    source = cfg["source"]
    meta: dict = {"source": source}
    if source in OWN_DATA_SOURCES:
        path = Path(cfg["path"])
        meta["path"] = str(path)
        if cfg.get("content"):  # what the workflow hashed (deepclust.data.fingerprint)
            meta["content"] = cfg["content"]
        if source == "folder":
            images, labels, class_names, sources = readers.read_image_folder(
                path, cfg.get("channels")
            )
            meta["class_names"] = class_names
            meta["sources"] = sources
        else:
            images, labels = readers.read_array_file(path)
        return images, labels, meta
    builtin = get_builtin(source)
    images, labels = builtin.read(Path(raw_dir) if raw_dir else Path())
    return images, labels, meta


def preprocess(
    name: str,
    cfg: dict,
    out_path: str | Path,
    raw_dir: str | Path | None = None,
    manifest: dict | None = None,
) -> dict:
    """Read, convert, resize and validate dataset ``name`` and write its processed HDF5 file.

    Returns the attributes written. Raises ``ValueError`` naming the file and the problem; the
    output is written atomically, so a failure leaves nothing behind.
    """
    raw, labels, meta = load_raw(name, cfg, raw_dir)
    sources = meta.pop("sources", None)  # an image folder's files, kept as an array
    where = meta.get("path", f"dataset {name!r}")
    size = normalise_size(cfg.get("size"))
    channels = cfg.get("channels")
    if isinstance(raw, list):  # image folder: sizes may differ until resized
        stack = [prepare_image(img, channels, size, where) for img in raw]
        shapes = [s.shape[1:] for s in stack]
        if len(set(shapes)) > 1:
            common = max(set(shapes), key=shapes.count)
            odd = [i for i, shape in enumerate(shapes) if shape != common]
            listed = [
                f"{sources[i] if sources is not None else f'image {i}'} "
                f"({'x'.join(map(str, shapes[i]))})"
                for i in odd[:5]
            ]
            raise ValueError(
                f"{where}: images have different sizes: {len(odd)} of {len(stack)} differ from "
                f"the most common {'x'.join(map(str, common))} (channels x height x width): "
                f"{', '.join(listed)}{', ...' if len(odd) > 5 else ''}; "
                f"set datasets.{name}.size (e.g. {list(common[1:])}) to resize them all"
            )
        images = np.concatenate(stack)
    else:
        images = resize(convert_channels(to_unit_nchw(raw, where), channels), size)
    if len(images) == 0:
        raise ValueError(f"{where}: no images")
    if labels is not None:
        labels = _check_labels(np.asarray(labels), len(images), where)
    n_classes = int(len(np.unique(labels))) if labels is not None else None
    n_clusters = cfg.get("n_clusters") or n_classes
    if n_clusters is None:
        raise ValueError(
            f"{where}: the data has no labels, so datasets.{name}.n_clusters must be set"
        )
    key = (
        f"datasets.{name}.n_clusters"
        if cfg.get("n_clusters")
        else f"{where} ({n_classes} class(es))"
    )
    check_cluster_count(len(images), int(n_clusters), key)
    for warning in data_warnings(len(images), int(n_clusters), n_classes):
        log.warning("datasets.%s: %s", name, warning)
    attrs = {
        **meta,
        "dataset": name,
        "n_samples": len(images),
        "n_classes": n_classes,
        "n_clusters": int(n_clusters),
        "has_labels": labels is not None,
        "image_shape": list(images.shape[1:]),
        "transforms": {"size": size, "channels": channels, "scale": "float32 in [0, 1]"},
        "manifest": json.dumps(manifest) if manifest else None,
    }
    arrays = {"images": images.astype(np.float32), "labels": labels, "sources": sources}
    write_h5(out_path, arrays, attrs)
    return attrs


def _check_labels(labels: np.ndarray, n_images: int, where: str) -> np.ndarray:
    if labels.ndim != 1 or len(labels) != n_images:
        raise ValueError(f"{where}: {n_images} images but labels of shape {labels.shape}")
    if labels.dtype.kind in "US":  # class names given as strings
        _, labels = np.unique(labels, return_inverse=True)
    elif labels.dtype.kind == "f":
        if not np.isfinite(labels).all() or not np.equal(np.mod(labels, 1), 0).all():
            raise ValueError(f"{where}: labels must be whole numbers")
    elif labels.dtype.kind not in "iub":
        raise ValueError(f"{where}: labels must be integers or strings, got dtype {labels.dtype}")
    return labels.astype(np.int64)
