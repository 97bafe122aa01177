"""Lock -> verified files in one flat folder.

A file reaches the folder only through os.replace after its sha256 matched,
so an interrupted or failed build never leaves a partial or wrong file where
a verified one is expected. Verified files are kept in a cache folder (a
BuildKit cache mount in the image build): a rebuild takes them from there and
downloads only what is new.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
import time
from pathlib import Path

import requests

from mirror.core.files import copy_atomic, sha256_file
from mirror.core.http import MAX_FILE, Transient, file_deadline, mask, retrying
from mirror.core.parallel import each
from mirror.errors import DistributionError, HashMismatchError
from mirror.resolve.lock import LockedFile
from mirror.upstream.upstream import Upstream

log = logging.getLogger(__name__)

CHUNK = 1 << 16


def download(
    files: list[LockedFile], dest: Path, upstream: Upstream, *, cache: Path | None = None, jobs: int = 8
) -> None:
    """Put every file into dest, verified, taking cached copies where they are still valid."""
    dest.mkdir(parents=True, exist_ok=True)
    store = cache / "files" if cache else dest
    store.mkdir(parents=True, exist_ok=True)
    progress = _Progress(len(files), sum(f.size or 0 for f in files))
    each(jobs, _fetch_one, ((f, store, dest, upstream, progress) for f in files))
    progress.done()


def _fetch_one(f: LockedFile, store: Path, dest: Path, upstream: Upstream, progress: "_Progress") -> None:
    stored = store / f.filename
    if stored.exists() and sha256_file(stored) == f.sha256:
        progress.add(stored.stat().st_size, cached=True)
    else:
        size = retrying(f.url, lambda: _download_once(f, stored, upstream))
        progress.add(size, cached=False)
    if store != dest:
        copy_atomic(stored, dest / f.filename)


def _download_once(f: LockedFile, target: Path, upstream: Upstream) -> int:
    """One attempt: the verified file at target and its size, or an exception and no file."""
    digest = hashlib.sha256()
    size = 0
    # A file never runs past the size its index declared, nor past its deadline (mirror/core/http.py).
    limit = f.size or MAX_FILE
    stop = time.monotonic() + file_deadline(f.size)
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{f.filename}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, upstream.open(f.url, stream=True) as response:
            try:
                for chunk in response.iter_content(CHUNK):
                    size += len(chunk)
                    if size > limit:
                        declared = ("it declares for it" if f.size
                                    else "this build takes for a file of no declared size")
                        raise DistributionError(f.filename, f"the index sends more than the {limit} bytes "
                                                f"{declared} ({mask(f.url)})")
                    if time.monotonic() > stop:
                        raise Transient(f"not complete after {file_deadline(f.size):.0f} s")
                    digest.update(chunk)
                    out.write(chunk)
            except (requests.ConnectionError, requests.Timeout,
                    requests.exceptions.ChunkedEncodingError) as exc:
                raise Transient(f"{type(exc).__name__} after {size} bytes") from exc
        got = digest.hexdigest()
        if got != f.sha256:
            raise HashMismatchError(f.filename, f.sha256, got)
        os.chmod(temp, 0o644)  # mkstemp makes 0600; the server runs as another user
        os.replace(temp, target)
        return size
    except BaseException:
        os.unlink(temp)
        raise


class _Progress:
    """At most one log line per second, and always the last one."""

    def __init__(self, total_files: int, total_bytes: int):
        self.total_files, self.total_bytes = total_files, total_bytes
        self.files = self.bytes = self.cached = 0
        self.started = self.last = time.monotonic()
        self.lock = threading.Lock()

    def add(self, size: int, *, cached: bool) -> None:
        with self.lock:
            self.files += 1
            self.bytes += size
            self.cached += cached
            now = time.monotonic()
            if now - self.last >= 1 or self.files == self.total_files:
                self.last = now
                log.info("downloading %d/%d files (%s of %s)", self.files, self.total_files,
                         _mb(self.bytes), _mb(self.total_bytes) if self.total_bytes else "?")

    def done(self) -> None:
        log.info("%d files verified (%d from cache, %d downloaded, %s) in %.1f s", self.files,
                 self.cached, self.files - self.cached, _mb(self.bytes), time.monotonic() - self.started)


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"
