"""The upstream index: one HTTP session, its credentials, and its project pages.

Credentials never travel with a URL inside this program: they are split off
the index URL once, and sent only to the index's own origin. Everything that is
logged, raised or written goes through ``mask``.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import time
import urllib.parse

import requests
import requests.adapters
from packaging.utils import NormalizedName

from mirror import simple
from mirror.errors import UpstreamError

ACCEPT = simple.ACCEPT
USER_AGENT = "pypi-mirror"
TIMEOUT = (10, 30)  # connect, and read between two chunks: a stalled server fails fast
RETRIES = 4  # attempts in all, for Transient failures
BACKOFF = 0.5  # seconds, doubled after each failed attempt

log = logging.getLogger(__name__)


# Greedy up to the last "@" before the path: a password may contain "@".
_USERINFO = re.compile(r"//([^/\s]+)@")


def mask(text: str) -> str:
    """Text with the secret part of every URL's credentials replaced, safe to print."""

    def hide(match: re.Match) -> str:
        user, colon, _ = match.group(1).partition(":")
        return f"//{user}:***@" if colon else "//***@"

    return _USERINFO.sub(hide, text)


def strip_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    parts = urllib.parse.urlsplit(url)
    if parts.username is None:
        return url, None
    host = parts.netloc.rpartition("@")[2]  # keeps an IPv6 literal's brackets and the port
    auth = (urllib.parse.unquote(parts.username), urllib.parse.unquote(parts.password or ""))
    return urllib.parse.urlunsplit(parts._replace(netloc=host)), auth


def add_credentials(url: str, credentials: tuple[str, str] | None) -> str:
    """The inverse of strip_credentials, percent-encoding what needs it."""
    if not credentials:
        return url
    parts = urllib.parse.urlsplit(url)
    user, password = (urllib.parse.quote(c, safe="") for c in credentials)
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{user}:{password}@{parts.netloc}"))


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


class _OriginAuth(requests.auth.AuthBase):
    """Basic auth for the index's own origin only: a file host elsewhere never sees it."""

    def __init__(self, url: str, credentials: tuple[str, str]):
        self.origin = _origin(url)
        # UTF-8, as uv and browsers send it; requests would encode a str as Latin-1.
        self.basic = requests.auth.HTTPBasicAuth(*(c.encode("utf-8") for c in credentials))

    def __call__(self, request):
        return self.basic(request) if _origin(request.url) == self.origin else request


def _origin(url: str) -> tuple[str, str | None, int | None]:
    parts = urllib.parse.urlsplit(url)
    return parts.scheme, parts.hostname, parts.port or {"http": 80, "https": 443}.get(parts.scheme)


class Transient(Exception):
    """A failure worth another attempt: timeouts, dropped connections, 5xx, 429."""


def retrying(url: str, attempt):
    """attempt() until it stops raising Transient, then one UpstreamError naming the URL."""
    for n in range(1, RETRIES + 1):
        try:
            return attempt()
        except Transient as exc:
            if n == RETRIES:
                raise UpstreamError(mask(url), f"{exc} (gave up after {RETRIES} attempts)") from None
            delay = BACKOFF * 2 ** (n - 1)
            log.info("retrying %s in %.1f s: %s", mask(url), delay, exc)
            time.sleep(delay)
    raise AssertionError("unreachable")


class Upstream:
    def __init__(self, index_url: str, *, ca_bundle: str | None = None, pool_size: int = 16):
        url, credentials = strip_credentials(index_url)
        self.index_url = url.rstrip("/") + "/"
        self.credentials = credentials
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        # Passed with every request: a session-wide verify loses to REQUESTS_CA_BUNDLE.
        self.verify = ca_bundle or True
        if credentials:
            self.session.auth = _OriginAuth(url, credentials)
        adapter = requests.adapters.HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        # PEP 792 statuses of the project pages read so far (project_files fills it).
        self.statuses: dict[NormalizedName, ProjectStatus] = {}

    @property
    def url_with_credentials(self) -> str:
        """For child tools (the resolver) that take credentials in the URL."""
        return add_credentials(self.index_url, self.credentials)

    def open(self, url: str, **kwargs) -> requests.Response:
        """One GET: a response below 400, Transient, or UpstreamError naming the (masked) URL."""
        try:
            response = self.session.get(url, timeout=TIMEOUT, verify=self.verify, **kwargs)
        except requests.exceptions.SSLError as exc:
            raise UpstreamError(mask(url), f"TLS verification failed ({short_reason(exc)}); "
                                "pass the CA bundle that signs it (CA_BUNDLE / --ca-bundle)") from exc
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise Transient(short_reason(exc)) from exc
        except requests.RequestException as exc:
            raise UpstreamError(mask(url), short_reason(exc)) from exc
        if response.status_code < 400:
            return response
        response.close()
        if response.status_code >= 500 or response.status_code == 429:
            raise Transient(f"HTTP {response.status_code}")
        if response.status_code in (401, 403):
            raise UpstreamError(mask(url), f"HTTP {response.status_code}: credentials missing or refused")
        raise UpstreamError(mask(url), f"HTTP {response.status_code}", status=response.status_code)

    def get(self, url: str, **kwargs) -> requests.Response:
        return retrying(url, lambda: self.open(url, **kwargs))

    def project_files(self, name: NormalizedName) -> list[UpstreamFile]:
        """Every file upstream lists for a project, from its PEP 691 or PEP 503 page."""
        page_url = f"{self.index_url}{name}/"
        response = self.get(page_url, headers={"Accept": ACCEPT})
        content_type = response.headers.get("Content-Type")
        # Lenient as pip is not: a page of unknown type is read as HTML.
        if simple.page_format(content_type) is None:
            content_type = "text/html"
        try:
            page = simple.parse_project(page_url, content_type, response.content)
        except simple.PageError as exc:
            raise UpstreamError(mask(page_url), exc.reason) from None
        self.statuses[name] = ProjectStatus(page.status or "active", page.status_reason)
        return [UpstreamFile(filename=link.filename, url=link.url, sha256=link.sha256, size=link.size,
                             upload_time=link.upload_time, requires_python=link.requires_python,
                             yanked=link.yanked, provenance=link.provenance) for link in page.files]


def short_reason(exc: Exception) -> str:
    # requests nests the useful part deep in urllib3's reprs; keep the last words.
    text = str(exc)
    for marker in ("Caused by ", "Failed to establish a new connection: "):
        if marker in text:
            text = text.split(marker, 1)[1]
    return text.strip("()'\" ")[:200] or type(exc).__name__
