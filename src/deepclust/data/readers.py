"""Readers that turn a dataset's raw files into ``(images, labels)`` arrays.

Images come back as ``(N, H, W)`` or ``(N, H, W, C)``, either uint8 in [0, 255] or float in
[0, 1]; labels as int64 or ``None`` for unlabelled data. Every reader checks what it read and
raises ``ValueError`` naming the file and what was expected.
"""

from __future__ import annotations

import bz2
import gzip
import io
import re
import zipfile
from pathlib import Path, PurePosixPath

import h5py
import numpy as np

_GREY_MODES = {"1", "L", "LA", "I", "I;16", "F"}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".pgm", ".ppm", ".webp"}


def read_idx(path: str | Path) -> np.ndarray:
    """Read a (gzipped) IDX file, the MNIST family's format."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as err:
        raise ValueError(f"{path}: cannot read IDX file ({err})") from err
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file (bad magic number)")
    ndim = data[3]
    header = 4 + 4 * ndim
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = int(np.prod(shape))
    if len(data) - header != expected:
        raise ValueError(
            f"{path}: IDX header promises {expected} bytes, file has {len(data) - header}"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def read_idx_pairs(raw_dir: Path, parts: list[tuple[str, str]]) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate (images, labels) IDX file pairs in order (MNIST: train then test)."""
    images, labels = [], []
    for image_file, label_file in parts:
        x = read_idx(raw_dir / image_file)
        y = read_idx(raw_dir / label_file).astype(np.int64)
        if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
            raise ValueError(
                f"{raw_dir / image_file}: {x.shape[0]} images but {raw_dir / label_file} has {len(y)} labels"
            )
        images.append(x)
        labels.append(y)
    return np.concatenate(images), np.concatenate(labels)


def read_usps_libsvm(paths: list[Path]) -> tuple[np.ndarray, np.ndarray]:
    """Read USPS from the libsvm bz2 files: labels 1..10, 256 features in [-1, 1]."""
    images, labels = [], []
    for path in paths:
        try:
            text = bz2.open(path, "rt").read()
        except (OSError, EOFError) as err:
            raise ValueError(f"{path}: cannot read bz2 libsvm file ({err})") from err
        for line_no, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            fields = line.split()
            pixels = np.full(256, -1.0, dtype=np.float32)
            try:
                labels.append(int(float(fields[0])) - 1)
                for field in fields[1:]:
                    index, value = field.split(":")
                    pixels[int(index) - 1] = float(value)
            except (ValueError, IndexError) as err:
                raise ValueError(f"{path}:{line_no}: not a libsvm line with 256 features") from err
            images.append(pixels)
    x = ((np.stack(images) + 1.0) / 2.0).clip(0.0, 1.0).reshape(-1, 16, 16)
    return x.astype(np.float32), np.asarray(labels, dtype=np.int64)


_COIL_NAME = re.compile(r"obj(\d+)__(\d+)\.png$")


def read_coil20(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read COIL-20 (processed) from ``coil-20-proc.zip`` or its extracted folder.

    Columbia publishes no checksum, so the structure is verified instead: 1,440 grey 128x128
    PNGs named ``obj{c}__{i}.png``, 20 objects x 72 poses.
    """
    path = Path(path)
    entries: list[tuple[int, int, bytes]] = []
    if path.is_dir():
        for file in sorted(path.rglob("*.png")):
            match = _COIL_NAME.search(file.name)
            if match:
                entries.append((int(match[1]), int(match[2]), file.read_bytes()))
    else:
        try:
            archive = zipfile.ZipFile(path)
        except (OSError, zipfile.BadZipFile) as err:
            raise ValueError(f"{path}: not a readable zip archive ({err})") from err
        with archive:
            for name in archive.namelist():
                check_archive_member(name, path)
                match = _COIL_NAME.search(name)
                if match:
                    entries.append((int(match[1]), int(match[2]), archive.read(name)))
    if len(entries) != 1440:
        raise ValueError(
            f"{path}: expected 1440 COIL-20 images obj{{c}}__{{i}}.png, found {len(entries)}"
        )
    entries.sort()
    images = np.stack([_decode_grey(data, f"{path} obj{c}__{i}.png") for c, i, data in entries])
    labels = np.asarray([c - 1 for c, _, _ in entries], dtype=np.int64)
    if images.shape[1:] != (128, 128) or sorted(set(labels.tolist())) != list(range(20)):
        raise ValueError(
            f"{path}: expected 20 objects of 128x128 images, got {images.shape} and {len(set(labels.tolist()))} objects"
        )
    return images, labels


def check_archive_member(name: str, archive: Path) -> None:
    """Refuse archive members that would land outside the extraction folder."""
    member = PurePosixPath(name.replace("\\", "/"))
    if member.is_absolute() or ".." in member.parts or re.match(r"^[A-Za-z]:", name):
        raise ValueError(
            f"{archive}: member {name!r} escapes the extraction folder (path traversal)"
        )


def _decode_grey(data: bytes, where: str) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError  # only image sources need Pillow

    try:
        return np.asarray(Image.open(io.BytesIO(data)).convert("L"))
    except (UnidentifiedImageError, OSError) as err:
        raise ValueError(f"{where}: not a readable image ({err})") from err


def read_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled 8x8 digits (grey levels 0..16), scaled to [0, 1]."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return (bunch.images / 16.0).astype(np.float32), bunch.target.astype(np.int64)


def read_array_file(path: str | Path) -> tuple[np.ndarray, np.ndarray | None]:
    """Own data as ``.npz`` or ``.h5``/``.hdf5`` with ``images`` and optional ``labels``."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: file not found")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        try:
            with np.load(path, allow_pickle=False) as archive:
                if "images" not in archive:
                    raise ValueError(f"{path}: no 'images' array (found {sorted(archive.files)})")
                images = archive["images"]
                labels = archive["labels"] if "labels" in archive else None
        except (OSError, zipfile.BadZipFile, EOFError) as err:
            raise ValueError(f"{path}: not a readable .npz file ({err})") from err
    elif suffix in {".h5", ".hdf5"}:
        try:
            with h5py.File(path, "r") as f:
                if "images" not in f:
                    raise ValueError(f"{path}: no 'images' dataset (found {sorted(f.keys())})")
                images = f["images"][()]
                labels = f["labels"][()] if "labels" in f else None
        except OSError as err:
            raise ValueError(f"{path}: not a readable HDF5 file ({err})") from err
    else:
        raise ValueError(f"{path}: own data must be a folder, .npz, .h5 or .hdf5 file")
    return images, labels


def image_groups(root: Path) -> list[tuple[str, list[Path]]]:
    """An image folder's files by class: ``(name, files)`` per class sub-folder, or one
    ``("", files)`` for a flat (unlabelled) folder. The one place the layout rules live, so
    a dataset and the images placed with its run are read alike: a folder mixing both layouts,
    an empty class folder or a folder without images is refused by name."""
    if not root.is_dir():
        raise ValueError(f"{root}: image folder not found")
    class_dirs = class_folders(root)
    loose = image_files(root)
    if not class_dirs:
        if not loose:
            raise ValueError(f"{root}: contains no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
        return [("", loose)]
    if loose:
        raise ValueError(
            f"{root}: has both class sub-folders and loose images ({loose[0].name}); use one layout"
        )
    groups = [(d.name, image_files(d)) for d in class_dirs]
    empty = [name for name, files in groups if not files]
    if empty:
        raise ValueError(f"{root}: class folder(s) {empty} contain no images")
    return groups


def read_image_folder(
    path: str | Path, channels: str | None
) -> tuple[list[np.ndarray], np.ndarray | None, list[str], list[str]]:
    """Own images: one sub-folder per class, or image files directly in ``path`` (unlabelled).

    Returns a list of per-image arrays (sizes may differ; preprocessing resizes), the labels
    (``None`` when unlabelled), the class names in label order and each image's file, relative
    to ``path`` (``cat/001.png``), in the images' order.
    """
    root = Path(path)
    groups = image_groups(root)
    has_labels = bool(groups[0][0])
    images, labels, sources = [], [], []
    modes = set()
    for label, (_, files) in enumerate(groups):
        for file in files:
            sources.append(file.relative_to(root).as_posix())
            image, is_grey = read_image(file, channels)
            modes.add(is_grey)
            images.append(image)
            labels.append(label)
    if channels is None and len(modes) > 1:
        raise ValueError(
            f"{root}: mixes grey and colour images; set the dataset's 'channels' to 'grey' or 'rgb'"
        )
    names = [name for name, _ in groups] if has_labels else []
    return images, (np.asarray(labels, dtype=np.int64) if has_labels else None), names, sources


def read_image(file: Path, channels: str | None) -> tuple[np.ndarray, bool]:
    """One image file as (H, W) or (H, W, 3) uint8, converted to ``channels`` (``grey``,
    ``rgb``; ``None``: grey stays grey, anything else becomes RGB), and whether the file is grey."""
    from PIL import Image, UnidentifiedImageError  # only image sources need Pillow

    try:
        with Image.open(file) as img:
            img.load()
            is_grey = img.mode in _GREY_MODES
            target = {"grey": "L", "rgb": "RGB"}.get(channels or "", "L" if is_grey else "RGB")
            return np.asarray(img.convert(target)), is_grey
    except (UnidentifiedImageError, OSError) as err:
        raise ValueError(f"{file}: not a readable image ({err})") from err


def class_folders(root: Path) -> list[Path]:
    """An image folder's class sub-folders (hidden ones are not), by name."""
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def image_files(folder: Path) -> list[Path]:
    """The image files directly in ``folder`` (by suffix), by name."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
