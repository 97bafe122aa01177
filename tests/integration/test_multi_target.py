"""One build for several Python versions and platforms, markers evaluated per target.

click brings colorama only on Windows, and only up to click 8.1 (the last
release for Python 3.9); msgpack needs one binary wheel per target.
"""

from __future__ import annotations

import pytest

from tests.integration.appliance import build_or_fail, run_client, running_mirror

TARGETS = {"PYTHON_VERSIONS": "3.9 3.13", "PLATFORMS": "manylinux_x86_64 win_amd64"}
LINUX_TARGETS = [("3.9", "x86_64-manylinux_2_28"), ("3.13", "x86_64-manylinux_2_28")]


@pytest.fixture(scope="module")
def multi_image():
    build_or_fail(TAG="multi-target", REQUIREMENTS="tests/integration/requirements/pip-audit-click.txt",
                  **TARGETS)
    return "pypi-mirror:multi-target"


@pytest.fixture(scope="module")
def multi_mirror(multi_image, internal_network):
    with running_mirror(multi_image, internal_network) as mirror:
        yield mirror


@pytest.fixture(scope="module")
def lock(multi_mirror) -> dict:
    return multi_mirror.get("/lock.json").json()


def pins(lock: dict, target: str) -> dict:
    return next(t["pins"] for t in lock["targets"] if t["name"] == target)


def test_lock_has_every_target_with_its_marker(lock):
    assert [t["name"] for t in lock["targets"]] == [
        "py3.9-manylinux_x86_64", "py3.9-win_amd64", "py3.13-manylinux_x86_64", "py3.13-win_amd64"]
    windows = next(t for t in lock["targets"] if t["name"] == "py3.9-win_amd64")
    assert windows["marker"] == "python_version == '3.9' and sys_platform == 'win32' and platform_machine == 'AMD64'"


def test_colorama_only_where_markers_ask_for_it(lock):
    assert "colorama" in pins(lock, "py3.9-win_amd64")
    assert "colorama" not in pins(lock, "py3.9-manylinux_x86_64")
    assert "colorama" not in pins(lock, "py3.13-manylinux_x86_64")
    colorama = [f for f in lock["files"] if f["name"] == "colorama"]
    assert [f["targets"] for f in colorama] == [["py3.9-win_amd64"]]


def test_versions_differ_per_python(lock):
    # Both dropped Python 3.9 in later releases: 3.9 gets the last one it supports.
    for project in ("click", "pip-audit"):
        assert pins(lock, "py3.9-manylinux_x86_64")[project] != pins(lock, "py3.13-manylinux_x86_64")[project]


def test_one_msgpack_wheel_per_target_with_the_right_tags(lock):
    msgpack = {f["filename"]: f["targets"] for f in lock["files"] if f["name"] == "msgpack"}
    by_target = {t: name for name, targets in msgpack.items() for t in targets}
    assert set(by_target) == {"py3.9-manylinux_x86_64", "py3.9-win_amd64", "py3.13-manylinux_x86_64",
                              "py3.13-win_amd64"}
    assert "-cp39-cp39-" in by_target["py3.9-manylinux_x86_64"] and "manylinux" in by_target["py3.9-manylinux_x86_64"]
    assert by_target["py3.9-win_amd64"].endswith("-cp39-cp39-win_amd64.whl")
    assert "-cp313-cp313-" in by_target["py3.13-manylinux_x86_64"]
    assert by_target["py3.13-win_amd64"].endswith("-cp313-cp313-win_amd64.whl")


def test_pure_wheels_are_stored_once(lock):
    filenames = [f["filename"] for f in lock["files"]]
    assert len(filenames) == len(set(filenames))
    rich = [f for f in lock["files"] if f["name"] == "rich"]
    assert len(rich) == 1 and len(rich[0]["targets"]) == 4


@pytest.mark.parametrize("python, platform", LINUX_TARGETS)
def test_a_client_for_each_linux_target_installs_from_the_mirror(
    multi_mirror, docker_client, client_image, internal_network, python, platform
):
    # No 3.9 or 3.13 interpreter exists here; uv installs for a target it
    # describes, with the same resolver and tag rules an interpreter would use.
    listing = run_client(docker_client, client_image, internal_network, f"""
        uv pip install --quiet --target /t --python-version {python} --python-platform {platform} \\
            --index-url http://{multi_mirror.alias}:8080/simple/ pip-audit click >&2
        ls /t
    """, with_uv=True)
    assert "pip_audit" in listing and "click" in listing and "msgpack" in listing
    assert "colorama" not in listing
