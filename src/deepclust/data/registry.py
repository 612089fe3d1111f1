"""The built-in datasets: official URLs, published checksums and the reader for each.

Adding a dataset means adding one :class:`BuiltinDataset` here. Checksums are the MD5s the
publishers (and torchvision) give; COIL-20 has none published, so its reader checks structure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from deepclust.data import readers
from deepclust.data.download import RemoteFile

_MNIST_URLS = ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/")
_FASHION_URLS = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",)
_USPS_URL = "https://www.csie.ntu.edu.tw/~cjlin/libsvmtools/datasets/multiclass/"
_COIL20_URLS = (
    "https://www.cs.columbia.edu/CAVE/databases/SLAM_coil-20_coil-100/coil-20/coil-20-proc.zip",
    "http://www.cs.columbia.edu/CAVE/databases/SLAM_coil-20_coil-100/coil-20/coil-20-proc.zip",
)


def _files(bases: tuple[str, ...], checksums: dict[str, str], content: dict[str, str] | None = None) -> tuple[RemoteFile, ...]:
    content = content or {}
    return tuple(
        RemoteFile(name, tuple(base + name for base in bases), md5, content_md5=content.get(name))
        for name, md5 in checksums.items()
    )


# MD5s of the decompressed IDX payloads. MNIST's test split: computed from the official .gz files;
# its training split: the values published for the uncompressed files (a mirror may hold them
# recompressed, as ../shared/datasets/mnist does). Fashion-MNIST: computed from Debian's
# dataset-fashion-mnist, which ships the upstream files recompressed (so the .gz MD5s differ
# while the payload is the same 70,000 images and labels).
_MNIST_TEST_CONTENT = {
    "t10k-images-idx3-ubyte.gz": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte.gz": "27ae3e4e09519cfbb04c329615203637",
}
_MNIST_CONTENT = {
    "train-images-idx3-ubyte.gz": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte.gz": "a25bea736e30d166cdddb491f175f624",
    **_MNIST_TEST_CONTENT,
}
_FASHION_CONTENT = {
    "train-images-idx3-ubyte.gz": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
    "train-labels-idx1-ubyte.gz": "9018921c3c673c538a1fc5bad174d6f9",
    "t10k-images-idx3-ubyte.gz": "8181f5470baa50b63fa0f6fddb340f0a",
    "t10k-labels-idx1-ubyte.gz": "15d484375f8d13e6eb1aabb0c3f46965",
}


Reader = Callable[[Path], tuple[np.ndarray, "np.ndarray | None"]]


@dataclass(frozen=True)
class BuiltinDataset:
    """A dataset the workflow knows how to fetch and read."""

    name: str
    files: tuple[RemoteFile, ...]
    read: Reader
    n_samples: int
    n_classes: int
    description: str
    #: folder name a mirror may keep the files under besides ``name`` (the test split lives with MNIST)
    family: str | None = None


_TRAIN_TEST = [
    ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
]

BUILTIN_DATASETS: dict[str, BuiltinDataset] = {
    d.name: d
    for d in [
        BuiltinDataset(
            name="digits",
            files=(),
            read=lambda raw: readers.read_digits(),
            n_samples=1797,
            n_classes=10,
            description="scikit-learn's bundled 8x8 handwritten digits (no download)",
        ),
        BuiltinDataset(
            name="mnist",
            files=_files(
                _MNIST_URLS,
                {
                    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
                    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
                    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
                    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
                },
                _MNIST_CONTENT,
            ),
            read=lambda raw: readers.read_idx_pairs(raw, _TRAIN_TEST),
            n_samples=70000,
            n_classes=10,
            description="MNIST, train (60,000) then test (10,000)",
        ),
        BuiltinDataset(
            name="mnist_test",
            files=_files(
                _MNIST_URLS,
                {
                    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
                    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
                },
                _MNIST_TEST_CONTENT,
            ),
            read=lambda raw: readers.read_idx_pairs(raw, _TRAIN_TEST[1:]),
            n_samples=10000,
            n_classes=10,
            description="the MNIST test split alone (10,000)",
            family="mnist",
        ),
        BuiltinDataset(
            name="fashion_mnist",
            files=_files(
                _FASHION_URLS,
                {
                    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
                    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
                    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
                },
                _FASHION_CONTENT,
            ),
            read=lambda raw: readers.read_idx_pairs(raw, _TRAIN_TEST),
            n_samples=70000,
            n_classes=10,
            description="Fashion-MNIST, train (60,000) then test (10,000)",
            family="fashion-mnist",
        ),
        BuiltinDataset(
            name="usps",
            files=_files(
                (_USPS_URL,),
                {"usps.bz2": "ec16c51db3855ca6c91edd34d0e9b197", "usps.t.bz2": "8ea070ee2aca1ac39742fdd1ef5ed118"},
            ),
            read=lambda raw: readers.read_usps_libsvm([raw / "usps.bz2", raw / "usps.t.bz2"]),
            n_samples=9298,
            n_classes=10,
            description="USPS from the libsvm bz2 files, train (7,291) then test (2,007)",
        ),
        BuiltinDataset(
            name="coil20",
            files=(RemoteFile("coil-20-proc.zip", _COIL20_URLS, None, extracted="coil-20-proc"),),
            read=lambda raw: readers.read_coil20(_zip_or_folder(raw, "coil-20-proc")),
            n_samples=1440,
            n_classes=20,
            description="COIL-20 processed (Columbia), 20 objects x 72 poses, 128x128 grey",
        ),
    ]
}

def _zip_or_folder(raw: Path, stem: str) -> Path:
    return raw / f"{stem}.zip" if (raw / f"{stem}.zip").exists() else raw / stem


OWN_DATA_SOURCES = ("folder", "npz", "h5")


def get_builtin(name: str) -> BuiltinDataset:
    try:
        return BUILTIN_DATASETS[name]
    except KeyError:
        known = ", ".join(sorted(BUILTIN_DATASETS) + list(OWN_DATA_SOURCES))
        raise ValueError(f"unknown dataset source {name!r}; known sources: {known}") from None
