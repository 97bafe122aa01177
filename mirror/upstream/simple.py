"""The Simple Repository API, read: the one parser for every index this program meets.

The build reads upstream project pages with it, `build.py verify` reads any
index with it, `build.py publish` reads the target index with it, and the
benchmarks find their URLs with it. Pages become records (IndexPage,
ProjectPage, Link) the same way from PEP 503 HTML and PEP 691 JSON.

It keeps what a verifier must see and friendlier parsers normalize away:
which names announced a metadata file (PEP 714 renamed
`data-dist-info-metadata`), every hash of a link, the repository version,
each file's PEP 740 provenance URL and the project's PEP 792 status.
Malformed pages raise PageError naming the URL; nothing here does I/O.
"""

from __future__ import annotations

import dataclasses
import html.parser
import json
import urllib.parse
from typing import Mapping

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
HTML_TYPE = "application/vnd.pypi.simple.v1+html"
# What pip sends: JSON first, HTML as the fallback.
ACCEPT = f"{JSON_TYPE}, {HTML_TYPE};q=0.1, text/html;q=0.01"
ACCEPT_HTML = "text/html"

# The names a page may announce a PEP 658 metadata file under; the second of
# each pair is the pre-PEP 714 spelling.
HTML_METADATA = ("data-core-metadata", "data-dist-info-metadata")
JSON_METADATA = ("core-metadata", "dist-info-metadata")


class PageError(ValueError):
    def __init__(self, url: str, reason: str):
        super().__init__(f"{url}: {reason}")
        self.url, self.reason = url, reason


@dataclasses.dataclass(frozen=True)
class Link:
    """One file on a project page."""

    filename: str
    url: str  # absolute, without the fragment
    hashes: Mapping[str, str]  # algorithm -> hex digest
    requires_python: str | None = None
    yanked: bool | str = False  # PEP 592: False, True, or the reason
    metadata: Mapping[str, str] | bool = False  # PEP 658: False, True (no hash given), or its hashes
    metadata_names: tuple[str, ...] = ()  # the attribute or key names that announced it
    size: int | None = None  # PEP 700
    upload_time: str | None = None  # PEP 700
    provenance: str | None = None  # PEP 740: absolute URL

    @property
    def sha256(self) -> str | None:
        return self.hashes.get("sha256")

    @property
    def metadata_sha256(self) -> str | None:
        return self.metadata.get("sha256") if isinstance(self.metadata, Mapping) else None


@dataclasses.dataclass(frozen=True)
class ProjectPage:
    url: str
    format: str  # "html" or "json"
    api_version: str | None  # PEP 629 meta tag / PEP 691 meta.api-version
    name: str | None  # JSON only
    versions: tuple[str, ...] | None  # PEP 700, JSON only
    files: tuple[Link, ...]
    keys: frozenset[str] = frozenset()  # JSON: every key any file entry carried (PEP 700 checks)
    # PEP 792: the status as the page gives it (None: the page says nothing, which means active) and its reason.
    status: str | None = None
    status_reason: str | None = None


@dataclasses.dataclass(frozen=True)
class IndexPage:
    url: str
    format: str
    api_version: str | None
    projects: tuple[tuple[str, str], ...]  # (name as listed, absolute page URL)


def page_format(content_type: str | None) -> str | None:
    """'json', 'html' or None for a Content-Type header."""
    media = (content_type or "").split(";")[0].strip().lower()
    if media == JSON_TYPE:
        return "json"
    if media in (HTML_TYPE, "text/html"):
        return "html"
    return None


def parse_index(url: str, content_type: str | None, body: bytes | str) -> IndexPage:
    kind = _kind(url, content_type)
    if kind == "json":
        data = _json(url, body)
        try:
            projects = tuple((p["name"], urllib.parse.urljoin(url, _quote(p["name"]) + "/"))
                             for p in data["projects"])
        except (KeyError, TypeError, ValueError) as exc:
            raise PageError(url, f"malformed PEP 691 root page ({_what(exc)})") from None
        return IndexPage(url, "json", _api_version(url, data), projects)
    parser = _parse_html(body)
    try:
        projects = tuple((text, urllib.parse.urljoin(url, attrs["href"]))
                         for attrs, text in parser.anchors if attrs.get("href"))
    except ValueError as exc:  # an href urllib cannot read ("http://[x")
        raise PageError(url, f"malformed link ({exc})") from None
    return IndexPage(url, "html", parser.repository_version, projects)


def parse_project(url: str, content_type: str | None, body: bytes | str) -> ProjectPage:
    kind = _kind(url, content_type)
    if kind == "json":
        return _project_json(url, _json(url, body))
    parser = _parse_html(body)
    try:
        files = tuple(_link_html(url, attrs, text) for attrs, text in parser.anchors if attrs.get("href"))
    except ValueError as exc:  # an href urllib cannot read ("http://[x")
        raise PageError(url, f"malformed link ({exc})") from None
    return ProjectPage(url, "html", parser.repository_version, None, None, files,
                       status=parser.meta.get("pypi:project-status"),
                       status_reason=parser.meta.get("pypi:project-status-reason"))


def _kind(url: str, content_type: str | None) -> str:
    kind = page_format(content_type)
    if kind is None:
        raise PageError(url, f"Content-Type {content_type or '(none)'} is neither HTML nor PEP 691 JSON "
                        "(pip ignores such a page)")
    return kind


def _json(url: str, body: bytes | str) -> dict:
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise PageError(url, f"not JSON ({exc})") from None
    except RecursionError:
        raise PageError(url, "JSON nested deeper than this build reads") from None
    if not isinstance(data, dict):
        raise PageError(url, "not a JSON object")
    return data


def _api_version(url: str, data: dict) -> str:
    try:
        return str(data["meta"]["api-version"])
    except (KeyError, TypeError):
        raise PageError(url, "PEP 691 page without meta.api-version") from None


def _project_json(url: str, data: dict) -> ProjectPage:
    api = _api_version(url, data)
    try:
        entries = data["files"]
        files = tuple(_link_json(url, entry) for entry in entries)
        keys = frozenset(k for entry in entries for k in entry)
        versions = data.get("versions")
        status, reason = _status_json(url, data.get("project-status"))
        return ProjectPage(url, "json", api, data["name"], tuple(versions) if versions is not None else None,
                           files, keys, status, reason)
    except PageError:
        raise
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise PageError(url, f"malformed PEP 691 project page ({_what(exc)})") from None


def _status_json(url: str, value) -> tuple[str | None, str | None]:
    """PEP 792's `project-status` object: (status, reason); (None, None) when absent."""
    if value is None:
        return None, None
    if not isinstance(value, dict) or not isinstance(value.get("status"), str):
        raise PageError(url, "malformed PEP 792 project-status (expected an object with a status string)")
    reason = value.get("reason")
    return value["status"], reason if isinstance(reason, str) and reason else None


def _link_json(page_url: str, entry: dict) -> Link:
    metadata, names = False, ()
    for key in JSON_METADATA:
        value = entry.get(key)
        if value not in (None, False):
            names += (key,)
            metadata = metadata or (dict(value) if isinstance(value, dict) else True)
    provenance = entry.get("provenance")
    if not isinstance(entry["filename"], str) or not isinstance(entry["url"], str):
        raise TypeError("a file's filename and url are strings")
    return Link(
        filename=entry["filename"],
        url=urllib.parse.urljoin(page_url, entry["url"]).split("#", 1)[0],
        hashes=dict(entry["hashes"]),
        requires_python=entry.get("requires-python") or None,
        yanked=_yanked(entry.get("yanked")),
        metadata=metadata,
        metadata_names=names,
        size=entry.get("size"),
        upload_time=entry.get("upload-time"),
        provenance=urllib.parse.urljoin(page_url, provenance) if provenance else None,
    )


def _link_html(page_url: str, attrs: dict, text: str) -> Link:
    url, _, fragment = urllib.parse.urljoin(page_url, attrs["href"]).partition("#")
    algorithm, _, digest = fragment.partition("=")
    metadata, names = False, ()
    for name in HTML_METADATA:
        if name in attrs:
            names += (name,)
            metadata = metadata or _metadata_value(attrs[name])
    provenance = attrs.get("data-provenance")
    return Link(
        filename=text or urllib.parse.unquote(url.rsplit("/", 1)[-1]),
        url=url,
        hashes={algorithm: digest} if algorithm and digest else {},
        requires_python=attrs.get("data-requires-python") or None,
        yanked=False if "data-yanked" not in attrs else _yanked(attrs["data-yanked"] or ""),
        metadata=metadata,
        metadata_names=names,
        provenance=urllib.parse.urljoin(page_url, provenance) if provenance else None,
    )


def _metadata_value(value: str | None) -> Mapping[str, str] | bool:
    """PEP 658: "true", or "<algorithm>=<hex>"."""
    algorithm, equals, digest = (value or "").partition("=")
    return {algorithm: digest} if equals and digest else True


def _yanked(value) -> bool | str:
    """PEP 592/691: false/absent, true, or the reason (an empty reason is still yanked)."""
    if value is None or value is False:
        return False
    return value if isinstance(value, str) and value else True


def _quote(name: str) -> str:
    return urllib.parse.quote(name, safe="")


def _what(exc: Exception) -> str:
    return f"missing {exc}" if isinstance(exc, KeyError) else str(exc)


class _Parser(html.parser.HTMLParser):
    """Anchors (attributes, text) and the PEP 629 meta tag; entities come unescaped."""

    def __init__(self):
        super().__init__()
        self.anchors: list[tuple[dict, str]] = []
        self.repository_version: str | None = None
        self.meta: dict[str, str] = {}  # every <meta name=... content=...> in the page (PEP 792's among them)
        self._open: dict | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self._open, self._text = dict(attrs), []
        elif tag == "meta":
            found = dict(attrs)
            if found.get("name") == "pypi:repository-version":
                self.repository_version = found.get("content")
            if found.get("name") and found.get("content") is not None:
                self.meta.setdefault(found["name"], found["content"])

    def handle_data(self, data):
        if self._open is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "a" and self._open is not None:
            self.anchors.append((self._open, "".join(self._text).strip()))
            self._open = None


def _parse_html(body: bytes | str) -> _Parser:
    parser = _Parser()
    parser.feed(body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body)
    parser.close()
    return parser
