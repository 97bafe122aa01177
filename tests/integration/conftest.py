"""The real appliance, built once per run through the README's build command.

Images are session-scoped; read-only checks share one running container.
A client that must prove a file came from the mirror runs in a container on
a docker network created `--internal`: it has no other way out.
"""

from __future__ import annotations

import os
import subprocess
import uuid

from pathlib import Path

import docker
import pytest

from tests.fixtures.osv_db import make_test_export
from tests.integration.appliance import build_or_fail, running_mirror
from tests.integration.peers import devpi, pypiserver

TAG = os.environ.get("PYPI_MIRROR_TEST_TAG", "test")


@pytest.fixture(scope="session")
def docker_client() -> docker.DockerClient:
    return docker.from_env()


@pytest.fixture(scope="session")
def test_export(tmp_path_factory) -> Path:
    """The OSV export the session image serves: real records and labelled synthetic ones."""
    return make_test_export(tmp_path_factory.mktemp("osv") / "osv-PyPI-all.zip")


@pytest.fixture(scope="session")
def mirror_image(test_export) -> str:
    build_or_fail(TAG=TAG, VULN_DB=str(test_export))
    return f"pypi-mirror:{TAG}"


@pytest.fixture(scope="session")
def client_image() -> str:
    """A plain Python image for clients: the builder base (python3, pip, venv)."""
    return os.environ.get("BUILDER_IMAGE", "python:3.13-slim")


@pytest.fixture(scope="session")
def internal_network(docker_client):
    network = docker_client.networks.create(f"pypi-mirror-test-{uuid.uuid4().hex[:8]}", internal=True)
    yield network
    network.remove()


@pytest.fixture(scope="session")
def mirror(mirror_image, internal_network):
    with running_mirror(mirror_image, internal_network) as mirror:
        yield mirror




# --- issue 17: the mirror's tree on the host, and real indexes to publish into.

@pytest.fixture(scope="session")
def mirror_tree(mirror_image, tmp_path_factory):
    """The image's /srv/pypi, copied out as scripts/publish does."""
    target = tmp_path_factory.mktemp("tree") / "pypi"
    container = subprocess.run(["docker", "create", mirror_image, "/bin/true"], capture_output=True, text=True,
                               check=True).stdout.strip()
    try:
        subprocess.run(["docker", "cp", f"{container}:/srv/pypi", str(target)], check=True, capture_output=True)
    finally:
        subprocess.run(["docker", "rm", container], capture_output=True)
    return target


@pytest.fixture(scope="session")
def pypiserver_peer(tmp_path_factory):
    with pypiserver(tmp_path_factory.mktemp("pypiserver")) as peer:
        yield peer


@pytest.fixture(scope="session")
def devpi_url(tmp_path_factory):
    with devpi(tmp_path_factory.mktemp("devpi")) as url:
        yield url
