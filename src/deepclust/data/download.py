"""Checksummed, atomic, retrying downloads, with a local mirror for offline use.

A file is streamed into a temporary file beside its destination, its MD5 computed on the way,
and renamed into place only when the checksum matches; on a mismatch nothing is left behind.
With a mirror (a local folder or ``file://`` URL) every file is read from there instead of the
network, and the checksum is still verified.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from deepclust.io import atomic_path

log = logging.getLogger(__name__)

_CHUNK = 1 << 20


class DownloadError(RuntimeError):
    """No source could deliver a file."""


class ChecksumError(DownloadError):
    """A file arrived but its checksum is not the published one."""


@dataclass(frozen=True)
class RemoteFile:
    """One file of a dataset: its name on disk, where to get it, and its published MD5.

    ``md5`` is ``None`` when the publisher gives no checksum; the dataset's reader then
    verifies the structure (counts, shapes, classes) instead.
    """

    filename: str
    urls: tuple[str, ...]
    md5: str | None
    #: name of the folder the archive extracts to; a local copy may hold that folder instead
    extracted: str | None = None
    #: MD5 of the decompressed payload of a .gz file: accepts a copy that was recompressed
    #: (Debian's Fashion-MNIST package) when the bytes inside are the published ones
    content_md5: str | None = None


def md5sum(path: str | Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def mirror_urls(mirrors: Sequence[str], folders: Sequence[str], filename: str) -> tuple[str, ...]:
    """Candidate URLs for ``filename``: ``{mirror}/{folder}/{file}`` for each folder, then ``{mirror}/{file}``."""
    urls = []
    for mirror in mirrors:
        base = mirror.rstrip("/") if "://" in mirror else Path(mirror).expanduser().resolve().as_uri()
        urls += [f"{base}/{folder}/{filename}" for folder in folders]
        urls.append(f"{base}/{filename}")
    return tuple(urls)


def fetch(
    remote: RemoteFile,
    dest_dir: str | Path,
    *,
    dataset: str,
    mirrors: Sequence[str] = (),
    folders: Sequence[str] = (),
    retries: int = 3,
    timeout: float = 60.0,
) -> Path:
    """Download ``remote`` into ``dest_dir`` and return its path.

    With ``mirrors`` (local folders or URLs) the file is taken from the first mirror holding it
    under one of ``folders`` or at its top level, and never from the official URLs.

    An existing file with the right checksum is kept. Network errors are retried with
    exponential backoff over every URL; a checksum mismatch raises :class:`ChecksumError`
    at once for that source and leaves no file behind.
    """
    dest = Path(dest_dir) / remote.filename
    if dest.exists() and remote.md5 is not None and verify(dest, remote):
        return dest

    urls: Sequence[str]
    if mirrors:
        candidates = mirror_urls(mirrors, folders or (dataset,), remote.filename)
        urls = [u for u in candidates if _local_exists(u)]
        if not urls:
            raise DownloadError(
                f"{remote.filename} (dataset {dataset!r}) is in no mirror (data.mirror); looked for "
                + ", ".join(candidates)
            )
    else:
        urls = remote.urls

    errors = []
    for url in urls:
        for attempt in range(retries):
            try:
                _stream(url, dest, remote, timeout)
                return dest
            except ChecksumError:
                raise
            except (urllib.error.URLError, OSError, TimeoutError) as err:
                errors.append(f"{url}: {err}")
                log.warning("download of %s failed (attempt %d): %s", url, attempt + 1, err)
                if url.startswith("file:"):
                    break
                time.sleep(min(2**attempt, 30))
    raise DownloadError(f"could not download {remote.filename} for {dataset!r}: " + "; ".join(errors))


def url_to_path(url: str) -> Path:
    """The local path of a ``file://`` URL."""
    return Path(urllib.request.url2pathname(urllib.parse.urlparse(url).path))


def _local_exists(url: str) -> bool:
    return not url.startswith("file:") or url_to_path(url).is_file()


def verify(path: Path, remote: RemoteFile) -> str | None:
    """How ``path`` matches ``remote``: ``"md5"``, ``"content_md5"``, or ``None`` if it does not."""
    if remote.md5 is None or md5sum(path) == remote.md5:
        return "md5" if remote.md5 else "structure"
    if remote.content_md5 and remote.filename.endswith(".gz"):
        digest = hashlib.md5()
        try:
            with gzip.open(path, "rb") as f:
                while chunk := f.read(_CHUNK):
                    digest.update(chunk)
        except (OSError, EOFError, zlib.error):
            return None
        if digest.hexdigest() == remote.content_md5:
            return "content_md5"
    return None


def _stream(url: str, dest: Path, remote: RemoteFile, timeout: float) -> None:
    with atomic_path(dest) as tmp:
        request = urllib.request.Request(url, headers={"User-Agent": "deepclust"})
        with urllib.request.urlopen(request, timeout=timeout) as response, open(tmp, "wb") as out:
            while chunk := response.read(_CHUNK):
                out.write(chunk)
        if verify(tmp, remote) is None:
            raise ChecksumError(
                f"{dest.name} from {url}: MD5 {md5sum(tmp)} does not match the published "
                f"{remote.md5}; the file was discarded (a corrupted or changed copy)"
            )
