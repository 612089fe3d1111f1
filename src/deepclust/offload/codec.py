"""A processed dataset narrowed for the trip, and restored there to the same content.

The processed file keeps float32 pixels; for most built-ins they are ``k / 255`` exactly, so
the trip carries the byte ``k`` (MNIST: 21 MB -> 12 MB), and the restore divides again.
A dataset resized on the way in (MFVC's 32x32 MNIST) is not bytes, and its floats deflate
badly (about 70 MB, over the cap). It travels as the bytes it was resized from, the resize's
row and column weights, and the XOR of each float's bits with a reference resize
(:func:`reference_resize`: elementwise float64 arithmetic in a fixed order, so the same bits on
any machine): mostly zero, since the reference lies within an ulp or two of torch's (MNIST at
32x32: about 18 MB in all). Each codec is used only when it gives back every pixel bit for
bit; otherwise the floats travel, shuffled and deflated. Either way :func:`content_digest` of the restored file is the
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
RESIZE_CODEC = "uint8/255 resized"
#: the group of a packed file holding a resize codec's weights and residual (not restored)
CODEC_GROUP = "offload_codec"
CHUNK = 10000


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


def resize_weights(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) weights of the workflow's resize along one axis (antialiased bilinear,
    :func:`deepclust.data.preprocess.resize`), read off it in float64."""
    import torch
    import torch.nn.functional as F

    basis = torch.eye(n_in, dtype=torch.float64)[:, None, :, None].expand(n_in, 1, n_in, 4)
    out = F.interpolate(
        basis.contiguous(), size=(n_out, 4), mode="bilinear", antialias=True, align_corners=False
    )
    return out[:, 0, :, 0].T.numpy().copy()


def reference_resize(codes: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Bytes ``codes`` (N, C, h, w) / 255 resized by the weights ``rows`` (H, h) and ``cols``
    (W, w), in float64 one tap at a time (each step an IEEE operation, no reordering), clipped to
    [0, 1], as float32: the same bits on every machine."""
    out = np.empty(codes.shape[:2] + (rows.shape[0], cols.shape[0]), dtype=np.float32)
    for start in range(0, len(codes), CHUNK):
        x = codes[start : start + CHUNK].astype(np.float64) / 255.0
        across = np.zeros(x.shape[:-1] + (cols.shape[0],))
        for q in np.flatnonzero(cols.any(axis=0)):
            across += x[..., q, None] * cols[:, q]
        down = np.zeros(x.shape[:2] + out.shape[2:])
        for p in np.flatnonzero(rows.any(axis=0)):
            down += across[:, :, p, None, :] * rows[:, p, None]
        out[start : start + CHUNK] = np.clip(down, 0.0, 1.0)
    return out


def pack_dataset(source: str | Path, target: str | Path, unresized=None) -> dict:
    """Write ``source`` (a processed file) narrowed to ``target``: ``{"digest", "codec",
    "bytes"}``. ``unresized``: a callable giving the bytes the images were resized from (or
    None), asked only when the images are not bytes themselves."""
    codec = "float32"
    with h5py.File(source, "r") as src, atomic_path(target) as tmp, h5py.File(tmp, "w") as dst:
        for name in src:
            item = src[name]
            if name == "images" and (codes := as_bytes(item[()])) is not None:
                dst.create_dataset(name, data=codes, compression="gzip", compression_opts=6)
                dst[name].attrs[CODEC_ATTR] = codec = BYTE_CODEC
            elif name == "images" and (parts := _resize_parts(item[()], unresized)) is not None:
                codes, rows, cols, residual = parts
                dst.create_dataset(name, data=codes, compression="gzip", compression_opts=6)
                dst[name].attrs[CODEC_ATTR] = codec = RESIZE_CODEC
                group = dst.create_group(CODEC_GROUP)
                group["rows"], group["cols"] = rows, cols
                group.create_dataset(
                    "residual", data=residual, compression="gzip", compression_opts=6, shuffle=True
                )
            elif isinstance(item, h5py.Dataset) and item.dtype.kind in "fiu":
                dst.create_dataset(
                    name, data=item[()], compression="gzip", compression_opts=6, shuffle=True
                )
            else:
                src.copy(item, dst, name=name)
        dst.attrs.update(src.attrs)
    return {"digest": content_digest(source), "codec": codec, "bytes": Path(target).stat().st_size}


def _resize_parts(images: np.ndarray, unresized) -> tuple | None:
    """(codes, row weights, column weights, residual bits) of the resize codec, or None when
    it does not apply (no source bytes, another shape)."""
    codes = unresized() if unresized is not None else None
    if codes is None or codes.shape[:2] != images.shape[:2] or images.dtype != np.float32:
        return None
    rows = resize_weights(codes.shape[2], images.shape[2])
    cols = resize_weights(codes.shape[3], images.shape[3])
    residual = images.view(np.uint32) ^ reference_resize(codes, rows, cols).view(np.uint32)
    return codes, rows, cols, residual


def source_bytes(name: str, cfg: dict, base_dir: str | Path) -> np.ndarray | None:
    """The bytes a resized built-in dataset was made from, read from its download here
    (``data/raw/{source}``) as preprocessing reads it; None for own data or without it."""
    from deepclust.data.preprocess import convert_channels, load_raw, to_unit_nchw
    from deepclust.data.registry import OWN_DATA_SOURCES

    raw_dir = Path(base_dir) / "data" / "raw" / str(cfg.get("source"))
    if not cfg.get("size") or cfg.get("source") in OWN_DATA_SOURCES or not raw_dir.is_dir():
        return None
    raw, _, _ = load_raw(name, cfg, raw_dir)
    if isinstance(raw, list):
        return None
    return as_bytes(convert_channels(to_unit_nchw(raw, name), cfg.get("channels")))


def restore_dataset(packed: str | Path, target: str | Path, digest: str | None = None) -> None:
    """Write the processed file ``packed`` holds to ``target``; with ``digest``, fail (naming
    both files) unless the restored content is the one packed."""
    with h5py.File(packed, "r") as src, atomic_path(target) as tmp:
        with h5py.File(tmp, "w") as dst:
            for name in src:
                item = src[name]
                codec = item.attrs.get(CODEC_ATTR)
                if name == CODEC_GROUP:
                    continue
                if codec == BYTE_CODEC:
                    dst.create_dataset(name, data=restore_bytes(item[()]), compression="gzip")
                elif codec == RESIZE_CODEC:
                    parts = src[CODEC_GROUP]
                    ref = reference_resize(item[()], parts["rows"][()], parts["cols"][()])
                    bits = ref.view(np.uint32) ^ parts["residual"][()]
                    dst.create_dataset(name, data=bits.view(np.float32), compression="gzip")
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
