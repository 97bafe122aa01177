"""Fixtures: a fake upstream index per test, and the real CLI run against it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

import mirror.core.http
from tests.upstream.fake_index import FakeIndex
from mirror.cli import main

ERROR_PREFIX = "pypi-mirror: error:"


@pytest.fixture(autouse=True)
def quick_network(monkeypatch):
    monkeypatch.setattr(mirror.core.http, "TIMEOUT", (2, 1))
    monkeypatch.setattr(mirror.core.http, "BACKOFF", 0.01)
    # The resolver's own retries only slow down the tests that expect a failure.
    monkeypatch.setenv("UV_HTTP_RETRIES", "0")


@pytest.fixture
def index():
    with FakeIndex() as fake:
        yield fake


@dataclasses.dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def errors(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.startswith(ERROR_PREFIX)]

    @property
    def error(self) -> str:
        """The one error line; fails the test if there is not exactly one."""
        assert len(self.errors) == 1, self.err
        return self.errors[0]


class Builder:
    """Runs `build.py build` in-process, as a user would, against one fake index."""

    def __init__(self, tmp_path: Path, capfd, index: FakeIndex):
        self.tmp_path, self.capfd, self.index = tmp_path, capfd, index
        self.cache = tmp_path / "cache"

    def requirements(self, text: str, name: str = "requirements.txt") -> Path:
        path = self.tmp_path / name
        path.write_text(text)
        return path

    def __call__(self, *, requirements: str | Path | None = "alpha\n", lock: Path | None = None,
                 out: str = "out", index_url: str | None = None, extra: tuple[str, ...] = ()) -> Result:
        source = ["--lock", str(lock)] if lock else [
            "-r", str(requirements if isinstance(requirements, Path) else self.requirements(requirements))]
        argv = [
            "build", *source, "-o", str(self.tmp_path / out),
            "--index-url", index_url or self.index.url,
            "--python-versions", "3.11", "--platforms", "manylinux_x86_64",
            "--cache-dir", str(self.cache),
            # Only the fake index exists for these builds: never OSV's public export.
            "--vuln-db-url", "off", *extra,
        ]
        self.capfd.readouterr()
        code = main(argv)
        captured = self.capfd.readouterr()
        return Result(code, captured.out, captured.err)


@pytest.fixture
def build(tmp_path, capfd, index):
    return Builder(tmp_path, capfd, index)
