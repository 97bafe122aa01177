"""Driving the real appliance: build it as a user does, start it, run clients beside it."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import tarfile
import time
import uuid
from pathlib import Path

import pytest
import requests
from testcontainers.core.container import DockerContainer

REPO = Path(__file__).resolve().parents[2]

# access_log ... flush=1s (nginx/nginx.conf), plus a margin.
ACCESS_LOG_FLUSH_SECONDS = 1.2


def bake(*args: str, **env: str) -> subprocess.CompletedProcess:
    """scripts/build, as a user runs it; output captured for assertions."""
    return subprocess.run(
        [str(REPO / "scripts" / "build"), "--progress", "plain", *args],
        cwd=REPO, env={**os.environ, **env}, capture_output=True, text=True,
    )


def plain_bake(*args: str, cwd: Path = REPO, **env: str) -> subprocess.CompletedProcess:
    """`docker buildx bake` itself, no scripts/build: what a user with Docker and buildx runs.

    The host's CA bundle goes in as CA_BUNDLE (the index here is reached through a
    re-signing proxy); the bases are the ones the test command chose.
    """
    bundle = "/etc/ssl/certs/ca-certificates.crt"
    command = ["docker", "buildx", "bake", "-f", str(REPO / "docker-bake.hcl"), "--progress", "plain",
               "--allow", f"fs.read={bundle}", *args]
    return run_bake(command, cwd=cwd, env={**os.environ, "CA_BUNDLE": bundle, **env})


# One Python version on one platform: the smallest tree a build makes.
ONE_TARGET = {"PYTHON_VERSIONS": "3.11", "PLATFORMS": "manylinux_x86_64"}


def tree_of(tmp_path: Path, name: str, *args: str, **env: str) -> tuple[Path, str]:
    """Bake the wheelhouse target into a local folder: (the tree, the build log)."""
    out = tmp_path / name
    result = plain_bake("wheelhouse", "--set", f"wheelhouse.output=type=local,dest={out}",
                        "--allow", f"fs.write={tmp_path}", *args,
                        **ONE_TARGET, **env)
    assert result.returncode == 0, result.stderr[-4000:]
    return out / "srv" / "pypi", result.stderr


# buildx 0.29 can drop a bake while it loads a build context, when a linked
# target's session closes under a job that still needs it (docker/buildx#4011;
# one image per bake makes it rare); scripts/build runs such a pass again, and
# so do the tests that call bake themselves.
DIAL_RACE = "only one connection allowed"


def run_bake(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    """command (a bake, or scripts/build) run up to three times while it fails with DIAL_RACE alone."""
    for _ in range(3):
        result = subprocess.run(command, capture_output=True, text=True, **kwargs)
        if result.returncode == 0 or DIAL_RACE not in result.stderr:
            break
    return result


def build_or_fail(*args: str, **env: str) -> None:
    result = bake(*args, **env)
    if result.returncode != 0:
        pytest.fail(f"scripts/build {' '.join(args)} failed:\n{result.stderr[-4000:]}", pytrace=False)





class Mirror:
    """A running appliance: its URL on 127.0.0.1, its name on the internal network."""

    def __init__(self, container: DockerContainer, alias: str):
        self.container = container
        self.alias = alias
        self.url = f"http://127.0.0.1:{container.get_exposed_port(8080)}"
        # 8443 answers only when TLS is on (a mounted pair or MIRROR_TLS=self-signed).
        self.https_url = f"https://127.0.0.1:{container.get_exposed_port(8443)}"

    def get(self, path: str, **kwargs) -> requests.Response:
        return requests.get(self.url + path, timeout=10, allow_redirects=False, **kwargs)

    def logs(self) -> tuple[str, str]:
        """stdout (the access log) and stderr, with every request made so far in them."""
        return flushed_logs(self.container)


def flushed_logs(container: DockerContainer, timeout: float = 10) -> tuple[str, str]:
    """The container's logs once nginx has flushed its buffered access log.

    nginx writes the access log in 1 s batches, one buffer per worker: the
    marker request shows that its worker flushed, and waiting one flush
    period past it covers the other workers' buffers too. Fails if the
    marker never shows.
    """
    marker = f"/_log-flush/{uuid.uuid4().hex}"
    sent = time.monotonic()
    requests.get(f"http://127.0.0.1:{container.get_exposed_port(8080)}{marker}", timeout=5, allow_redirects=False)
    deadline = sent + timeout
    while True:
        out, err = (stream.decode() for stream in container.get_logs())
        if marker in out and time.monotonic() > sent + ACCESS_LOG_FLUSH_SECONDS:
            return out, err
        if time.monotonic() > deadline:
            raise AssertionError(f"nginx's access log never showed {marker} within {timeout} s")
        time.sleep(0.1)


def start_mirror(image: str, network, *, alias: str | None = None, volumes: dict[str, str] | None = None,
                 run_options: dict | None = None, **env: str) -> tuple[DockerContainer, str]:
    """Start the appliance, wait for /healthz; env are its environment variables.

    alias: its name on the network (a certificate must name it before start);
    volumes: host path -> container path, mounted read-only; run_options:
    extra `docker run` settings in docker-py's spelling (read_only, tmpfs,
    user, cap_drop, security_opt, ...).
    """
    alias = alias or f"mirror-{uuid.uuid4().hex[:6]}"
    container = DockerContainer(image)
    # Published on loopback only; with_bind_ports cannot name a host address.
    container.ports["8080/tcp"] = ("127.0.0.1", None)
    container.ports["8443/tcp"] = ("127.0.0.1", None)
    for host_path, container_path in (volumes or {}).items():
        container = container.with_volume_mapping(host_path, container_path, "ro")
    options = dict(run_options or {})
    # testcontainers passes tmpfs itself: a second one in the kwargs would clash.
    for path, mount_options in options.pop("tmpfs", {}).items():
        container.tmpfs[path] = mount_options
    if options:
        container = container.with_kwargs(**options)
    for key, value in env.items():
        container = container.with_env(key, value)
    container.start()
    network.connect(container.get_wrapped_container(), aliases=[alias])
    wait_until_healthy(f"http://127.0.0.1:{container.get_exposed_port(8080)}/healthz", container)
    return container, alias


@contextlib.contextmanager
def running_mirror(image: str, network, **kwargs):
    """start_mirror as a context manager: the Mirror, stopped however the block ends."""
    container, alias = start_mirror(image, network, **kwargs)
    try:
        yield Mirror(container, alias)
    finally:
        container.stop()


def wait_until_healthy(url: str, container, timeout: float = 30) -> None:
    """Until url answers 200; fails with the container's logs when it exits or the time runs out.

    container: a testcontainers DockerContainer or the docker SDK's Container.
    """
    wrapped = container.get_wrapped_container() if isinstance(container, DockerContainer) else container
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        wrapped.reload()
        if wrapped.status == "exited":
            break
        time.sleep(0.2)
    out, err = (wrapped.logs(stdout=True, stderr=False), wrapped.logs(stdout=False, stderr=True))
    raise AssertionError(f"{url} never answered 200:\n{out.decode()[-2000:]}\n{err.decode()[-2000:]}")


def run_client(docker_client, image: str, network, script: str, *, with_uv: bool = False,
               environment: dict | None = None, files: dict[str, bytes] | None = None) -> str:
    """Run a shell script in a throw-away client container on the network; its stdout.

    with_uv puts the test venv's uv binary at /usr/local/bin/uv first: the
    client has no way out to fetch it, and the stand-in base has no uv.
    files: absolute path in the client -> content (mode 600), e.g. a CA or a netrc.
    """
    container = docker_client.containers.create(
        image, ["/bin/sh", "-euc", script], network=network.name,
        environment={"PATH": "/usr/local/bin:/usr/bin:/bin", "PIP_DISABLE_PIP_VERSION_CHECK": "1",
                     "UV_PYTHON_DOWNLOADS": "never", "UV_NO_CACHE": "1", **(environment or {})},
    )
    try:
        if with_uv:
            container.put_archive("/usr/local/bin", _tar_of(UV_BINARY, "uv"))
        if files:
            container.put_archive("/", _tar_of_bytes(files))
        container.start()
        status = container.wait(timeout=300)
        stdout = container.logs(stdout=True, stderr=False).decode()
        stderr = container.logs(stdout=False, stderr=True).decode()
    finally:
        container.remove(force=True)
    assert status["StatusCode"] == 0, f"client script failed ({status}):\n{stderr[-4000:]}"
    return stdout


UV_BINARY = Path(sys.executable).parent / "uv"


def _tar_of(path: Path, name: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(path, arcname=name)
    return buffer.getvalue()


def _tar_of_bytes(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path, content in files.items():
            info = tarfile.TarInfo(path.lstrip("/"))
            info.size, info.mode = len(content), 0o600
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()
