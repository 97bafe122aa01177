"""The Simple API as pip and uv use it: negotiation, metadata files, caching, both formats.

Read-only checks share the session's mirror container; installs run in
clients on the internal network, and the access log lines written during
each install tell what the client fetched.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
import zipfile

import pytest
from packaging.utils import canonicalize_name
from pypi_simple import ACCEPT_HTML_ONLY, ACCEPT_JSON_ONLY, PyPISimple

from tests.integration.appliance import run_client

PIP_ACCEPT = ("application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, "
              "text/html; q=0.01")
UV_ACCEPT = ("application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, "
             "text/html;q=0.01")
JSON = "application/vnd.pypi.simple.v1+json"


@pytest.fixture(scope="module")
def lock(mirror) -> dict:
    return mirror.get("/lock.json").json()


@pytest.mark.parametrize("accept, expected", [
    (PIP_ACCEPT, JSON),
    (UV_ACCEPT, JSON),
    ("text/html", "text/html"),
    ("application/vnd.pypi.simple.v1+html", "application/vnd.pypi.simple.v1+html"),
    ("*/*", "text/html"),
    (None, "text/html"),
])
@pytest.mark.parametrize("path", ["/simple/", "/simple/pip-audit/"])
def test_accept_picks_the_representation(mirror, path, accept, expected):
    response = mirror.get(path, headers={"Accept": accept} if accept else {})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == expected
    assert "Accept" in response.headers["Vary"]
    if expected == JSON:
        assert response.json()["meta"]["api-version"] == "1.4"
    else:
        assert '<meta name="pypi:repository-version" content="1.4">' in response.text


def test_nothing_acceptable_is_406(mirror):
    response = mirror.get("/simple/pip-audit/", headers={"Accept": "application/xml"})
    assert response.status_code == 406
    assert "Accept" in response.headers["Vary"]


def test_format_query_overrides_accept(mirror):
    response = mirror.get(f"/simple/pip-audit/?format={JSON}", headers={"Accept": "text/html"})
    assert response.headers["Content-Type"] == JSON


@pytest.mark.parametrize("spelling", ["Pip_Audit/", "PIP.AUDIT/", "pip-audit"])
def test_non_normalized_names_redirect_to_the_normalized_page(mirror, spelling):
    response = mirror.get(f"/simple/{spelling}")
    assert response.status_code == 301
    assert response.headers["Location"].endswith("/simple/pip-audit/")


def test_index_pages_are_short_lived_and_revalidatable(mirror):
    first = mirror.get("/simple/pip-audit/", headers={"Accept": JSON})
    assert re.fullmatch(r"public, max-age=\d{1,4}", first.headers["Cache-Control"])
    assert first.headers["Last-Modified"]
    again = mirror.get("/simple/pip-audit/", headers={"Accept": JSON, "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


def test_files_and_metadata_are_immutable(mirror, lock):
    wheel = next(f["filename"] for f in lock["files"] if f["filename"].endswith(".whl"))
    for path in (f"/packages/{wheel}", f"/packages/{wheel}.metadata"):
        response = mirror.get(path)
        assert response.status_code == 200
        # Without auth anyone may cache them (with auth: private, test_tls_auth.py).
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"


def test_index_pages_come_precompressed(mirror):
    response = mirror.get("/simple/pip-audit/", headers={"Accept": JSON, "Accept-Encoding": "gzip"}, stream=True)
    assert response.headers["Content-Encoding"] == "gzip"
    body = response.raw.read()
    assert json.loads(gzip.decompress(body))["name"] == "pip-audit"


def test_metadata_file_is_the_wheels_metadata_byte_for_byte(mirror, lock):
    wheel = next(f["filename"] for f in lock["files"] if f["filename"].startswith("pip_audit-"))
    with zipfile.ZipFile(io.BytesIO(mirror.get(f"/packages/{wheel}").content)) as archive:
        (name,) = [n for n in archive.namelist() if re.fullmatch(r"pip_audit-[^/]+\.dist-info/METADATA", n)]
        expected = archive.read(name)
    served = mirror.get(f"/packages/{wheel}.metadata").content
    assert served == expected
    page = mirror.get("/simple/pip-audit/", headers={"Accept": JSON}).json()
    entry = next(f for f in page["files"] if f["filename"] == wheel)
    assert entry["core-metadata"] == {"sha256": hashlib.sha256(served).hexdigest()}


def test_an_independent_parser_reads_both_formats_and_agrees_with_the_lock(mirror, lock):
    expected = {}
    for f in lock["files"]:
        expected.setdefault(canonicalize_name(f["name"]), {})[f["filename"]] = f["sha256"]
    for accept in (ACCEPT_JSON_ONLY, ACCEPT_HTML_ONLY):
        with PyPISimple(endpoint=f"{mirror.url}/simple/", accept=accept) as client:
            projects = set(client.get_index_page().projects)
            assert projects == set(expected)
            for project in sorted(expected):
                page = client.get_project_page(project)
                assert {p.filename: p.digests["sha256"] for p in page.packages} == expected[project]
                assert all(p.url.startswith(f"{mirror.url}/packages/") for p in page.packages)
                assert all(p.has_metadata == p.filename.endswith(".whl") for p in page.packages)


def test_no_pre_pep714_metadata_names(mirror):
    html = mirror.get("/simple/pip-audit/", headers={"Accept": "text/html"}).text
    data = mirror.get("/simple/pip-audit/", headers={"Accept": JSON}).text
    assert "data-core-metadata" in html and "dist-info-metadata" not in html
    assert "core-metadata" in data and "dist-info-metadata" not in data


def _fetched_during(mirror, run) -> list[str]:
    """Paths the mirror served while run() ran."""
    before = len(mirror.logs()[0].splitlines())
    run()
    lines = mirror.logs()[0].splitlines()[before:]
    return re.findall(r'"GET (\S+) HTTP/[\d.]+" 200 ', "\n".join(lines))


def _installed_files(report: str) -> set[str]:
    return {item["download_info"]["url"].rsplit("/", 1)[1].split("#")[0]
            for item in json.loads(report)["install"]}


def _pip_install(mirror, docker_client, client_image, internal_network, upgrade_pip: bool):
    index = f"--index-url http://{mirror.alias}:8080/simple/ --trusted-host {mirror.alias}"
    upgrade = f"/v/bin/pip install --quiet {index} --upgrade pip >&2" if upgrade_pip else "true"
    report = {}

    def run():
        report["text"] = run_client(docker_client, client_image, internal_network, f"""
            python3 -m venv /v
            {upgrade}
            /v/bin/pip --version >&2
            /v/bin/pip install --quiet {index} --report /tmp/report.json pip-audit >&2
            /v/bin/pip-audit --version >&2
            cat /tmp/report.json
        """)
    return _fetched_during(mirror, run), report["text"]


def test_current_pip_resolves_from_metadata_files_and_downloads_only_what_it_installs(
    mirror, docker_client, client_image, internal_network
):
    fetched, report = _pip_install(mirror, docker_client, client_image, internal_network, upgrade_pip=True)
    installed = _installed_files(report)
    wheels = {p.rsplit("/", 1)[1] for p in fetched if p.startswith("/packages/") and p.endswith(".whl")}
    metadata = {p.rsplit("/", 1)[1] for p in fetched if p.endswith(".metadata")}
    upgraded_pip = {w for w in wheels if w.startswith("pip-")}
    assert wheels - upgraded_pip <= installed <= wheels, "a wheel was downloaded but not installed"
    assert {f"{w}.metadata" for w in installed} <= metadata, "pip read wheels instead of .metadata files"


def test_debian_12_pip_23_0_installs_pip_audit(mirror, docker_client, client_image, internal_network):
    # pip 22.3-23.0 breaks on the pre-PEP 714 metadata names; this is the pip
    # Debian 12 ships, and the one its python3 -m venv bundles.
    fetched, report = _pip_install(mirror, docker_client, client_image, internal_network, upgrade_pip=False)
    pip_version = json.loads(report)["pip_version"]
    if not pip_version.startswith("23.0"):
        pytest.skip(f"client image {client_image} bundles pip {pip_version}, not Debian 12's 23.0")
    installed = _installed_files(report)
    assert installed <= {p.rsplit("/", 1)[1] for p in fetched}


def test_uv_resolves_from_metadata_files_and_downloads_only_what_it_installs(
    mirror, docker_client, client_image, internal_network
):
    output = {}

    def run():
        output["text"] = run_client(docker_client, client_image, internal_network, f"""
            uv venv --quiet --python /usr/bin/python3 /u || uv venv --quiet /u
            uv pip install --quiet --python /u/bin/python --index-url http://{mirror.alias}:8080/simple/ pip-audit >&2
            /u/bin/pip-audit --version >&2
            uv pip list --python /u/bin/python --format json
        """, with_uv=True)
    fetched = _fetched_during(mirror, run)
    installed = {canonicalize_name(p["name"]) for p in json.loads(output["text"])}
    wheels = [p.rsplit("/", 1)[1] for p in fetched if p.startswith("/packages/") and p.endswith(".whl")]
    metadata = [p for p in fetched if p.endswith(".metadata")]
    assert "pip-audit" in installed
    assert {canonicalize_name(w.split("-")[0]) for w in wheels} <= installed
    assert len(metadata) >= len(installed) - 1, "uv read wheels instead of .metadata files"
