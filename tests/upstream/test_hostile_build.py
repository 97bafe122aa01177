"""Issue 21, the build side: package code, includes, names and credentials from a stranger never win."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest

from tests.upstream.fake_index import FakeIndex, backend_sdist, dynamic_sdist, wheel

SECRET = "hunter2-never-seen"


def backend(marker: Path, probe: str, requires: str = "") -> str:
    """A build backend (evil 1.0, depending on `requires` if given) whose every hook first appends
    what `probe` (the source of a function `_probe()` returning a JSON-able value) returns to marker."""
    requires_dist = f"Requires-Dist: {requires}\\n" if requires else ""
    hooks = textwrap.dedent(f"""\
        def _mark():
            with open({str(marker)!r}, "a") as out:
                out.write(json.dumps(_probe()) + "\\n")

        def get_requires_for_build_wheel(config_settings=None):
            _mark()
            return []

        def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
            _mark()
            folder = os.path.join(metadata_directory, "evil-1.0.dist-info")
            os.makedirs(folder)
            with open(os.path.join(folder, "METADATA"), "w") as out:
                out.write("Metadata-Version: 2.1\\nName: evil\\nVersion: 1.0\\n{requires_dist}")
            return "evil-1.0.dist-info"

        def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
            _mark()
            raise RuntimeError("not built here")
        """)
    return "import ctypes, json, os, socket, subprocess, sys\n\n" + textwrap.dedent(probe) + "\n" + hooks


def evil_backend(marker: Path) -> str:
    """A build backend that records that it ran, with the environment it ran in, and then answers."""
    return backend(marker, """\
        def _probe():
            return dict(os.environ)
        """)


@pytest.fixture
def marker(tmp_path) -> Path:
    return tmp_path / "backend-ran.jsonl"


@pytest.fixture
def index(marker):
    # alpha needs evil, which exists only as an sdist whose metadata only its backend gives.
    with FakeIndex([wheel("alpha", "1.0", "evil"), backend_sdist("evil", "1.0", evil_backend(marker))]) as fake:
        yield fake


@pytest.fixture
def secret_environment(monkeypatch):
    """What a build host's environment holds besides the build's own knobs: none of it is uv's business."""
    monkeypatch.setenv("TWINE_PASSWORD", SECRET)
    monkeypatch.setenv("PYPI_MIRROR_INDEX_CREDENTIALS_NOTE", SECRET)
    monkeypatch.setenv("GITHUB_TOKEN", SECRET)


def test_resolution_never_runs_a_build_backend_by_default(build, marker, index):
    # Failed before issue 21: uv pip compile ran evil's backend to read its metadata.
    result = build(requirements="alpha\n", extra=("--include-sdists",))
    assert result.code == 1
    assert "evil" in result.error and "BUILD_SDIST_METADATA" not in result.error
    assert "--build-sdist-metadata" in result.error
    assert not marker.exists(), "the sdist's build backend ran during resolution"


def test_the_knob_runs_the_backend_without_a_secret_in_its_environment(build, marker, index, secret_environment):
    # Failed before issue 21: no such knob; uv (and so the backend) inherited the whole environment.
    result = build(requirements="alpha\n", extra=("--include-sdists", "--build-sdist-metadata"))
    assert result.code == 0, result.err
    assert marker.exists()
    for line in marker.read_text().splitlines():
        environment = json.loads(line)
        assert not [k for k, v in environment.items() if SECRET in v], "a secret reached the build backend"
        assert not [k for k in environment if k.startswith(("PYPI_MIRROR_", "TWINE_"))]
        assert environment.get("NETRC") in (None, os.devnull)
        assert environment["HOME"] != os.environ.get("HOME"), "the backend was pointed at the user's home"
        assert not environment["UV_CACHE_DIR"].startswith(str(build.cache)), "package output in the kept cache"


def calling_backend(marker: Path, port: int, path: str) -> str:
    """A build backend that tries every way out to the index's own address before it answers:
    Python's socket, the socket syscall through ctypes, and a child process."""
    return backend(marker, f"""\
        def _probe():
            tried = {{}}
            try:
                with socket.create_connection(("127.0.0.1", {port}), timeout=5) as conn:
                    conn.sendall(b"GET {path} HTTP/1.0\\r\\n\\r\\n")
                    conn.recv(100)
                tried["python"] = "connected"
            except OSError as exc:
                tried["python"] = type(exc).__name__
            tried["syscall"] = ctypes.CDLL(None, use_errno=True).socket(socket.AF_INET, socket.SOCK_STREAM, 0)
            child = [sys.executable, "-c", "import socket; socket.create_connection(('127.0.0.1', {port}))"]
            tried["child"] = subprocess.run(child, capture_output=True).returncode
            return tried
        """, requires="beta")


def test_the_knobs_backend_has_no_network_not_even_to_the_index(build, marker, tmp_path):
    # Failed before: the backend ran with the build step's network and fetched from the index itself.
    path = f"/exfil-{os.urandom(6).hex()}"
    with FakeIndex([wheel("alpha", "1.0", "evil"), wheel("beta", "1.0")]) as fake:
        fake.dists["evil-1.0.tar.gz"] = backend_sdist("evil", "1.0", calling_backend(marker, fake.port, path))
        result = build(requirements="alpha\n", index_url=fake.url, extra=("--include-sdists", "--build-sdist-metadata"))
        assert result.code == 0, result.err
        assert marker.exists(), "the backend never ran"
        assert fake.requests(path) == [], "the build backend reached the index"
    tried = json.loads(marker.read_text().splitlines()[0])
    assert tried == {"python": "PermissionError", "syscall": -1, "child": 1}
    # The metadata the fenced backend gave (evil needs beta) is what the resolution used.
    assert (tmp_path / "out" / "projects" / "beta").is_dir()


COMMON_BACKENDS = {
    "setuptools": {"pyproject.toml": '[build-system]\nrequires = ["setuptools>=70"]\n'
                                     'build-backend = "setuptools.build_meta"\n',
                   "setup.py": 'from setuptools import setup\nsetup(name="evil", version="1.0", install_requires=["beta"])\n'},
    "hatchling": {"pyproject.toml": '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'
                                    '[project]\nname = "evil"\nversion = "1.0"\ndependencies = ["beta"]\n'
                                    '[tool.hatch.build.targets.wheel]\nbypass-selection = true\n'},
}


@pytest.mark.parametrize("backend", sorted(COMMON_BACKENDS))
def test_the_knob_builds_with_the_common_backends_the_index_does_not_serve(build, tmp_path, backend):
    # The fenced environment brings its own pinned backends: the index here has none of them.
    with FakeIndex([wheel("alpha", "1.0", "evil"), wheel("beta", "1.0"),
                    dynamic_sdist("evil", "1.0", COMMON_BACKENDS[backend])]) as fake:
        result = build(requirements="alpha\n", index_url=fake.url, extra=("--include-sdists", "--build-sdist-metadata"))
        assert result.code == 0, result.err
    assert (tmp_path / "out" / "projects" / "beta").is_dir()


def test_the_knob_names_an_sdist_whose_backend_the_build_does_not_carry(build):
    pyproject = '[build-system]\nrequires = ["maturin>=1"]\nbuild-backend = "maturin"\n'
    with FakeIndex([wheel("alpha", "1.0", "evil"), dynamic_sdist("evil", "1.0", {"pyproject.toml": pyproject})]) as fake:
        result = build(requirements="alpha\n", index_url=fake.url, extra=("--include-sdists", "--build-sdist-metadata"))
    assert result.code == 1
    assert "evil" in result.error and "maturin" in result.error


@pytest.mark.parametrize("given", ["url", "netrc", "credentials file"])
def test_the_knob_is_refused_beside_any_secret(build, marker, index, tmp_path, monkeypatch, given):
    # Failed before issue 21: the knob did not exist (and the backend always ran beside the credentials).
    extra, url = ("--include-sdists", "--build-sdist-metadata"), index.url
    secret = tmp_path / "secret"
    if given == "url":
        url = index.url_with("builder", SECRET)
    elif given == "netrc":
        secret.write_text(f"machine other.example login someone password {SECRET}\n")
        monkeypatch.setenv("NETRC", str(secret))
    else:
        secret.write_text(f"http://builder:{SECRET}@other.example/simple/\n")
        extra += ("--index-credentials", str(secret))
    result = build(requirements="alpha\n", index_url=url, extra=extra)
    assert result.code == 1
    assert result.error.startswith("pypi-mirror: error: --build-sdist-metadata: package code cannot run beside "
                                   "secrets: ")
    assert SECRET not in result.err
    assert not marker.exists()


# -- item 2: includes and file inputs stay in their folder; a secret is never printed


def test_an_include_of_a_secret_file_fails_naming_the_line_and_never_prints_it(build, tmp_path):
    # Failed before issue 21: the netrc was read as requirements and its first line (password) printed.
    secret = tmp_path / "secrets" / "netrc"
    secret.parent.mkdir()
    secret.write_text(f"machine index.example login builder password {SECRET}\n")
    folder = tmp_path / "set"
    folder.mkdir()
    root = build.requirements(f"alpha\n-r {secret}\n", name="set/requirements.txt")
    result = build(requirements=root)
    assert result.code == 1
    assert result.error.startswith(f"pypi-mirror: error: {root}:2: -r {secret}: includes ")
    assert SECRET not in result.out + result.err


def test_a_file_input_that_is_a_symlink_out_of_its_folder_is_refused(build, tmp_path):
    # Failed before issue 21: the link was followed (in an image build: to the builder's /run/secrets).
    secret = tmp_path / "netrc"
    secret.write_text(f"machine index.example login builder password {SECRET}\n")
    (tmp_path / "inputs").mkdir()
    (tmp_path / "inputs" / "lock.json").symlink_to(secret)
    result = build(lock=tmp_path / "inputs" / "lock.json", out="again")
    assert result.code == 1
    assert result.error.startswith("pypi-mirror: error: --lock: ") and "outside its folder" in result.error
    assert SECRET not in result.err
