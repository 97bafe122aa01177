"""COPY --from the wheelhouse image: the examples/ Dockerfiles, built with networking off.

The docs/airgap.md recipe: build the `wheelhouse` bake target from a requirement set
that also mirrors uv, build each example with `docker build --network none`,
run `pip-audit --version` in the result. BASE is the builder base of this run
(the stand-in has python3 in /usr/bin and no ENV; the examples set PATH).
"""

from __future__ import annotations

import os
import subprocess
import uuid

import pytest

from mirror.tree.layers import ORDER
from tests.integration.appliance import REPO, build_or_fail

REQUIREMENTS = "requirements/pip-audit-uv.txt"


def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(["docker", *args], cwd=REPO, capture_output=True, text=True,
                            env={**os.environ, "DOCKER_BUILDKIT": "1"})
    if check and result.returncode != 0:
        pytest.fail(f"docker {' '.join(args)} failed ({result.returncode}):\n{result.stderr[-4000:]}", pytrace=False)
    return result


@pytest.fixture(scope="module")
def wheelhouse():
    tag = f"copyfrom-{uuid.uuid4().hex[:8]}"
    build_or_fail("wheelhouse", TAG=tag, REQUIREMENTS=REQUIREMENTS)
    image = f"pypi-mirror-wheelhouse:{tag}"
    yield image
    docker("rmi", image, check=False)


def test_wheelhouse_is_the_tree_alone(wheelhouse):
    config = docker("image", "inspect", "--format", "{{json .Config.Cmd}} {{len .RootFS.Layers}}", wheelhouse).stdout
    # The tree alone, in its layers (mirror/tree/layers.py): nothing of a base image.
    assert config.split() == ["null", str(len(ORDER))], config
    container = docker("create", wheelhouse, "none").stdout.strip()
    try:
        listing = subprocess.run(f"docker export {container} | tar -t", shell=True, capture_output=True,
                                 text=True, check=True).stdout.split()
    finally:
        docker("rm", container, check=False)
    assert {path.split("/")[0] for path in listing} - {".dockerenv", "dev", "etc", "proc", "sys"} == {"srv"}
    assert any(p.startswith("srv/pypi/packages/pip_audit-") for p in listing)
    assert any(p.startswith("srv/pypi/packages/uv-") for p in listing)


@pytest.mark.parametrize("tool", ["pip", "uv"])
def test_example_builds_with_networking_off_and_runs_pip_audit(wheelhouse, client_image, tool):
    image = f"pypi-mirror-example-{tool}:{uuid.uuid4().hex[:8]}"
    try:
        docker("build", "--network", "none", "--build-arg", f"BASE={client_image}",
               "--build-arg", f"WHEELHOUSE={wheelhouse}", "-f", f"examples/Dockerfile.{tool}", "-t", image, "examples/")
        version = docker("run", "--rm", "--network", "none", image, "pip-audit", "--version").stdout
        assert version.startswith("pip-audit "), version
    finally:
        docker("rmi", image, check=False)
