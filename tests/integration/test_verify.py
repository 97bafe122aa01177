"""`build.py verify URL`: passes on a good mirror, names what is wrong on a bad one."""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import ssl
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.appliance import REPO, running_mirror
from tests.integration.peers import free_port, process


def verify(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "build.py"), "verify", *args],
                          cwd=REPO, capture_output=True, text=True, timeout=600)


STANDARDS = ["PEP 503", "PEP 592", "PEP 629", "PEP 691", "PEP 700", "PEP 658/714", "PEP 740", "PEP 792"]
APPLIANCE = ["health", "mirror.json", "landing page", "osv"]


def statuses(path: Path) -> dict[str, str]:
    return {c["name"]: c["status"] for c in json.loads(path.read_text())}


def test_every_standard_passes_against_the_appliance_including_a_real_install(mirror, tmp_path):
    result = verify(mirror.url, "--json", str(tmp_path / "result.json"))
    assert result.returncode == 0, result.stdout + result.stderr
    checks = json.loads((tmp_path / "result.json").read_text())
    assert [c["name"] for c in checks] == [*STANDARDS, *APPLIANCE, "install"]
    # Nothing here is signed (PEP 740: the index this machine reaches serves no provenance); the pages
    # declare 1.4, so PEP 792 passes with every project active; the session image serves the test export.
    absent = {"PEP 740"}
    assert {c["name"]: c["status"] for c in checks} == {c["name"]: "ABSENT" if c["name"] in absent else "PASS"
                                                        for c in checks}, result.stdout
    assert "pip-audit --version: pip-audit " in checks[-1]["detail"]
    assert "redirects to" in checks[0]["detail"]  # /simple/Boolean_Py/ lands on boolean-py


def test_sample_hashes_only_that_many_files(mirror):
    result = verify(mirror.url, "--sample", "3", "--install", "")
    assert result.returncode == 0, result.stdout
    assert "a sample of 3 match their #sha256" in result.stdout


def test_require_turns_an_absent_standard_into_a_failure(mirror):
    result = verify(mirror.url, "--sample", "1", "--install", "", "--require", "740", "--require", "PEP 691")
    assert result.returncode == 1
    failed = [line for line in result.stdout.splitlines() if line.startswith("FAIL")]
    assert len(failed) == 1 and "PEP 740" in failed[0] and "required but absent: no file links a provenance" in failed[0]
    assert result.stderr.strip().endswith("failed 1 check(s): PEP 740")


def test_require_names_a_standard_it_does_not_know(mirror):
    result = verify(mirror.url, "--require", "999")
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.strip() == "pypi-mirror: error: --require '999': not one of 503, 592, 629, 691, 700, 658/714, 740, 792"


@pytest.fixture(scope="module")
def tampered(mirror_image, docker_client, internal_network):
    lock = json.loads(docker_client.containers.run(
        mirror_image, ["/bin/sh", "-c", "cat /srv/pypi/lock.json"], entrypoint=[], remove=True))
    victim = sorted(f["filename"] for f in lock["files"] if f["filename"].endswith(".whl"))[0]
    image, _ = docker_client.images.build(
        path=str(Path(__file__).parent / "tampered"), tag="pypi-mirror:test-tampered",
        buildargs={"MIRROR": mirror_image, "FILE": victim}, rm=True)
    with running_mirror("pypi-mirror:test-tampered", internal_network) as mirror:
        yield mirror, victim
    docker_client.images.remove("pypi-mirror:test-tampered", force=True)


def test_fails_naming_the_file_altered_after_the_build(tampered):
    mirror, victim = tampered
    result = verify(mirror.url, "--install", "")
    assert result.returncode == 1
    failed = [line for line in result.stdout.splitlines() if line.startswith("FAIL")]
    # The page's #sha256 and mirror.json both disagree with the served file.
    assert [line[8:20].strip() for line in failed] == ["PEP 503", "mirror.json"], result.stdout
    assert all(victim in line for line in failed)


@pytest.fixture(scope="module")
def tls_auth_mirror(mirror_image, internal_network):
    with running_mirror(mirror_image, internal_network,
                        MIRROR_TLS="self-signed", MIRROR_BASIC_AUTH="ops:correct-horse") as mirror:
        yield mirror


@pytest.fixture
def https_url(tls_auth_mirror) -> str:
    return tls_auth_mirror.https_url


@pytest.fixture
def ca_file(https_url, tmp_path) -> str:
    host, port = https_url.removeprefix("https://").split(":")
    path = tmp_path / "mirror.pem"
    path.write_text(ssl.get_server_certificate((host, int(port))))
    return str(path)


def test_passes_over_tls_with_credentials(https_url, ca_file):
    url = https_url.replace("https://", "https://ops:correct-horse@")
    result = verify(url, "--ca-file", ca_file, "--sample", "5")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "correct-horse" not in result.stdout + result.stderr


@pytest.mark.parametrize("credentials, expected", [
    ("ops:wrong@", "HTTP 401"),
    ("", "HTTP 401"),
])
def test_fails_clearly_on_wrong_or_missing_credentials(https_url, ca_file, credentials, expected):
    result = verify(https_url.replace("https://", f"https://{credentials}"), "--ca-file", ca_file, "--install", "")
    assert result.returncode == 1
    assert expected in result.stdout
    assert "wrong" not in result.stdout + result.stderr.replace("ops:***", "")


def test_fails_clearly_on_a_wrong_ca(https_url):
    result = verify(https_url.replace("https://", "https://ops:correct-horse@"),
                    "--ca-file", "/etc/ssl/certs/ca-certificates.crt", "--install", "")
    assert result.returncode == 1
    assert "TLS verification failed" in result.stdout


def test_fails_clearly_on_a_dead_address():
    result = verify("http://127.0.0.1:9", "--install", "")
    assert result.returncode == 1
    assert "cannot reach the index" in result.stdout
    assert result.stderr.strip() == "pypi-mirror: error: http://127.0.0.1:9 failed 1 check(s): PEP 503"


# --- indexes that are not the appliance ---------------------------------------

@pytest.fixture(scope="module")
def plain_tree(mirror_tree, tmp_path_factory) -> Path:
    """The Simple API part of the tree alone (no mirror.json: not posing as the appliance)."""
    root = tmp_path_factory.mktemp("plain")
    for part in ("simple", "packages"):
        shutil.copytree(mirror_tree / part, root / part)
    return root


@contextlib.contextmanager
def http_server(directory: Path, log: Path):
    port = free_port()
    with process([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory",
                  str(directory)], log, f"http://127.0.0.1:{port}/simple/"):
        yield f"http://127.0.0.1:{port}/"


def test_a_plain_http_index_without_json_is_absent_not_failed(plain_tree, tmp_path):
    with http_server(plain_tree, tmp_path / "http.log") as url:
        result = verify(url, "--install", "", "--json", str(tmp_path / "result.json"))
    assert result.returncode == 0, result.stdout + result.stderr
    found = statuses(tmp_path / "result.json")
    assert found["PEP 503"] == "PASS" and found["PEP 691"] == found["PEP 700"] == "ABSENT", result.stdout
    assert found["PEP 658/714"] == "PASS"  # the .metadata files are plain files too
    assert "no JSON: Accept: application/vnd.pypi.simple.v1+json got text/html" in result.stdout
    assert found["health"] == found["mirror.json"] == "ABSENT"

    with http_server(plain_tree, tmp_path / "http.log") as url:
        result = verify(url, "--install", "", "--sample", "1", "--appliance")
    assert result.returncode == 1
    assert result.stderr.strip().endswith("failed 3 check(s): health, mirror.json, landing page")


def test_a_static_tree_with_one_wrong_sha256_fails_naming_the_file(plain_tree, tmp_path):
    tree = tmp_path / "tree"
    shutil.copytree(plain_tree, tree)
    page = tree / "simple" / "pip-audit" / "index.html"
    text = page.read_text()
    right = re.search(r'href="[^"]*/(pip_audit-[^"#]+)#sha256=([0-9a-f]{64})"', text)
    filename, digest = right.group(1), right.group(2)
    page.write_text(text.replace(digest, "0" * 64))
    with http_server(tree, tmp_path / "http.log") as url:
        result = verify(url, "--install", "")
    assert result.returncode == 1
    failed = [line for line in result.stdout.splitlines() if line.startswith("FAIL")]
    assert len(failed) == 1 and "PEP 503" in failed[0], result.stdout
    assert f"{url}packages/{filename}" in failed[0] and "0" * 64 in failed[0]
    assert result.stderr.strip() == f"pypi-mirror: error: {url} failed 1 check(s): PEP 503"
