"""Upstream secrets given to the build leave no trace in the image, its history or the build log.

One real build with an upstream URL carrying credentials (INDEX_URL_FILE), a
netrc (NETRC_FILE), index URLs with credentials (EXTRA_INDEX_URLS_FILE) and a
CA bundle (CA_BUNDLE), each holding a random string;
then every byte `docker save` writes is searched for those strings, including
the files inside each layer and inside compressed files.
"""

from __future__ import annotations

import base64
import re
import secrets
import subprocess
from pathlib import Path

import docker
import pytest

from tests.integration.appliance import bake
from tests.integration.layers import search_image

# Unique per run: several runs may share this Docker engine, and the image is removed afterwards.
TAG = f"secrets-audit-{secrets.token_hex(4)}"


@pytest.fixture(scope="module")
def needles() -> dict[str, bytes]:
    """Random secret strings, written into the three secret files the build is given."""
    return {
        "index URL token": f"idx-{secrets.token_hex(16)}".encode(),
        "netrc token": f"netrc-{secrets.token_hex(16)}".encode(),
        "CA bundle marker": f"pypi-mirror-secret-marker-{secrets.token_hex(16)}".encode(),
        "index credentials token": f"idxfile-{secrets.token_hex(16)}".encode(),
    }


@pytest.fixture(scope="module")
def secret_files(tmp_path_factory, needles) -> dict[str, str]:
    directory = tmp_path_factory.mktemp("secrets")
    index_url = directory / "index-url"
    # PyPI ignores the credentials; the build still has to carry them the whole way.
    index_url.write_text(f"https://audit-user:{needles['index URL token'].decode()}@pypi.org/simple/\n")
    netrc = directory / "netrc"
    netrc.write_text(f"machine pypi.org login netrc-user password {needles['netrc token'].decode()}\n")
    ca_bundle = directory / "ca-bundle.crt"
    # The machine's bundle (the build needs it to reach the index here) plus a marker line.
    ca_bundle.write_bytes(Path("/etc/ssl/certs/ca-certificates.crt").read_bytes()
                          + b"\n# " + needles["CA bundle marker"] + b"\n")
    # EXTRA_INDEX_URLS_FILE: credentials per index; this line lends its own to INDEX_URL (same URL).
    index_urls = directory / "index-urls"
    index_urls.write_text(f"# one per index\nhttps://extra-user:{needles['index credentials token'].decode()}"
                          "@pypi.org/simple/\n")
    return {"INDEX_URL_FILE": str(index_url), "NETRC_FILE": str(netrc), "CA_BUNDLE": str(ca_bundle),
            "EXTRA_INDEX_URLS_FILE": str(index_urls)}


@pytest.fixture(scope="module")
def audited_build(secret_files, docker_client):
    # BuildKit leaves secrets out of the cache key: a cached step built without
    # these secrets would prove nothing, so every step runs again here.
    result = bake("--no-cache", TAG=TAG, PYTHON_VERSIONS="3.11", PLATFORMS="manylinux_x86_64", **secret_files)
    assert result.returncode == 0, result.stderr[-4000:]
    try:
        yield result
    finally:
        try:
            docker_client.images.remove(f"pypi-mirror:{TAG}")
        except docker.errors.APIError:
            pass


def variants(needles: dict[str, bytes]) -> dict[str, bytes]:
    """Each secret as written, plus the Basic auth header a client would derive from the URL credentials."""
    header = base64.b64encode(b"audit-user:" + needles["index URL token"])
    extra = base64.b64encode(b"extra-user:" + needles["index credentials token"])
    return {**needles, "index URL token as Basic auth header": header,
            "index credentials token as Basic auth header": extra}


def test_no_secret_in_any_file_of_any_layer_or_the_image_config(audited_build, needles, tmp_path):
    hits, seen = search_image(f"pypi-mirror:{TAG}", variants(needles), tmp_path)
    assert hits == []
    # The search really reached into the layers: the hooks and the mirrored tree are there.
    assert any(name.endswith("/docker-entrypoint.d/20-tls.sh") for name in seen), seen[:20]
    assert any(re.search(r"/srv/pypi/packages/pip_audit-[^/]+\.whl!pip_audit/", name) for name in seen)
    assert any(name.endswith("/srv/pypi/lock.json") for name in seen)


def test_no_secret_in_docker_history_or_inspect(audited_build, needles):
    history = subprocess.run(["docker", "history", "--no-trunc", f"pypi-mirror:{TAG}"],
                             check=True, capture_output=True).stdout
    inspect = subprocess.run(["docker", "image", "inspect", f"pypi-mirror:{TAG}"],
                             check=True, capture_output=True).stdout
    assert b"RUN" in history or b"COPY" in history  # the full history, not an empty answer
    for label, needle in variants(needles).items():
        assert needle not in history, f"{label} in docker history"
        assert needle not in inspect, f"{label} in docker image inspect"


def test_no_secret_in_the_build_output(audited_build, needles):
    # A CI log is a leak too: the build prints its upstream URL masked.
    output = (audited_build.stdout + audited_build.stderr).encode()
    for label, needle in variants(needles).items():
        assert needle not in output, f"{label} in the build output"


@pytest.fixture(scope="module")
def refused_build():
    """A build given credentials in INDEX_URL, a build argument (so part of the image history)."""
    token = f"refused-{secrets.token_hex(16)}"
    tag = f"secrets-refused-{secrets.token_hex(4)}"
    result = bake(TAG=tag, INDEX_URL=f"https://audit-user:{token}@pypi.org/simple/",
                  PYTHON_VERSIONS="3.11", PLATFORMS="manylinux_x86_64")
    return result, token, tag


def test_credentials_in_index_url_are_refused_with_one_line_and_no_image(refused_build, docker_client):
    result, _, tag = refused_build
    assert result.returncode != 0
    # BuildKit repeats a failed step's last lines in its summary: count distinct messages.
    errors = set(re.findall(r"pypi-mirror: error: (.*)", result.stderr))
    assert len(errors) == 1, result.stderr[-3000:]
    assert "INDEX_URL carries credentials" in errors.pop()
    with pytest.raises(docker.errors.ImageNotFound):
        docker_client.images.get(f"pypi-mirror:{tag}")


def test_refused_index_url_credentials_do_not_reach_the_build_log(refused_build):
    result, token, _ = refused_build
    assert token not in result.stdout + result.stderr
