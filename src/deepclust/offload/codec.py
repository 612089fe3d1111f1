"""A processed dataset narrowed for the trip, and restored there to the same content.

The processed file keeps float32 pixels; for most built-ins they are ``k / 255`` exactly, so
the trip carries the byte ``k`` (MNIST: 21 MB -> about 10 MB), and the restore divides again.
That is used only when it gives back every pixel bit for bit; otherwise the floats travel,
shuffled and deflated. Either way :func:`content_digest` of the restored file is the
original's, checked there before a job reads it and here before a result made from it is
placed.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import h5py
import numpy as np

from deepclust.io import atomic_path

#: the attribute of a packed array that says how to restore it
CODEC_ATTR = "offload_codec"
BYTE_CODEC = "uint8/255"


def content_digest(path: str | Path) -> str:
    """A digest of what a processed file holds (every array's name, type, shape and values, and
    the attributes), not of its bytes: the same data written with other compression matches."""
    digest = hashlib.sha256()
    with h5py.File(path, "r") as f:
        for name in sorted(f):
            item = f[name]
            if not isinstance(item, h5py.Dataset):
                continue
            values = item[()]
            if values.dtype.kind in "OSU":
                values = np.asarray(item.asstr()[()] if values.dtype.kind != "U" else values)
                blob = json.dumps(values.tolist()).encode()
            else:
                blob = np.ascontiguousarray(values).tobytes()
            digest.update(f"{name}\0{values.dtype.str}\0{values.shape}\0".encode() + blob)
        attrs = {k: _plain(v) for k, v in sorted(f.attrs.items())}
    digest.update(json.dumps(attrs, sort_keys=True).encode())
    return digest.hexdigest()


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, bytes):
        return value.decode()
    return value


def as_bytes(images: np.ndarray) -> np.ndarray | None:
    """``images`` as bytes ``k`` when every float is exactly ``float32(k) / 255``, else None."""
    if images.dtype != np.float32 or images.size == 0:
        return None
    if float(images.min()) < 0.0 or float(images.max()) > 1.0:
        return None
    codes = np.rint(images * 255.0).astype(np.uint8)
    return codes if np.array_equal(restore_bytes(codes), images) else None


def restore_bytes(codes: np.ndarray) -> np.ndarray:
    return codes.astype(np.float32) / np.float32(255.0)


def pack_dataset(source: str | Path, target: str | Path) -> dict:
    """Write ``source`` (a processed file) narrowed to ``target``: ``{"digest", "codec",
    "bytes"}``."""
    codec = "float32"
    with h5py.File(source, "r") as src, atomic_path(target) as tmp, h5py.File(tmp, "w") as dst:
        for name in src:
            item = src[name]
            if name == "images" and (codes := as_bytes(item[()])) is not None:
                dst.create_dataset(name, data=codes, compression="gzip", compression_opts=6)
                dst[name].attrs[CODEC_ATTR] = BYTE_CODEC
                codec = BYTE_CODEC
            elif isinstance(item, h5py.Dataset) and item.dtype.kind in "fiu":
                dst.create_dataset(
                    name, data=item[()], compression="gzip", compression_opts=6, shuffle=True
                )
            else:
                src.copy(item, dst, name=name)
        dst.attrs.update(src.attrs)
    return {"digest": content_digest(source), "codec": codec, "bytes": Path(target).stat().st_size}


def restore_dataset(packed: str | Path, target: str | Path, digest: str | None = None) -> None:
    """Write the processed file ``packed`` holds to ``target``; with ``digest``, fail (naming
    both files) unless the restored content is the one packed."""
    with h5py.File(packed, "r") as src, atomic_path(target) as tmp:
        with h5py.File(tmp, "w") as dst:
            for name in src:
                item = src[name]
                if item.attrs.get(CODEC_ATTR) == BYTE_CODEC:
                    dst.create_dataset(name, data=restore_bytes(item[()]), compression="gzip")
                elif isinstance(item, h5py.Dataset) and item.dtype.kind in "fiu":
                    dst.create_dataset(name, data=item[()], compression="gzip")
                else:
                    src.copy(item, dst, name=name)
            dst.attrs.update(src.attrs)
        if digest is not None and (found := content_digest(tmp)) != digest:
            raise ValueError(
                f"{packed}: restored to content {found[:12]}, packed as {digest[:12]}: "
                f"{target} not written"
            )
