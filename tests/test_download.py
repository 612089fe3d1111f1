"""Downloads: checksums, mirrors, atomicity, retries (against a loopback HTTP server)."""

import gzip
import hashlib
import http.server
import threading

import numpy as np
import pytest

from conftest import SHARED_DATASETS, write_idx_gz
from deepclust.data import registry
from deepclust.data.download import ChecksumError, DownloadError, RemoteFile, fetch, verify
from deepclust.data.registry import BuiltinDataset
from deepclust.data.sources import download_dataset


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


@pytest.fixture
def mirror(tmp_path):
    folder = tmp_path / "mirror"
    (folder / "toy").mkdir(parents=True)
    payload = b"the real bytes" * 100
    (folder / "toy" / "file.bin").write_bytes(payload)
    return folder, payload


def test_mirror_good_file_is_copied_and_verified(mirror, tmp_path):
    folder, payload = mirror
    remote = RemoteFile("file.bin", ("https://example.invalid/file.bin",), _md5(payload))
    out = fetch(remote, tmp_path / "raw", dataset="toy", mirrors=[str(folder)])
    assert out.read_bytes() == payload
    assert [p.name for p in out.parent.iterdir()] == ["file.bin"]  # no temp files left


def test_mirror_as_file_url_and_top_level_lookup(tmp_path):
    payload = b"abc" * 10
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "file.bin").write_bytes(payload)
    remote = RemoteFile("file.bin", (), _md5(payload))
    out = fetch(remote, tmp_path / "raw", dataset="toy", mirrors=[(tmp_path / "m").as_uri()])
    assert out.read_bytes() == payload


def test_corrupted_file_raises_and_leaves_nothing(mirror, tmp_path):
    folder, payload = mirror
    remote = RemoteFile("file.bin", (), _md5(payload + b"x"))
    raw = tmp_path / "raw"
    with pytest.raises(ChecksumError, match="does not match the published"):
        fetch(remote, raw, dataset="toy", mirrors=[str(folder)])
    assert list(raw.iterdir()) == []


def test_existing_corrupt_destination_is_replaced(mirror, tmp_path):
    folder, payload = mirror
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "file.bin").write_bytes(b"truncated")
    remote = RemoteFile("file.bin", (), _md5(payload))
    assert fetch(remote, raw, dataset="toy", mirrors=[str(folder)]).read_bytes() == payload


def test_missing_from_mirror_names_where_it_looked(tmp_path):
    remote = RemoteFile("nothere.gz", (), "0" * 32)
    with pytest.raises(DownloadError, match="nothere.gz.*in no mirror"):
        fetch(remote, tmp_path / "raw", dataset="toy", mirrors=[str(tmp_path)])


def test_recompressed_gzip_accepted_by_content_checksum(tmp_path):
    payload = bytes(range(256)) * 50
    original = gzip.compress(payload, mtime=0)
    recompressed = gzip.compress(payload, compresslevel=1, mtime=12345)
    assert original != recompressed
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "x.gz").write_bytes(recompressed)
    remote = RemoteFile("x.gz", (), _md5(original), content_md5=_md5(payload))
    out = fetch(remote, tmp_path / "raw", dataset="toy", mirrors=[str(tmp_path / "m")])
    assert verify(out, remote) == "content_md5"
    # A different payload is still refused.
    (tmp_path / "m" / "x.gz").write_bytes(gzip.compress(payload[:-1]))
    with pytest.raises(ChecksumError):
        fetch(remote, tmp_path / "raw2", dataset="toy", mirrors=[str(tmp_path / "m")])


class _FlakyHandler(http.server.BaseHTTPRequestHandler):
    """Fails the first request with 503, then serves the payload."""

    payload = b""
    calls = 0

    def do_GET(self):  # noqa: N802 (http.server's naming)
        type(self).calls += 1
        if type(self).calls == 1:
            self.send_error(503)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.payload)))
        self.end_headers()
        self.wfile.write(self.payload)

    def log_message(self, *args):
        pass


def test_network_download_retries_after_a_server_error(tmp_path, monkeypatch):
    monkeypatch.setattr("deepclust.data.download.time.sleep", lambda s: None)
    _FlakyHandler.payload = b"served over http" * 64
    _FlakyHandler.calls = 0
    server = http.server.HTTPServer(("127.0.0.1", 0), _FlakyHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/f.bin"
        remote = RemoteFile("f.bin", (url,), _md5(_FlakyHandler.payload))
        out = fetch(remote, tmp_path, dataset="toy", retries=3)
    finally:
        server.shutdown()
    assert out.read_bytes() == _FlakyHandler.payload
    assert _FlakyHandler.calls == 2


def test_download_dataset_writes_manifest_after_structure_check(tmp_path, monkeypatch):
    images = np.random.default_rng(0).integers(0, 255, (5, 4, 4), dtype=np.uint8)
    labels = np.arange(5, dtype=np.uint8)
    mirror = tmp_path / "mirror" / "toyset"
    mirror.mkdir(parents=True)
    write_idx_gz(mirror / "img.gz", images)
    write_idx_gz(mirror / "lab.gz", labels)
    files = tuple(
        RemoteFile(n, (), hashlib.md5((mirror / n).read_bytes()).hexdigest())
        for n in ("img.gz", "lab.gz")
    )
    from deepclust.data import readers

    toy = BuiltinDataset(
        "toyset",
        files,
        lambda raw: readers.read_idx_pairs(raw, [("img.gz", "lab.gz")]),
        5,
        5,
        "toy",
    )
    monkeypatch.setitem(registry.BUILTIN_DATASETS, "toyset", toy)
    manifest = download_dataset(
        "toyset",
        tmp_path / "raw",
        tmp_path / "raw" / "manifest.json",
        mirrors=[str(tmp_path / "mirror")],
    )
    assert manifest["n_samples"] == 5
    assert (tmp_path / "raw" / "manifest.json").exists()
    assert manifest["files"]["img.gz"]["verified"] == "md5"

    # A structure mismatch fails the stage before any manifest exists.
    bad = BuiltinDataset("toyset", files, toy.read, 6, 5, "toy")
    monkeypatch.setitem(registry.BUILTIN_DATASETS, "toyset", bad)
    with pytest.raises(ValueError, match="should have 6 samples"):
        download_dataset(
            "toyset",
            tmp_path / "raw2",
            tmp_path / "raw2" / "manifest.json",
            mirrors=[str(tmp_path / "mirror")],
        )
    assert not (tmp_path / "raw2" / "manifest.json").exists()


@pytest.mark.skipif(
    not (SHARED_DATASETS / "mnist").is_dir(),
    reason="the shared MNIST test-split mirror is not beside this checkout",
)
def test_mnist_test_from_the_shared_mirror_with_official_checksums(tmp_path):
    manifest = download_dataset(
        "mnist_test", tmp_path, tmp_path / "manifest.json", mirrors=[str(SHARED_DATASETS)]
    )
    assert manifest["n_samples"] == 10000
    assert {f["verified"] for f in manifest["files"].values()} == {"md5"}


@pytest.mark.parametrize("name", ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"])
def test_mnist_training_files_are_checked_by_their_payload(tmp_path, name):
    """The full MNIST's training files from a mirror that recompressed them are accepted by the
    MD5 of their payload (the published MD5 of the uncompressed file); a payload that differs
    is refused, whatever its .gz looks like."""
    remote = {f.filename: f for f in registry.BUILTIN_DATASETS["mnist"].files}[name]
    assert remote.content_md5 is not None and remote.content_md5 != remote.md5
    (tmp_path / "m" / "mnist").mkdir(parents=True)
    (tmp_path / "m" / "mnist" / name).write_bytes(gzip.compress(b"\0\0\x08\x03" + b"\0" * 64))
    with pytest.raises(ChecksumError, match=f"{name}.*does not match the published"):
        fetch(remote, tmp_path / "raw", dataset="mnist", mirrors=[str(tmp_path / "m")])
    assert not (tmp_path / "raw" / name).exists()


@pytest.mark.skipif(
    not (SHARED_DATASETS / "mnist" / "train-images-idx3-ubyte.gz").is_file(),
    reason="the shared full-MNIST mirror (recompressed training files) is not beside this checkout",
)
def test_full_mnist_from_the_shared_recompressed_mirror(tmp_path):
    manifest = download_dataset(
        "mnist", tmp_path, tmp_path / "manifest.json", mirrors=[str(SHARED_DATASETS)]
    )
    assert manifest["n_samples"] == 70000
    verified = {name: f["verified"] for name, f in manifest["files"].items()}
    assert verified == {
        "train-images-idx3-ubyte.gz": "content_md5",
        "train-labels-idx1-ubyte.gz": "content_md5",
        "t10k-images-idx3-ubyte.gz": "md5",
        "t10k-labels-idx1-ubyte.gz": "md5",
    }


def test_every_builtin_has_official_urls_and_checksums_or_structure():
    for name, dataset in registry.BUILTIN_DATASETS.items():
        for remote in dataset.files:
            assert remote.urls and all(
                u.startswith(("http://", "https://")) for u in remote.urls
            ), name
            assert remote.md5 is None or len(remote.md5) == 32, name
    assert registry.BUILTIN_DATASETS["coil20"].files[0].md5 is None  # Columbia publishes none
