"""Readers and preprocessing: built-in formats on fixtures, own data, and bad input."""

import bz2
import gzip
import io
import zipfile

import h5py
import numpy as np
import pytest
from PIL import Image

from conftest import write_idx_gz
from deepclust.data import load_processed, readers
from deepclust.data.preprocess import preprocess, to_unit_nchw


def test_idx_roundtrip_and_bad_magic(tmp_path):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    write_idx_gz(tmp_path / "a.gz", array)
    np.testing.assert_array_equal(readers.read_idx(tmp_path / "a.gz"), array)
    (tmp_path / "b").write_bytes(b"\x00\x01\x02\x03garbage")
    with pytest.raises(ValueError, match="bad magic"):
        readers.read_idx(tmp_path / "b")


def test_truncated_idx_is_refused(tmp_path):
    write_idx_gz(tmp_path / "a.gz", np.zeros((10, 4, 4), dtype=np.uint8))
    raw = gzip.decompress((tmp_path / "a.gz").read_bytes())[:-5]
    (tmp_path / "t.gz").write_bytes(gzip.compress(raw))
    with pytest.raises(ValueError, match="header promises"):
        readers.read_idx(tmp_path / "t.gz")


def test_usps_libsvm_reader(tmp_path):
    line = "3 " + " ".join(f"{i}:{-1 + 2 * (i - 1) / 255:.6f}" for i in range(1, 257))
    (tmp_path / "usps.bz2").write_bytes(
        bz2.compress((line + "\n" + line.replace("3 ", "10 ", 1) + "\n").encode())
    )
    images, labels = readers.read_usps_libsvm([tmp_path / "usps.bz2"])
    assert images.shape == (2, 16, 16) and images.dtype == np.float32
    assert labels.tolist() == [2, 9]
    assert images[0, 0, 0] == pytest.approx(0.0) and images[0, -1, -1] == pytest.approx(1.0)


def _png(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


def test_coil20_zip_and_folder(tmp_path):
    blank = _png(np.zeros((128, 128), dtype=np.uint8))
    with zipfile.ZipFile(tmp_path / "coil-20-proc.zip", "w") as z:
        for c in range(1, 21):
            for i in range(72):
                z.writestr(f"coil-20-proc/obj{c}__{i}.png", blank)
    images, labels = readers.read_coil20(tmp_path / "coil-20-proc.zip")
    assert images.shape == (1440, 128, 128)
    assert np.bincount(labels).tolist() == [72] * 20
    with zipfile.ZipFile(tmp_path / "coil-20-proc.zip") as z:
        z.extractall(tmp_path / "x")
    images2, labels2 = readers.read_coil20(tmp_path / "x" / "coil-20-proc")
    np.testing.assert_array_equal(labels, labels2)


def test_coil20_structure_and_path_traversal_are_refused(tmp_path):
    blank = _png(np.zeros((128, 128), dtype=np.uint8))
    with zipfile.ZipFile(tmp_path / "short.zip", "w") as z:
        z.writestr("coil-20-proc/obj1__0.png", blank)
    with pytest.raises(ValueError, match="expected 1440"):
        readers.read_coil20(tmp_path / "short.zip")
    with zipfile.ZipFile(tmp_path / "evil.zip", "w") as z:
        z.writestr("../../etc/obj1__0.png", blank)
    with pytest.raises(ValueError, match="path traversal"):
        readers.read_coil20(tmp_path / "evil.zip")


@pytest.mark.parametrize(
    ("shape", "expected"),
    [
        ((5, 8, 6), (5, 1, 8, 6)),
        ((5, 8, 6, 3), (5, 3, 8, 6)),
        ((5, 3, 8, 6), (5, 3, 8, 6)),
        ((5, 8, 6, 1), (5, 1, 8, 6)),
    ],
)
def test_layouts_become_nchw(shape, expected):
    assert to_unit_nchw(np.zeros(shape, dtype=np.uint8), "x").shape == expected


def test_pixel_scales():
    assert to_unit_nchw(np.full((1, 2, 2), 255, dtype=np.uint8), "x").max() == 1.0
    assert to_unit_nchw(np.full((1, 2, 2), 127.5, dtype=np.float32), "x").max() == pytest.approx(
        0.5
    )
    with pytest.raises(ValueError, match="NaN or Inf"):
        to_unit_nchw(np.full((1, 2, 2), np.nan, dtype=np.float32), "f.npz")
    with pytest.raises(ValueError, match="span"):
        to_unit_nchw(np.full((1, 2, 2), -3.0, dtype=np.float32), "f.npz")


def test_own_npz_and_h5(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (12, 10, 10), dtype=np.uint8)
    labels = np.repeat(np.arange(3), 4)
    np.savez(tmp_path / "d.npz", images=images, labels=labels)
    attrs = preprocess(
        "mine", {"source": "npz", "path": str(tmp_path / "d.npz"), "size": 8}, tmp_path / "out.h5"
    )
    data = load_processed(tmp_path / "out.h5")
    assert data.images.shape == (12, 1, 8, 8) and data.images.dtype == np.float32
    assert 0.0 <= data.images.min() and data.images.max() <= 1.0
    assert data.labels.tolist() == labels.tolist()
    assert attrs["n_clusters"] == 3 and data.attrs["transforms"]["size"] == [8, 8]

    with h5py.File(tmp_path / "d.h5", "w") as f:
        f["images"] = images
    preprocess(
        "unl",
        {"source": "h5", "path": str(tmp_path / "d.h5"), "n_clusters": 2, "channels": "rgb"},
        tmp_path / "u.h5",
    )
    data = load_processed(tmp_path / "u.h5")
    assert (
        data.labels is None
        and data.images.shape == (12, 3, 10, 10)
        and not data.attrs["has_labels"]
    )


def test_unlabelled_without_n_clusters_is_refused(tmp_path):
    np.savez(tmp_path / "d.npz", images=np.zeros((4, 5, 5), dtype=np.uint8))
    with pytest.raises(ValueError, match="n_clusters must be set"):
        preprocess("unl", {"source": "npz", "path": str(tmp_path / "d.npz")}, tmp_path / "o.h5")
    assert not (tmp_path / "o.h5").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            {"images": np.zeros((4, 5, 5), dtype=np.uint8), "labels": np.arange(3)},
            "4 images but labels",
        ),
        ({"pictures": np.zeros((4, 5, 5))}, "no 'images' array"),
        ({"images": np.full((2, 5, 5), np.inf)}, "NaN or Inf"),
    ],
)
def test_bad_own_data_is_refused_and_nothing_written(tmp_path, content, message):
    np.savez(tmp_path / "d.npz", **content)
    with pytest.raises(ValueError, match=message):
        preprocess("bad", {"source": "npz", "path": str(tmp_path / "d.npz")}, tmp_path / "o.h5")
    assert list(tmp_path.iterdir()) == [tmp_path / "d.npz"]


def test_more_clusters_than_images_is_refused(tmp_path):
    np.savez(tmp_path / "d.npz", images=np.zeros((4, 5, 5), dtype=np.uint8))
    cfg = {"source": "npz", "path": str(tmp_path / "d.npz"), "n_clusters": 5}
    with pytest.raises(
        ValueError,
        match="datasets.few.n_clusters: K = 5 clusters for 4 samples puts every sample alone",
    ):
        preprocess("few", cfg, tmp_path / "o.h5")
    assert not (tmp_path / "o.h5").exists()


def test_corrupted_npz_names_the_file(tmp_path):
    (tmp_path / "d.npz").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ValueError, match="d.npz"):
        preprocess("bad", {"source": "npz", "path": str(tmp_path / "d.npz")}, tmp_path / "o.h5")


def _save(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def test_image_folder_with_classes(tmp_path):
    for cls in ("cat", "dog"):
        for i in range(3):
            _save(tmp_path / "imgs" / cls / f"{i}.png", np.full((6, 6), 40 * i, dtype=np.uint8))
    attrs = preprocess(
        "pets", {"source": "folder", "path": str(tmp_path / "imgs")}, tmp_path / "o.h5"
    )
    data = load_processed(tmp_path / "o.h5")
    assert data.labels.tolist() == [0, 0, 0, 1, 1, 1]
    assert attrs["class_names"] == ["cat", "dog"]


def test_a_colour_image_folder_keeps_each_image_whole(tmp_path):
    red = np.zeros((6, 5, 3), dtype=np.uint8)
    red[..., 0] = 255
    for i in range(3):
        _save(tmp_path / "imgs" / f"{i}.png", red)
    cfg = {"source": "folder", "path": str(tmp_path / "imgs"), "n_clusters": 2}
    preprocess("photos", cfg, tmp_path / "o.h5")
    images = load_processed(tmp_path / "o.h5").images
    assert images.shape == (3, 3, 6, 5)  # not 18 images of 5 x 3
    assert images[:, 0].min() == 1.0 and images[:, 1:].max() == 0.0


def test_image_folder_mixed_sizes_need_a_size(tmp_path):
    _save(tmp_path / "imgs" / "a.png", np.zeros((6, 6), dtype=np.uint8))
    _save(tmp_path / "imgs" / "b.png", np.zeros((7, 5), dtype=np.uint8))
    _save(tmp_path / "imgs" / "c.png", np.zeros((6, 6), dtype=np.uint8))
    cfg = {"source": "folder", "path": str(tmp_path / "imgs"), "n_clusters": 2}
    with pytest.raises(
        ValueError,
        match=r"different sizes: 1 of 3 differ from the most common 1x6x6 .*: b.png \(1x7x5\); "
        r"set datasets.shapes.size \(e.g. \[6, 6\]\)",
    ):
        preprocess("shapes", cfg, tmp_path / "o.h5")
    preprocess("shapes", {**cfg, "size": 4}, tmp_path / "o.h5")
    assert load_processed(tmp_path / "o.h5").images.shape == (3, 1, 4, 4)


def test_image_folder_mixed_grey_and_colour_need_channels(tmp_path):
    _save(tmp_path / "imgs" / "a.png", np.zeros((6, 6), dtype=np.uint8))
    _save(tmp_path / "imgs" / "b.png", np.zeros((6, 6, 3), dtype=np.uint8))
    _save(tmp_path / "imgs" / "c.png", np.zeros((6, 6), dtype=np.uint8))
    cfg = {"source": "folder", "path": str(tmp_path / "imgs"), "n_clusters": 2}
    with pytest.raises(ValueError, match="mixes grey and colour"):
        preprocess("mix", cfg, tmp_path / "o.h5")
    preprocess("mix", {**cfg, "channels": "grey"}, tmp_path / "o.h5")
    assert load_processed(tmp_path / "o.h5").images.shape == (3, 1, 6, 6)


def test_image_folder_errors(tmp_path):
    (tmp_path / "imgs" / "empty").mkdir(parents=True)
    _save(tmp_path / "imgs" / "full" / "a.png", np.zeros((4, 4), dtype=np.uint8))
    with pytest.raises(ValueError, match=r"class folder\(s\) \['empty'\] contain no images"):
        preprocess("x", {"source": "folder", "path": str(tmp_path / "imgs")}, tmp_path / "o.h5")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "fake.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match="fake.png: not a readable image"):
        preprocess(
            "x",
            {"source": "folder", "path": str(tmp_path / "bad"), "n_clusters": 2},
            tmp_path / "o.h5",
        )


def test_digits_builtin(tmp_path):
    attrs = preprocess("digits", {"source": "digits"}, tmp_path / "d.h5")
    data = load_processed(tmp_path / "d.h5")
    assert data.images.shape == (1797, 1, 8, 8) and data.images.max() <= 1.0
    assert attrs["n_clusters"] == 10


def test_corrupted_processed_file_names_the_file(tmp_path):
    (tmp_path / "x.h5").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="x.h5: not a readable HDF5 file"):
        load_processed(tmp_path / "x.h5")
