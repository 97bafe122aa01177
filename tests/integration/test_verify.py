"""`build.py verify URL`: passes on a good mirror, names what is wrong on a bad one."""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.appliance import REPO, running_mirror


def verify(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "build.py"), "verify", *args],
                          cwd=REPO, capture_output=True, text=True, timeout=600)


def test_passes_against_the_appliance_including_a_real_install(mirror, tmp_path):
    result = verify(mirror.url, "--json", str(tmp_path / "result.json"))
    assert result.returncode == 0, result.stdout + result.stderr
    steps = json.loads((tmp_path / "result.json").read_text())
    assert [s["name"] for s in steps] == ["health", "root index", "project pages", "metadata", "files", "install"]
    assert all(s["ok"] for s in steps)
    assert "pip-audit --version: pip-audit " in steps[-1]["detail"]


def test_sample_hashes_only_that_many_files(mirror):
    result = verify(mirror.url, "--sample", "3", "--install", "")
    assert result.returncode == 0, result.stdout
    assert "a sample of 3 files match" in result.stdout


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
    assert len(failed) == 1 and failed[0].split()[1] == "files"
    assert victim in failed[0]


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
    assert "cannot reach the mirror" in result.stdout
    assert result.stderr.strip() == "pypi-mirror: error: http://127.0.0.1:9 failed 2 check(s): health, root index"
