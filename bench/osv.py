"""Issue 13: the appliance as an OSV service, on a synthetic export of the real one's size.

- build cost: `build.py build --lock` (warm cache, on disk as the image build
  is) with the small test export and with the 20,000-record one; two images
  built by scripts/build from the same lock with each export: size and layers.
- queries: wrk POSTs to /osv/v1/query (32 connections, the 100 pins below in
  turn) against GET of a static project page, same container.
- pip-audit `--disable-pip --no-deps -r` of 100 pins against the appliance
  and against a minimal in-memory stand-in (bench/osv_standin.py: the same
  records, the same matcher), interleaved.
- issue 21: hostile bodies (16 KiB repeating the largest project's purl, 16
  KiB and 1,000 queries naming the largest projects, 1,000 distinct versions
  of the largest project, a version of 16,000 spaces),
  each sent once to a fresh container: its time and every worker's peak
  memory (VmHWM from /proc) after; and a uv-audit-sized querybatch (1,000
  distinct projects of the export, pinned) against GET of the static page,
  interleaved on one connection each: p50 and p99.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from common import (REPO, TAG, TARGET_PLATFORM, TARGET_PYTHON, BenchError, Settings, clean_env, container, free_port,
                    image_size, log, median, median_load, parse_wrk, rmtree, run, timed, upstream_env, wait_http, wrk)
from report import Goal, Section, Table, mb, ms, rate, secs, times

sys.path.insert(0, str(REPO))
from tests.fixtures.osv_db import make_test_export  # noqa: E402
from tests.fixtures.osv_large import generate, write_export  # noqa: E402

from osv_standin import StandIn  # noqa: E402

RECORDS = 20_000
# PYPI_MIRROR_BENCH_TAG keeps a second run's images apart.
_SUFFIX = "" if TAG == "bench" else f"-{TAG}"
SMALL, LARGE = f"pypi-mirror:osv-bench{_SUFFIX}-small", f"pypi-mirror:osv-bench{_SUFFIX}-large"
LUA = REPO / "bench" / "osv_query.lua"


def suite(settings: Settings) -> Section:
    work = settings.work / "osv"
    work.mkdir(parents=True, exist_ok=True)
    small = make_test_export(work / "small.zip")
    started = time.perf_counter()
    large = write_export(work / "large.zip", RECORDS)
    log(f"generated a {RECORDS}-record export ({mb(large.stat().st_size)}) in {time.perf_counter() - started:.1f} s")
    records = generate(RECORDS)
    section = Section("osv", "OSV endpoint (issues 13 and 21)")
    try:
        lock, step = _build_step(settings, work, small, large)
        sizes = _images(lock, small, large)
        loads = _queries(settings, work, records)
        audits = _pip_audit(settings, work, records)
        hostile = _hostile(settings, records)
        batches = _uv_sized(settings, records)
    finally:
        for image in (SMALL, LARGE):
            if _exists(image):
                run(["docker", "rmi", image], timeout=120)
    _report(section, settings, large, step, sizes, loads, audits)
    _report_bounds(section, hostile, batches)
    return section


def _exists(image: str) -> bool:
    try:
        run(["docker", "image", "inspect", image])
        return True
    except BenchError:
        return False


def _build_step(settings: Settings, work: Path, small: Path, large: Path) -> tuple[Path, dict]:
    """Seconds of build.py --lock with each export; the output on disk, where the image build writes."""
    disk = Path(tempfile.mkdtemp(prefix="pypi-mirror-bench-osv-", dir="/var/tmp"))
    env = upstream_env(TMPDIR=str(settings.tmp))
    base = [settings.python, str(REPO / "build.py"), "build", "--cache-dir", str(work / "cache"),
            "--ca-bundle", "/etc/ssl/certs/ca-certificates.crt"]
    try:
        run([*base, "-r", str(REPO / "requirements" / "pip-audit.txt"), "--python-versions", TARGET_PYTHON,
             "--platforms", TARGET_PLATFORM, "-o", str(disk / "first"), "--vuln-db", str(small)],
            env=env, cwd=REPO, timeout=900)
        lock = work / "lock.json"
        lock.write_bytes((disk / "first" / "lock.json").read_bytes())
        times_ = {"small": [], "large": []}
        for round_ in range(settings.count(3, 1)):
            for name in ("small", "large") if round_ % 2 == 0 else ("large", "small"):
                export = small if name == "small" else large
                took = timed([*base, "--lock", str(lock), "-o", str(disk / name), "--vuln-db", str(export)],
                             env=env, cwd=REPO, timeout=900)
                times_[name].append(took)
                log(f"build --lock with the {name} export: {took:.1f} s")
        return lock, {k: median(v) for k, v in times_.items()}
    finally:
        rmtree(disk)


def _images(lock: Path, small: Path, large: Path) -> dict:
    """Both images from the same lock; their sizes and which layers differ."""
    layers = {}
    for image, export in ((SMALL, small), (LARGE, large)):
        env = dict(os.environ, TAG=image.split(":")[1], LOCK=str(lock), VULN_DB=str(export))
        started = time.perf_counter()
        run([str(REPO / "scripts" / "build"), "mirror"], env=env, cwd=REPO, timeout=1800)
        log(f"built {image} in {time.perf_counter() - started:.0f} s")
        layers[image] = json.loads(run(["docker", "image", "inspect", "--format", "{{json .RootFS.Layers}}",
                                        image]).stdout)
    differ = [i for i, (a, b) in enumerate(zip(layers[SMALL], layers[LARGE])) if a != b]
    return {"small": image_size(SMALL), "large": image_size(LARGE), "layers": len(layers[LARGE]),
            "differ": differ, "compressed": _compressed_growth(differ)}


def _compressed_growth(differ: list[int]) -> int:
    """gzip'd bytes of the large image's differing layers minus the small one's (what a push ships)."""
    total = 0
    for sign, image in ((1, LARGE), (-1, SMALL)):
        with tempfile.TemporaryDirectory(dir="/var/tmp") as folder:
            run(["sh", "-c", f"docker save {image} | tar -x -C {folder}"], timeout=600)
            manifest = json.loads((Path(folder) / "manifest.json").read_text())[0]
            for index in differ:
                layer = Path(folder) / manifest["Layers"][index]
                total += sign * int(run(["sh", "-c", f"gzip -c '{layer}' | wc -c"], timeout=600).stdout)
    return total


def _pins(records: list[dict], count: int = 100) -> list[tuple[str, str]]:
    """count (name, version) pins of distinct projects: half a version some record lists, a quarter
    a release newer than any (open-ended ranges still match it), a quarter projects no record names."""
    rng = random.Random(100)
    # Projects drawn evenly, not by their number of records: a requirements file names projects.
    by_name: dict[str, list[dict]] = {}
    for record in records:
        by_name.setdefault(record["affected"][0]["package"]["name"], []).append(record)
    pins = []
    for name in rng.sample(sorted(by_name), count):
        affected = rng.choice(by_name[name])["affected"][0]
        if len(pins) % 2 == 0 and affected["versions"]:
            pins.append((name, rng.choice(affected["versions"])))
        else:
            pins.append((name if len(pins) % 4 != 1 else f"not-advised-{len(pins)}", "999.0"))
    return pins


def _queries(settings: Settings, work: Path, records: list[dict]) -> dict:
    bodies = work / "queries.txt"
    bodies.write_text("".join(json.dumps({"package": {"name": n, "ecosystem": "PyPI"}, "version": v}) + "\n"
                              for n, v in _pins(records)))
    seconds = settings.seconds(10, 4)
    rounds = settings.count(3, 1)
    port = free_port()
    with container("osv-query", ["-p", f"127.0.0.1:{port}:8080", LARGE]) as name:
        url = f"http://127.0.0.1:{port}"
        wait_http(url + "/healthz", what=name)
        page = "/simple/requests/"
        post, get = [], []
        for _ in range(rounds):
            get.append(wrk(url + page, seconds=seconds, connections=32))
            out = run(["wrk", "-t2", "-c32", f"-d{round(seconds)}s", "--latency", "--timeout", "5s", "-s", str(LUA),
                       url + "/osv/v1/query", "--", str(bodies)], timeout=seconds + 60).stdout
            post.append(parse_wrk(out))
            log(f"osv query: {post[-1]}; static page: {get[-1]}")
    return {"post": median_load(post), "get": median_load(get), "page": page, "seconds": seconds, "rounds": rounds}


def _pip_audit(settings: Settings, work: Path, records: list[dict]) -> dict:
    pins = _pins(records)
    (work / "pins.txt").write_text("".join(f"{n}=={v}\n" for n, v in pins))
    standin = StandIn(records)
    standin_port, appliance_port = free_port(), free_port()
    server = standin.serve(standin_port)
    pip_audit = str(Path(settings.python).parent / "pip-audit")
    env = clean_env(TMPDIR=str(settings.tmp), HOME=str(work))
    results = {"appliance": [], "stand-in": []}
    reports = {}
    try:
        with container("osv-audit", ["-p", f"127.0.0.1:{appliance_port}:8080", LARGE]) as name:
            wait_http(f"http://127.0.0.1:{appliance_port}/healthz", what=name)
            urls = {"appliance": f"http://127.0.0.1:{appliance_port}/osv/v1/query",
                    "stand-in": f"http://127.0.0.1:{standin_port}/v1/query"}
            for round_ in range(settings.count(5, 1)):
                for which in ("appliance", "stand-in") if round_ % 2 == 0 else ("stand-in", "appliance"):
                    output = work / f"audit-{which}.json"
                    command = [pip_audit, "--disable-pip", "--no-deps", "-r", str(work / "pins.txt"), "-s", "osv",
                               "--osv-url", urls[which], "--progress-spinner", "off", "-f", "json", "-o", str(output)]
                    started = time.perf_counter()
                    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
                    results[which].append(time.perf_counter() - started)
                    if result.returncode not in (0, 1):
                        raise BenchError(f"pip-audit against the {which} failed:\n{result.stderr[-2000:]}")
                    reports[which] = json.loads(output.read_text())
    finally:
        server.shutdown()

    def found(report):
        return sorted((d["name"], d["version"], v["id"]) for d in report["dependencies"] for v in d.get("vulns", []))
    same = found(reports["appliance"]) == found(reports["stand-in"])
    return {"appliance": median(results["appliance"]), "stand-in": median(results["stand-in"]),
            "findings": len(found(reports["appliance"])), "same": same, "pins": len(pins),
            "rounds": len(results["appliance"])}


def _report(section: Section, settings: Settings, large: Path, step: dict, sizes: dict, loads: dict,
            audits: dict) -> None:
    zip_size = large.stat().st_size
    growth_step = step["large"] - step["small"]
    growth_image = sizes["large"] - sizes["small"]
    post, get = loads["post"], loads["get"]
    ratio = post.rps / get.rps
    audit_ratio = audits["appliance"] / audits["stand-in"]
    section.tables.append(Table(("measure", "small test export", f"{RECORDS:,}-record export", "growth"), (
        ("`build.py build --lock` (warm cache), s", secs(step["small"]), secs(step["large"]), secs(growth_step)),
        ("image size (uncompressed)", mb(sizes["small"]), mb(sizes["large"]), mb(growth_image)),
        ("changed layers' gzip size (what a push or bundle ships)", "", "", mb(sizes["compressed"])),
    ), f"the export zip: {mb(zip_size)}; layers differing between the two images: "
       f"{', '.join(str(i) for i in sizes['differ'])} of {sizes['layers']}"))
    section.tables.append(Table(("request", "req/s", "p50 ms", "p99 ms", "errors"), (
        (f"GET {loads['page']} (static)", rate(get.rps), ms(get.p50_ms), ms(get.p99_ms), str(get.errors)),
        ("POST /osv/v1/query (100 pins in turn)", rate(post.rps), ms(post.p50_ms), ms(post.p99_ms), str(post.errors)),
    ), f"wrk -c32 -t2, {loads['seconds']:.0f} s, median of {loads['rounds']}, one container with the "
       f"{RECORDS:,}-record export"))
    section.tables.append(Table(("pip-audit --disable-pip --no-deps -r (100 pins)", "seconds", "findings"), (
        ("against the appliance", secs(audits["appliance"]), str(audits["findings"])),
        ("against the in-memory stand-in (bench/osv_standin.py)", secs(audits["stand-in"]),
         "same" if audits["same"] else "DIFFERENT"),
    ), f"median of {audits['rounds']}, interleaved"))
    section.goals += [
        Goal("query throughput vs static project page", ">= 0.3x", times(ratio), ratio >= 0.3),
        Goal("query p99 at 32 connections", "< 10 ms", f"{ms(post.p99_ms)} ms", post.p99_ms < 10),
        Goal("pip-audit of 100 pins vs the stand-in", "<= 1.2x", times(audit_ratio), audit_ratio <= 1.2),
        Goal("pip-audit findings equal the stand-in's", "equal", "equal" if audits["same"] else "different",
             audits["same"]),
        Goal(f"build step growth with {RECORDS:,} records", "<= 30 s", f"{secs(growth_step)} s", growth_step <= 30),
        Goal("image growth vs the zip (uncompressed image size)", "<= 1.5x", times(growth_image / zip_size),
             growth_image <= 1.5 * zip_size),
        Goal("image growth vs the zip (changed layers, gzip)", "<= 1.5x", times(sizes["compressed"] / zip_size),
             sizes["compressed"] <= 1.5 * zip_size),
        Goal("an advisory-only change leaves the package layers alone", "only the osv and documents layers differ",
             f"layers {sizes['differ']} of {sizes['layers']}", len(sizes["differ"]) <= 2),
    ]
    section.notes += [
        "The export is synthetic (tests/fixtures/osv_large.py, generated at run time): OSV's real one "
        "cannot be fetched here; it has the real one's size and shape (ids, long-tailed records per "
        "project, enumerated versions lists, withdrawn records).",
        "The image keeps the zip byte for byte (osv-scanner's database) and every record again as "
        "compact JSON (per project, for the query answers and /osv/v1/vulns/<ID>): uncompressed, that "
        "is about three times the zip; gzip'd layers (what a push or a bundle carries) stay under 1.5x.",
    ]


# -- issue 21: one request's work is bounded ----------------------------------------------------

def _project_sizes() -> list[tuple[int, str]]:
    """(bytes of projects/<name>.json, name) in the large image, largest first: what a hostile batch names."""
    folder = tempfile.mkdtemp(prefix="pypi-mirror-bench-osv-", dir="/var/tmp")
    created = run(["docker", "create", LARGE, "/bin/true"]).stdout.strip()
    try:
        run(["docker", "cp", f"{created}:/srv/pypi/osv/projects", folder], timeout=300)
    finally:
        run(["docker", "rm", created])
    projects = Path(folder) / "projects"
    sizes = sorted(((p.stat().st_size, p.stem) for p in projects.glob("*.json")), reverse=True)
    rmtree(Path(folder))
    return sizes


def _batch_body(queries: list[dict], limit: int) -> bytes:
    """As many of the queries as fit in `limit` bytes, as one querybatch body."""
    out: list[str] = []
    size = len('{"queries":[]}')
    for query in queries:
        text = json.dumps(query, separators=(",", ":"))
        if size + len(text) + 1 > limit:
            break
        out.append(text)
        size += len(text) + 1
    return ('{"queries":[' + ",".join(out) + "]}").encode()


def _worker_peaks_mb(name: str) -> list[float]:
    script = ("for p in /proc/[0-9]*; do case \"$(tr '\\0' ' ' < $p/cmdline 2>/dev/null)\" in "
              "'nginx: worker'*) sed -n 's/^VmHWM:[^0-9]*\\([0-9]*\\) kB/\\1/p' $p/status;; esac; done")
    peaks = [int(n) / 1024 for n in run(["docker", "exec", name, "sh", "-c", script]).stdout.split()]
    if not peaks:
        raise BenchError(f"no nginx worker found in {name}")
    return peaks


def _hostile(settings: Settings, records: list[dict]) -> dict:
    """Each hostile body sent once to a fresh container (so its peak is that request's): seconds,
    status, pages it would take, the largest worker's peak memory after, and the idle peak."""
    sizes = _project_sizes()
    largest = sizes[0][1]
    # OSV's 1,000 queries at most per batch.
    by_size = [{"package": {"name": name, "ecosystem": "PyPI"}, "version": "1.0"} for _, name in sizes[:1000]]
    bodies = {
        f"16 KiB: one purl repeated (the largest project, {sizes[0][0] // 1024} KB)":
            _batch_body([{"package": {"purl": f"pkg:pypi/{largest}"}}] * 1000, 16 * 1024),
        "16 KiB: the same with a version (@1.0)":
            _batch_body([{"package": {"purl": f"pkg:pypi/{largest}@1.0"}}] * 1000, 16 * 1024),
        "16 KiB: the largest projects, one query each": _batch_body(by_size, 16 * 1024),
        "16 KiB: a version of 16,000 spaces (query)": json.dumps(
            {"package": {"name": largest, "ecosystem": "PyPI"}, "version": "1" + " " * 16_000 + "x"}).encode(),
        "1,000 queries: the largest projects": _batch_body(by_size, 256 * 1024),
        "1,000 queries: distinct versions of the largest project": _batch_body(
            [{"package": {"name": largest, "ecosystem": "PyPI"}, "version": f"{i // 100}.{i % 100}.{i % 7}"}
             for i in range(1000)], 256 * 1024),
    }
    rounds = settings.count(3, 1)
    results = {}
    idle = []
    for label, body in bodies.items():
        path = "/osv/v1/query" if "(query)" in label else "/osv/v1/querybatch"
        took, peaks = [], []
        for _ in range(rounds):
            port = free_port()
            with container("osv-hostile", ["-p", f"127.0.0.1:{port}:8080", LARGE]) as name:
                wait_http(f"http://127.0.0.1:{port}/healthz", what=name)
                idle.append(max(_worker_peaks_mb(name)))
                started = time.perf_counter()
                answer = requests.post(f"http://127.0.0.1:{port}{path}", data=body, timeout=120)
                took.append(time.perf_counter() - started)
                peaks.append(max(_worker_peaks_mb(name)))
            tokens = sum("next_page_token" in r for r in answer.json().get("results", [])) if answer.ok else 0
        results[label] = {"bytes": len(body), "seconds": median(took), "peak": max(peaks), "status": answer.status_code,
                          "paged": tokens}
        log(f"hostile {label}: {answer.status_code}, {median(took) * 1000:.0f} ms, worker peak {max(peaks):.0f} MB")
    return {"bodies": results, "idle": max(idle), "rounds": rounds, "largest": sizes[0][0]}


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def _uv_sized(settings: Settings, records: list[dict]) -> dict:
    """1,000 distinct projects of the export pinned as a lock pins them (a version some record lists,
    or a release newer than any), in one querybatch as uv audit sends it; following pages if any.
    Interleaved with GET of the static page, one keep-alive connection each, sequential."""
    rng = random.Random(1000)
    by_name: dict[str, list[dict]] = {}
    for record in records:
        by_name.setdefault(record["affected"][0]["package"]["name"], []).append(record)
    queries = []
    for name in rng.sample(sorted(by_name), 1000):
        listed = rng.choice(by_name[name])["affected"][0]["versions"]
        queries.append({"package": {"name": name, "ecosystem": "PyPI"},
                        "version": rng.choice(listed) if listed and rng.random() < 0.5 else "999.0"})
    body = json.dumps({"queries": queries}).encode()
    rounds = settings.count(200, 20)
    batch_ms, page_ms, pages, found = [], [], set(), 0
    port = free_port()
    with container("osv-uv", ["-p", f"127.0.0.1:{port}:8080", LARGE]) as name:
        url = f"http://127.0.0.1:{port}"
        wait_http(url + "/healthz", what=name)
        with requests.Session() as post, requests.Session() as get:
            for _ in range(rounds):
                started = time.perf_counter()
                pending, count, ids = list(queries), 0, 0
                while pending:
                    answer = post.post(url + "/osv/v1/querybatch", data=json.dumps({"queries": pending}), timeout=60)
                    if answer.status_code != 200:
                        raise BenchError(f"querybatch answered {answer.status_code}: {answer.text[:200]}")
                    count += 1
                    results = answer.json()["results"]
                    ids += sum(len(r.get("vulns", [])) for r in results)
                    pending = [{**q, "page_token": r["next_page_token"]} for q, r in zip(pending, results)
                               if "next_page_token" in r]
                batch_ms.append((time.perf_counter() - started) * 1000)
                pages.add(count)
                found = ids
                started = time.perf_counter()
                if get.get(url + "/simple/requests/", timeout=10).status_code != 200:
                    raise BenchError("the static page did not answer 200")
                page_ms.append((time.perf_counter() - started) * 1000)
        peak = max(_worker_peaks_mb(name))
    return {"bytes": len(body), "rounds": rounds, "pages": sorted(pages), "ids": found, "peak": peak,
            "batch": (statistics.median(batch_ms), _percentile(batch_ms, 99)),
            "page": (statistics.median(page_ms), _percentile(page_ms, 99))}


def _report_bounds(section: Section, hostile: dict, batches: dict) -> None:
    bodies = hostile["bodies"]
    section.tables.append(Table(("hostile body (issue 21)", "bytes", "status", "ms", "worker peak MB",
                                 "queries left for the next page"), tuple(
        (label, f"{r['bytes']:,}", str(r["status"]), ms(r["seconds"] * 1000), f"{r['peak']:.0f}", str(r["paged"]))
        for label, r in bodies.items()),
        f"each sent once to a fresh container of the 20,000-record image (median of {hostile['rounds']}; peak: the "
        f"largest nginx worker's VmHWM after, the highest of the rounds); an idle worker: {hostile['idle']:.0f} MB"))
    b, g = batches["batch"], batches["page"]
    section.tables.append(Table(("request", "p50 ms", "p99 ms"), (
        (f"POST querybatch: 1,000 distinct projects ({batches['bytes'] // 1024} KiB, "
         f"{'/'.join(map(str, batches['pages']))} request(s), {batches['ids']} ids)", ms(b[0]), ms(b[1])),
        ("GET /simple/requests/ (static)", ms(g[0]), ms(g[1])),
    ), f"{batches['rounds']} of each, interleaved, sequential, one keep-alive connection each; "
       f"worker peak after: {batches['peak']:.0f} MB"))
    sixteen = [r for label, r in bodies.items() if label.startswith("16 KiB")]
    worst16 = max(r["seconds"] for r in sixteen)
    peak = max(r["peak"] for r in bodies.values())
    section.goals += [
        Goal("worst 16 KiB request (issue 21: 5 s before)", "< 1 s", f"{ms(worst16 * 1000)} ms", worst16 < 1),
        Goal("a worker's peak memory after any one request (docs/serving.md's figure)", "<= 64 MB", f"{peak:.0f} MB",
             peak <= 64),
        Goal("uv-audit-sized batch (1,000 projects) in one request", "1 request",
             "/".join(map(str, batches["pages"])), batches["pages"] == [1]),
        Goal("uv-audit-sized batch p99", "< 500 ms", f"{ms(b[1])} ms", b[1] < 500),
    ]
    section.notes.append(
        f"Machine load while this ran: {os.getloadavg()[0]:.1f} (1-minute load average, 2 cores, other "
        "sessions' builds and tests share them): absolute times are inflated, the bounds are not.")
