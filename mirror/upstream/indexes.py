"""Several upstream indexes, asked in order: a project comes from the first that has it.

That is uv's default `first-index` strategy, and the guard against
dependency confusion: a name published on a later (public) index never
replaces the one an earlier (private) index serves. Each index keeps its own
credentials, sent only to its own origin.
"""

from __future__ import annotations

import logging
import urllib.parse
from pathlib import Path

from packaging.utils import NormalizedName

from mirror.core.http import mask, origin, strip_credentials
from mirror.errors import InputError, UpstreamError
from mirror.upstream.upstream import ProjectStatus, Upstream, UpstreamFile

log = logging.getLogger(__name__)


def _key(url: str) -> str:
    return strip_credentials(url)[0].rstrip("/") + "/"


def read_credential_urls(path: Path | None) -> list[str]:
    """An index-URL file: one index URL with credentials per line (# comments)."""
    if not path:
        return []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InputError(f"cannot read index URL file {path}: {exc.strerror or exc}") from None
    urls = [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]
    for url in urls:
        if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            raise InputError(f"index URL file {path}: {mask(url)} is not an http(s) URL")
    return urls


def order(index_url: str, extra_index_urls: list[str], file_urls: list[str], credential_urls: list[str]) -> list[str]:
    """Every index, first asked first, each once, credentials attached where a secret gives them.

    EXTRA_INDEX_URLS first, then the indexes requirement files name, then
    the ones only the credentials file names, and INDEX_URL last (uv's
    order: extra indexes before the default one).
    """
    by_key: dict[str, str] = {}
    for url in [*extra_index_urls, *file_urls, *credential_urls]:
        by_key.setdefault(_key(url), url)
    by_key.pop(_key(index_url), None)
    by_key[_key(index_url)] = index_url
    secrets = {_key(u): u for u in [index_url, *credential_urls] if strip_credentials(u)[1]}
    return [secrets.get(key, url) for key, url in by_key.items()]


class Indexes:
    """An ordered list of Upstream, looked up the way uv does."""

    def __init__(self, urls: list[str], *, ca_bundle: str | None = None):
        if not urls:
            raise InputError("no index to resolve against")
        # A netrc `default` entry lends its credentials to INDEX_URL (the last) alone: mirror/core/http.py.
        self.upstreams = [Upstream(u, ca_bundle=ca_bundle, netrc_default=n == len(urls) - 1)
                          for n, u in enumerate(urls)]

    @property
    def primary(self) -> Upstream:
        """INDEX_URL: the last resort, and what single-index code sees."""
        return self.upstreams[-1]

    @property
    def masked(self) -> list[str]:
        return [mask(u.index_url) for u in self.upstreams]

    @property
    def index_url(self) -> str:
        return self.primary.index_url

    def project_files(self, name: NormalizedName) -> tuple[str, list[UpstreamFile]]:
        """(index URL, files) from the first index that has the project."""
        for upstream in self.upstreams[:-1]:
            try:
                return upstream.index_url, upstream.project_files(name)
            except UpstreamError as exc:
                if exc.status != 404:
                    raise
        return self.primary.index_url, self.primary.project_files(name)

    def status(self, name: NormalizedName) -> ProjectStatus:
        """PEP 792 status of a project whose page project_files read (active if no index said otherwise)."""
        for upstream in self.upstreams:
            if name in upstream.statuses:
                return upstream.statuses[name]
        return ProjectStatus()

    def for_url(self, url: str) -> Upstream:
        """The index whose origin serves this URL (its credentials apply), else the primary one,
        whose credentials go to no other origin."""
        where, path = origin(url), urllib.parse.urlsplit(url).path
        same = [u for u in self.upstreams if origin(u.index_url) == where]
        # Two indexes on one host (an Artifactory with several repositories): the one under whose path it is.
        under = [u for u in same if path.startswith(urllib.parse.urlsplit(u.index_url).path.rstrip("/") + "/")]
        return (under or same or [self.primary])[0]

    def open(self, url: str, **kwargs):
        return self.for_url(url).open(url, **kwargs)

    def get(self, url: str, **kwargs):
        return self.for_url(url).get(url, **kwargs)

    def read(self, url: str, **kwargs) -> bytes:
        """Bounded bytes of any URL a page names (Upstream.read): the way to fetch a new kind of object."""
        return self.for_url(url).read(url, **kwargs)
