"""Atomic file writes and the HDF5/JSON formats every stage exchanges.

Every artefact is written to a temporary file in the destination folder and renamed into place,
so a killed job never leaves a half-written file that a later run would mistake for a result.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np

# mkstemp creates files readable by their owner only; results should get the usual umask.
_UMASK = os.umask(0)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~_UMASK)
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def read_csv(path: str | os.PathLike, delimiter: str = ",") -> list[dict]:
    """Rows of a CSV (or, with ``delimiter="\t"``, TSV) file as dicts of strings."""
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter=delimiter))


def write_text(path: str | os.PathLike, text: str) -> None:
    """A text file, atomically."""
    with atomic_path(path) as tmp:
        Path(tmp).write_text(text)


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as indented JSON, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n")


def write_csv(
    path: str | os.PathLike, rows: Sequence[Mapping], columns: Sequence[str] | None = None
) -> None:
    """Rows of dicts as CSV, atomically; columns default to every key, in first-seen order."""
    if columns is None:
        columns = list(dict.fromkeys(k for row in rows for k in row))
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot write {type(obj).__name__} to JSON")


def write_h5(
    path: str | os.PathLike,
    arrays: Mapping[str, np.ndarray | None],
    attrs: Mapping[str, Any] | None = None,
) -> None:
    """Write named arrays (``None`` entries are skipped) and scalar/JSON attributes, atomically."""
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as f:
            for name, array in arrays.items():
                if array is None:
                    continue
                array = np.asarray(array)
                compression = "gzip" if array.size > 4096 else None
                if array.dtype.kind == "U":  # text (file names): HDF5's variable-length UTF-8
                    array = array.astype(object)
                    f.create_dataset(
                        name, data=array, dtype=h5py.string_dtype(), compression=compression
                    )
                    continue
                f.create_dataset(name, data=array, compression=compression)
            for key, value in (attrs or {}).items():
                f.attrs[key] = _to_attr(value)


def _to_attr(value: Any) -> Any:
    if value is None:
        return "null"
    if isinstance(value, (str, int, float, bool, np.generic)):
        return value
    return json.dumps(value, sort_keys=True, default=_json_default)


def read_h5(
    path: str | os.PathLike, names: tuple[str, ...]
) -> tuple[dict[str, np.ndarray | None], dict]:
    """Read the named arrays (missing ones come back as ``None``) and all attributes.

    Raises ``ValueError`` naming the file when it is not a readable HDF5 file.
    """
    path = Path(path)
    try:
        with h5py.File(path, "r") as f:
            arrays = {name: (_read_array(f[name]) if name in f else None) for name in names}
            attrs = {key: _from_attr(value) for key, value in f.attrs.items()}
    except (OSError, KeyError) as err:
        raise ValueError(f"{path}: not a readable HDF5 file ({err})") from err
    return arrays, attrs


def _read_array(dataset: h5py.Dataset) -> np.ndarray:
    """A dataset's values; text as ``str`` (h5py gives bytes)."""
    if h5py.check_string_dtype(dataset.dtype) is not None:
        return np.asarray(dataset.asstr()[()], dtype=str)
    return dataset[()]


def read_labels(path: str | os.PathLike) -> tuple[np.ndarray, dict]:
    """A labels.h5's ``labels`` and attributes; ``ValueError`` naming the file without them."""
    arrays, attrs = read_h5(path, ("labels",))
    if arrays["labels"] is None:
        raise ValueError(f"{path}: no labels")
    return arrays["labels"], attrs


def read_state(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """A labels.h5's fitted clusterer state (its ``state/`` arrays, by name; empty when the
    run kept none: :class:`deepclust.clustering.base.FittedState`)."""
    try:
        with h5py.File(path, "r") as f:
            group = f.get("state")
            return {name: group[name][()] for name in group} if group is not None else {}
    except OSError as err:
        raise ValueError(f"{path}: not a readable HDF5 file ({err})") from err


def _from_attr(value: Any) -> Any:
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, str):
        if value == "null":
            return None
        if value[:1] in "[{":
            with contextlib.suppress(json.JSONDecodeError):
                return json.loads(value)
        return value
    if isinstance(value, np.generic):
        return value.item()
    return value


def read_features(
    features_h5: str, layer: str | None = None
) -> tuple[np.ndarray, np.ndarray | None, dict]:
    """One feature layer (``None``: the extractor's default), the labels and the file's attributes."""
    _, attrs = read_h5(features_h5, ())
    name = "features" if layer in (None, attrs.get("default_layer")) else f"layers/{layer}"
    arrays, _ = read_h5(features_h5, (name, "labels"))
    if arrays[name] is None:
        raise ValueError(
            f"{features_h5}: no feature layer {layer!r}; it has {attrs.get('layers')} (clusterer key 'layer')"
        )
    if not np.isfinite(arrays[name]).all():
        raise ValueError(f"{features_h5}: feature layer {name!r} contains NaN or Inf values")
    return arrays[name], arrays["labels"], attrs


def read_graph(path: str, *, k: int, metric: str, n_samples: int) -> np.ndarray:
    """A kNN graph written by ``deepclust.stages.cluster.run_graph``, checked against what the clusterer expects."""
    arrays, attrs = read_h5(path, ("edge_index",))
    edges = arrays["edge_index"]
    expected = {"k": k, "metric": metric, "n_samples": n_samples}
    found = {key: attrs.get(key) for key in expected}
    if edges is None or found != expected:
        raise ValueError(f"{path}: expected a kNN graph with {expected}; found {found}")
    return edges
