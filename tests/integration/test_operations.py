"""Operating a mirror over time: traceable images and a refresh with a change report."""

from __future__ import annotations

import hashlib
import subprocess

import pytest

from tests.integration.appliance import REPO, running_mirror


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_labels_name_the_lock_and_manifest_the_mirror_serves(mirror, mirror_image, docker_client):
    labels = docker_client.images.get(mirror_image).labels
    lock = mirror.get("/lock.json").content
    manifest = mirror.get("/mirror.json")
    assert labels["io.pypi-mirror.lock.sha256"] == sha256(lock)
    assert labels["io.pypi-mirror.manifest.sha256"] == sha256(manifest.content)
    assert manifest.json()["lock"]["sha256"] == sha256(lock)
    assert labels["org.opencontainers.image.created"] == manifest.json()["build-time"]
    for key in ("title", "description", "version", "revision"):
        assert labels[f"org.opencontainers.image.{key}"], key
    assert sha256(lock) in mirror.get("/").text


def test_a_pinnable_tag_names_the_lock(mirror_image, docker_client):
    image = docker_client.images.get(mirror_image)
    lock12 = image.labels["io.pypi-mirror.lock.sha256"][:12]
    day = image.labels["org.opencontainers.image.created"][:10].replace("-", "")
    assert f"pypi-mirror:{day}-{lock12}" in image.tags


@pytest.fixture(scope="module")
def refreshed(mirror_image, internal_network, docker_client):
    result = subprocess.run(
        [str(REPO / "scripts" / "refresh"), mirror_image], cwd=REPO, capture_output=True, text=True,
        env={**__import__("os").environ, "TAG": "test-refresh",
             "REQUIREMENTS": "tests/integration/requirements/pip-audit-click.txt"})
    assert result.returncode == 0, result.stderr[-3000:]
    with running_mirror("pypi-mirror:test-refresh", internal_network) as mirror:
        yield mirror


def test_refresh_reports_what_changed(refreshed):
    changes = refreshed.get("/changes.json").json()
    assert [p["name"] for p in changes["projects"]["added"]] == ["click"]
    assert changes["projects"]["removed"] == []
    assert "Changes since the previous build" in refreshed.get("/").text
