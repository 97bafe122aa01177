"""Issue 18, pages at scale: the front page and its filter at 5,000 projects, in a real browser.

A synthetic site (every project with 10 versions, one file each, for 10
targets; one project in 50 with known advisories) is written by the real
page writer (mirror.tree.landing.write_landing), served by the appliance image
with that tree mounted over its /srv/pypi (--network host, real nginx with
its sub_filter and CSP), and opened in Debian's chromium through Playwright.

Measured at 5,000 projects and, as the baseline in the same run, at 29 (the
pip-audit set's size): the time to write the whole site, the front page's
bytes, the page load, and the filter: the time from an input event until the
first matching row is painted in the viewport, for each keystroke of a typed
query (its matches deep down the table) and for clearing it (every row shown
again). The floor is one frame with no input at all.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import artifacts
from common import IMAGE, BenchError, Settings, container, log, median, port_in_use, rmtree, wait_http
from report import Goal, Section, Table, mb, ms, secs, times

PROJECTS = 5000
BASELINE = 29
VERSIONS = 10
PYTHONS = ("3.10", "3.11", "3.12", "3.13", "3.14")
PLATFORMS = ("manylinux_x86_64", "manylinux_aarch64")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]
# A person typing a name near the end of the table, then clearing the box.
KEYSTROKES = ("s", "sy", "syn", "synth-0", "synth-04", "synth-049", "synth-0499", "synth-04999", "")

# One input event, then frame after frame until the first matching row is
# painted inside the viewport (an off-screen block renders only when near it).
_FILTER = """async (query) => {
  const input = document.getElementById("filter");
  const started = performance.now();
  if (query !== null) {
    input.value = query;
    input.dispatchEvent(new Event("input", {bubbles: true}));
  }
  const frame = () => new Promise(resolve => requestAnimationFrame(() => setTimeout(resolve, 0)));
  await frame();
  if (query === null) { return performance.now() - started; }
  for (let i = 0; i < 600; i++) {
    const row = document.querySelector("#project-table tbody:not([hidden]) tr:not([hidden])");
    const box = row && row.getBoundingClientRect();
    if (!row || (box.height > 0 && box.top < innerHeight)) { return performance.now() - started; }
    await frame();
  }
  throw new Error("the first match never showed: " + query);
}"""


def suite(settings: Settings) -> Section:
    from playwright.sync_api import sync_playwright  # the bench venv has it; other suites do not need it

    if not Path(CHROMIUM).exists():
        raise BenchError(f"{CHROMIUM} is missing (apt-get install chromium; bench/run does it)")
    if port_in_use(8080):
        raise BenchError("port 8080 is in use on this host: the appliance runs with --network host")
    # Any appliance image of this commit serves the mounted tree the same way.
    image = os.environ.get("PYPI_MIRROR_BENCH_IMAGE")
    if not image:
        artifacts.images()
        image = IMAGE
    work = settings.work / "pages"
    rmtree(work)
    results = {}
    rounds = settings.count(5, 2)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for count in (BASELINE, PROJECTS):
                tree = work / f"tree-{count}"
                written = write_site(tree, count)
                log(f"pages: {count} projects written in {written:.1f} s, "
                    f"front page {(tree / 'index.html').stat().st_size / 1e6:.2f} MB")
                with container(f"pages-{count}", ["--network", "host", "-v", f"{tree}:/srv/pypi:ro", image]) as name:
                    wait_http("http://127.0.0.1:8080/healthz", what=name)
                    results[count] = {"write": written, "bytes": (tree / "index.html").stat().st_size,
                                      **_browse(browser, "http://127.0.0.1:8080/", rounds)}
                log(f"pages: {count} projects: load {results[count]['load']:.0f} ms, filter worst "
                    f"{max(results[count]['filter'].values()):.1f} ms")
                rmtree(tree)
        finally:
            browser.close()
    rmtree(work)
    return _section(results, rounds, os.getloadavg()[0])


def write_site(root: Path, count: int) -> float:
    """The real page writer over a synthetic model; the seconds it took."""
    from mirror.advisories.audit import AuditReport, Finding
    from mirror.tree.index import IndexFile, Project
    from mirror.tree.landing import write_landing
    from mirror.resolve.lock import Lock, LockedFile
    from mirror.resolve.pins import Pin
    from mirror.inputs.targets import Target

    targets = [Target(p, platform) for p in PYTHONS for platform in PLATFORMS]
    names = [str(t) for t in targets]
    projects, files, findings, pins = [], [], [], []
    for index in range(count):
        name = f"synth-{index:05d}"
        versions = tuple(f"1.{minor}.0" for minor in range(VERSIONS))
        entries = []
        for version in versions:
            filename = f"synth_{index:05d}-{version}-py3-none-any.whl"
            sha256 = hashlib.sha256(filename.encode()).hexdigest()
            size = 2000 + index * 7 % 50_000
            entries.append(IndexFile(filename, sha256, size, "2026-01-01T00:00:00.000000Z", ">=3.9", False, sha256))
            files.append(LockedFile(filename, name, version, f"https://upstream.invalid/{filename}", sha256, size,
                                    targets=tuple(names)))
        projects.append(Project(name, versions, tuple(sorted(entries))))
        pins.append(Pin(name, versions[-1]))
        if index % 50 == 7:
            for k, version in enumerate(versions[:3]):
                findings.append(Finding(name, version, f"GHSA-synt-{index:04d}-{k:04d}", (f"CVE-2026-{index:05d}",),
                                        (versions[-1],), "A synthetic advisory for the pages benchmark",
                                        severity=("CRITICAL", "HIGH", "MODERATE", "LOW")[index % 4]))
    lock = Lock("https://upstream.invalid/simple/", {t: tuple(pins) for t in targets}, tuple(files))
    audit = AuditReport("warn", True, sources=({"type": "osv-database", "file": "all.zip", "sha256": "0" * 64,
                                                 "records": 20000, "newest-modified": "2026-01-01T00:00:00Z"},),
                        audited=tuple(sorted({(f.name, f.version) for f in files})), findings=tuple(sorted(findings)))
    lock.sha256  # rendered once per build for every stage (mirror/resolve/lock.py): not the pages' cost
    started = time.perf_counter()
    write_landing(projects, lock, root, audit, None, "2026-01-01T00:00:00Z")
    seconds = time.perf_counter() - started
    for path in [root, *root.rglob("*")]:  # nginx runs as UID 101
        path.chmod(0o755 if path.is_dir() else 0o644)
    return seconds


def _browse(browser, url: str, rounds: int) -> dict:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    outside = []
    page.on("request", lambda request: request.url.startswith(url) or outside.append(request.url))
    try:
        page.goto(url, wait_until="load")
        if outside:
            raise BenchError(f"the front page asked for something elsewhere: {outside[:3]}")
        load = page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
        page.evaluate("document.getElementById('filter').scrollIntoView()")  # where a person types
        timings: dict[str, list[float]] = {query: [] for query in KEYSTROKES}
        floor = []
        for _ in range(rounds):
            floor.append(page.evaluate(_FILTER, None))
            for query in KEYSTROKES:
                timings[query].append(page.evaluate(_FILTER, query))
        shown = page.eval_on_selector_all("#project-table tbody:not([hidden]) tr:not([hidden])", "rows => rows.length")
        total = page.eval_on_selector_all("#project-table tbody tr", "rows => rows.length")
        if shown != total:
            raise BenchError(f"after clearing the filter {shown} of {total} rows show")
    finally:
        context.close()
    return {"load": load, "floor": median(floor), "filter": {q: median(t) for q, t in timings.items()}}


def _section(results: dict, rounds: int, load: float) -> Section:
    small, large = results[BASELINE], results[PROJECTS]
    section = Section("pages", f"Pages: the front page and its filter at {PROJECTS:,} projects (issue 18)")
    section.tables.append(Table(
        ("projects", "write the site s", "front page", "load ms", "filter: no input (floor) ms",
         "filter: worst keystroke ms", "filter: clearing ms"),
        tuple((f"{count:,}", secs(r["write"]), f"{r['bytes'] / 1e3:,.0f} kB", ms(r["load"]), ms(r["floor"]),
               ms(max(r["filter"].values())), ms(r["filter"][""])) for count, r in sorted(results.items())),
        f"chromium (Playwright), desktop viewport, median of {rounds} rounds per keystroke"))
    section.tables.append(Table(
        ("keystroke", f"{BASELINE} projects ms", f"{PROJECTS:,} projects ms", "large / small"),
        tuple((f"`{q}`" if q else "(cleared)", ms(small["filter"][q]), ms(large["filter"][q]),
               times(large["filter"][q] / small["filter"][q])) for q in KEYSTROKES),
        "Filter, input event until the first match is painted in the viewport"))
    worst = max(large["filter"].values())
    section.goals += [
        Goal(f"front page size, {PROJECTS:,} projects", "< 2 MB", mb(large["bytes"]), large["bytes"] < 2e6),
        Goal(f"filter answers, {PROJECTS:,} projects (worst keystroke)", "< 100 ms", f"{worst:.1f} ms", worst < 100),
    ]
    section.notes += [
        f"Site: {VERSIONS} versions per project, one wheel each, {len(PYTHONS) * len(PLATFORMS)} targets, one "
        "project in 50 with three known advisories; \"write the site\" is mirror.tree.landing.write_landing: the "
        "front page, one page per project, assets and client config.",
        "Served by the bench image with the tree mounted over /srv/pypi, --network host; load is the "
        "navigation's loadEventEnd.",
        f"Load average when the suite ended: {load:.1f} on {os.cpu_count()} cores (other runs share the machine: "
        "single keystrokes jump by 100 ms and more when it is busy).",
    ]
    return section
