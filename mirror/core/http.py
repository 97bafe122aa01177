"""The one HTTP layer: every request the build, verify, publish, audit and vulndb send goes through here.

Public entry points (use these, nothing below them; in the build, Indexes.read(url) /
Upstream.read(url) wrap get_bytes with the right index's session and CA bundle):
  new_session(...)        a requests.Session with the User-Agent, pools, and credentials bound to origins
  read_body(response, ...)  a response's body within a size cap and a total deadline
  get_bytes(session, url, ...)  one bounded GET with retries: the bytes, or UpstreamError naming the URL
  retrying(url, attempt)  another attempt after a Transient failure, then one UpstreamError
  origin(url), mask(text), strip_credentials(url), add_credentials(url, creds), netrc_credentials(url)

Credentials belong to one origin: the scheme, the host (case-insensitive) and the port (the scheme's
default when absent) of the URL they were given with. They are sent to that origin only: never to a
file host a page links to, never after a redirect to another origin. requests' own netrc lookup
(any host, its `default` entry to every host, again after every redirect) never runs: a session's
auth is always an OriginAuth, and redirects re-apply that, nothing else.
"""

from __future__ import annotations

import logging
import netrc
import os
import re
import time
import urllib.parse

import requests
import requests.adapters
import requests.auth

from mirror.errors import UpstreamError

USER_AGENT = "pypi-mirror"
TIMEOUT = (10, 30)  # connect, and read between two chunks: a stalled server fails fast
RETRIES = 4  # attempts in all, for Transient failures
BACKOFF = 0.5  # seconds, doubled after each failed attempt
CHUNK = 1 << 16

# What one answer may be (docs/building.md, "Downloads"): a bound on memory and time per request.
MAX_PAGE = 64 << 20  # a Simple API page, an OSV answer: far above a project page of thousands of files
PAGE_DEADLINE = 120.0  # seconds for one whole page, however slowly it drips
MAX_EXPORT = 1 << 30  # an OSV export download (PyPI's is ~25 MB)
EXPORT_DEADLINE = 900.0
FILE_DEADLINE_BASE = 120.0  # a distribution file: this plus one second per FILE_MIN_RATE bytes it declares
FILE_MIN_RATE = 256 << 10
MAX_FILE = 8 << 30  # a file whose index declares no size (an HTML-only index): the largest wheels are ~3 GB
FILE_DEADLINE_UNKNOWN = 3600.0

log = logging.getLogger(__name__)

_DEFAULT_PORTS = {"http": 80, "https": 443}
# Greedy up to the last "@" before the path: a password may contain "@".
_USERINFO = re.compile(r"//([^/\s]+)@")


class Transient(Exception):
    """A failure worth another attempt: timeouts, dropped connections, 5xx, 429."""


class TooLarge(Exception):
    """An answer went past its size cap or its deadline."""


def origin(url: str) -> tuple[str, str | None, int | None]:
    """(scheme, host, port) with the scheme's default port filled in: what credentials are bound to."""
    parts = urllib.parse.urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    host = parts.hostname.lower() if parts.hostname else None
    return parts.scheme.lower(), host, port or _DEFAULT_PORTS.get(parts.scheme.lower())


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


def netrc_credentials(url: str, *, default_entry: bool = False) -> tuple[str, str] | None:
    """(login, password) that $NETRC (else ~/.netrc) gives the URL's host, for that URL's origin only.

    A `machine` entry matches the host exactly (case-insensitive); the `default` entry is used only
    when default_entry is set (the build: for INDEX_URL alone). The caller binds the answer to
    origin(url): the same host on another scheme or port never receives it.
    """
    path = os.environ.get("NETRC") or os.path.expanduser("~/.netrc")
    if not os.path.isfile(path):
        return None
    try:
        parsed = netrc.netrc(path)
    except (netrc.NetrcParseError, OSError, UnicodeDecodeError) as exc:
        log.warning("netrc %s not read: %s", path, type(exc).__name__)
        return None
    host = origin(url)[1]
    entry = parsed.hosts.get(host) if host else None
    if entry is None and host:
        entry = next((v for k, v in parsed.hosts.items() if k.lower() == host), None)
    if entry is None and default_entry:
        entry = parsed.hosts.get("default")
    if not entry:
        return None
    login, _, password = entry
    return (login, password or "") if login else None


class OriginAuth(requests.auth.AuthBase):
    """Basic auth per origin: a request to any other origin goes out without credentials."""

    def __init__(self):
        self.by_origin: dict[tuple, requests.auth.HTTPBasicAuth] = {}

    def bind(self, url: str, credentials: tuple[str, str]) -> None:
        # UTF-8, as uv and browsers send it; requests would encode a str as Latin-1.
        self.by_origin[origin(url)] = requests.auth.HTTPBasicAuth(*(c.encode("utf-8") for c in credentials))

    def __call__(self, request):
        basic = self.by_origin.get(origin(request.url))
        return basic(request) if basic else request


class Session(requests.Session):
    """requests.Session whose redirects carry only the credentials bound to the new origin."""

    def rebuild_auth(self, prepared_request, response):
        # requests keeps Authorization on some cross-origin redirects (http -> https on the same host)
        # and adds netrc's entry for the new host: neither happens here.
        prepared_request.headers.pop("Authorization", None)
        if isinstance(self.auth, OriginAuth):
            self.auth(prepared_request)


def new_session(*, trust_env: bool = True, pool_size: int = 16, verify: str | bool | None = None) -> Session:
    """The session every module uses: one User-Agent, connection pools, origin-bound auth (session.auth).

    trust_env: proxies and CA variables from the environment (the build, behind a corporate proxy);
    verify and publish use what they are given only. netrc is never read by requests itself.
    """
    session = Session()
    session.headers["User-Agent"] = USER_AGENT
    session.trust_env = trust_env
    session.auth = OriginAuth()  # set even when empty: requests consults netrc only without an auth
    if verify is not None:
        session.verify = verify
    adapter = requests.adapters.HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def read_body(response: requests.Response, *, limit: int | None = None, deadline: float | None = None) -> bytes:
    """The body of a streamed response, or TooLarge past `limit` bytes or `deadline` seconds
    (default: a page's, MAX_PAGE and PAGE_DEADLINE)."""
    limit = MAX_PAGE if limit is None else limit
    deadline = PAGE_DEADLINE if deadline is None else deadline
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > limit:
        response.close()
        raise TooLarge(f"answer of {int(declared)} bytes, more than the {limit} bytes this build reads")
    stop = time.monotonic() + deadline
    chunks, size = [], 0
    try:
        for chunk in response.iter_content(CHUNK):
            size += len(chunk)
            if size > limit:
                raise TooLarge(f"answer of more than the {limit} bytes this build reads")
            if time.monotonic() > stop:
                raise TooLarge(f"answer took longer than {deadline:.0f} s")
            chunks.append(chunk)
    except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
        raise Transient(f"{type(exc).__name__} after {size} bytes") from exc
    finally:
        response.close()
    return b"".join(chunks)


def file_deadline(size: int | None) -> float:
    """Seconds a file of `size` declared bytes may take in all (a slow drip ends, a big file finishes)."""
    if not size:
        return FILE_DEADLINE_UNKNOWN
    return FILE_DEADLINE_BASE + size / FILE_MIN_RATE


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


def open_url(session: requests.Session, url: str, *, verify=None, **kwargs) -> requests.Response:
    """One streamed GET: a response below 400, Transient, or UpstreamError naming the (masked) URL."""
    kwargs.setdefault("timeout", TIMEOUT)
    if verify is not None:  # per request: a session-wide verify loses to REQUESTS_CA_BUNDLE
        kwargs["verify"] = verify
    try:
        response = session.get(url, stream=True, **kwargs)
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


def get_bytes(session: requests.Session, url: str, *, limit: int | None = None, deadline: float | None = None,
              verify=None, headers: dict | None = None) -> tuple[bytes, requests.Response]:
    """One bounded GET with retries: (body, response), or UpstreamError naming the masked URL.

    The function for any new download (a provenance object, an attestation): credentials go only
    where session.auth binds them, the body stops at `limit` bytes and `deadline` seconds.
    """

    def attempt():
        response = open_url(session, url, verify=verify, headers=headers or {})
        try:
            return read_body(response, limit=limit, deadline=deadline), response
        except TooLarge as exc:
            raise UpstreamError(mask(url), str(exc)) from None

    return retrying(url, attempt)


def short_reason(exc: Exception) -> str:
    # requests nests the useful part deep in urllib3's reprs; keep the last words.
    text = str(exc)
    for marker in ("Caused by ", "Failed to establish a new connection: "):
        if marker in text:
            text = text.split(marker, 1)[1]
    return mask(text.strip("()'\" ")[:200]) or type(exc).__name__
