"""Issue 3: what a build costs against the real upstream, and what a rebuild costs.

build.py runs on the host, as the image's build step runs it. Cold means a
fresh --cache-dir (uv's resolver cache lives in it too); the baseline is a
plain `pip download` of the same requirements into an empty folder with no
cache, interleaved with the cold builds. The host is py3.11 on x86-64 Linux,
so pip's own resolution is for the same target as the one-target build.
"""

from __future__ import annotations

import artifacts
from common import CA_BUNDLE, REPO, TARGET_PLATFORM, TARGET_PYTHON, Settings, log, median, rmtree, timed, upstream_env
from report import Goal, Section, Table, secs, times

REQUIREMENTS = REPO / "requirements" / "pip-audit.txt"
INDEX_URL = "https://pypi.org/simple/"


def suite(settings: Settings) -> Section:
    env = upstream_env(TMPDIR=str(settings.tmp))
    work = settings.work / "build"
    rounds = settings.count(3, 1)

    def build(out: str, cache: str, *extra: str) -> float:
        command = [settings.python, str(REPO / "build.py"), "build", "-o", str(work / out),
                   "--index-url", INDEX_URL, "--ca-bundle", CA_BUNDLE, "--cache-dir", str(work / cache), *extra]
        return timed(command, env=env, cwd=REPO, timeout=900)

    def one_target(out: str, cache: str) -> float:
        return build(out, cache, "-r", str(REQUIREMENTS), "--python-versions", TARGET_PYTHON,
                     "--platforms", TARGET_PLATFORM)

    pip_times, cold_times = [], []
    for round_ in range(rounds):
        for step in ("pip", "cold") if round_ % 2 == 0 else ("cold", "pip"):
            rmtree(work)
            if step == "pip":
                took = timed([settings.python, "-m", "pip", "download", "--isolated", "--no-cache-dir", "--quiet",
                              "--cert", CA_BUNDLE, "--index-url", INDEX_URL, "-r", str(REQUIREMENTS),
                              "-d", str(work / "pip-download")], env=env, timeout=900)
                pip_times.append(took)
            else:
                took = one_target("one", "cache-one")
                cold_times.append(took)
            log(f"build round {round_ + 1}/{rounds} {step}: {took:.1f} s")

    rmtree(work)
    matrix = build("matrix", "cache-matrix", "-r", str(REQUIREMENTS))
    log(f"cold default matrix: {matrix:.1f} s")
    files = len(artifacts.lock_files(work / "matrix"))
    warm = [build("matrix", "cache-matrix", "-r", str(REQUIREMENTS)) for _ in range(rounds)]
    log(f"unchanged rebuilds: {', '.join(f'{t:.1f}' for t in warm)} s")
    (work / "lock.json").write_bytes((work / "matrix" / "lock.json").read_bytes())
    from_lock = [build("matrix", "cache-matrix", "--lock", str(work / "lock.json")) for _ in range(rounds)]
    rmtree(work)

    pip_s, cold_s, warm_s, lock_s = median(pip_times), median(cold_times), median(warm), median(from_lock)
    section = Section("build", "Build cost (issue 3)")
    section.tables.append(Table(("step", "seconds", "ratio", "baseline"), (
        ("`pip download -r requirements/pip-audit.txt` (no cache)", secs(pip_s), "1.00x", "itself"),
        (f"cold build, one target (py{TARGET_PYTHON} {TARGET_PLATFORM})", secs(cold_s), times(cold_s / pip_s),
         "pip download"),
        (f"cold build, default matrix (10 targets, {files} files)", secs(matrix), times(matrix / cold_s),
         "cold one-target build"),
        ("unchanged rebuild, default matrix (warm cache, resolves again)", secs(warm_s), times(warm_s / matrix),
         "cold matrix build"),
        ("unchanged rebuild from its lock.json (warm cache)", secs(lock_s), times(lock_s / matrix),
         "cold matrix build"),
    ), f"build.py on the host against {INDEX_URL}; median of {rounds} (cold matrix: one run)"))
    section.goals += [
        Goal("cold one-target build vs plain pip download", "<= 1.2x", times(cold_s / pip_s), cold_s <= 1.2 * pip_s),
        Goal("cold default matrix vs cold one target", "<= 3x", times(matrix / cold_s), matrix <= 3 * cold_s),
        Goal("unchanged rebuild (build step)", "< 5 s", f"{secs(warm_s)} s", warm_s < 5),
    ]
    section.notes += [
        "Each timing is a whole `python build.py build` process (interpreter start, resolving with uv, "
        "selecting files from the upstream pages, downloading, verifying, writing the tree).",
        "Cold: a fresh `--cache-dir` (uv's cache included). pip download and the cold one-target build "
        "alternate, so both see the same upstream weather.",
        "The upstream here is reached through this machine's TLS-intercepting proxy; absolute seconds "
        "depend on it, the ratios less so.",
    ]
    return section
