"""The upstream index: one HTTP session, its credentials, and its project pages.

Credentials never travel with a URL inside this program: they are split off
the index URL once, and sent only to the index's own origin. Everything that is
logged, raised or written goes through ``mask``.
"""

from __future__ import annotations

import dataclasses
import logging

import requests
from packaging.utils import NormalizedName

from mirror.core.http import (add_credentials, get_bytes, mask, netrc_credentials, new_session, open_url, retrying,
                              strip_credentials)
from mirror.errors import UpstreamError
from mirror.upstream import simple

ACCEPT = simple.ACCEPT

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class UpstreamFile:
    """One file as the upstream index lists it."""

    filename: str
    url: str
    sha256: str | None
    size: int | None = None
    upload_time: str | None = None
    requires_python: str | None = None
    yanked: bool | str = False
    provenance: str | None = None  # PEP 740: the URL of its provenance object, absolute


@dataclasses.dataclass(frozen=True)
class ProjectStatus:
    """PEP 792: what an index says about a project as a whole; no status on the page means active."""

    status: str = "active"
    reason: str | None = None

    @property
    def active(self) -> bool:
        return self.status == "active"

    def to_json(self) -> dict:
        return {"status": self.status, "reason": self.reason}


class Upstream:
    def __init__(self, index_url: str, *, ca_bundle: str | None = None, pool_size: int = 16,
                 netrc_default: bool = False):
        url, credentials = strip_credentials(index_url)
        self.index_url = url.rstrip("/") + "/"
        # netrc lends credentials to the index's own origin, and its `default` entry to INDEX_URL only.
        self.credentials = credentials or netrc_credentials(self.index_url, default_entry=netrc_default)
        self.session = new_session(pool_size=pool_size)
        # Passed with every request: a session-wide verify loses to REQUESTS_CA_BUNDLE.
        self.verify = ca_bundle or True
        if self.credentials:
            self.session.auth.bind(self.index_url, self.credentials)
        # PEP 792 statuses of the project pages read so far (project_files fills it).
        self.statuses: dict[NormalizedName, ProjectStatus] = {}

    @property
    def url_with_credentials(self) -> str:
        """For child tools (the resolver) that take credentials in the URL."""
        return add_credentials(self.index_url, self.credentials)

    def open(self, url: str, **kwargs) -> requests.Response:
        """One streamed GET: a response below 400, Transient, or UpstreamError naming the (masked) URL."""
        kwargs.pop("stream", None)
        return open_url(self.session, url, verify=self.verify, **kwargs)

    def get(self, url: str, **kwargs) -> requests.Response:
        return retrying(url, lambda: self.open(url, **kwargs))

    def read(self, url: str, *, limit: int | None = None, deadline: float | None = None,
             headers: dict | None = None) -> bytes:
        """A small object's bytes (a page, a provenance file): bounded (default: a page's bounds),
        retried, this index's credentials only if the URL is on its origin."""
        return get_bytes(self.session, url, limit=limit, deadline=deadline, verify=self.verify, headers=headers)[0]

    def project_files(self, name: NormalizedName) -> list[UpstreamFile]:
        """Every file upstream lists for a project, from its PEP 691 or PEP 503 page (bounded: mirror/core/http.py)."""
        page_url = f"{self.index_url}{name}/"
        body, response = get_bytes(self.session, page_url, verify=self.verify, headers={"Accept": ACCEPT})
        content_type = response.headers.get("Content-Type")
        # Lenient as pip is not: a page of unknown type is read as HTML.
        if simple.page_format(content_type) is None:
            content_type = "text/html"
        try:
            page = simple.parse_project(page_url, content_type, body)
        except simple.PageError as exc:
            raise UpstreamError(mask(page_url), exc.reason) from None
        self.statuses[name] = ProjectStatus(page.status or "active", page.status_reason)
        return [UpstreamFile(filename=link.filename, url=link.url, sha256=link.sha256, size=link.size,
                             upload_time=link.upload_time, requires_python=link.requires_python,
                             yanked=link.yanked, provenance=link.provenance) for link in page.files]
