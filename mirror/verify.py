"""`build.py verify URL`: check any Simple API index, standard by standard.

One line per standard (PEP 503, 592, 629, 691, 700, 658/714, 740): PASS,
FAIL (a served feature that is wrong: a hash that does not match its file)
or ABSENT (not offered; a failure only when --require names it). Then the
appliance's own checks (/healthz, /mirror.json and every file against it,
the landing page, /osv/) when the index offers them, required with
--appliance (the default when /mirror.json answers), and a real install.

The pages are read once (mirror/simple.py parses them) into a Crawl; each
standard is a pure function of it. Needs only Python, requests and
packaging: it runs from a checkout against any index.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import random
import re
import subprocess
import tempfile
import time
import urllib.parse
import venv
import zipfile
import zlib
from pathlib import Path

import requests
from packaging.utils import canonicalize_name

from mirror import simple
from mirror.errors import DistributionError
from mirror.metadata import wheel_metadata
from mirror.upstream import add_credentials, mask, short_reason, strip_credentials

TIMEOUT = (5, 60)
PASS, FAIL, ABSENT = "PASS", "FAIL", "ABSENT"
STANDARDS = ("PEP 503", "PEP 592", "PEP 629", "PEP 691", "PEP 700", "PEP 658/714", "PEP 740")
APPLIANCE = ("health", "mirror.json", "landing page")
# --require takes any of these spellings: 503, pep503, "PEP 503", 714 (= 658/714).
_REQUIRE_ALIASES = {**{s.split()[1]: s for s in STANDARDS}, "658": "PEP 658/714", "714": "PEP 658/714"}
_UPLOAD_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$")
MAX_REDIRECTS = 5


@dataclasses.dataclass
class Check:
    name: str
    status: str  # PASS, FAIL or ABSENT
    seconds: float
    detail: str

    @property
    def ok(self) -> bool:
        return self.status == PASS

    def line(self) -> str:
        return f"{self.status:<6}  {self.name:<12} {self.seconds:7.2f} s  {self.detail}"

    def to_json(self) -> dict:
        return {**dataclasses.asdict(self), "ok": self.ok}


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

    def links(self, kind: str = "html") -> list[simple.Link]:
        pages = self.html_pages if kind == "html" else self.json_pages
        return [link for page in pages.values() for link in page.files]


class Verifier:
    def __init__(self, url: str, *, ca_file: str | None = None, sample: int | None = None,
                 projects: int | None = None, install: list[str] | None = None, run: list[str] | None = None,
                 require: set[str] | None = None, appliance: bool | None = None, report=print):
        base, credentials = strip_credentials(url)
        self.given = base.rstrip("/") + "/"
        self.credentials = credentials
        self.ca_file = ca_file
        self.sample = sample
        self.project_sample = projects
        self.install = install if install is not None else ["pip-audit"]
        self.run = run if run is not None else ["pip-audit", "--version"]
        self.require = require or set()
        self.appliance = appliance  # None: decided by whether /mirror.json answers
        self.report = report
        self.session = requests.Session()
        self.session.trust_env = False  # only what was given: no netrc, no proxy, no env CA
        self.session.auth = credentials
        self.session.verify = ca_file or True
        self.checks: list[Check] = []
        self.crawl = Crawl()
        self.manifest: dict | None = None

    # --- the run -----------------------------------------------------------

    def verify(self) -> list[Check]:
        started = time.monotonic()
        try:
            self._read_index()
        except Problem as exc:
            self._add("PEP 503", exc.status, time.monotonic() - started, exc.detail)
            return self.checks
        except requests.RequestException as exc:
            self._add("PEP 503", FAIL, time.monotonic() - started, _unreachable(exc))
            return self.checks
        read = time.monotonic() - started
        for name, check in (("PEP 503", self._pep503), ("PEP 592", self._pep592), ("PEP 629", self._pep629),
                            ("PEP 691", self._pep691), ("PEP 700", self._pep700),
                            ("PEP 658/714", self._pep658), ("PEP 740", self._pep740)):
            self._judge(name, check, extra=read if name == "PEP 503" else 0.0)
        self._appliance_checks()
        if self.install:
            self._judge("install", self._install)
        return self.checks

    def _judge(self, name: str, check, *, extra: float = 0.0) -> None:
        started = time.monotonic()
        try:
            status, detail = PASS, check()
        except Problem as exc:
            status, detail = exc.status, exc.detail
        except requests.RequestException as exc:
            status, detail = FAIL, _unreachable(exc)
        if status == ABSENT and (name in self.require or (name in APPLIANCE and self.appliance)):
            status, detail = FAIL, f"required but absent: {detail}"
        self._add(name, status, time.monotonic() - started + extra, detail)

    def _add(self, name: str, status: str, seconds: float, detail: str) -> None:
        check = Check(name, status, seconds, mask(detail))
        self.checks.append(check)
        self.report(check.line())

    # --- HTTP --------------------------------------------------------------

    def _fetch(self, url: str, accept: str | None = None, *, stream: bool = False) -> Fetched | requests.Response:
        """GET following redirects on the same origin only: a peer's redirect
        to another host (pypiserver sends unknown names upstream) is not followed."""
        first, headers = url, {"Accept": accept} if accept else {}
        for _ in range(MAX_REDIRECTS + 1):
            response = self.session.get(url, headers=headers, timeout=TIMEOUT, allow_redirects=False, stream=stream)
            if response.status_code in (301, 302, 303, 307, 308) and "Location" in response.headers:
                target = urllib.parse.urljoin(url, response.headers["Location"])
                response.close()
                if _origin(target) != _origin(url):
                    raise fail(f"{url}: redirects to another host, {target}")
                url = target
                continue
            if response.status_code == 401:
                raise fail(f"{url}: HTTP 401, credentials missing or refused")
            if stream:
                return response
            return Fetched(url, response.status_code, response.headers.get("Content-Type"),
                           response.headers.get("Vary", ""), response.content,
                           first if url != first else None)
        raise fail(f"{first}: more than {MAX_REDIRECTS} redirects")

    def _ok(self, url: str, accept: str | None = None) -> Fetched:
        fetched = self._fetch(url, accept)
        if fetched.status != 200:
            raise fail(f"{fetched.url}: HTTP {fetched.status}")
        return fetched

    # --- reading the index -------------------------------------------------

    def _read_index(self) -> None:
        crawl = self.crawl
        crawl.root, crawl.root_html_raw = self._find_root()
        try:
            crawl.root_html = simple.parse_index(crawl.root, crawl.root_html_raw.content_type,
                                                 crawl.root_html_raw.body)
        except simple.PageError as exc:
            raise fail(str(exc)) from None
        if not crawl.root_html.projects:
            raise fail(f"{crawl.root}: the index lists no projects")
        json_root = self._fetch(crawl.root, simple.JSON_TYPE)
        crawl.root_json_raw = json_root
        if json_root.status == 200 and simple.page_format(json_root.content_type) == "json":
            try:
                crawl.root_json = simple.parse_index(crawl.root, json_root.content_type, json_root.body)
            except simple.PageError as exc:
                crawl.json_refused = f"FAIL:{exc}"
        else:
            crawl.json_refused = (f"Accept: {simple.JSON_TYPE} got "
                                  f"{json_root.content_type or 'no Content-Type'} (HTTP {json_root.status})")
        pip = self._fetch(crawl.root, simple.ACCEPT)
        crawl.pip_accept = simple.page_format(pip.content_type) or str(pip.content_type)

        projects = list(crawl.root_html.projects)
        if self.project_sample is not None and self.project_sample < len(projects):
            projects = sorted(random.Random(0).sample(projects, self.project_sample))
        for name, url in projects:
            self._read_project(name, url)
        self._read_normalized(projects)
        self._read_files()
        self._read_metadata()

    def _find_root(self) -> tuple[str, Fetched]:
        """The Simple API root: URL itself when it ends in simple/, else URL/simple/ or URL/+simple/ (devpi)."""
        path = urllib.parse.urlsplit(self.given).path
        candidates = [self.given] if re.search(r"(^|/)\+?simple/$", path) else [
            self.given + "simple/", self.given + "+simple/", self.given]
        tried = []
        for url in candidates:
            fetched = self._fetch(url, simple.ACCEPT_HTML)
            if fetched.status == 200 and simple.page_format(fetched.content_type) == "html":
                return url, fetched
            tried.append(f"{url} HTTP {fetched.status} {fetched.content_type or ''}".strip())
        raise fail("no PEP 503 root page: " + "; ".join(tried))

    def _read_project(self, name: str, url: str) -> None:
        crawl = self.crawl
        for kind, accept in (("html", simple.ACCEPT_HTML), ("json", simple.JSON_TYPE)):
            if kind == "json" and crawl.root_json is None:
                continue
            fetched = self._fetch(url, accept)
            crawl.raw_pages[(name, kind)] = fetched
            if fetched.status != 200:
                crawl.page_errors.append(f"{fetched.url}: HTTP {fetched.status} ({kind})")
                continue
            try:
                page = simple.parse_project(fetched.url, fetched.content_type, fetched.body)
            except simple.PageError as exc:
                crawl.page_errors.append(str(exc))
                continue
            if page.format != kind:
                crawl.page_errors.append(f"{fetched.url}: Accept {accept} got {fetched.content_type}")
                continue
            (crawl.html_pages if kind == "html" else crawl.json_pages)[name] = page

    def _read_normalized(self, projects: list[tuple[str, str]]) -> None:
        """One project asked for by another spelling must land on its page (PEP 503)."""
        crawl = self.crawl
        for name, url in projects:
            normalized = canonicalize_name(name)
            if not url.rstrip("/").endswith("/" + normalized) or not re.search("[a-z]", normalized):
                continue
            other = normalized.replace("-", "_").title()
            asked = url.rstrip("/")[: -len(normalized)] + other + "/"
            try:
                fetched = self._fetch(asked, simple.ACCEPT_HTML)
                answered = fetched.status == 200 and fetched.url.rstrip("/").endswith("/" + normalized)
            except Problem:  # a redirect elsewhere
                answered = False
            # Clients normalize before they ask, so this is a courtesy, not a requirement.
            crawl.normalized = (f"{other} redirects to {normalized}" if answered
                                else f"{other} is not redirected; clients normalize first")
            return
        crawl.normalized = "no name to respell"

    def _read_files(self) -> None:
        crawl = self.crawl
        links = {link.url: link for link in crawl.links("html")}
        urls = sorted(links)
        if self.sample is not None and self.sample < len(urls):
            urls = sorted(random.Random(0).sample(urls, self.sample))
        with tempfile.TemporaryDirectory(prefix="pypi-mirror-verify-") as tmp:
            for url in urls:
                link = links[url]
                path = Path(tmp) / "file"
                digest, size = hashlib.sha256(), 0
                response = self._fetch(url, stream=True)
                with response, path.open("wb") as out:
                    if response.status_code != 200:
                        crawl.file_errors.append(f"{response.url}: HTTP {response.status_code}")
                        continue
                    for chunk in response.iter_content(1 << 16):
                        digest.update(chunk)
                        out.write(chunk)
                        size += len(chunk)
                crawl.files[url] = (digest.hexdigest(), size)
                crawl.file_bytes += size
                if link.filename.endswith(".whl") and link.metadata:
                    named = Path(tmp) / link.filename
                    path.rename(named)
                    try:
                        crawl.wheel_metadata[url] = wheel_metadata(named)
                    except (DistributionError, ValueError, zipfile.BadZipFile, zlib.error):
                        pass  # a wrong file is PEP 503's finding; its metadata cannot be compared
                    named.unlink()

    def _read_metadata(self) -> None:
        crawl = self.crawl
        urls = {link.url for kind in ("html", "json") for link in crawl.links(kind) if link.metadata}
        if self.sample is not None:
            urls = {u for u in urls if u in crawl.files}
        for url in sorted(urls):
            fetched = self._fetch(f"{url}.metadata")
            crawl.metadata[f"{url}.metadata"] = fetched.body if fetched.status == 200 else None

    # --- the standards -----------------------------------------------------

    def _pep503(self) -> str:
        crawl = self.crawl
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

    def _pep592(self) -> str:
        html = {link.url: link.yanked for link in self.crawl.links("html")}
        yanked = [url for url, value in html.items() if value is not False]
        json_pages = self.crawl.json_pages
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

    def _pep629(self) -> str:
        crawl = self.crawl
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

    def _pep691(self) -> str:
        crawl = self.crawl
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

    def _pep700(self) -> str:
        crawl = self.crawl
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

    def _pep658(self) -> str:
        crawl = self.crawl
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

    def _pep740(self) -> str:
        crawl = self.crawl
        links = [link for kind in ("html", "json") for link in crawl.links(kind) if link.provenance]
        if not links:
            raise absent("no file links a provenance")
        for link in sorted({link.provenance: link for link in links}.values(), key=lambda l: l.url)[:5]:
            fetched = self._ok(link.provenance)
            try:
                document = json.loads(fetched.body)
                bundles = document["attestation_bundles"]
            except (ValueError, KeyError, TypeError):
                raise fail(f"{link.provenance}: not a PEP 740 provenance object") from None
            if document.get("version") != 1 or not isinstance(bundles, list):
                raise fail(f"{link.provenance}: version {document.get('version')!r}, bundles {type(bundles).__name__}")
        return f"{len({link.url for link in links})} files link a provenance; up to 5 read as PEP 740 objects"

    # --- the appliance's own checks ----------------------------------------

    def _base(self) -> str:
        """Where the appliance's own paths live: the URL given, above its simple/."""
        root = self.crawl.root
        return root[: -len("simple/")] if root.endswith("/simple/") else self.given

    def _appliance_checks(self) -> None:
        base = self._base()
        try:
            fetched = self._fetch(f"{base}mirror.json")
            if fetched.status == 200:
                self.manifest = json.loads(fetched.body)
        except (requests.RequestException, Problem, ValueError):
            self.manifest = None
        if self.appliance is None:
            self.appliance = isinstance(self.manifest, dict)
        self._judge("health", lambda: self._health(base))
        self._judge("mirror.json", lambda: self._mirror_json(base))
        self._judge("landing page", lambda: self._landing(base))
        self._judge("osv", lambda: self._osv(base))

    def _health(self, base: str) -> str:
        fetched = self._fetch(f"{base}healthz")
        if fetched.status != 200:
            raise absent(f"{base}healthz: HTTP {fetched.status}")
        return "/healthz 200"

    def _mirror_json(self, base: str) -> str:
        if not isinstance(self.manifest, dict) or "files" not in self.manifest:
            raise absent(f"{base}mirror.json: no manifest")
        crawl = self.crawl
        expected = {f["path"]: f["sha256"] for f in self.manifest["files"]}
        lock_files = {f["filename"]: f["sha256"] for f in self.manifest["lock"]["document"]["files"]}
        listed = {link.filename: link for link in crawl.links("html")}
        sampled = len(crawl.html_pages) < len(crawl.root_html.projects)  # --projects: only those pages
        extra, missing = set(listed) - set(lock_files), set() if sampled else set(lock_files) - set(listed)
        if extra or missing:
            diff = sorted(extra | missing)
            raise fail(f"the index and mirror.json's lock list different files ({', '.join(diff[:3])})")
        served: dict[str, str] = {}
        for link in listed.values():
            if link.url in crawl.files:
                served[f"packages/{link.filename}"] = crawl.files[link.url][0]
            if f"{link.url}.metadata" in crawl.metadata and crawl.metadata[f"{link.url}.metadata"] is not None:
                served[f"packages/{link.filename}.metadata"] = hashlib.sha256(
                    crawl.metadata[f"{link.url}.metadata"]).hexdigest()
        for (name, kind), fetched in crawl.raw_pages.items():
            served[f"simple/{canonicalize_name(name)}/index.{kind}"] = hashlib.sha256(fetched.body).hexdigest()
        served["simple/index.html"] = hashlib.sha256(crawl.root_html_raw.body).hexdigest()
        if crawl.root_json is not None:
            served["simple/index.json"] = hashlib.sha256(crawl.root_json_raw.body).hexdigest()
        for path in expected:
            if "/" not in path and path.endswith(".json"):  # lock.json, sbom.cdx.json, audit.json, ...
                served[path] = hashlib.sha256(self._ok(f"{base}{path}").body).hexdigest()
        for path, sha256 in sorted(served.items()):
            if path not in expected:
                raise fail(f"{base}{path}: served, but not in mirror.json")
            if expected[path] != sha256:
                raise fail(f"{base}{path}: sha256 {sha256}, mirror.json says {expected[path]}")
        lock_sha256 = self.manifest["lock"]["sha256"]
        if expected.get("lock.json") != lock_sha256:
            raise fail(f"{base}lock.json: sha256 {expected.get('lock.json')}, mirror.json's lock says {lock_sha256}")
        for name, sha256 in lock_files.items():
            if expected.get(f"packages/{name}") != sha256:
                raise fail(f"mirror.json: packages/{name} is not the file its lock names")
        return f"{len(served)} of its {len(expected)} files served as it lists them"

    def _landing(self, base: str) -> str:
        if not isinstance(self.manifest, dict):
            raise absent("no mirror.json, so no lock for a landing page to show")
        fetched = self._fetch(base, "text/html")
        if fetched.status != 200 or simple.page_format(fetched.content_type) != "html":
            raise fail(f"{base}: HTTP {fetched.status} {fetched.content_type or ''}".strip())
        lock_sha256 = self.manifest["lock"]["sha256"]
        if lock_sha256.encode() not in fetched.body:
            raise fail(f"{base}: the landing page does not show the lock sha256 {lock_sha256[:12]}...")
        return f"{base} shows lock {lock_sha256[:12]}..."

    def _osv(self, base: str) -> str:
        fetched = self._fetch(f"{base}osv/meta.json")
        if fetched.status != 200:
            raise absent(f"{base}osv/meta.json: HTTP {fetched.status}")
        try:
            meta = json.loads(fetched.body)
        except ValueError:
            raise fail(f"{base}osv/meta.json: not JSON") from None
        export = self._fetch(f"{base}osv/PyPI/all.zip")
        if export.status == 200 and meta.get("sha256") and hashlib.sha256(export.body).hexdigest() != meta["sha256"]:
            raise fail(f"{base}osv/PyPI/all.zip: not the export osv/meta.json names")
        name, _ = self.crawl.root_html.projects[0]
        response = self.session.post(f"{base}osv/v1/query", json={"package": {"name": name, "ecosystem": "PyPI"},
                                                                    "version": "0"}, timeout=TIMEOUT)
        try:
            answer = response.json() if response.status_code == 200 else None
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise fail(f"{base}osv/v1/query: HTTP {response.status_code}, not an OSV answer")
        return "osv/meta.json, the export and osv/v1/query answer"

    # --- a real install ----------------------------------------------------

    def _install(self) -> str:
        with tempfile.TemporaryDirectory(prefix="pypi-mirror-verify-") as tmp:
            env_dir = Path(tmp) / "venv"
            venv.create(env_dir, with_pip=True)
            python = env_dir / "bin" / "python"
            _run([str(python), "-m", "pip", "install", "--isolated", "--quiet", "--no-cache-dir",
                  *self._pip_index_args(), *self.install], _clean_env())
            if self.run:
                tool = env_dir / "bin" / self.run[0]
                output = _run([str(tool), *self.run[1:]], _clean_env())
                return f"installed {' '.join(self.install)}; {' '.join(self.run)}: {output.strip()[:80]}"
        return f"installed {' '.join(self.install)}"

    def _pip_index_args(self) -> list[str]:
        parts = urllib.parse.urlsplit(self.crawl.root)
        args = ["--index-url", add_credentials(self.crawl.root, self.credentials)]
        if parts.scheme == "http":
            args += ["--trusted-host", parts.hostname]
        if self.ca_file:
            args += ["--cert", self.ca_file]
        return args


def _origin(url: str) -> tuple:
    parts = urllib.parse.urlsplit(url)
    return parts.scheme, parts.hostname, parts.port


def _unreachable(exc: requests.RequestException) -> str:
    if isinstance(exc, requests.exceptions.SSLError):
        return f"TLS verification failed: {short_reason(exc)}"
    return f"cannot reach the index: {short_reason(exc)}"


def _clean_env() -> dict:
    # Only the index may satisfy the install: drop the host's pip configuration,
    # and the CA variables that requests lets override pip's --cert.
    dropped = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_") and k not in dropped}
    return {**env, "PIP_CONFIG_FILE": os.devnull, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


def _run(command: list[str], env: dict) -> str:
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        last = (result.stderr.strip() or result.stdout.strip()).splitlines()[-1:] or ["no output"]
        raise fail(f"{Path(command[0]).name} {' '.join(command[1:3])}... failed: {last[0]}")
    return result.stdout
