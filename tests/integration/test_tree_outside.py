"""The tree copied out of the image works with no server: file:// index and --find-links.

Clients run on the host, isolated from its pip configuration (which adds
local indexes) so that only the copied tree can satisfy them.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
import venv
from pathlib import Path

import pytest

UV = str(Path(sys.executable).parent / "uv")


@pytest.fixture(scope="module")
def tree(mirror_image, docker_client, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("copied")
    container = docker_client.containers.create(mirror_image)
    try:
        stream, _ = container.get_archive("/srv/pypi")
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as archive:
            archive.extractall(out, filter="data")
    finally:
        container.remove()
    return out / "pypi"


def isolated_env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    return {**env, "PIP_CONFIG_FILE": os.devnull, "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "UV_NO_CONFIG": "1", "UV_NO_CACHE": "1", "UV_PYTHON_DOWNLOADS": "never"}


def fresh_venv(path: Path) -> Path:
    venv.create(path, with_pip=True)
    return path / "bin" / "python"


def run(*command) -> None:
    result = subprocess.run(command, env=isolated_env(), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]


def test_pip_installs_from_a_file_index(tree, tmp_path):
    python = fresh_venv(tmp_path / "v")
    run(python, "-m", "pip", "install", "--isolated", "--quiet", "--index-url", f"file://{tree}/simple/",
        "pip-audit")
    run(tmp_path / "v" / "bin" / "pip-audit", "--version")


def test_pip_installs_from_find_links_with_no_index(tree, tmp_path):
    python = fresh_venv(tmp_path / "v")
    run(python, "-m", "pip", "install", "--isolated", "--quiet", "--no-index", "--find-links",
        str(tree / "packages"), "pip-audit")
    run(tmp_path / "v" / "bin" / "pip-audit", "--version")


@pytest.mark.parametrize("source", ["index", "find-links"])
def test_uv_installs_from_the_copied_tree(tree, tmp_path, source):
    run(UV, "venv", "--quiet", "--python", sys.executable, str(tmp_path / "u"))
    where = (["--index-url", f"file://{tree}/simple/"] if source == "index"
             else ["--no-index", "--find-links", str(tree / "packages")])
    run(UV, "pip", "install", "--quiet", "--python", str(tmp_path / "u" / "bin" / "python"), *where, "pip-audit")
    run(tmp_path / "u" / "bin" / "pip-audit", "--version")
