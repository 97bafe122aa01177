"""The upstream index: one HTTP session, its credentials, and its project pages.

Credentials never travel with a URL inside this program: they are split off
the index URL once, and sent only to the index's own origin. Everything that is
logged, raised or written goes through ``mask``.
"""

from __future__ import annotations

import dataclasses
import html.parser
import logging
import re
import time
import urllib.parse

import requests
import requests.adapters
from packaging.utils import NormalizedName

from mirror.errors import UpstreamError

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
ACCEPT = f"{JSON_TYPE}, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.1"
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
        content_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        if content_type == JSON_TYPE:
            try:
                return [_from_json(page_url, f) for f in response.json()["files"]]
            except (ValueError, KeyError, TypeError) as exc:
                raise UpstreamError(mask(page_url), f"malformed PEP 691 page ({exc})") from exc
        return _from_html(page_url, response.text)


def short_reason(exc: Exception) -> str:
    # requests nests the useful part deep in urllib3's reprs; keep the last words.
    text = str(exc)
    for marker in ("Caused by ", "Failed to establish a new connection: "):
        if marker in text:
            text = text.split(marker, 1)[1]
    return text.strip("()'\" ")[:200] or type(exc).__name__


def _yanked(value) -> bool | str:
    """PEP 592/691: false/absent, true, or the reason (an empty reason is still yanked)."""
    if value is None or value is False:
        return False
    return value if isinstance(value, str) and value else True


def _from_json(page_url: str, entry: dict) -> UpstreamFile:
    return UpstreamFile(
        filename=entry["filename"],
        url=urllib.parse.urljoin(page_url, entry["url"]).split("#", 1)[0],
        sha256=entry.get("hashes", {}).get("sha256"),
        size=entry.get("size"),
        upload_time=entry.get("upload-time"),
        requires_python=entry.get("requires-python") or None,
        yanked=_yanked(entry.get("yanked")),
    )


class _AnchorParser(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.anchors: list[tuple[dict, str]] = []
        self._open: dict | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self._open, self._text = dict(attrs), []

    def handle_data(self, data):
        if self._open is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "a" and self._open is not None:
            self.anchors.append((self._open, "".join(self._text).strip()))
            self._open = None


def _from_html(page_url: str, text: str) -> list[UpstreamFile]:
    parser = _AnchorParser()
    parser.feed(text)
    files = []
    for attrs, label in parser.anchors:
        href = attrs.get("href")
        if not href:
            continue
        url, _, fragment = urllib.parse.urljoin(page_url, href).partition("#")
        algorithm, _, digest = fragment.partition("=")
        files.append(UpstreamFile(
            filename=label or urllib.parse.unquote(url.rsplit("/", 1)[-1]),
            url=url,
            sha256=digest if algorithm == "sha256" else None,
            requires_python=attrs.get("data-requires-python") or None,
            yanked=False if "data-yanked" not in attrs else _yanked(attrs["data-yanked"] or ""),
        ))
    return files
