"""The documentation points at what exists: its links, the files the code cites, the declared dependencies."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[2]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
# [text](target) and [text]: target; a target with a scheme (https:, mailto:) or only an anchor is not a file.
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)|^\[[^\]]+\]:\s*(\S+)", re.M)


def relative_links(page: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    targets = [a or b for a, b in LINK.findall(text)]
    return [t for t in targets if not re.match(r"[a-z][a-z0-9+.-]*:", t) and not t.startswith("#")]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_points_at_a_file_that_exists(page):
    missing = [t for t in relative_links(page) if not (page.parent / t.split("#")[0]).exists()]
    assert missing == [], f"{page.relative_to(REPO)} links to files that do not exist: {missing}"


def test_the_readme_links_every_page_in_docs():
    linked = {(REPO / t.split("#")[0]).resolve() for t in relative_links(REPO / "README.md")}
    unlinked = [p.name for p in PAGES[1:] if p.resolve() not in linked]
    assert unlinked == [], f"README.md does not link docs/{unlinked}"


def test_every_test_file_the_code_cites_exists():
    cited = {}
    # The project's own files: bench/.venv (bench/run's) holds other projects' text.
    tracked = subprocess.run(["git", "ls-files", "mirror", "bench", "scripts"], cwd=REPO, capture_output=True,
                             text=True, check=True).stdout.split()
    for path in (REPO / name for name in tracked):
        if path.is_file() and path.suffix in {".py", ".sh", ".js", ""}:
            for name in re.findall(r"tests/[\w/.-]+\.py", path.read_text(encoding="utf-8", errors="replace")):
                cited.setdefault(name, path.relative_to(REPO))
    missing = {name: str(where) for name, where in cited.items() if not (REPO / name).exists()}
    assert missing == {}


def test_pyproject_declares_what_build_py_runs_on():
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    lines = (REPO / "mirror" / "requirements.in").read_text().splitlines()
    wanted = [line for line in lines if line.strip() and not line.startswith("#")]
    assert sorted(str(Requirement(r)) for r in declared) == sorted(str(Requirement(r)) for r in wanted)
