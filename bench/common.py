"""What every suite needs: one settings record, processes, containers, wrk, timing.

Nothing here knows a suite. Helpers raise BenchError with one clear line
when something breaks; run.py turns that into a non-zero exit (a missed
goal is never an error).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
# The one target every side-by-side run uses: the host's own (py3.11 x86-64
# Linux), so a host venv can install what the servers serve.
TARGET_PYTHON = "3.11"
TARGET_PLATFORM = "manylinux_x86_64"
# PYPI_MIRROR_BENCH_TAG: another tag (and container names) for runs that
# share a Docker daemon with other runs.
TAG = os.environ.get("PYPI_MIRROR_BENCH_TAG", "bench")
IMAGE = f"pypi-mirror:{TAG}"
WHEELHOUSE_IMAGE = f"pypi-mirror-wheelhouse:{TAG}"


class BenchError(Exception):
    """Something broke (not: a goal was missed)."""


@dataclasses.dataclass(frozen=True)
class Settings:
    work: Path  # scratch space on a tmpfs: trees, venvs, server state
    quick: bool
    python: str  # the bench venv's interpreter (has the build's tools and the clients)

    @property
    def bin(self) -> Path:
        return Path(self.python).parent

    @property
    def peers(self) -> Path:
        """bin/ of the index servers' venv (bench/peers.txt, made by bench/run)."""
        return BENCH / ".venv-peers" / "bin"

    @property
    def tmp(self) -> Path:
        """TMPDIR for clients and builds: uv and pip unpack there, and this
        machine's disk is slow at creating files (ENVIRONMENT.md)."""
        path = self.work / "tmp"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def seconds(self, full: float, quick: float) -> float:
        return quick if self.quick else full

    def count(self, full: int, quick: int) -> int:
        return quick if self.quick else full


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def run(command: list[str], *, env: dict | None = None, cwd: Path | None = None, timeout: float = 900,
        quiet: bool = True) -> subprocess.CompletedProcess:
    """Run to completion; a failure raises with the command's last words."""
    try:
        result = subprocess.run(command, env=env, cwd=cwd, timeout=timeout, text=True,
                                stdout=subprocess.PIPE if quiet else None, stderr=subprocess.STDOUT if quiet else None)
    except subprocess.TimeoutExpired:
        raise BenchError(f"timed out after {timeout:.0f} s: {' '.join(command)}") from None
    if result.returncode != 0:
        tail = "\n".join((result.stdout or "").strip().splitlines()[-15:])
        raise BenchError(f"exit {result.returncode}: {' '.join(command)}\n{tail}")
    return result


def timed(command: list[str], **kwargs) -> float:
    started = time.perf_counter()
    run(command, **kwargs)
    return time.perf_counter() - started


def clean_env(**extra: str) -> dict:
    """The environment of a client that must only see the server under test.

    This machine's pip configuration adds find-links and extra indexes
    (ENVIRONMENT.md): drop every PIP_/UV_ variable and every config file.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    env.update(PIP_CONFIG_FILE="/dev/null", PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_CACHE_DIR="1",
               UV_NO_CONFIG="1", UV_PYTHON_DOWNLOADS="never", UV_NO_CACHE="1")
    env.update(extra)
    return env


def upstream_env(**extra: str) -> dict:
    """Like clean_env, but for talking to the real upstream index through this machine's CA."""
    return clean_env(PIP_CERT=CA_BUNDLE, SSL_CERT_FILE=CA_BUNDLE, REQUESTS_CA_BUNDLE=CA_BUNDLE, **extra)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_in_use(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def wait_http(url: str, *, timeout: float = 60, headers: dict | None = None, what: str = "server") -> None:
    """Until url answers 200 (self-signed TLS accepted: wrk does not verify either)."""
    context = ssl._create_unverified_context()
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=5,
                                        context=context) as response:
                if response.status == 200:
                    return
        except urllib.error.HTTPError as exc:
            last = f"HTTP {exc.code}"
        except OSError as exc:
            last = str(exc)
        time.sleep(0.3)
    raise BenchError(f"{what} did not answer 200 at {url} within {timeout:.0f} s ({last})")


def fetch(url: str, headers: dict | None = None) -> tuple[int, bytes]:
    context = ssl._create_unverified_context()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=10,
                                    context=context) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@contextlib.contextmanager
def process(command: list[str], *, name: str, logs: Path, env: dict | None = None):
    """A background server, stopped (by its own pid) however the block ends."""
    logs.parent.mkdir(parents=True, exist_ok=True)
    with logs.open("w") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            # Its own session: gunicorn's workers go with their master.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
        log(f"stopped {name}")


@contextlib.contextmanager
def container(name: str, args: list[str]):
    """`docker run -d --name bench-NAME ARGS`, removed however the block ends."""
    full = f"bench-{name}" if TAG == "bench" else f"bench-{TAG}-{name}"
    subprocess.run(["docker", "rm", "-f", full], capture_output=True)
    run(["docker", "run", "-d", "--name", full, *args])
    try:
        yield full
    except BaseException:
        logs = subprocess.run(["docker", "logs", "--tail", "20", full], capture_output=True, text=True)
        log(f"{full} log tail:\n{logs.stdout}{logs.stderr}")
        raise
    finally:
        subprocess.run(["docker", "rm", "-f", full], capture_output=True)


@contextlib.contextmanager
def host_appliance(image: str, name: str):
    """The appliance in the host's network namespace, so it and the peers
    (host processes) sit behind the same path: loopback, no docker-proxy.
    The image listens on 8080, which must therefore be free on the host."""
    if port_in_use(8080):
        raise BenchError("port 8080 is in use on this host: the appliance runs with --network host "
                         "(same path as the peers), so 8080 must be free")
    with container(name, ["--network", "host", image]) as full:
        wait_http("http://127.0.0.1:8080/healthz", what=full)
        yield "http://127.0.0.1:8080"


# --- wrk -------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Load:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int  # socket errors (connect/read/write/timeout) + non-2xx/3xx responses

    def __str__(self) -> str:
        return f"{self.rps:,.0f} req/s, p50 {self.p50_ms:.2f} ms, p99 {self.p99_ms:.2f} ms, {self.errors} errors"


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def wrk(url: str, *, seconds: float, connections: int, threads: int = 2, headers: dict | None = None) -> Load:
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency",
               "--timeout", "5s"]
    for key, value in (headers or {}).items():
        command += ["-H", f"{key}: {value}"]
    out = run([*command, url], timeout=seconds + 60).stdout
    return parse_wrk(out)


def parse_wrk(out: str) -> Load:
    def latency(pct: str) -> float:
        m = re.search(rf"^\s*{pct}%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M)
        if not m:
            raise BenchError(f"no {pct}% latency in wrk output:\n{out}")
        return float(m.group(1)) * _UNITS[m.group(2)]

    rps = re.search(r"^Requests/sec:\s+([\d.]+)", out, re.M)
    total = re.search(r"^\s*(\d+) requests in", out, re.M)
    if not rps or not total:
        raise BenchError(f"unexpected wrk output:\n{out}")
    errors = 0
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if sock:
        errors += sum(int(g) for g in sock.groups())
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        errors += int(non2xx.group(1))
    return Load(float(rps.group(1)), latency("50"), latency("99"), int(total.group(1)), errors)


def median_load(loads: list[Load]) -> Load:
    """The run with the median throughput (its latencies belong to it)."""
    ordered = sorted(loads, key=lambda load: load.rps)
    chosen = ordered[len(ordered) // 2]
    return dataclasses.replace(chosen, errors=sum(load.errors for load in loads))


def median(values: list[float]) -> float:
    return statistics.median(values)


def rmtree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def image_size(image: str) -> int:
    return int(run(["docker", "image", "inspect", "--format", "{{.Size}}", image]).stdout.strip())
