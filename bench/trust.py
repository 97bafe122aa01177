"""Issue 22: what PEP 740 provenance verification costs a build.

Two measurements, each against a baseline taken in the same run:

1. Whole builds with PROVENANCE=verify against PROVENANCE=off (interleaved,
   warm cache: the downloads are the same for both, so the difference is the
   provenance step), for the default set and, unless --quick, the
   data-science set (bench/layers.py's), one target. The index this machine
   reaches serves no provenance (Simple API 1.1), so this measures the
   step's fixed cost (the policy checks), not the per-file work.
2. The work a signed file adds, measured on real signed files
   (tests/fixtures/trust): importing pypi-attestations and Sigstore (once
   per build, only when some file has provenance) and one verification per
   file (parse, Sigstore offline, digest and publisher checks), projected
   onto the default set's file count as if every file had one; the fetch of
   each object is one small GET on the upstream session, not included.
"""

from __future__ import annotations

import os
import subprocess
import time

import artifacts
from common import CA_BUNDLE, REPO, TARGET_PLATFORM, TARGET_PYTHON, Settings, log, median, rmtree, timed, upstream_env
from report import Goal, Section, Table, ms, secs, times

DEFAULT_SET = REPO / "requirements" / "pip-audit.txt"
DATA_SCIENCE = ["jupyterlab", "pandas", "scikit-learn", "matplotlib", "seaborn", "requests"]
INDEX_URL = "https://pypi.org/simple/"
ASSETS = REPO / "tests" / "fixtures" / "trust"
SIGNED = ["circleci_sign_publish_example-0.0.1.dev137-py3-none-any.whl", "pypi_attestations-0.0.19.tar.gz",
          "gcb_attestation_test-0.0.0.tar.gz"]


def suite(settings: Settings) -> Section:
    env = upstream_env(TMPDIR=str(settings.tmp))
    work = settings.work / "trust"
    rounds = settings.count(3, 1)
    sets = [("default set (requirements/pip-audit.txt)", DEFAULT_SET)]
    if not settings.quick:
        work.mkdir(parents=True, exist_ok=True)
        data_science = work / "data-science.txt"
        data_science.write_text("\n".join(DATA_SCIENCE) + "\n")
        sets.append(("data-science set (bench/layers.py's)", data_science))

    rows, goals, counts, off_medians = [], [], {}, {}
    for label, requirements in sets:
        cache = work / f"cache-{requirements.stem}"

        def build(policy: str) -> float:
            rmtree(work / "out")
            return timed([settings.python, str(REPO / "build.py"), "build", "-o", str(work / "out"),
                          "-r", str(requirements), "--index-url", INDEX_URL, "--ca-bundle", CA_BUNDLE,
                          "--cache-dir", str(cache), "--python-versions", TARGET_PYTHON,
                          "--platforms", TARGET_PLATFORM, "--vuln-db-url", "off", "--provenance", policy],
                         env=env, cwd=REPO, timeout=1800)

        build("verify")  # fills the cache: both policies then download nothing
        counts[requirements] = len(artifacts.lock_files(work / "out"))
        on, off = [], []
        for round_ in range(rounds):
            for policy in ("verify", "off") if round_ % 2 == 0 else ("off", "verify"):
                took = build(policy)
                (on if policy == "verify" else off).append(took)
                log(f"trust {requirements.stem} round {round_ + 1}/{rounds} {policy}: {took:.1f} s")
        on_s, off_s = median(on), median(off)
        off_medians[requirements] = off_s
        rows.append((f"{label}, {counts[requirements]} files, warm cache", secs(off_s), secs(on_s),
                     times(on_s / off_s)))
        goals.append(Goal(f"build with verification vs without, {label}", "<= 1.2x", times(on_s / off_s),
                          on_s <= 1.2 * off_s))
    rmtree(work)

    per_file = _verify_cost(settings.count(20, 3))
    imports = _import_cost(settings.python, settings.count(5, 2))
    files = counts[DEFAULT_SET]
    projected = imports + per_file * files
    baseline = off_medians[DEFAULT_SET]
    section = Section("trust", "Provenance verification cost (issue 22)")
    section.tables.append(Table(("build", "PROVENANCE=off s", "PROVENANCE=verify s", "ratio"), tuple(rows),
                                f"build.py on the host against {INDEX_URL}, py{TARGET_PYTHON} "
                                f"{TARGET_PLATFORM}, median of {rounds}, interleaved"))
    section.tables.append(Table(("what", "time", "ratio", "baseline"), (
        ("importing pypi-attestations and Sigstore (once per build that meets a provenance), ms",
         ms(imports * 1000), "", ""),
        ("one verification of a real signed file (pypi-attestations, Sigstore offline), ms",
         ms(per_file * 1000), "", ""),
        (f"projected: every one of the default set's {files} files signed, s", secs(projected),
         times((baseline + projected) / baseline), "default-set build without verification"),
    ), f"median over the {len(SIGNED)} real signed files in tests/fixtures/trust"))
    section.goals.append(Goal("projected build, every default-set file signed, vs without verification",
                              "<= 1.2x", times((baseline + projected) / baseline),
                              baseline + projected <= 1.2 * baseline))
    section.goals += goals
    section.notes += [
        "The index reached here serves Simple API 1.1 without provenance: the whole-build rows measure the "
        "provenance step's fixed cost only (the policy checks; pypi-attestations is imported only when a file "
        "has provenance); the "
        "projection adds the measured per-file verification for a default set where every file is signed "
        "(the one GET per object is not included).",
        "The projection's cost is mostly the one-time import (pydantic models of sigstore and "
        "pypi-attestations), set against a warm rebuild of a few seconds; a cold build (the `build` suite) "
        "takes tens of seconds, where the same second is a few percent. Verification results are not cached "
        "across builds on purpose: every build checks every object it serves.",
        "The import's time swings with the machine's load: an earlier full run at load 7.3 measured 1,225 ms "
        "and a projected 1.34x (MISS); the projection's goal is borderline on a loaded 2-core host.",
                "Ratios below 1.00x are noise: the two policies do the same work when no file has provenance.",
                f"Load average when the suite ended: {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
        "(other engineers' builds and tests share the 2 cores).",
    ]
    return section


def _import_cost(python: str, repeats: int) -> float:
    """Median seconds `import pypi_attestations` adds to a fresh interpreter (against `import json`)."""
    def run(statement: str) -> float:
        started = time.perf_counter()
        subprocess.run([python, "-c", statement], check=True, capture_output=True)
        return time.perf_counter() - started

    pairs = [(run("import json"), run("import pypi_attestations")) for _ in range(repeats)]
    return max(0.0, median([with_ - without for without, with_ in pairs]))


def _verify_cost(repeats: int) -> float:
    """Median seconds of one verify_provenance call over the real signed files (in-process, warm imports)."""
    from mirror.fetch.provenance import verify_provenance

    samples = []
    for _ in range(repeats):
        for filename in SIGNED:
            data = (ASSETS / f"{filename}.provenance").read_bytes()
            started = time.perf_counter()
            verify_provenance(ASSETS / filename, data)
            samples.append(time.perf_counter() - started)
    return median(samples)
