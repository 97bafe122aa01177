"""Issue 4: a bounded load test over HTTPS with basic auth, zero errors wanted.

The appliance runs the way a user runs it with TLS: published ports on
127.0.0.1 (docker-proxy in the path), `MIRROR_TLS=self-signed` and
`MIRROR_BASIC_AUTH`. Baselines, measured in the same run over the same path: plain
HTTP on 8080 of the same container (also behind auth), and plain HTTP of a
container without auth.
"""

from __future__ import annotations

import base64

import artifacts
from common import IMAGE, BenchError, Settings, container, fetch, free_port, log, wait_http, wrk
from report import Goal, Section, Table, ms, rate

USER, PASSWORD = "bench", "bench-password"
PATH = "/simple/pip-audit/"
CONNECTIONS = 256


def suite(settings: Settings) -> Section:
    artifacts.images()
    https_port, http_port = free_port(), free_port()
    auth = {"Authorization": "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()}
    seconds = settings.seconds(60, 10)
    baseline_seconds = settings.seconds(15, 5)
    with container("tls", ["-p", f"127.0.0.1:{https_port}:8443", "-p", f"127.0.0.1:{http_port}:8080",
                           "-e", "MIRROR_TLS=self-signed", "-e", f"MIRROR_BASIC_AUTH={USER}:{PASSWORD}", IMAGE]):
        https = f"https://127.0.0.1:{https_port}"
        wait_http(f"{https}/healthz", what="appliance over HTTPS")
        # The test is only meaningful if auth is really on.
        for url, headers, want in ((https + PATH, {}, 401), (https + PATH, auth, 200),
                                   (f"http://127.0.0.1:{http_port}{PATH}", auth, 200)):
            status, _ = fetch(url, headers)
            if status != want:
                raise BenchError(f"{url} with{'' if headers else 'out'} credentials answered {status}, not {want}")
        plain = wrk(f"http://127.0.0.1:{http_port}{PATH}", seconds=baseline_seconds, connections=CONNECTIONS,
                    headers=auth)
        log(f"wrk plain HTTP + auth: {plain}")
        secure = wrk(https + PATH, seconds=seconds, connections=CONNECTIONS, headers=auth)
        log(f"wrk HTTPS + auth: {secure}")
    # What auth itself costs: the same image and path with neither TLS nor auth.
    open_port = free_port()
    with container("tls-open", ["-p", f"127.0.0.1:{open_port}:8080", IMAGE]):
        wait_http(f"http://127.0.0.1:{open_port}/healthz", what="appliance without auth")
        open_ = wrk(f"http://127.0.0.1:{open_port}{PATH}", seconds=baseline_seconds, connections=CONNECTIONS)
        log(f"wrk plain HTTP, no auth: {open_}")

    section = Section("tls-load", "HTTPS + basic auth under load (issue 4)")
    rows = []
    for name, load, duration in (("HTTPS (self-signed) + basic auth", secure, seconds),
                                 ("baseline: plain HTTP + basic auth, same container", plain, baseline_seconds),
                                 ("baseline: plain HTTP, no auth (another container)", open_, baseline_seconds)):
        rows.append((name, f"{duration:.0f} s", f"{load.requests:,}", rate(load.rps), ms(load.p50_ms),
                     ms(load.p99_ms), str(load.errors)))
    section.tables.append(Table(("run", "duration", "requests", "req/s", "p50 ms", "p99 ms", "errors"),
                                tuple(rows), f"wrk -t2 -c{CONNECTIONS} on {PATH}, 127.0.0.1 via published ports"))
    section.goals.append(Goal(f"errors over HTTPS + auth ({CONNECTIONS} connections, {seconds:.0f} s)", "0",
                              f"{secure.errors} (p99 {ms(secure.p99_ms)} ms)", secure.errors == 0))
    section.notes += [
        f"`docker run -p 127.0.0.1:P:8443 -p 127.0.0.1:Q:8080 -e MIRROR_TLS=self-signed "
        f"-e MIRROR_BASIC_AUTH={USER}:... {IMAGE}`; errors = wrk socket errors + non-2xx/3xx responses.",
        f"HTTPS + auth runs at {secure.rps / plain.rps:.0%} of plain HTTP + auth (the cost of TLS; wrk keeps "
        f"its connections alive, so few handshakes), and plain HTTP + auth at {plain.rps / open_.rps:.0%} of "
        "plain HTTP without auth, all through docker-proxy (what auth itself costs, without the proxy in "
        "the way: the `auth` suite).",
    ]
    return section
