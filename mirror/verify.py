"""Check any running mirror by URL, the way its users will meet it.

Each step is one line of a checklist (PASS/FAIL, time, detail); a failed
step does not stop the ones that do not depend on it. Needs only Python,
requests and packaging: it runs from a checkout, against any mirror.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import random
import subprocess
import tempfile
import time
import urllib.parse
import venv
from pathlib import Path

import requests
from packaging.utils import canonicalize_name

from mirror.upstream import add_credentials, mask, short_reason, strip_credentials

JSON = "application/vnd.pypi.simple.v1+json"
TIMEOUT = (5, 60)


@dataclasses.dataclass
class Step:
    name: str
    ok: bool
    seconds: float
    detail: str

    def line(self) -> str:
        return f"{'PASS' if self.ok else 'FAIL'}  {self.name:<14} {self.seconds:7.2f} s  {self.detail}"


class StepFailed(Exception):
    pass


class Verifier:
    def __init__(self, url: str, *, ca_file: str | None = None, sample: int | None = None,
                 install: list[str] | None = None, run: list[str] | None = None, report=print):
        base, credentials = strip_credentials(url)
        self.base = base.rstrip("/")
        self.credentials = credentials
        self.ca_file = ca_file
        self.sample = sample
        self.install = install if install is not None else ["pip-audit"]
        self.run = run if run is not None else ["pip-audit", "--version"]
        self.report = report
        self.session = requests.Session()
        self.session.trust_env = False  # only what was given: no netrc, no proxy, no env CA
        self.session.auth = credentials
        self.session.verify = ca_file or True
        self.steps: list[Step] = []
        self.projects: list[str] = []
        self.files: dict[str, tuple[str, str | None]] = {}  # url -> (sha256, metadata sha256)

    def verify(self) -> list[Step]:
        self._step("health", self._health)
        if self._step("root index", self._root):
            self._step("project pages", self._pages)
            self._step("metadata", self._metadata)
            self._step("files", self._files)
        if self.install:
            self._step("install", self._install)
        return self.steps

    def _step(self, name: str, check) -> bool:
        started = time.monotonic()
        try:
            detail, ok = check(), True
        except StepFailed as exc:
            detail, ok = str(exc), False
        except requests.exceptions.SSLError as exc:
            detail, ok = f"TLS verification failed: {short_reason(exc)}", False
        except requests.RequestException as exc:
            detail, ok = f"cannot reach the mirror: {short_reason(exc)}", False
        step = Step(name, ok, time.monotonic() - started, mask(detail))
        self.steps.append(step)
        self.report(step.line())
        return ok

    def _get(self, path: str, **kwargs) -> requests.Response:
        url = path if "://" in path else f"{self.base}{path}"
        response = self.session.get(url, timeout=TIMEOUT, **kwargs)
        if response.status_code == 401:
            raise StepFailed(f"{url}: HTTP 401, credentials missing or refused")
        if response.status_code != 200:
            raise StepFailed(f"{url}: HTTP {response.status_code}")
        return response

    def _health(self) -> str:
        self._get("/healthz")
        return "/healthz 200"

    def _root(self) -> str:
        html = self._get("/simple/", headers={"Accept": "text/html"}).text
        data = self._get("/simple/", headers={"Accept": JSON}).json()
        self.projects = sorted(p["name"] for p in data["projects"])
        missing = [p for p in self.projects if f'href="{p}/"' not in html]
        if missing:
            raise StepFailed(f"HTML root page lacks {', '.join(missing[:5])}")
        if not self.projects:
            raise StepFailed("the mirror lists no projects")
        return f"{len(self.projects)} projects, HTML and JSON agree"

    def _pages(self) -> str:
        for project in self.projects:
            page_url = f"{self.base}/simple/{canonicalize_name(project)}/"
            data = self._get(page_url, headers={"Accept": JSON}).json()
            html = self._get(page_url, headers={"Accept": "text/html"}).text
            for f in data["files"]:
                if f["hashes"]["sha256"] not in html:
                    raise StepFailed(f"{page_url}: {f['filename']} is in the JSON page but not the HTML one")
                metadata = f.get("core-metadata")
                self.files[urllib.parse.urljoin(page_url, f["url"])] = (
                    f["hashes"]["sha256"], metadata["sha256"] if isinstance(metadata, dict) else None)
        return f"{len(self.projects)} pages, {len(self.files)} files listed"

    def _metadata(self) -> str:
        checked = 0
        for url, (_, expected) in sorted(self.files.items()):
            if expected:
                _expect_hash(f"{url}.metadata", self._get(f"{url}.metadata").content, expected)
                checked += 1
        return f"{checked} .metadata files match their hashes"

    def _files(self) -> str:
        urls = sorted(self.files)
        if self.sample is not None and self.sample < len(urls):
            urls = sorted(random.Random(0).sample(urls, self.sample))
        total = 0
        for url in urls:
            digest = hashlib.sha256()
            with self._get(url, stream=True) as response:
                for chunk in response.iter_content(1 << 16):
                    digest.update(chunk)
                    total += len(chunk)
            if digest.hexdigest() != self.files[url][0]:
                raise StepFailed(f"{url.rsplit('/', 1)[1]}: sha256 {digest.hexdigest()}, "
                                 f"the index says {self.files[url][0]}")
        scope = f"a sample of {len(urls)}" if len(urls) < len(self.files) else f"all {len(urls)}"
        return f"{scope} files match their sha256 ({total / 1e6:.1f} MB)"

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
        parts = urllib.parse.urlsplit(self.base)
        args = ["--index-url", add_credentials(self.base, self.credentials) + "/simple/"]
        if parts.scheme == "http":
            args += ["--trusted-host", parts.hostname]
        if self.ca_file:
            args += ["--cert", self.ca_file]
        return args


def _expect_hash(url: str, content: bytes, expected: str) -> None:
    got = hashlib.sha256(content).hexdigest()
    if got != expected:
        raise StepFailed(f"{url.rsplit('/', 1)[1]}: sha256 {got}, the index says {expected}")


def _clean_env() -> dict:
    # Only the mirror may satisfy the install: drop the host's pip configuration,
    # and the CA variables that requests lets override pip's --cert.
    dropped = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_") and k not in dropped}
    return {**env, "PIP_CONFIG_FILE": os.devnull, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


def _run(command: list[str], env: dict) -> str:
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        last = (result.stderr.strip() or result.stdout.strip()).splitlines()[-1:] or ["no output"]
        raise StepFailed(f"{Path(command[0]).name} {' '.join(command[1:3])}... failed: {last[0]}")
    return result.stdout
