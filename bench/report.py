"""Results -> Markdown: printed, and written into BENCHMARKS.md one suite section at a time.

Each suite owns the text between its two markers in BENCHMARKS.md, so
`bench/run build` refreshes the build section and leaves the others as the
last run left them (each section says when and how it was measured).
"""

from __future__ import annotations

import dataclasses
import datetime
import platform
import re
import subprocess
from pathlib import Path

from common import REPO


@dataclasses.dataclass(frozen=True)
class Goal:
    what: str
    target: str
    measured: str
    met: bool

    @property
    def status(self) -> str:
        return "PASS" if self.met else "MISS"


@dataclasses.dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    title: str = ""


@dataclasses.dataclass
class Section:
    name: str  # the suite name, also the marker
    title: str
    tables: list[Table] = dataclasses.field(default_factory=list)
    goals: list[Goal] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)


HEADER = """# Benchmarks

Measured by `bench/run` (see bench/README.md); every ratio compares numbers
taken in the same run on the same machine. Absolute numbers drift between
machines and runs; the ratios are what the goals are about. Goals are never
asserted by the tests: a MISS here is a finding, not a failure.

Machine: 2 cores, shared with other engineers' test runs while measuring
(noisy), Debian 12, Docker engine 26.1 (Debian 13's) with buildx 0.29; everything on 127.0.0.1.
"""


def render(section: Section, *, quick: bool) -> str:
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"## {section.title}", "",
             f"_Run {stamp}, commit {_commit()}, {'--quick' if quick else 'full'} mode, "
             f"Python {platform.python_version()}._", ""]
    for table in section.tables:
        if table.title:
            lines += [f"**{table.title}**", ""]
        lines.append("| " + " | ".join(table.headers) + " |")
        lines.append("|" + "|".join("---" for _ in table.headers) + "|")
        lines += ["| " + " | ".join(row) + " |" for row in table.rows]
        lines.append("")
    if section.goals:
        lines += ["| goal | target | measured | |", "|---|---|---|---|"]
        lines += [f"| {g.what} | {g.target} | {g.measured} | {g.status} |" for g in section.goals]
        lines.append("")
    lines += [f"- {note}" for note in section.notes]
    return "\n".join(lines).rstrip() + "\n"


def write(path: Path, name: str, body: str) -> None:
    """Replace this suite's section of path (create the file or append the section if missing)."""
    start, end = f"<!-- bench:{name} start -->", f"<!-- bench:{name} end -->"
    block = f"{start}\n{body}{end}"
    text = path.read_text(encoding="utf-8") if path.exists() else HEADER
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")


def _commit() -> str:
    result = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    return (result.stdout.strip() or "unknown") + (" + uncommitted changes" if dirty else "")


# --- number formatting shared by the suites ----------------------------------

def rate(value: float) -> str:
    return f"{value:,.0f}"


def ms(value: float) -> str:
    return f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def secs(value: float) -> str:
    return f"{value:.2f}" if value < 10 else f"{value:.1f}"


def times(value: float) -> str:
    return f"{value:.1f}x" if value >= 10 else f"{value:.2f}x"


def mb(n: float) -> str:
    return f"{n / 1e6:.1f} MB"
