"""Issues 15 and 24: basic auth at line rate, and a flood of wrong passwords that cannot starve real clients.

Two measurements, each against a baseline taken in the same run:

- throughput with basic auth vs without: two containers of the same image
  side by side, one with auth, over plain HTTP and over HTTPS (host wrk
  -t1 -c32 to their bridge addresses, rounds alternating which goes first);
- a client with valid credentials alone, then while another address floods
  the appliance with random passwords for the same user. Limits are per
  client address, so both clients run wrk in containers of their own on a
  network the suite creates and talk to the appliance's address there
  (host processes would all share the bridge gateway's address). The same
  flood against a container whose limit is lifted shows what the limit buys.
"""

from __future__ import annotations

import base64
import contextlib
import os
import re
import subprocess
import time
import uuid

import artifacts
from common import (BENCH, IMAGE, TAG, BenchError, Load, Settings, container, fetch, log, median, median_load,
                    parse_wrk, run, wait_http, wrk)
from report import Goal, Section, Table, ms, rate

USER, PASSWORD = "bench", "bench-password"
PATH = "/simple/pip-audit/"
CONNECTIONS = 32
VALID_CONNECTIONS = 16
FLOOD_CONNECTIONS = 256
WRK_IMAGE = f"pypi-mirror-bench-wrk:{TAG}"
AUTH = {"Authorization": "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()}
# What the appliance does by default (nginx/README.md).
DEFAULT_RATE, DEFAULT_BURST = 20, 100


def suite(settings: Settings) -> Section:
    artifacts.images()
    section = Section("auth", "Basic auth: throughput and a wrong-password flood (issues 15, 24)")
    throughput(settings, section)
    flood(settings, section)
    return section


# --- auth vs no auth ---------------------------------------------------------

def throughput(settings: Settings, section: Section) -> None:
    seconds = settings.seconds(6, 3)
    rounds = settings.count(5, 3)
    loads: dict[tuple[str, str], list[Load]] = {}
    cpu: dict[tuple[str, str], list[float]] = {}
    tls = ["-e", "MIRROR_TLS=self-signed"]
    # Two containers of the same image side by side, one with auth and one
    # without (issue 24's method): both run all along, so each round's pair
    # meets the same machine, and which one goes first alternates.
    with container("auth-open", [*tls, IMAGE]) as open_, \
            container("auth-on", [*tls, "-e", f"MIRROR_BASIC_AUTH={USER}:{PASSWORD}", IMAGE]) as auth_:
        names = {"open": open_, "auth": auth_}
        urls = {}
        for name, full in names.items():
            address = container_address(full)
            wait_http(f"http://{address}:8080/healthz", what=full)
            urls[name] = {scheme: f"{scheme}://{address}:{port}{PATH}"
                          for scheme, port in (("http", 8080), ("https", 8443))}
        for scheme in ("http", "https"):
            expect(urls["auth"][scheme], {}, 401)
            expect(urls["auth"][scheme], AUTH, 200)
            expect(urls["open"][scheme], {}, 200)
        for round_ in range(rounds):
            for scheme in ("http", "https"):
                for name in (("open", "auth") if round_ % 2 == 0 else ("auth", "open")):
                    full = names[name]
                    before = cpu_seconds(full)
                    load = wrk(urls[name][scheme], seconds=seconds, connections=CONNECTIONS, threads=1,
                               headers=AUTH if name == "auth" else None)
                    used = cpu_seconds(full) - before
                    log(f"wrk {scheme} {name}: {load}; nginx CPU {used / load.requests * 1e6:.1f} us/request")
                    loads.setdefault((name, scheme), []).append(load)
                    cpu.setdefault((name, scheme), []).append(used / load.requests)
    rows = []
    for scheme, label in (("http", "plain HTTP"), ("https", "HTTPS")):
        for name in ("open", "auth"):
            load = median_load(loads[name, scheme])
            rows.append((label, "basic auth" if name == "auth" else "no auth", rate(load.rps), ms(load.p50_ms),
                         ms(load.p99_ms), str(load.errors), f"{median(cpu[name, scheme]) * 1e6:.1f}"))
        ratios = [a.rps / o.rps for a, o in zip(loads["auth", scheme], loads["open", scheme])]
        ratio = median(ratios)
        section.goals.append(Goal(f"{label}: with auth / without auth (median of the rounds' ratios)", ">= 0.80",
                                  f"{ratio:.2f} (rounds: {', '.join(f'{r:.2f}' for r in ratios)})", ratio >= 0.8))
        errors = sum(load.errors for name in ("open", "auth") for load in loads[name, scheme])
        section.goals.append(Goal(f"{label}: errors (non-2xx, socket) in every run", "0", str(errors), errors == 0))
    section.tables.append(Table(
        ("protocol", "run", "req/s", "p50 ms", "p99 ms", "errors", "nginx CPU us/request"), tuple(rows),
        f"wrk -t1 -c{CONNECTIONS} {seconds:.0f} s on {PATH}, medians of {rounds} rounds alternating which container "
        "goes first, two containers side by side, host to their bridge addresses"))
    section.notes += [
        f"Two containers of `{IMAGE}`, both with `MIRROR_TLS=self-signed`, one also with `MIRROR_BASIC_AUTH` "
        "(SHA-512 crypt), running side by side for the whole suite (issue 24's method); each round runs both, "
        "alternating which goes first, and the ratio is the median of the rounds' ratios. wrk talks to the "
        "containers' addresses on docker's bridge, not to published ports: docker-proxy would cap both runs at "
        "its own rate and hide what auth costs. With njs >= 0.8 a request whose credential the dictionary "
        "of seen credentials knows makes no subrequest: one njs call looks it up at server level "
        "(auth/gate.conf, nginx/README.md).",
        "nginx CPU us/request: user + system time of every process in the container over the run, per request "
        "(less sensitive than req/s to what else the shared machine runs). With auth each request also makes "
        "one njs call (HMAC of the header, a shared-dictionary lookup), and njs gives every request that calls "
        "it a fresh VM, running the top level of every module its location imports (`basic-auth.js` alone: "
        "`osv.js` is imported in the OSV locations only). Where nginx alone limits throughput, the ratio "
        "would be that of CPU per request: "
        + ", ".join(f"{label} {median(cpu['open', scheme]) / median(cpu['auth', scheme]):.2f}"
                    for scheme, label in (("http", "plain HTTP"), ("https", "HTTPS"))) + ".",
        f"Machine load while measuring (1/5/15 min): {load_average()}.",
    ]


def load_average() -> str:
    return " / ".join(f"{value:.2f}" for value in os.getloadavg())


def cpu_seconds(name: str) -> float:
    """CPU time used so far by every process in the container (nginx master, workers, cache processes)."""
    out = run(["docker", "exec", name, "/bin/sh", "-c", "cat /proc/[0-9]*/stat 2>/dev/null; true"]).stdout
    ticks = 0
    for line in out.splitlines():
        # After "pid (comm)": state is field 3, utime and stime fields 14 and 15.
        fields = line.rsplit(")", 1)[-1].split()
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def container_address(name: str) -> str:
    return run(["docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
                name]).stdout.strip()


def expect(url: str, headers: dict, want: int) -> None:
    status, _ = fetch(url, headers)
    if status != want:
        raise BenchError(f"{url} with{'' if headers else 'out'} credentials answered {status}, not {want}")


# --- the flood ---------------------------------------------------------------

def flood(settings: Settings, section: Section) -> None:
    seconds = settings.seconds(10, 4)
    rounds = settings.count(3, 1)
    wrk_image()
    network = f"bench-{TAG}-auth-{uuid.uuid4().hex[:6]}"
    run(["docker", "network", "create", "--internal", network])
    try:
        results = {}
        for name, extra in (("limited", []),
                            ("unlimited", ["-e", "MIRROR_AUTH_RATE=100000", "-e", "MIRROR_AUTH_BURST=100000"])):
            with container(f"auth-flood-{name}", ["--network", network, "-e", f"MIRROR_BASIC_AUTH={USER}:{PASSWORD}",
                                                  *extra, IMAGE]) as full:
                address = container_address(full)
                # The host reaches an --internal network's addresses too.
                wait_http(f"http://{address}:8080/healthz", what=full)
                url = f"http://{address}:8080{PATH}"
                solo, during, floods = [], [], []
                for _ in range(rounds):
                    solo.append(valid_client(network, url, seconds))
                    with flooding(network, url, seconds + 4) as flood_load:
                        time.sleep(2)  # the flood at full strength first
                        during.append(valid_client(network, url, seconds))
                    floods.append(flood_load())
                    log(f"{name}: valid alone {solo[-1]}; during the flood {during[-1]}; flood {floods[-1]}")
                checks = len(re.findall(r"password mismatch", docker_logs(full)))
                results[name] = (median_load(solo), median_load(during), median_load(floods), checks,
                                 rounds * (seconds + 4))
    finally:
        subprocess.run(["docker", "network", "rm", network], capture_output=True)

    rows = []
    for name, label in (("limited", f"defaults ({DEFAULT_RATE} checks/s, {DEFAULT_BURST} queued)"),
                        ("unlimited", "limit lifted (MIRROR_AUTH_RATE=100000)")):
        solo, during, flood_load, checks, flood_seconds = results[name]
        rows.append((label, rate(solo.rps), rate(during.rps), f"{during.rps / solo.rps:.2f}", str(during.errors),
                     rate(flood_load.rps), f"{checks / flood_seconds:,.0f}"))
    section.tables.append(Table(
        ("appliance", "valid alone req/s", "valid during flood req/s", "ratio", "valid errors", "flood req/s",
         "hash checks/s"), tuple(rows),
        f"valid client: wrk -t1 -c{VALID_CONNECTIONS} {seconds:.0f} s; flood: wrk -t1 -c{FLOOD_CONNECTIONS}, a new "
        f"random password for user {USER} on every request; median of {rounds} rounds, each client in its own "
        "container on an --internal network"))
    solo, during, flood_load, checks, flood_seconds = results["limited"]
    ratio = during.rps / solo.rps
    section.goals.append(Goal("valid client during a wrong-password flood / alone", ">= 0.50", f"{ratio:.2f}",
                              ratio >= 0.5))
    section.goals.append(Goal("valid client errors during the flood", "0", str(during.errors), during.errors == 0))
    section.notes += [
        "hash checks/s: `password mismatch` lines in the appliance's error log (one per wrong password that reached "
        "the hash) over the time the flood ran. Over the limit the flood gets 429 after a 1 s pause, so each of its "
        "connections sends about one request a second and the hash is computed at the limited rate.",
        "The valid client's credentials are checked once per cache period; its requests never reach the limit.",
    ]


def wrk_image() -> None:
    base = os.environ.get("BUILDER_IMAGE") or next(
        (image for image in ("python:3.13-slim", "pypi-mirror-standin/python:bookworm")
         if subprocess.run(["docker", "image", "inspect", image], capture_output=True).returncode == 0), None)
    if not base:
        raise BenchError("no Debian-based image for the wrk clients: set BUILDER_IMAGE")
    log(f"building {WRK_IMAGE} from {base} (apt-get install wrk)")
    run(["docker", "build", "-q", "--build-arg", f"BASE={base}", "-t", WRK_IMAGE, str(BENCH / "wrk")], timeout=600)


def wrk_in_container(network: str, args: list[str], name: str) -> list[str]:
    # FLOOD_USER: the user whose password the flood guesses (flood.lua).
    return ["docker", "run", "--rm", "--name", name, "--network", network, "-e", f"FLOOD_USER={USER}", WRK_IMAGE,
            *args]


def valid_client(network: str, url: str, seconds: float) -> Load:
    name = f"bench-{TAG}-auth-valid"
    out = run(wrk_in_container(network, ["-t1", f"-c{VALID_CONNECTIONS}", f"-d{round(seconds)}s", "--latency",
                                         "--timeout", "5s", "-H", f"Authorization: {AUTH['Authorization']}", url],
                               name), timeout=seconds + 60).stdout
    return parse_wrk(out)


@contextlib.contextmanager
def flooding(network: str, url: str, seconds: float):
    """A wrong-password flood in the background; yields a function giving its Load once it ended."""
    name = f"bench-{TAG}-auth-flood"
    subprocess.run(["docker", "rm", "-f", name], capture_output=True)
    command = wrk_in_container(network, ["-t1", f"-c{FLOOD_CONNECTIONS}", f"-d{round(seconds)}s", "--latency",
                                         "--timeout", "5s", "-s", "/flood.lua", url], name)
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    result: dict[str, Load] = {}
    try:
        yield lambda: result["load"]
    finally:
        out, _ = proc.communicate(timeout=seconds + 60)
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)
    if proc.returncode != 0:
        raise BenchError(f"the flood's wrk failed:\n{out[-2000:]}")
    result["load"] = parse_wrk(out)


def docker_logs(name: str) -> str:
    logs = subprocess.run(["docker", "logs", name], capture_output=True, text=True)
    return logs.stdout + logs.stderr
