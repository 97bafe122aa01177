"""Basic auth's fast path and the runtime bases it needs (issue 24, item 2).

With njs >= 0.8 (Debian 13's 0.8.9 in the stand-in base, the official
image's) a credential that passed a check is known in a shared dictionary
for the rest of its period: later requests need neither the proxy cache nor
the check server, and the HMAC secret lives in shared memory only. With
older njs (Debian 12's 0.7.9) the hook leaves the dictionary out and every
request asks the proxy cache, as before: slower, as correct. The image's
own config is run on Debian 12's nginx to show it.

How a test tells the paths apart: after one successful request, the
htpasswd and the cached check are removed. Only the dictionary can still
say yes; the cache path has to ask the check server, which now fails.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import requests

from tests.integration.appliance import REPO, start_mirror, wait_until_healthy

USER = "auditor"
PASSWORD = f"pw-{uuid.uuid4().hex}"
OLD_NJS_BASE = "pypi-mirror-standin/nginx:bookworm"
HTPASSWD = "/tmp/pypi-mirror/auth/htpasswd"
NGINX = ["/usr/sbin/nginx", "-c", "/etc/pypi-mirror/nginx/nginx.conf", "-e", "/dev/stderr", "-g", "daemon off;"]


def get(port: int, password: str = PASSWORD) -> requests.Response:
    return requests.get(f"http://127.0.0.1:{port}/simple/pip-audit/", auth=(USER, password), timeout=10)


def forget_the_htpasswd_and_the_cache(exec_run) -> None:
    """Both gone, and nginx reloaded: new workers hold no open cache file (open_file_cache) and
    shared memory (the cache's index, the dictionaries) is kept, as on any reload."""
    code, out = exec_run(["/bin/sh", "-c", f"rm {HTPASSWD} && rm -rf /tmp/pypi-mirror/auth-cache/*"], user="0")
    assert code == 0, out
    code, out = exec_run(["/usr/sbin/nginx", "-s", "reload", "-c", "/etc/pypi-mirror/nginx/nginx.conf",
                          "-e", "/dev/stderr"])
    assert code == 0, out
    # Until the old workers are gone (worker_shutdown_timeout 1s) and new ones run.
    deadline = time.monotonic() + 20
    while True:
        time.sleep(0.3)
        _, cmdlines = exec_run(["/bin/sh", "-c", "cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\\0' ' '; true"])
        text = cmdlines.decode()
        if "shutting down" not in text and "worker process" in text:
            return
        assert time.monotonic() < deadline, text


def early_in_a_period() -> None:
    """A success is known until its period ends (multiples of 30 s, the default): start well before an end."""
    if time.time() % 30 > 20:
        time.sleep(30.5 - time.time() % 30)


def check_auth(port: int, exec_run) -> list[int]:
    """Wrong/right answers, then the status of the known credential once nothing on disk can vouch for it."""
    early_in_a_period()
    assert requests.get(f"http://127.0.0.1:{port}/simple/", timeout=10).status_code == 401
    assert get(port, PASSWORD + "x").status_code == 401
    first = get(port)
    assert first.status_code == 200 and first.headers["Cache-Control"] == "private, max-age=300"
    assert get(port).status_code == 200
    forget_the_htpasswd_and_the_cache(exec_run)
    later = [get(port).status_code for _ in range(3)]
    # A credential never checked still needs the (now missing) file.
    assert get(port, PASSWORD + "y").status_code != 200
    return later


def auth_snippet(exec_run) -> str:
    code, out = exec_run(["cat", "/tmp/pypi-mirror/conf.d/30-basic-auth.conf"], user="0")
    assert code == 0, out
    return out.decode()


def test_with_njs_0_8_a_seen_credential_needs_no_cache_no_check_and_no_secret_on_disk(
    mirror_image, internal_network
):
    container, _ = start_mirror(mirror_image, internal_network, MIRROR_BASIC_AUTH=f"{USER}:{PASSWORD}")
    try:
        wrapped = container.get_wrapped_container()
        assert check_auth(container.get_exposed_port(8080), wrapped.exec_run) == [200, 200, 200]
        snippet = auth_snippet(wrapped.exec_run)
        assert "js_shared_dict_zone zone=pm_auth_secret" in snippet and "$pm_auth_secret" not in snippet, snippet
        assert not re.search(r"\b[0-9a-f]{64}\b", snippet), "a secret is written into the snippet"
        _, stderr = (stream.decode() for stream in container.get_logs())
        assert "30-basic-auth.sh: info: credentials that passed a check are known in shared memory" in stderr
    finally:
        container.stop()


@pytest.fixture(scope="module")
def old_njs_base() -> str:
    """Debian 12's nginx 1.22 and njs 0.7.9, made by scripts/base-images like the default stand-in."""
    env = {**os.environ, "BASE_RUNTIME_SUITE": "bookworm", "STANDIN_RUNTIME_IMAGE": OLD_NJS_BASE}
    made = subprocess.run([str(REPO / "scripts" / "base-images")], env=env, capture_output=True, text=True,
                          timeout=900)
    assert made.returncode == 0, made.stderr
    return OLD_NJS_BASE


@pytest.fixture(scope="module")
def appliance_files(mirror_image, tmp_path_factory) -> Path:
    """The image's config, hooks and tree, to run on another base."""
    root = tmp_path_factory.mktemp("appliance")
    container = subprocess.run(["docker", "create", mirror_image, "/bin/true"], capture_output=True, text=True,
                               check=True).stdout.strip()
    try:
        for path in ("/etc/pypi-mirror", "/srv/pypi", "/docker-entrypoint.d", "/docker-entrypoint.sh"):
            subprocess.run(["docker", "cp", f"{container}:{path}", str(root / path.strip("/").replace("/", "-"))],
                           check=True, capture_output=True)
    finally:
        subprocess.run(["docker", "rm", container], capture_output=True)
    subprocess.run(["chmod", "-R", "a+rX", str(root)], check=True)
    return root


def test_with_njs_0_7_the_same_config_falls_back_to_the_cache_and_stays_correct(
    old_njs_base, appliance_files, docker_client
):
    volumes = {str(appliance_files / name): {"bind": path, "mode": "ro"} for name, path in (
        ("etc-pypi-mirror", "/etc/pypi-mirror"), ("srv-pypi", "/srv/pypi"),
        ("docker-entrypoint.d", "/docker-entrypoint.d"), ("docker-entrypoint.sh", "/docker-entrypoint.sh"))}
    container = docker_client.containers.run(
        old_njs_base, NGINX, entrypoint=["/docker-entrypoint.sh"], detach=True, user="101:101",
        name=f"pypi-mirror-old-njs-{uuid.uuid4().hex[:8]}", volumes=volumes, read_only=True,
        tmpfs={"/tmp": ""}, ports={"8080/tcp": ("127.0.0.1", None)},
        environment={"MIRROR_BASIC_AUTH": f"{USER}:{PASSWORD}"})
    try:
        container.reload()
        port = int(container.ports["8080/tcp"][0]["HostPort"])
        wait_until_healthy(f"http://127.0.0.1:{port}/healthz", container)
        stderr = container.logs(stdout=False, stderr=True).decode()
        assert "njs module /usr/lib/nginx/modules/ngx_http_js_module.so" in stderr
        assert "30-basic-auth.sh: info: this njs has no shared dictionaries (njs < 0.8)" in stderr, stderr
        # Right and wrong as on the image's own base; once the file and the
        # cache are gone, the cache path has nothing left to say yes with.
        later = check_auth(port, container.exec_run)
        assert 200 not in later, later
        assert re.search(r"js_var \$pm_auth_secret [0-9a-f]{64};", auth_snippet(container.exec_run))
    finally:
        container.remove(force=True)
