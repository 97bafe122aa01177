"""`build.py publish URL`: a mirror tree's files, uploaded into an index a company already runs.

The upload goes through twine (mirror/publish/twine_api.py), the library users already
configure: the URL or `--repository NAME` of ~/.pypirc, TWINE_* variables, keyring,
netrc, proxies from the environment, twine's package checks. pypiserver, devpi,
Nexus hosted and Artifactory local repositories take it. The target's Simple API
(read with mirror/upstream/simple.py) says what it already has first: same sha256 is
skipped, another sha256 under the same name stops the publish before anything is
uploaded.

Credentials never come from the command line, and are sent only to the index's origin.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import threading
import time
import urllib.parse
from pathlib import Path

import requests

from mirror.core.files import sha256_file
from mirror.core.http import MAX_EXPORT, MAX_PAGE, Transient, TooLarge, new_session, read_body, retrying, short_reason
from mirror.core.parallel import each
from mirror.errors import HashMismatchError, InputError, PublishConflict, PublishError, PublishFailed, UpstreamError
from mirror.publish import twine_api
from mirror.publish.twine_api import CREDENTIAL_SOURCES, TIMEOUT
from mirror.resolve.lock import LockedFile, read_lock
from mirror.settings import FIELDS
from mirror.upstream import simple

log = logging.getLogger(__name__)

_REASON_BYTES = 64 << 10  # an index's error text: its first line is all the summary shows


@dataclasses.dataclass(frozen=True)
class Summary:
    uploaded: int
    skipped: int
    failed: int
    bytes: int
    seconds: float


def mirror_files(tree: Path) -> list[tuple[LockedFile, Path]]:
    """The tree's files as its lock names them, each checked against its sha256 first."""
    lock_path = tree / "lock.json"
    if not lock_path.is_file():
        raise InputError(f"{tree}: no lock.json, not a mirror tree (build.py build -o DIR makes one; "
                         "scripts/publish IMAGE URL takes it from an image)")
    files = []
    for f in read_lock(lock_path).files:
        path = tree / "packages" / f.filename
        if not path.is_file():
            raise InputError(f"{path}: in the lock, but missing from the tree")
        got = sha256_file(path)
        if got != f.sha256:
            raise HashMismatchError(str(path), f.sha256, got)
        files.append((f, path))
    return files


class Publisher:
    def __init__(self, url: str | None = None, *, index_url: str | None = None, ca_file: str | None = None,
                 jobs: int = FIELDS["jobs"].default, repository: str | None = None, config_file: str | None = None,
                 skip_existing: bool = False):
        if url:
            parts = urllib.parse.urlsplit(url)
            if parts.username or parts.password:
                raise InputError(f"publish URL with credentials in it: they would show in the process list and "
                                 f"the shell history; give them as {CREDENTIAL_SOURCES}")
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise InputError(f"publish URL {url!r} is not an http(s) address")
            url = url.rstrip("/") + "/"
        if jobs < 1:
            raise InputError(f"--jobs {jobs}: at least 1")
        # Where and as whom: twine's answer (URL, .pypirc, TWINE_*, keyring), then netrc.
        self.target = twine_api.resolve(url, repository=repository, config_file=config_file, ca_file=ca_file)
        self.url = self.target.url
        self.index_url = index_url
        self.jobs = jobs
        self.skip_existing = skip_existing
        # Reading the index: the same credentials (its origin only), certificates and proxies as the upload.
        self.session = new_session(trust_env=True, pool_size=jobs)
        self.verify = self.target.ca_file or True
        self.cert = self.target.client_cert
        self.found = self.target.credentials
        if self.found:
            self.session.auth.bind(self.url, self.found)

    # --- what the index has --------------------------------------------------

    def _get(self, url: str, accept: str) -> requests.Response | None:
        """GET through same-origin redirects; None for a 404 or a redirect elsewhere
        (pypiserver sends names it lacks to its upstream)."""
        for _ in range(6):
            response = self.session.get(url, headers={"Accept": accept}, timeout=TIMEOUT, verify=self.verify,
                                        cert=self.cert, allow_redirects=False, stream=True)
            if response.is_redirect:
                target = urllib.parse.urljoin(url, response.headers["Location"])
                if urllib.parse.urlsplit(target)[:2] != urllib.parse.urlsplit(url)[:2]:
                    return None
                url = target
                continue
            if response.status_code == 404:
                return None
            if response.status_code in (401, 403):
                raise PublishError(url, f"HTTP {response.status_code}: reading the index needs credentials "
                                        f"({CREDENTIAL_SOURCES}), or these are refused")
            if response.status_code >= 500 or response.status_code == 429:
                raise Transient(f"HTTP {response.status_code}")
            if response.status_code != 200:
                raise PublishError(url, f"HTTP {response.status_code}")
            return response
        raise PublishError(url, "too many redirects")

    def _simple_root(self) -> str:
        if self.index_url:
            return self.index_url.rstrip("/") + "/"
        base = self.url.rstrip("/") + "/"
        for candidate in (f"{base}simple/", f"{base}+simple/"):  # pypiserver, Nexus, ... ; devpi
            response = self._read(candidate)
            if response is not None:
                response.close()
            if response is not None and simple.page_format(response.headers.get("Content-Type")) == "html":
                return candidate
        raise PublishError(self.url, "no Simple API at simple/ or +simple/ under it (give --index-url)")

    def _read(self, url: str) -> requests.Response | None:
        try:
            return retrying(url, lambda: self._attempt_read(url))
        except UpstreamError as exc:
            raise PublishError(url, f"cannot reach the index: {exc.reason}") from None

    def _attempt_read(self, url: str) -> requests.Response | None:
        try:
            return self._get(url, simple.ACCEPT_HTML)
        except requests.exceptions.SSLError as exc:
            raise PublishError(url, f"TLS verification failed ({short_reason(exc)}); pass --ca-file") from None
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise Transient(short_reason(exc)) from exc

    def existing(self, names: set[str]) -> dict[str, str | None]:
        """filename -> sha256 (None when the page gives no sha256) of what the index has for these projects."""
        root = self._simple_root()
        have: dict[str, str | None] = {}
        for name in sorted(names):
            url = f"{root}{name}/"
            response = self._read(url)
            if response is None:
                continue
            try:
                page = simple.parse_project(response.url, response.headers.get("Content-Type"),
                                            self._body(url, response, MAX_PAGE))
            except simple.PageError as exc:
                raise PublishError(url, exc.reason) from None
            for link in page.files:
                have[link.filename] = link.sha256 or self._hash_of(link.url)
        return have

    def _hash_of(self, url: str) -> str | None:
        """A file the page lists without a sha256: hashed as served, so "same file" is never a guess."""
        response = self._read(url)
        return hashlib.sha256(self._body(url, response, MAX_EXPORT)).hexdigest() if response is not None else None

    @staticmethod
    def _body(url: str, response: requests.Response, limit: int) -> bytes:
        try:
            return read_body(response, limit=limit)
        except (TooLarge, Transient) as exc:
            raise PublishError(url, str(exc)) from None

    # --- the upload ------------------------------------------------------------

    def publish(self, files: list[tuple[LockedFile, Path]]) -> Summary:
        started = time.monotonic()
        have = self.existing({f.name for f, _ in files})
        conflicts = [(f.filename, f.sha256, have[f.filename]) for f, _ in files
                     if f.filename in have and have[f.filename] not in (None, f.sha256)]
        if conflicts:
            raise PublishConflict(self.url, conflicts)
        todo = [(f, path) for f, path in files if f.filename not in have]
        # twine's checks of every file before the first upload: a bad one stops the publish, not half of it.
        packages: dict[str, object] = {}
        each(self.jobs, lambda f, path: packages.__setitem__(
            f.filename, twine_api.package(path, f.name, f.sha256)), todo)
        skipped = len(files) - len(todo)
        log.info("publishing to %s: %d files, %d already there with the same sha256 (%s)", self.url,
                 len(files), skipped, "as " + self.found[0] if self.found else "no credentials found")
        progress = _Progress(len(todo), sum(path.stat().st_size for _, path in todo))
        failures: list[tuple[str, str]] = []
        existed: list[str] = []
        uploader = twine_api.Uploader(self.target, self.jobs)
        try:
            if todo:
                # The first alone: wrong credentials or a read-only index end with one line, not N.
                first = todo[0]
                self._upload_one(*first, packages[first[0].filename], progress, failures, existed, uploader)
                each(self.jobs, self._upload_one, ((f, path, packages[f.filename], progress, failures, existed,
                                                    uploader) for f, path in todo[1:]))
        finally:
            uploader.close()
        summary = Summary(len(todo) - len(failures) - len(existed), skipped + len(existed), len(failures),
                          progress.bytes, time.monotonic() - started)
        log.info("published to %s: %d uploaded, %d skipped, %d failed (%.1f MB) in %.1f s", self.url,
                 summary.uploaded, summary.skipped, summary.failed, summary.bytes / 1e6, summary.seconds)
        if failures:
            raise PublishFailed(self.url, sorted(failures))
        return summary

    def _upload_one(self, f: LockedFile, path: Path, package, progress: "_Progress", failures: list,
                    existed: list, uploader: twine_api.Uploader) -> None:
        try:
            retrying(self.url, lambda: self._post(uploader, package))
        except _Refused as exc:
            if exc.existed:
                log.info("%s: the index says it has it already (--skip-existing)", f.filename)
                existed.append(f.filename)
            else:
                failures.append((f.filename, exc.reason))
        except UpstreamError as exc:
            raise PublishError(self.url, f"uploading {f.filename}: {exc.reason}") from None
        progress.add(path.stat().st_size)

    def _post(self, uploader: twine_api.Uploader, package) -> None:
        try:
            response = uploader.upload(package)
        except requests.exceptions.SSLError as exc:
            raise PublishError(self.url, f"TLS verification failed ({short_reason(exc)}); pass --ca-file") from None
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise Transient(short_reason(exc)) from exc
        status = response.status_code
        if status in (200, 201):
            response.close()
            return
        if status >= 500 or status == 429:
            response.close()
            raise Transient(f"HTTP {status}")
        existed = self.skip_existing and twine_api.already_there(response, package)
        reason = _reason(response)
        if status == 401:
            source = f"as {self.found[0]}" if self.found else f"none found in {CREDENTIAL_SOURCES}"
            raise PublishError(self.url, f"HTTP 401: credentials refused ({source})")
        if status == 403:
            raise PublishError(self.url, f"HTTP 403: uploads refused, a read-only index or no upload "
                                         f"permission for {self.found[0] if self.found else 'anonymous'} ({reason})")
        if status in (404, 405) or response.is_redirect:
            raise PublishError(self.url, f"HTTP {status}: this address takes no uploads (a read-only index, "
                                         f"or not its upload URL) ({reason})")
        raise _Refused(f"HTTP {status} ({reason})", existed)


class _Refused(Exception):
    """One file refused (e.g. 400, 409): named in the summary, or skipped when the index says it has
    it and --skip-existing is given (twine's reading); the others go on."""

    def __init__(self, reason: str, existed: bool = False):
        self.reason, self.existed = reason, existed


def _reason(response: requests.Response) -> str:
    text = response.reason or ""
    if response.headers.get("Content-Type", "").startswith("text/plain"):
        try:
            body = read_body(response, limit=_REASON_BYTES).decode("utf-8", errors="replace").strip()
        except (TooLarge, Transient):
            body = ""
        text = body.splitlines()[0][:120] if body else text
    response.close()
    return text


class _Progress:
    """At most one log line per second, and always the last one."""

    def __init__(self, total_files: int, total_bytes: int):
        self.total_files, self.total_bytes = total_files, total_bytes
        self.files = self.bytes = 0
        self.last = time.monotonic()
        self.lock = threading.Lock()

    def add(self, size: int) -> None:
        with self.lock:
            self.files += 1
            self.bytes += size
            now = time.monotonic()
            if now - self.last >= 1 or self.files == self.total_files:
                self.last = now
                log.info("uploading %d/%d files (%.1f of %.1f MB)", self.files, self.total_files,
                         self.bytes / 1e6, self.total_bytes / 1e6)


def publish(tree: Path, url: str | None = None, *, index_url: str | None = None, ca_file: str | None = None,
            jobs: int = FIELDS["jobs"].default, repository: str | None = None, config_file: str | None = None,
            skip_existing: bool = False) -> Summary:
    # Where and as whom first (no network): a wrong option ends before a tree of gigabytes is hashed.
    publisher = Publisher(url, index_url=index_url, ca_file=ca_file, jobs=jobs, repository=repository,
                          config_file=config_file, skip_existing=skip_existing)
    return publisher.publish(mirror_files(tree))
