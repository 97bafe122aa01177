"""`build.py verify URL`: check any Simple API index, standard by standard.

One line per standard (PEP 503, 592, 629, 691, 700, 658/714, 740): PASS,
FAIL (a served feature that is wrong: a hash that does not match its file)
or ABSENT (not offered; a failure only when --require names it). Then the
appliance's own checks (/healthz, /mirror.json and every file against it,
the landing page, /osv/) when the index offers them, required with
--appliance (the default when /mirror.json answers), and a real install.

The index is read once (mirror/upstream/simple.py parses its pages) into a Crawl;
mirror/verify/standards.py judges each standard from it. Needs only Python,
requests and packaging: it runs from a checkout against any index.
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

from mirror.core.http import (MAX_FILE, MAX_PAGE, PAGE_DEADLINE, TooLarge, Transient, add_credentials, file_deadline,
                         mask, new_session, origin, read_body, short_reason, strip_credentials)
from mirror.errors import DistributionError
from mirror.fetch.metadata import wheel_metadata
from mirror.upstream import simple
from mirror.verify.standards import (ABSENT, FAIL, JUDGES, PASS, PROVENANCE_SAMPLE, Crawl, Fetched, Problem, absent,
                              fail)

TIMEOUT = (5, 60)
APPLIANCE = ("health", "mirror.json", "landing page")
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
        # Only what was given: no netrc, no proxy, no env CA. The credentials go to the given URL's
        # origin alone: never to a file, metadata or provenance host a page links to (mirror/core/http.py).
        self.session = new_session(trust_env=False, verify=ca_file or True)
        if credentials:
            self.session.auth.bind(self.given, credentials)
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
        for name, judge in JUDGES.items():
            self._judge(name, lambda: judge(self.crawl), extra=read if name == "PEP 503" else 0.0)
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
            response = self.session.get(url, headers=headers, timeout=TIMEOUT, allow_redirects=False, stream=True)
            if response.status_code in (301, 302, 303, 307, 308) and "Location" in response.headers:
                target = urllib.parse.urljoin(url, response.headers["Location"])
                response.close()
                if origin(target) != origin(url):
                    raise fail(f"{url}: redirects to another host, {target}")
                url = target
                continue
            if response.status_code == 401:
                raise fail(f"{url}: HTTP 401, credentials missing or refused")
            if stream:
                return response
            try:
                body = read_body(response, limit=MAX_PAGE, deadline=PAGE_DEADLINE)
            except (TooLarge, Transient) as exc:
                raise fail(f"{url}: {exc}") from None
            return Fetched(url, response.status_code, response.headers.get("Content-Type"),
                           response.headers.get("Vary", ""), body, first if url != first else None)
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
        self._read_provenance()

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
                # No more than the page declares (else MAX_FILE), within the file's deadline (mirror/core/http.py).
                declared = link.size if isinstance(link.size, int) and link.size > 0 else None
                limit, stop = declared or MAX_FILE, time.monotonic() + file_deadline(declared)
                with response, path.open("wb") as out:
                    if response.status_code != 200:
                        crawl.file_errors.append(f"{response.url}: HTTP {response.status_code}")
                        continue
                    for chunk in response.iter_content(1 << 16):
                        digest.update(chunk)
                        out.write(chunk)
                        size += len(chunk)
                        if size > limit or time.monotonic() > stop:
                            break  # the digest and size no longer match: PEP 503's check says so
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

    def _read_provenance(self) -> None:
        crawl = self.crawl
        urls = sorted({link.provenance for kind in ("html", "json") for link in crawl.links(kind) if link.provenance})
        for url in urls[:PROVENANCE_SAMPLE]:
            fetched = self._fetch(url)
            crawl.provenance[url] = fetched.body if fetched.status == 200 else None

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


def _unreachable(exc: requests.RequestException) -> str:
    if isinstance(exc, requests.exceptions.SSLError):
        return f"TLS verification failed: {short_reason(exc)}"
    return f"cannot reach the index: {short_reason(exc)}"


# What the install (pip, and any package code it runs) sees of this environment: where things are,
# the locale, how to reach the network. Not the host's pip configuration, not the CA variables
# requests lets override pip's --cert, and no secret the host exports (TWINE_*, tokens, NETRC).
_PASSED = {"PATH", "HOME", "TMPDIR", "LANG", "LANGUAGE", "TZ", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY",
           "http_proxy", "https_proxy", "no_proxy", "SYSTEMROOT"}


def _clean_env() -> dict:
    env = {k: v for k, v in os.environ.items() if k in _PASSED or k.startswith("LC_")}
    # The mirror's credentials reach pip in its --index-url, for that index alone.
    return {**env, "PIP_CONFIG_FILE": os.devnull, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "NETRC": os.devnull}


def _run(command: list[str], env: dict) -> str:
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        last = (result.stderr.strip() or result.stdout.strip()).splitlines()[-1:] or ["no output"]
        raise fail(f"{Path(command[0]).name} {' '.join(command[1:3])}... failed: {last[0]}")
    return result.stdout
