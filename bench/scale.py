"""Issue 6, scale: a synthetic upstream of 5,000 projects / 50,000 small wheels.

The wheels are generated (valid zips with METADATA, WHEEL and RECORD and a
small random payload) straight into a --cache-dir, with a lock.json naming
them: `build.py build --lock` then runs the real pipeline (verify the cached
files, copy, .metadata, pages, landing page, nginx map) with no network.

Measured, each in a fresh child process so its peak RSS is its own:
- the whole build from the lock at 1, 10, 100, 1,000 and 5,000 projects
  (time per file should stay flat);
- index generation alone (mirror.tree.index.build_projects + write_index) at
  5,000 projects: goal under 30 s and 500 MB;
- the appliance serving the 5,000-project root page, against its usual
  (29-project) root page in the same run;
- image size over the raw wheel bytes, appliance and wheelhouse, for this
  tree and for the pip-audit tree.
"""

from __future__ import annotations

import hashlib
import io
import json
import multiprocessing
import os
import resource
import sys
import time
import zipfile
from pathlib import Path

if __name__ == "__main__":  # the measuring child: `python scale.py _measure ...`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import artifacts  # noqa: E402
from common import (IMAGE, WHEELHOUSE_IMAGE, BenchError, Settings, host_appliance, image_size, log, rmtree,  # noqa: E402
                    run, wrk)
from report import Goal, Section, Table, mb, ms, rate, secs, times  # noqa: E402

PROJECTS = 5000
FILES_PER_PROJECT = 10
PAYLOAD = 1024  # random bytes per wheel: incompressible, so wheel sizes are honest
STEPS = (1, 10, 100, 1000, 5000)
SCALE_IMAGE = "pypi-mirror-bench-scale:bench"
SCALE_WHEELHOUSE = "pypi-mirror-bench-scale-wheelhouse:bench"
TARGET = {"name": "py3.11-manylinux_x86_64", "python": "3.11", "platform": "manylinux_x86_64"}


def suite(settings: Settings) -> Section:
    work = settings.work / "scale"
    rmtree(work)
    started = time.perf_counter()
    files = generate(work / "cache" / "files", PROJECTS, FILES_PER_PROJECT)
    log(f"generated {len(files)} wheels in {time.perf_counter() - started:.1f} s")

    builds = {}
    for projects in STEPS:
        lock = write_lock(work / f"lock-{projects}.json", files[: projects * FILES_PER_PROJECT])
        out = work / f"tree-{projects}"
        builds[projects] = _child(settings, "build", lock, work / "cache", out, work / f"projects-{projects}.map")
        log(f"build from lock, {projects} projects: {builds[projects]['seconds']:.2f} s, "
            f"{builds[projects]['maxrss'] / 1e6:.0f} MB")
        if projects != PROJECTS:
            rmtree(out)
    big = work / f"tree-{PROJECTS}"
    index = _child(settings, "index", work / f"lock-{PROJECTS}.json", work / "cache", big, work / "index-only")
    log(f"index only, {PROJECTS} projects: {index['seconds']:.2f} s, {index['maxrss'] / 1e6:.0f} MB")
    rmtree(work / "index-only")
    rmtree(work / "cache")

    artifacts.images()
    raw_big = sum(f["size"] for f in files)
    sizes = _image_sizes(settings, big, work / f"projects-{PROJECTS}.map", raw_big)
    serving = _serving(settings)
    rmtree(work)
    return _section(settings, builds, index, sizes, serving)


# --- the synthetic upstream ------------------------------------------------

def generate(folder: Path, projects: int, per_project: int) -> list[dict]:
    """Write the wheels; their lock entries, project by project."""
    folder.mkdir(parents=True, exist_ok=True)
    jobs = [(folder, p, per_project) for p in range(projects)]
    with multiprocessing.get_context("fork").Pool(os.cpu_count() or 2) as pool:
        chunks = pool.starmap(_project_wheels, jobs, chunksize=50)
    return [entry for chunk in chunks for entry in chunk]


def _project_wheels(folder: Path, index: int, count: int) -> list[dict]:
    name = f"synth-{index:05d}"
    entries = []
    for minor in range(count):
        version = f"1.{minor}.0"
        filename, data = _wheel(name, version)
        (folder / filename).write_bytes(data)
        entries.append({
            "filename": filename, "name": name, "version": version,
            "url": f"https://upstream.invalid/packages/{filename}",
            "sha256": hashlib.sha256(data).hexdigest(), "size": len(data),
            "upload-time": "2026-01-01T00:00:00.000000Z", "requires-python": ">=3.9",
            "yanked": False, "targets": [TARGET["name"]],
        })
    return entries


def _wheel(name: str, version: str) -> tuple[str, bytes]:
    module = name.replace("-", "_")
    dist_info = f"{module}-{version}.dist-info"
    members = {
        f"{module}/__init__.py": b"DATA = " + repr(os.urandom(PAYLOAD)).encode() + b"\n",
        f"{dist_info}/METADATA": (f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
                                  f"Summary: synthetic project for pypi-mirror's scale benchmark\n"
                                  f"Requires-Python: >=3.9\n\n").encode(),
        f"{dist_info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = "".join(f"{path},,\n" for path in members) + f"{dist_info}/RECORD,,\n"
    members[f"{dist_info}/RECORD"] = record.encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as wheel:
        for path, data in members.items():
            wheel.writestr(zipfile.ZipInfo(path, date_time=(2026, 1, 1, 0, 0, 0)), data,
                           compress_type=zipfile.ZIP_DEFLATED)
    return f"{module}-{version}-py3-none-any.whl", buffer.getvalue()


def write_lock(path: Path, files: list[dict]) -> Path:
    pins = {f["name"]: f["version"] for f in files}  # one pin per project (the last version)
    document = {"lock-version": 1, "index-url": "https://upstream.invalid/simple/",
                "targets": [{**TARGET, "marker": "", "pins": pins}], "files": files}
    path.write_text(json.dumps(document))
    return path


# --- measuring in a child --------------------------------------------------

def _child(settings: Settings, mode: str, lock: Path, cache: Path, out: Path, extra: Path) -> dict:
    result = run([settings.python, __file__, "_measure", mode, str(lock), str(cache), str(out), str(extra)],
                 timeout=900)
    return json.loads(result.stdout.strip().splitlines()[-1])


def _measure(mode: str, lock: Path, cache: Path, out: Path, extra: Path) -> None:
    """Runs in the child: one measured step, then one JSON line on stdout."""
    from mirror.tree.index import PACKAGES, build_projects, write_index
    from mirror.resolve.lock import read_lock
    from mirror.pipeline import build
    from mirror.settings import Settings as MirrorSettings

    if mode == "build":  # the real pipeline: verify cached files, copy, index, landing, map
        settings = MirrorSettings(out=out, lock=lock, index_url="https://upstream.invalid/simple/",
                                  cache_dir=cache, nginx_map=extra)
        started = time.perf_counter()
        build(settings)
        seconds = time.perf_counter() - started
        files = len(read_lock(lock).files)
    else:  # index generation alone, from the verified files of an earlier build
        locked = read_lock(lock)
        started = time.perf_counter()
        projects = build_projects(list(locked.files), out / PACKAGES)
        write_index(projects, extra)
        seconds = time.perf_counter() - started
        files = len(locked.files)
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"seconds": seconds, "maxrss": maxrss, "files": files}))


# --- images and serving ----------------------------------------------------

def _image_sizes(settings: Settings, tree: Path, projects_map: Path, raw_big: int) -> list[tuple]:
    """(what, image bytes over its base, raw wheel bytes, tree bytes, files) per image."""
    context = settings.work / "scale" / "context"
    context.mkdir(parents=True)
    os.rename(tree, context / "pypi")
    os.rename(projects_map, context / "projects.map")
    # The appliance's own runtime stage, with this tree instead of the built one.
    (context / "appliance.Dockerfile").write_text(
        f"FROM {IMAGE}\nCOPY projects.map /etc/pypi-mirror/nginx/projects.map\nCOPY pypi /srv/pypi\n")
    (context / "wheelhouse.Dockerfile").write_text("FROM scratch\nCOPY pypi /srv/pypi\n")
    for image, dockerfile in ((SCALE_IMAGE, "appliance"), (SCALE_WHEELHOUSE, "wheelhouse")):
        started = time.perf_counter()
        run(["docker", "build", "-q", "-t", image, "-f", str(context / f"{dockerfile}.Dockerfile"), str(context)],
            env=dict(os.environ, DOCKER_BUILDKIT="1"), timeout=900)
        log(f"built {image} in {time.perf_counter() - started:.1f} s")

    small_tree = artifacts.tree(settings)
    small_files = artifacts.lock_files(small_tree)
    small_raw = sum(f["size"] for f in small_files)
    base = _runtime_base(IMAGE)
    return [
        (f"pypi-mirror:bench minus its base ({base})", image_size(IMAGE) - image_size(base), small_raw,
         _tree_bytes(small_tree), len(small_files)),
        (WHEELHOUSE_IMAGE, image_size(WHEELHOUSE_IMAGE), small_raw, _tree_bytes(small_tree), len(small_files)),
        (f"synthetic appliance minus {IMAGE}", image_size(SCALE_IMAGE) - image_size(IMAGE), raw_big,
         _tree_bytes(context / "pypi"), PROJECTS * FILES_PER_PROJECT),
        ("synthetic wheelhouse (FROM scratch)", image_size(SCALE_WHEELHOUSE), raw_big,
         _tree_bytes(context / "pypi"), PROJECTS * FILES_PER_PROJECT),
    ]


def _runtime_base(image: str) -> str:
    """The base the appliance was built on: the runtime image whose layers start it."""
    def layers(name: str) -> list[str]:
        return json.loads(run(["docker", "image", "inspect", "--format", "{{json .RootFS.Layers}}", name]).stdout)

    mine = layers(image)
    candidates = [os.environ.get("RUNTIME_IMAGE", ""), "nginx:1.28", "pypi-mirror-standin/nginx:trixie",
                  "pypi-mirror-standin/nginx:bookworm"]
    for candidate in filter(None, candidates):
        try:
            theirs = layers(candidate)
        except BenchError:
            continue
        if mine[: len(theirs)] == theirs:
            return candidate
    raise BenchError(f"cannot tell which base image {image} was built on (tried {', '.join(filter(None, candidates))})")


def _tree_bytes(root: Path) -> dict[str, int]:
    """The tree's bytes by kind: what the raw wheels grow into."""
    kinds = {"wheels": 0, ".metadata": 0, "pages": 0, "other": 0}
    for path in root.rglob("*"):
        if not path.is_file():
            continue
        rel = path.relative_to(root)
        kind = ("pages" if rel.parts[0] == "simple" else ".metadata" if path.name.endswith(".metadata")
                else "wheels" if rel.parts[0] == "packages" else "other")
        kinds[kind] += path.stat().st_size
    return kinds


def _serving(settings: Settings) -> dict:
    """wrk on the small and the large root page, one appliance at a time (both need 8080)."""
    seconds = settings.seconds(10, 3)
    results = {}
    for label, image, project in (("pip-audit tree (29 projects)", IMAGE, "pip-audit"),
                                  (f"synthetic tree ({PROJECTS:,} projects)", SCALE_IMAGE, "synth-02500")):
        with host_appliance(image, "scale") as url:
            for what, path, headers in (("root page", "/simple/", None),
                                        ("root page, gzip", "/simple/", {"Accept-Encoding": "gzip"}),
                                        ("project page", f"/simple/{project}/", None)):
                load = wrk(url + path, seconds=seconds, connections=32, headers=headers)
                log(f"wrk {label} {what}: {load}")
                results[(label, what)] = load
    for image in (SCALE_IMAGE, SCALE_WHEELHOUSE):
        run(["docker", "rmi", image])
    return results


# --- the report ------------------------------------------------------------

def _section(settings: Settings, builds: dict, index: dict, sizes: list, serving: dict) -> Section:
    section = Section("scale", "Scale: 5,000 projects / 50,000 files (issue 6)")
    per_file = {n: b["seconds"] / b["files"] for n, b in builds.items()}
    rows = tuple(
        (f"{n:,}", f"{b['files']:,}", secs(b["seconds"]), f"{per_file[n] * 1e3:.2f}",
         times(per_file[n] / per_file[100]), f"{b['maxrss'] / 1e6:.0f}")
        for n, b in builds.items())
    section.tables.append(Table(("projects", "files", "build s", "ms per file", "per file vs 100 projects",
                                 "peak RSS MB"), rows,
                                "`build.py build --lock` (real pipeline, files already in the cache)"))
    section.tables.append(Table(("step", "files", "seconds", "peak RSS MB"), (
        ("index generation alone (build_projects + write_index)", f"{index['files']:,}", secs(index["seconds"]),
         f"{index['maxrss'] / 1e6:.0f}"),), f"Index generation at {PROJECTS:,} projects"))

    rows = []
    for what, image_bytes, raw, tree, files in sizes:
        rows.append((what, mb(image_bytes), mb(raw), mb(tree[".metadata"]), mb(tree["pages"]), mb(tree["other"]),
                     mb(image_bytes - sum(tree.values())), f"{(image_bytes / raw - 1) * 100:.1f} %",
                     f"{(image_bytes - raw) / files:,.0f}"))
    section.tables.append(Table(
        ("image", "image bytes", "raw wheel bytes", "+ .metadata", "+ simple/ pages", "+ other files",
         "+ image (config, layers)", "overhead over raw", "overhead per wheel, bytes"),
        tuple(rows), "Image size"))

    small = "pip-audit tree (29 projects)"
    large = f"synthetic tree ({PROJECTS:,} projects)"
    rows = []
    for what in ("root page", "root page, gzip", "project page"):
        a, b = serving[(small, what)], serving[(large, what)]
        rows.append((what, rate(a.rps), ms(a.p99_ms), rate(b.rps), ms(b.p99_ms), times(b.rps / a.rps),
                     str(a.errors + b.errors)))
    section.tables.append(Table(("request", f"{small} req/s", "p99 ms", f"{large} req/s", "p99 ms",
                                 "large / small", "errors"), tuple(rows),
                                f"Appliance (--network host), wrk -t2 -c32, {settings.seconds(10, 3):.0f} s each"))

    flat = max(per_file[n] for n in STEPS if n >= 10) / min(per_file[n] for n in STEPS if n >= 10)
    synthetic_app, pip_audit_app = sizes[2], sizes[0]
    section.goals += [
        Goal(f"index generation, {PROJECTS:,} projects", "< 30 s", f"{secs(index['seconds'])} s",
             index["seconds"] < 30),
        Goal(f"index generation peak memory, {PROJECTS:,} projects", "< 500 MB",
             f"{index['maxrss'] / 1e6:.0f} MB", index["maxrss"] < 500e6),
        Goal("build time per file, 10 to 5,000 projects (max / min)", "flat (<= 1.5x)", times(flat), flat <= 1.5),
        Goal("image overhead over raw bytes, pip-audit appliance", "< 2 %",
             f"{(pip_audit_app[1] / pip_audit_app[2] - 1) * 100:.1f} %", pip_audit_app[1] < 1.02 * pip_audit_app[2]),
        Goal("image overhead over raw bytes, synthetic appliance", "< 2 %",
             f"{(synthetic_app[1] / synthetic_app[2] - 1) * 100:.1f} %", synthetic_app[1] < 1.02 * synthetic_app[2]),
    ]
    section.notes += [
        f"Synthetic wheels: {FILES_PER_PROJECT} versions per project, each a valid py3-none-any wheel with "
        f"{PAYLOAD} random bytes of payload ({sizes[2][2] / (PROJECTS * FILES_PER_PROJECT) / 1e3:.1f} KB "
        "per wheel on average).",
        "Peak RSS is the measuring child's whole process (interpreter and imports included).",
        "Image bytes are Docker's uncompressed size: the appliance minus its base image, the wheelhouse "
        "as is. The synthetic appliance is the bench image with this tree copied over its /srv/pypi (and "
        "its nginx project map), so its size over that image is this tree's layer.",
        "The tree adds to the raw wheels a PEP 658 `.metadata` file per wheel, the HTML/JSON pages with "
        "their gzip twins, and \"other files\": the landing page, client config and the documents the "
        "pipeline writes at the root (lock.json and whatever else this commit's pipeline adds there); "
        "Docker's image size counts file contents, so the image itself adds next to nothing (the appliance: "
        "its nginx config and hooks). The extra files are costs per file "
        "and per project, so the overhead in percent depends on the wheel size: small for real wheels, "
        "large for tiny synthetic ones.",
        "Root page: wrk sends no Accept-Encoding in the plain rows; the gzip rows get the precompressed page.",
    ]
    return section


if __name__ == "__main__":
    if len(sys.argv) == 7 and sys.argv[1] == "_measure":
        _measure(sys.argv[2], *map(Path, sys.argv[3:]))
    else:
        sys.exit("usage: scale.py _measure build|index LOCK CACHE OUT EXTRA (bench/run runs it)")
