"""The Simple API standards, each judged from what verify read (a Crawl).

One pure function per standard: it returns the PASS line's detail, or
raises Problem (FAIL: a served feature that is wrong; ABSENT: not offered).
Nothing here does I/O; mirror/verify/verify.py reads the index into a Crawl.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re

from packaging.utils import canonicalize_name

from mirror.errors import ProvenanceError
from mirror.fetch.provenance import verify_digest
from mirror.upstream import simple

PASS, FAIL, ABSENT = "PASS", "FAIL", "ABSENT"
STANDARDS = ("PEP 503", "PEP 592", "PEP 629", "PEP 691", "PEP 700", "PEP 658/714", "PEP 740", "PEP 792")
PROJECT_STATUSES = ("active", "archived", "quarantined", "deprecated")  # PEP 792
# --require takes any of these spellings: 503, pep503, "PEP 503", 714 (= 658/714).
_REQUIRE_ALIASES = {**{s.split()[1]: s for s in STANDARDS}, "658": "PEP 658/714", "714": "PEP 658/714"}
_UPLOAD_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$")
PROVENANCE_SAMPLE = 5  # provenance objects read per run


def require_names(values: list[str]) -> set[str]:
    """--require values -> the standards' names; ValueError naming a value it does not know."""
    names = set()
    for value in values:
        key = re.sub(r"^pep\s*", "", value.strip().lower())
        key = key.split("/")[0]
        if key not in _REQUIRE_ALIASES:
            raise ValueError(f"--require {value!r}: not one of {', '.join(s.split()[1] for s in STANDARDS)}")
        names.add(_REQUIRE_ALIASES[key])
    return names


class Problem(Exception):
    """A check's verdict other than PASS: status and one line."""

    def __init__(self, status: str, detail: str):
        super().__init__(detail)
        self.status, self.detail = status, detail


def fail(detail: str) -> Problem:
    return Problem(FAIL, detail)


def absent(detail: str) -> Problem:
    return Problem(ABSENT, detail)


@dataclasses.dataclass
class Fetched:
    url: str  # after same-origin redirects
    status: int
    content_type: str | None
    vary: str
    body: bytes
    redirected_from: str | None = None


@dataclasses.dataclass
class Crawl:
    """Everything read from the index, once; the standards judge it."""

    root: str = ""
    root_html: simple.IndexPage | None = None
    root_html_raw: Fetched | None = None
    root_json: simple.IndexPage | None = None
    root_json_raw: Fetched | None = None
    json_refused: str = ""  # why there is no JSON
    html_pages: dict[str, simple.ProjectPage] = dataclasses.field(default_factory=dict)  # name -> page
    json_pages: dict[str, simple.ProjectPage] = dataclasses.field(default_factory=dict)
    raw_pages: dict[tuple[str, str], Fetched] = dataclasses.field(default_factory=dict)  # (name, format)
    page_errors: list[str] = dataclasses.field(default_factory=list)
    normalized: str = ""  # how a non-normalized spelling was answered
    pip_accept: str = ""  # what pip's Accept header got
    files: dict[str, tuple[str, int]] = dataclasses.field(default_factory=dict)  # url -> (sha256, size) as downloaded
    file_bytes: int = 0
    file_errors: list[str] = dataclasses.field(default_factory=list)
    wheel_metadata: dict[str, bytes] = dataclasses.field(default_factory=dict)  # wheel url -> its METADATA
    metadata: dict[str, bytes | None] = dataclasses.field(default_factory=dict)  # .metadata url -> bytes (None: 404)
    provenance: dict[str, bytes | None] = dataclasses.field(default_factory=dict)  # PEP 740 url -> bytes (None: not 200)

    def links(self, kind: str = "html") -> list[simple.Link]:
        pages = self.html_pages if kind == "html" else self.json_pages
        return [link for page in pages.values() for link in page.files]


def pep503(crawl: Crawl) -> str:
    if crawl.page_errors:
        raise fail(f"{len(crawl.page_errors)} project page(s) unreadable: {crawl.page_errors[0]}")
    links = crawl.links("html")
    unhashed = [link.url for link in links if not link.sha256]
    if unhashed:
        raise fail(f"{len(unhashed)} file(s) without #sha256 (clients cannot check them): {unhashed[0]}")
    if crawl.file_errors:
        raise fail(f"{len(crawl.file_errors)} file(s) unreadable: {crawl.file_errors[0]}")
    by_url = {link.url: link for link in links}
    wrong = [url for url, (sha256, _) in crawl.files.items() if by_url[url].sha256 != sha256]
    if wrong:
        first = wrong[0]
        raise fail(f"{len(wrong)} file(s) do not match their #sha256: {first} is "
                   f"{crawl.files[first][0]}, the page says {by_url[first].sha256}")
    names = [name for name, url in crawl.root_html.projects
             if not url.rstrip("/").endswith("/" + canonicalize_name(name))]
    if names:
        raise fail(f"root page links {names[0]} to {dict(crawl.root_html.projects)[names[0]]}, "
                   "not to its normalized name")
    scope = ("all" if len(crawl.files) == len(by_url) else "a sample of") + f" {len(crawl.files)}"
    return (f"{len(crawl.root_html.projects)} projects, {len(crawl.html_pages)} pages, {len(by_url)} files; "
            f"{scope} match their #sha256 ({crawl.file_bytes / 1e6:.1f} MB); links by normalized name, "
            f"{crawl.normalized}")

def pep592(crawl: Crawl) -> str:
    html = {link.url: link.yanked for link in crawl.links("html")}
    yanked = [url for url, value in html.items() if value is not False]
    json_pages = crawl.json_pages
    for page in json_pages.values():
        for link in page.files:
            if link.url in html and (html[link.url] is not False) != (link.yanked is not False):
                raise fail(f"{link.filename}: yanked in one format, not in the other ({page.url})")
    stated = json_pages and all("yanked" in page.keys for page in json_pages.values() if page.files)
    if yanked:
        return f"{len(yanked)} yanked file(s) marked, HTML and JSON agree"
    if stated:
        return "no file is yanked; every JSON file entry states it"
    raise absent("no file is marked yanked (nothing shows the index supports it)")

def pep629(crawl: Crawl) -> str:
    versions = {"root": crawl.root_html.api_version,
                **{page.url: page.api_version for page in crawl.html_pages.values()}}
    present = {where: v for where, v in versions.items() if v}
    if not present:
        raise absent("no <meta name=\"pypi:repository-version\"> on the HTML pages")
    for where, version in present.items():
        if not re.match(r"^1\.\d+$", version):
            raise fail(f"{where}: repository version {version!r} (clients understand 1.x only)")
    missing = [where for where, v in versions.items() if not v]
    if missing:
        raise fail(f"repository version missing on {len(missing)} page(s), e.g. {missing[0]}")
    return f"repository version {', '.join(sorted(set(present.values())))} on the root and every project page"

def pep691(crawl: Crawl) -> str:
    if crawl.json_refused.startswith("FAIL:"):
        raise fail(crawl.json_refused[5:])
    if crawl.root_json is None:
        raise absent(f"no JSON: {crawl.json_refused}")
    if not re.match(r"^1\.\d+$", crawl.root_json.api_version or ""):
        raise fail(f"{crawl.root}: api-version {crawl.root_json.api_version!r}")
    html_names = {canonicalize_name(n) for n, _ in crawl.root_html.projects}
    json_names = {canonicalize_name(n) for n, _ in crawl.root_json.projects}
    if html_names != json_names:
        diff = sorted(html_names ^ json_names)
        raise fail(f"{crawl.root}: HTML and JSON root pages list different projects ({', '.join(diff[:3])})")
    for raw in [crawl.root_json_raw, *(f for (_, kind), f in crawl.raw_pages.items() if kind == "json")]:
        if "accept" not in raw.vary.lower():
            raise fail(f"{raw.url}: no Vary: Accept on a negotiated page (caches would mix HTML and JSON)")
    missing = [n for n in crawl.html_pages if n not in crawl.json_pages]
    if missing:
        raise fail(f"{crawl.html_pages[missing[0]].url}: no JSON page")
    for name, page in crawl.json_pages.items():
        if page.name != canonicalize_name(page.name or ""):
            raise fail(f"{page.url}: name {page.name!r} is not normalized")
        html = {link.filename: link.sha256 for link in crawl.html_pages[name].files}
        ours = {link.filename: link.hashes.get("sha256") for link in page.files}
        if html != ours:
            diff = sorted(set(html.items()) ^ set(ours.items()))[0][0]
            raise fail(f"{page.url}: HTML and JSON pages disagree on {diff}")
    if crawl.pip_accept != "json":
        raise fail(f"{crawl.root}: pip's Accept header got {crawl.pip_accept}, not JSON")
    return (f"api-version {crawl.root_json.api_version}; {len(crawl.json_pages)} JSON pages agree with "
            "the HTML ones; negotiated by Accept, with Vary: Accept")

def pep700(crawl: Crawl) -> str:
    if crawl.root_json is None:
        raise absent("no JSON pages (PEP 700 extends PEP 691)")
    api = crawl.root_json.api_version or "1.0"
    pages = list(crawl.json_pages.values())
    if tuple(int(p) for p in api.split(".")[:2]) < (1, 1):
        raise absent(f"api-version {api}: no versions, size or upload-time (they came with 1.1)")
    for page in pages:
        if page.versions is None:
            raise fail(f"{page.url}: api-version {api} without versions")
        for link in page.files:
            if not isinstance(link.size, int) or isinstance(link.size, bool):
                raise fail(f"{page.url}: {link.filename} has no integer size")
            if link.upload_time is not None and not _UPLOAD_TIME.match(link.upload_time):
                raise fail(f"{page.url}: {link.filename} upload-time {link.upload_time!r} is not "
                           "yyyy-mm-ddThh:mm:ss.ffffffZ")
            if link.url in crawl.files and crawl.files[link.url][1] != link.size:
                raise fail(f"{link.url}: {crawl.files[link.url][1]} bytes, the JSON page says {link.size}")
    files = [link for page in pages for link in page.files]
    timed = sum(link.upload_time is not None for link in files)
    note = "" if timed == len(files) else f"; {len(files) - timed} without upload-time (optional; uv's --exclude-newer needs it)"
    return f"versions on {len(pages)} pages; size on {len(files)} files, matching the downloads{note}"

def pep658(crawl: Crawl) -> str:
    announced = [link for kind in ("html", "json") for link in crawl.links(kind) if link.metadata]
    if not announced:
        raise absent("no file announces a .metadata file")
    names = {name for link in announced for name in link.metadata_names}
    old_only = [link for link in announced if not set(link.metadata_names) & {"data-core-metadata", "core-metadata"}]
    if old_only:
        raise fail(f"{old_only[0].url}: announced only by the pre-PEP 714 name "
                   f"{old_only[0].metadata_names[0]} (pip 22.3-23.0 mishandles it)")
    checked: set[str] = set()
    for link in announced:
        url = f"{link.url}.metadata"
        if url not in crawl.metadata:
            continue
        body = crawl.metadata[url]
        if body is None:
            raise fail(f"{url}: announced but not served")
        if link.metadata_sha256 and hashlib.sha256(body).hexdigest() != link.metadata_sha256:
            raise fail(f"{url}: sha256 {hashlib.sha256(body).hexdigest()}, the page says {link.metadata_sha256}")
        if link.url in crawl.wheel_metadata and crawl.wheel_metadata[link.url] != body:
            raise fail(f"{url}: not the wheel's METADATA byte for byte (pip rejects it)")
        checked.add(url)
    legacy = sorted(names - {"data-core-metadata", "core-metadata"})
    note = f"; also the pre-714 name {', '.join(legacy)}" if legacy else ""
    against = f", {len(crawl.wheel_metadata)} against their wheels" if crawl.wheel_metadata else ""
    return (f"{len({u.url for u in announced})} .metadata files announced; {len(checked)} match their "
            f"hashes{against}{note}")

def pep740(crawl: Crawl) -> str:
    links = [link for kind in ("html", "json") for link in crawl.links(kind) if link.provenance]
    if not links:
        raise absent("no file links a provenance")
    by_provenance = {link.provenance: link for link in links}
    verified, unverifiable = 0, ""
    for url, body in sorted(crawl.provenance.items()):
        if body is None:
            raise fail(f"{url}: linked as a provenance, not served")
        try:
            document = json.loads(body)
            bundles = document["attestation_bundles"]
        except (ValueError, KeyError, TypeError):
            raise fail(f"{url}: not a PEP 740 provenance object") from None
        if document.get("version") != 1 or not isinstance(bundles, list):
            raise fail(f"{url}: version {document.get('version')!r}, bundles {type(bundles).__name__}")
        link = by_provenance.get(url)
        downloaded = crawl.files.get(link.url) if link else None
        if not bundles or not downloaded or unverifiable:
            continue
        # The signatures too, against the file as downloaded, where pypi-attestations is installed
        # (Sigstore's bundled trust root: no network).
        try:
            verify_digest(link.filename, downloaded[0], body)
        except ModuleNotFoundError as exc:
            unverifiable = f"; signatures not checked ({exc.name} is not installed)"
        except ProvenanceError as exc:
            raise fail(f"{url}: {exc.reason}") from None
        else:
            verified += 1
    checked = unverifiable or f", {verified} verified against the downloaded files (Sigstore, offline)"
    return (f"{len({link.url for link in links})} files link a provenance; {len(crawl.provenance)} read as "
            f"PEP 740 objects{checked}")


def pep792(crawl: Crawl) -> str:
    statuses: dict[str, dict] = {}
    for kind, pages in (("html", crawl.html_pages), ("json", crawl.json_pages)):
        for name, page in pages.items():
            if page.status is not None and page.status not in PROJECT_STATUSES:
                raise fail(f"{page.url}: project status {page.status!r} is not one of {', '.join(PROJECT_STATUSES)}")
            if page.status is not None and not _at_least(page.api_version, (1, 4)):
                raise fail(f"{page.url}: project status {page.status} on a page that declares api-version "
                           f"{page.api_version}, not 1.4")
            statuses.setdefault(name, {})[kind] = (page.status or "active", page.status_reason)
    for name, by_kind in sorted(statuses.items()):
        if len(set(by_kind.values())) > 1:
            raise fail(f"{crawl.html_pages[name].url}: HTML and JSON pages give different statuses "
                       f"({by_kind['html'][0]}, {by_kind['json'][0]})")
    marked = sorted(f"{name} {next(iter(v.values()))[0]}" for name, v in statuses.items()
                    if next(iter(v.values()))[0] != "active")
    pages = [*crawl.html_pages.values(), *crawl.json_pages.values()]
    api = max((p.api_version for p in pages if p.api_version), key=_version_tuple, default="1.0")
    if not marked and not _at_least(api, (1, 4)):
        raise absent(f"api-version {api}: no project status (it came with 1.4)")
    shown = f": {', '.join(marked[:3])}{' ...' if len(marked) > 3 else ''}" if marked else ""
    return (f"api-version {api}; {len(statuses)} projects, {len(marked)} with a status other than active{shown}; "
            "HTML and JSON agree")


def _version_tuple(api: str | None) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", api or "")[:2])


def _at_least(api: str | None, version: tuple[int, int]) -> bool:
    return _version_tuple(api) >= version


JUDGES = {"PEP 503": pep503, "PEP 592": pep592, "PEP 629": pep629, "PEP 691": pep691, "PEP 700": pep700,
          "PEP 658/714": pep658, "PEP 740": pep740, "PEP 792": pep792}
