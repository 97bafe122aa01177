"""Issue 14: what the default 10-target matrix costs against one target, cold, in one run.

Three cold builds of requirements/pip-audit.txt per round (fresh --cache-dir
each: uv's cache and the verified files start empty), in rotating order so
all see the same upstream weather: one target; the default matrix with one
universal resolution whose markers are evaluated per target (the default);
the default matrix with one resolution per target (the old way, for
comparison). Each build ends with the closure check, so its cost is in.
"""

from __future__ import annotations

import re
import time

import artifacts
from common import CA_BUNDLE, REPO, TARGET_PLATFORM, TARGET_PYTHON, Settings, log, median, rmtree, run, upstream_env
from report import Goal, Section, Table, secs, times

REQUIREMENTS = REPO / "requirements" / "pip-audit.txt"
INDEX_URL = "https://pypi.org/simple/"
_RESOLVED = re.compile(r"resolved \d+ pins for \d+ targets: \d+ files to mirror \(([\d.]+) s\)")
_CLOSURE = re.compile(r"closure check: .* \(([\d.]+) s\)")


def suite(settings: Settings) -> Section:
    env = upstream_env(TMPDIR=str(settings.tmp))
    work = settings.work / "matrix"
    rounds = settings.count(3, 1)
    kinds = {
        "one": ("--python-versions", TARGET_PYTHON, "--platforms", TARGET_PLATFORM),
        "universal": ("--resolution", "universal"),
        "per-target": ("--resolution", "per-target"),
    }
    took: dict[str, list[tuple[float, float, float, int]]] = {k: [] for k in kinds}
    order = list(kinds)
    for round_ in range(rounds):
        for kind in order[round_ % 3:] + order[:round_ % 3]:
            rmtree(work)
            command = [settings.python, str(REPO / "build.py"), "build", "-o", str(work / "out"),
                       "-r", str(REQUIREMENTS), "--index-url", INDEX_URL, "--ca-bundle", CA_BUNDLE,
                       "--cache-dir", str(work / "cache"), "--audit", "off", *kinds[kind]]
            started = time.perf_counter()
            result = run(command, env=env, cwd=REPO, timeout=900)
            total = time.perf_counter() - started
            resolved = float(_RESOLVED.search(result.stdout).group(1))
            closure = float(_CLOSURE.search(result.stdout).group(1))
            files = len(artifacts.lock_files(work / "out"))
            took[kind].append((total, resolved, closure, files))
            log(f"matrix round {round_ + 1}/{rounds} {kind}: {total:.1f} s (resolve+select {resolved:.1f} s, "
                f"closure {closure:.1f} s, {files} files)")
    rmtree(work)

    def med(kind: str, column: int) -> float:
        return median([row[column] for row in took[kind]])

    one, universal, per_target = (med(k, 0) for k in kinds)
    section = Section("matrix", "Matrix cost (issue 14)")
    rows = []
    for kind, label in (("one", f"one target (py{TARGET_PYTHON} {TARGET_PLATFORM})"),
                        ("universal", "default matrix (10 targets), universal resolution + per-target markers"),
                        ("per-target", "default matrix (10 targets), one resolution per target")):
        total = med(kind, 0)
        rows.append((label, str(took[kind][0][3]), secs(total), secs(med(kind, 1)), secs(med(kind, 2)),
                     times(total / one)))
    section.tables.append(Table(("cold build", "files", "seconds", "resolve + select", "closure check",
                                 "vs one target"), tuple(rows),
                                f"build.py on the host against {INDEX_URL}, fresh cache each; median of {rounds}"))
    section.goals += [
        Goal("cold default matrix vs cold one target", "<= 2x", times(universal / one), universal <= 2 * one),
        Goal("universal vs per-target resolution (matrix)", "faster", times(universal / per_target),
             universal < per_target),
    ]
    section.notes += [
        "Every build resolves, selects files from the upstream pages, downloads and verifies them, writes "
        "the tree and runs the closure check (uv against the built tree alone, per target); the audit is off.",
        "The matrix downloads more files than one target (wheels per platform and Python): that part of the "
        "ratio is the mirror's content, not its method.",
    ]
    return section
