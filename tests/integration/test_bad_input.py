"""Bad input ends the build with one line naming the cause, a non-zero exit, and no image."""

from __future__ import annotations

import re

import docker
import pytest

from tests.integration.appliance import bake

CASES = {
    "missing requirements file": (
        {"REQUIREMENTS": "requirements/no-such-file.txt"},
        "REQUIREMENTS: file not found: requirements/no-such-file.txt",
    ),
    "requirement that does not exist upstream": (
        {"REQUIREMENTS": "tests/integration/requirements/nonexistent.txt"},
        "this-project-does-not-exist-pypi-mirror-test was not found in the package registry",
    ),
    "version that cannot be satisfied": (
        {"REQUIREMENTS": "tests/integration/requirements/unsatisfiable.txt"},
        "there is no version of requests==0.0.999",
    ),
    "upstream unreachable": (
        # 127.0.0.1 inside the build step is the build container: nothing listens there.
        {"INDEX_URL": "http://127.0.0.1:9/simple/"},
        "http://127.0.0.1:9/simple/",
    ),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_bad_input_fails_with_one_line_and_tags_no_image(case, docker_client):
    env, cause = CASES[case]
    tag = f"bad-input-{abs(hash(case)) % 10**8}"
    result = bake(TAG=tag, PYTHON_VERSIONS="3.11", PLATFORMS="manylinux_x86_64", **env)

    assert result.returncode != 0
    # BuildKit repeats a failed step's last lines in its summary: count distinct messages.
    errors = set(re.findall(r"(?:pypi-mirror|build): error: (.*)", result.stderr))
    assert len(errors) == 1, result.stderr[-3000:]
    assert cause in errors.pop()
    with pytest.raises(docker.errors.ImageNotFound):
        docker_client.images.get(f"pypi-mirror:{tag}")
