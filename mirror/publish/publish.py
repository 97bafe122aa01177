"""`build.py publish URL`: a mirror tree's files, uploaded into an index a company already runs.

The upload API is the one twine speaks (the legacy `:action=file_upload`
multipart form), which pypiserver, devpi, Nexus hosted and Artifactory local
repositories accept. The target's Simple API (read with mirror/upstream/simple.py)
says what it already has: same sha256 is skipped, another sha256 under the
same name stops the publish before anything is uploaded.

Credentials come from TWINE_USERNAME/TWINE_PASSWORD, netrc or keyring
(when the keyring package is installed), never from the command line, and
are sent only to the index's origin.
"""

from __future__ import annotations

import dataclasses
import email.parser
import email.policy
import hashlib
import importlib
import logging
import os
import tarfile
import threading
import time
import urllib.parse
import zipfile
import zlib
from pathlib import Path

import requests
from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename

from mirror.core.files import sha256_file
from mirror.core.http import (MAX_EXPORT, MAX_PAGE, Transient, TooLarge, netrc_credentials, new_session, read_body,
                         retrying, short_reason)
from mirror.core.parallel import each
from mirror.errors import (DistributionError, HashMismatchError, InputError, PublishConflict, PublishError,
                           PublishFailed, UpstreamError)
from mirror.fetch.metadata import MAX_METADATA, wheel_metadata
from mirror.resolve.lock import LockedFile, read_lock
from mirror.upstream import simple

log = logging.getLogger(__name__)

TIMEOUT = (10, 300)  # a big wheel into a slow index: the read timeout covers the server's processing
ENV_USERNAME, ENV_PASSWORD = "TWINE_USERNAME", "TWINE_PASSWORD"
_REASON_BYTES = 64 << 10  # an index's error text: its first line is all the summary shows
CREDENTIAL_SOURCES = f"{ENV_USERNAME}/{ENV_PASSWORD}, netrc or keyring"
# Core metadata fields a file may carry several times, and the form field twine sends each as.
_MULTI = {"classifier": "classifiers", "platform": "platform", "supported-platform": "supported_platform",
          "requires-dist": "requires_dist", "provides-dist": "provides_dist", "obsoletes-dist": "obsoletes_dist",
          "requires-external": "requires_external", "project-url": "project_urls",
          "provides-extra": "provides_extra", "dynamic": "dynamic", "license-file": "license_file"}


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


def credentials(url: str) -> tuple[str, str] | None:
    """(user, password) from the environment, then netrc, then keyring; None for anonymous."""
    user, password = os.environ.get(ENV_USERNAME), os.environ.get(ENV_PASSWORD)
    if user and password is not None:
        return user, password
    # The publish URL's own origin only; `default` too, since the user named this one index (mirror/core/http.py).
    netrc = netrc_credentials(url, default_entry=True)
    if netrc:
        return netrc
    try:
        keyring = importlib.import_module("keyring")
    except ImportError:
        return (user, password) if user else None
    try:
        found = keyring.get_credential(url, user)
    except Exception as exc:  # any backend's failure: say which, go on without
        log.info("keyring gave no credentials for %s: %s", url, short_reason(exc))
        return (user, password) if user else None
    return (found.username, found.password) if found else ((user, password) if user else None)


class Publisher:
    def __init__(self, url: str, *, index_url: str | None = None, ca_file: str | None = None, jobs: int = 4):
        parts = urllib.parse.urlsplit(url)
        if parts.username or parts.password:
            raise InputError(f"publish URL with credentials in it: they would show in the process list and "
                             f"the shell history; give them as {CREDENTIAL_SOURCES}")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InputError(f"publish URL {url!r} is not an http(s) address")
        if jobs < 1:
            raise InputError(f"--jobs {jobs}: at least 1")
        self.url = url.rstrip("/") + "/"
        self.index_url = index_url
        self.jobs = jobs
        # credentials only as credentials() finds them, for the upload URL's origin; no proxy from env
        self.session = new_session(trust_env=False, pool_size=jobs)
        self.verify = ca_file or True
        self.found = credentials(self.url)
        if self.found:
            self.session.auth.bind(self.url, self.found)

    # --- what the index has --------------------------------------------------

    def _get(self, url: str, accept: str) -> requests.Response | None:
        """GET through same-origin redirects; None for a 404 or a redirect elsewhere
        (pypiserver sends names it lacks to its upstream)."""
        for _ in range(6):
            response = self.session.get(url, headers={"Accept": accept}, timeout=TIMEOUT, verify=self.verify,
                                        allow_redirects=False, stream=True)
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
        for candidate in (f"{self.url}simple/", f"{self.url}+simple/"):  # pypiserver, Nexus, ... ; devpi
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
        skipped = len(files) - len(todo)
        log.info("publishing to %s: %d files, %d already there with the same sha256 (%s)", self.url,
                 len(files), skipped, "as " + self.found[0] if self.found else "no credentials found")
        progress = _Progress(len(todo), sum(path.stat().st_size for _, path in todo))
        failures: list[tuple[str, str]] = []
        if todo:
            # The first alone: wrong credentials or a read-only index end with one line, not N.
            self._upload_one(*todo[0], progress, failures)
            each(self.jobs, self._upload_one, ((f, path, progress, failures) for f, path in todo[1:]))
        summary = Summary(len(todo) - len(failures), skipped, len(failures), progress.bytes,
                          time.monotonic() - started)
        log.info("published to %s: %d uploaded, %d skipped, %d failed (%.1f MB) in %.1f s", self.url,
                 summary.uploaded, summary.skipped, summary.failed, summary.bytes / 1e6, summary.seconds)
        if failures:
            raise PublishFailed(self.url, sorted(failures))
        return summary

    def _upload_one(self, f: LockedFile, path: Path, progress: "_Progress", failures: list) -> None:
        form = upload_form(f, path)
        content = path.read_bytes()
        try:
            retrying(self.url, lambda: self._post(f.filename, form, content))
        except _Refused as exc:
            failures.append((f.filename, exc.reason))
        except UpstreamError as exc:
            raise PublishError(self.url, f"uploading {f.filename}: {exc.reason}") from None
        progress.add(len(content))

    def _post(self, filename: str, form: list[tuple[str, str]], content: bytes) -> None:
        try:
            response = self.session.post(self.url, data=form, files={"content": (filename, content)},
                                         timeout=TIMEOUT, verify=self.verify, allow_redirects=False, stream=True)
        except requests.exceptions.SSLError as exc:
            raise PublishError(self.url, f"TLS verification failed ({short_reason(exc)}); pass --ca-file") from None
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise Transient(short_reason(exc)) from exc
        status, reason = response.status_code, _reason(response)
        if status in (200, 201):
            return
        if status >= 500 or status == 429:
            raise Transient(f"HTTP {status}")
        if status == 401:
            source = f"as {self.found[0]}" if self.found else f"none found in {CREDENTIAL_SOURCES}"
            raise PublishError(self.url, f"HTTP 401: credentials refused ({source})")
        if status == 403:
            raise PublishError(self.url, f"HTTP 403: uploads refused, a read-only index or no upload "
                                         f"permission for {self.found[0] if self.found else 'anonymous'} ({reason})")
        if status in (404, 405) or response.is_redirect:
            raise PublishError(self.url, f"HTTP {status}: this address takes no uploads (a read-only index, "
                                         f"or not its upload URL) ({reason})")
        raise _Refused(f"HTTP {status} ({reason})")


class _Refused(Exception):
    """One file refused (e.g. 400, 409): named in the summary; the others go on."""

    def __init__(self, reason: str):
        self.reason = reason


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


def upload_form(f: LockedFile, path: Path) -> list[tuple[str, str]]:
    """The form twine sends: the file's core metadata, its kind and digests."""
    if f.filename.endswith(".whl"):
        raw = wheel_metadata(path)
        tags = parse_wheel_filename(f.filename)[3]
        filetype, pyversion = "bdist_wheel", ".".join(sorted({t.interpreter for t in tags}))
    else:
        parse_sdist_filename(f.filename)
        raw = _sdist_metadata(path)
        filetype, pyversion = "sdist", "source"
    # Core metadata is UTF-8 (an author's name often is not ASCII): parse text, not bytes,
    # so that every value is a plain str the form can encode.
    message = email.parser.Parser(policy=email.policy.compat32).parsestr(raw.decode("utf-8", errors="replace"))
    form = [(":action", "file_upload"), ("protocol_version", "1"), ("filetype", filetype),
            ("pyversion", pyversion), ("sha256_digest", f.sha256),
            ("md5_digest", hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest())]
    for key, value in message.items():
        field = key.lower()
        if field in _MULTI:
            form.append((_MULTI[field], str(value)))
        else:
            form.append((field.replace("-", "_"), str(value)))
    body = message.get_payload()
    if body and "Description" not in message:
        form.append(("description", body if isinstance(body, str) else str(body)))
    names = {k for k, _ in form}
    if not {"name", "version", "metadata_version"} <= names:
        raise DistributionError(f.filename, "its metadata lacks Name, Version or Metadata-Version")
    if canonicalize_name(dict(form)["name"]) != f.name:
        raise DistributionError(f.filename, f"its metadata names {dict(form)['name']!r}, the lock {f.name}")
    return form


def _bounded(path: Path, data: bytes) -> bytes:
    if len(data) > MAX_METADATA:
        raise DistributionError(path.name, f"PKG-INFO unpacks to more than {MAX_METADATA} bytes")
    return data


def _sdist_metadata(path: Path) -> bytes:
    """PKG-INFO at the top folder of a .tar.gz or .zip sdist."""
    try:
        if path.name.endswith(".zip"):
            with zipfile.ZipFile(path) as archive:
                names = [n for n in archive.namelist() if n.count("/") == 1 and n.endswith("/PKG-INFO")]
                if names:
                    with archive.open(names[0]) as stream:
                        return _bounded(path, stream.read(MAX_METADATA + 1))
        else:
            with tarfile.open(path) as archive:
                for member in archive.getmembers():
                    if member.name.count("/") == 1 and member.name.endswith("/PKG-INFO") and member.isfile():
                        return _bounded(path, archive.extractfile(member).read(MAX_METADATA + 1))
    except (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError, zlib.error) as exc:
        raise DistributionError(path.name, f"not a readable sdist: {exc}") from None
    raise DistributionError(path.name, "no PKG-INFO at its top level")


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


def publish(tree: Path, url: str, *, index_url: str | None = None, ca_file: str | None = None,
            jobs: int = 4) -> Summary:
    files = mirror_files(tree)
    return Publisher(url, index_url=index_url, ca_file=ca_file, jobs=jobs).publish(files)
