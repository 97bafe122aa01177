"""Issue 6 and 7: the appliance against the servers people use instead, same wheels, one run.

Path: every server listens on 127.0.0.1 of the host's network namespace.
The peers are host processes; the appliance runs with `--network host`
(its nginx listens on 8080), so no server pays for docker-proxy and all
share one loopback path.

Throughput: wrk on /simple/, a project page and the wheel nearest 1 MB.
Installs: pip and uv install pip-audit into a fresh venv on the work tmpfs
(caches off, this machine's pip config and find-links out of the picture),
interleaved rounds in a rotating order, median per server; the floor is
the same client with --no-index --find-links on the tree's packages/.
"""

from __future__ import annotations

import contextlib
import time
import urllib.parse
from collections import defaultdict
from pathlib import Path
from typing import Callable, ContextManager, NamedTuple

import artifacts
from mirror.upstream import simple  # run.py puts the repo on sys.path
from common import (IMAGE, BenchError, Load, Settings, clean_env, fetch, free_port, host_appliance, log,
                    median, median_load, process, rmtree, run, wait_http, wrk)
from report import Goal, Section, Table, ms, rate, secs, times

PROJECT = "pip-audit"  # the project page measured, and what the clients install
FLOOR = "no server (--find-links)"
APPLIANCE = "pypi-mirror (nginx)"
PYPISERVER = "pypiserver, default server"
GUNICORN = "pypiserver + gunicorn/gevent"
HTTP_SERVER = "python -m http.server"
DEVPI = "devpi-server"


class Server(NamedTuple):
    name: str
    start: Callable[[], ContextManager[str]]  # yields the Simple API root URL, ending in /
    note: str


def suite(settings: Settings) -> Section:
    tree = artifacts.tree(settings)
    wheel = _wheel_near_1mb(tree)
    servers = _servers(settings)
    loads: dict[str, dict[str, list[Load]]] = defaultdict(lambda: defaultdict(list))
    installs: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    repeats = settings.count(3, 1)
    seconds = settings.seconds(10, 3)

    with contextlib.ExitStack() as stack:
        roots = {}
        for server in servers:
            log(f"starting {server.name}")
            roots[server.name] = stack.enter_context(server.start())
        urls = {name: _urls(root, wheel) for name, root in roots.items()}

        # Rounds of every server in turn, so a burst of noise from the
        # machine's other tenants hits all of them alike.
        for round_ in range(repeats):
            for endpoint in ("/simple/", "project page", "~1 MB wheel"):
                for name in roots:
                    load = wrk(urls[name][endpoint], seconds=seconds, connections=32)
                    log(f"wrk {name} {endpoint} [{round_ + 1}/{repeats}]: {load}")
                    loads[name][endpoint].append(load)

        rounds = settings.count(9, 3)
        configs = [FLOOR, *roots]
        for round_ in range(rounds):
            shift = round_ % len(configs)
            for name in configs[shift:] + configs[:shift]:
                for client in ("pip", "uv"):
                    index = None if name == FLOOR else roots[name]
                    took = _install(settings, client, index, tree / "packages", round_)
                    installs[name][client].append(took)
            log(f"install round {round_ + 1}/{rounds}: " + ", ".join(
                f"{n} pip {installs[n]['pip'][-1]:.2f}/uv {installs[n]['uv'][-1]:.2f}" for n in configs))

    return _section(settings, servers, loads, installs, wheel, repeats, seconds, rounds)


# --- the servers -----------------------------------------------------------

def _servers(settings: Settings) -> list[Server]:
    tree, wheels, bin_ = artifacts.tree(settings), artifacts.wheels(settings), settings.peers
    logs = settings.work / "logs"

    @contextlib.contextmanager
    def appliance():
        with host_appliance(IMAGE, "servers-appliance") as url:
            yield f"{url}/simple/"

    @contextlib.contextmanager
    def local_server(name: str, log: str, command):
        """A peer run as a host process on a free port; command(port) is its argv."""
        port = free_port()
        with process(command(port), name=name, logs=logs / log):
            url = f"http://127.0.0.1:{port}/simple/"
            wait_http(url, what=name)
            yield url

    def pypiserver():
        # "auto" would pick waitress here (devpi-server brings it into this
        # venv); a plain `pip install pypiserver` gets wsgiref: name it.
        return local_server(PYPISERVER, "pypiserver.log", lambda port: [
            str(bin_ / "pypi-server"), "run", "-i", "127.0.0.1", "-p", str(port), "--server", "wsgiref", str(wheels)])

    def gunicorn():
        # gunicorn's rule of thumb: 2 x cores + 1 workers; gevent workers as
        # pypiserver's README suggests for many concurrent clients.
        return local_server(GUNICORN, "gunicorn.log", lambda port: [
            str(bin_ / "gunicorn"), "-k", "gevent", "-w", "5", "-b", f"127.0.0.1:{port}",
            "--log-level", "warning", f'pypiserver:app(root="{wheels}")'])

    def http_server():
        return local_server(HTTP_SERVER, "http-server.log", lambda port: [
            settings.python, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(tree)])

    @contextlib.contextmanager
    def devpi():
        port = free_port()
        state = settings.work / "devpi"
        rmtree(state)
        env = clean_env(DEVPI_CLIENTDIR=str(state / "client"))
        run([str(bin_ / "devpi-init"), "--serverdir", str(state / "server"), "--no-root-pypi",
             "--root-passwd", "bench"], env=env)
        # --offline-mode: nothing upstream; root/wheels has no bases, so it
        # serves exactly the uploaded wheels.
        command = [str(bin_ / "devpi-server"), "--serverdir", str(state / "server"), "--host", "127.0.0.1",
                   "--port", str(port), "--offline-mode"]
        with process(command, name=DEVPI, logs=logs / "devpi.log", env=env):
            wait_http(f"http://127.0.0.1:{port}/+api", what=DEVPI)
            devpi_client = str(bin_ / "devpi")
            for args in (["use", f"http://127.0.0.1:{port}"], ["login", "root", "--password", "bench"],
                         ["index", "-c", "wheels", "bases=", "volatile=False"], ["use", "root/wheels"],
                         ["upload", "--from-dir", str(wheels)]):
                run([devpi_client, *args], env=env)
            yield f"http://127.0.0.1:{port}/root/wheels/+simple/"

    return [
        Server(APPLIANCE, appliance, "the image, `--network host`"),
        Server(PYPISERVER, pypiserver, "`pypi-server run --server wsgiref` (what `auto` picks on a plain install)"),
        Server(GUNICORN, gunicorn, "`gunicorn -k gevent -w 5 'pypiserver:app(...)'`"),
        Server(HTTP_SERVER, http_server, "over the appliance's PEP 503 tree (with .metadata files)"),
        Server(DEVPI, devpi, "`--offline-mode`, wheels uploaded to an index without bases"),
    ]


def _wheel_near_1mb(tree: Path) -> str:
    wheels = sorted(tree.glob("packages/*.whl"), key=lambda p: abs(p.stat().st_size - 1_000_000))
    if not wheels:
        raise BenchError(f"no wheels in {tree}/packages")
    return wheels[0].name


def _urls(root: str, wheel: str) -> dict[str, str]:
    """The three measured URLs on a server, the wheel's as that server links it."""
    project = urllib.parse.urljoin(root, f"{PROJECT}/")
    wheel_project = wheel.split("-")[0].replace("_", "-").lower()
    page_url = urllib.parse.urljoin(root, f"{wheel_project}/")
    status, body = fetch(page_url, {"Accept": simple.ACCEPT_HTML})
    if status != 200:
        raise BenchError(f"{page_url} answered {status}")
    matches = [link.url for link in simple.parse_project(page_url, "text/html", body).files
               if link.filename == wheel or urllib.parse.urlsplit(link.url).path.endswith("/" + wheel)]
    if not matches:
        raise BenchError(f"{page_url} does not link {wheel}")
    wheel_url = matches[0]
    for url in (root, project, wheel_url):
        status, _ = fetch(url)
        if status != 200:
            raise BenchError(f"{url} answered {status}")
    return {"/simple/": root, "project page": project, "~1 MB wheel": wheel_url}


# --- installs --------------------------------------------------------------

def _install(settings: Settings, client: str, index: str | None, packages: Path, round_: int) -> float:
    """Seconds for one install of PROJECT into a fresh venv (venv creation not timed)."""
    venv = settings.work / "venvs" / f"{client}-{round_}-{time.monotonic_ns()}"
    uv = str(settings.bin / "uv")
    env = clean_env(TMPDIR=str(settings.tmp))
    run([uv, "venv", "--quiet", "--python", settings.python, str(venv)], env=env)
    source = ["--index-url", index] if index else ["--no-index", "--find-links", str(packages)]
    if client == "pip":
        # --python: the bench venv's pinned pip installs into the fresh venv.
        command = [settings.python, "-m", "pip", "--python", str(venv / "bin" / "python"), "install",
                   "--isolated", "--no-cache-dir", "--quiet", *source, PROJECT]
    else:
        command = [uv, "pip", "install", "--python", str(venv / "bin" / "python"), "--no-cache", "--no-config",
                   "--quiet", *source, PROJECT]
    started = time.perf_counter()
    run(command, env=env, timeout=300)
    took = time.perf_counter() - started
    if not (venv / "bin" / "pip-audit").exists():
        raise BenchError(f"{client} did not install {PROJECT} from {index or packages}")
    rmtree(venv)
    return took


# --- the report ------------------------------------------------------------

def _section(settings, servers, loads, installs, wheel, repeats, seconds, rounds) -> Section:
    section = Section("servers", "Servers side by side (issues 6 and 7)")
    best = {name: {endpoint: median_load(runs) for endpoint, runs in by_endpoint.items()}
            for name, by_endpoint in loads.items()}
    endpoints = ("/simple/", "project page", "~1 MB wheel")
    rows = []
    for server in servers:
        cells = [server.name]
        for endpoint in endpoints:
            load, mine = best[server.name][endpoint], best[APPLIANCE][endpoint]
            cells += [rate(load.rps), f"{ms(load.p50_ms)} / {ms(load.p99_ms)}", times(mine.rps / load.rps)]
        cells.append(str(sum(best[server.name][e].errors for e in endpoints)))
        rows.append(tuple(cells))
    headers = ["server"]
    for endpoint in endpoints:
        headers += [f"{endpoint} req/s", "p50 / p99 ms", "appliance is"]
    section.tables.append(Table(tuple(headers + ["errors"]), tuple(rows),
                                f"Throughput: wrk -t2 -c32, {seconds:.0f} s per run, median of {repeats}"))

    floor = {client: median(installs[FLOOR][client]) for client in ("pip", "uv")}
    mine = {client: median(installs[APPLIANCE][client]) for client in ("pip", "uv")}
    rows = []
    for name in [FLOOR, *(s.name for s in servers)]:
        cells = [name]
        for client in ("pip", "uv"):
            value = median(installs[name][client])
            cells += [f"{secs(value)} ({secs(min(installs[name][client]))})", times(value / floor[client]),
                      "-" if name == FLOOR else times(value / mine[client])]
        rows.append(tuple(cells))
    section.tables.append(Table(
        ("server", "pip s (min)", "pip / floor", "pip / appliance", "uv s (min)", "uv / floor", "uv / appliance"),
        tuple(rows), f"Install pip-audit into a fresh venv (median of {rounds} interleaved rounds)"))

    page = {name: best[name]["project page"].rps for name in best}
    section.goals += [
        Goal("project page req/s vs pypiserver + gunicorn", ">= 10x",
             times(page[APPLIANCE] / page[GUNICORN]), page[APPLIANCE] >= 10 * page[GUNICORN]),
        Goal("project page req/s vs pypiserver default", ">= 50x",
             times(page[APPLIANCE] / page[PYPISERVER]), page[APPLIANCE] >= 50 * page[PYPISERVER]),
        Goal("pip install through the appliance vs floor", "<= 1.10x",
             times(mine["pip"] / floor["pip"]), mine["pip"] <= 1.10 * floor["pip"]),
        Goal("uv install through the appliance vs floor", "<= 1.20x",
             times(mine["uv"] / floor["uv"]), mine["uv"] <= 1.20 * floor["uv"]),
    ]
    section.notes += [
        f"Same files everywhere: the appliance's tree (py3.11, manylinux_x86_64; "
        f"{len(list(artifacts.wheels(settings).iterdir()))} wheels), copied out of `pypi-mirror-wheelhouse:bench`; "
        f"the wheel is `{wheel}`.",
        "All servers on 127.0.0.1 in the host's network namespace: the appliance with `--network host`, "
        "the peers as host processes (no docker-proxy for anyone).",
        *(f"{s.name}: {s.note}." for s in servers),
        "All five servers run for the whole suite (idle while another is measured), so any background "
        "work of one (devpi's threads, pypiserver's file watcher) costs every measurement alike.",
        "wrk sends no Accept-Encoding: every server sends the page uncompressed.",
        "Installs: a fresh venv per install on a tmpfs (not timed), caches off, `PIP_CONFIG_FILE=/dev/null`, "
        "no `PIP_*`/`UV_*` from the machine, `pip --isolated`, `uv --no-config --no-cache`; "
        "TMPDIR on the tmpfs too (uv unpacks there); "
        "the floor is `--no-index --find-links <tree>/packages`. Ratios are of medians.",
        f"Image built by `TAG=bench PYTHON_VERSIONS=3.11 PLATFORMS=manylinux_x86_64 scripts/build mirror "
        f"wheelhouse` in {secs(artifacts.images())} s (with the BuildKit cache earlier builds left).",
        "\"appliance is\" = appliance req/s / that server's req/s; \"/ appliance\" = that server's "
        "install time / the appliance's.",
    ]
    return section
