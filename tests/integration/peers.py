"""Real index servers on 127.0.0.1: pypiserver and devpi-server, from the package index.

They are installed once into .venv-peers (tests/peers/requirements.txt; apart
from .venv-test, whose test tools their dependency trees would pin) and run
as host processes on free ports, each stopped by its own process group.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.integration.appliance import REPO

REQUIREMENTS = REPO / "tests" / "peers" / "requirements.txt"
VENV = REPO / ".venv-peers"


def peers_venv() -> Path:
    """The venv's bin/, (re)installed when the requirements changed."""
    stamp = VENV / "requirements.sha256"
    wanted = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    if not (stamp.exists() and stamp.read_text() == wanted):
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
        result = subprocess.run([str(VENV / "bin" / "python"), "-m", "pip", "install", "--quiet",
                                 "--disable-pip-version-check", "-r", str(REQUIREMENTS)],
                                capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"cannot install {REQUIREMENTS}:\n{result.stderr[-3000:]}")
        stamp.write_text(wanted)
    return VENV / "bin"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def process(command: list[str], log: Path, ready: str, *, env: dict | None = None, timeout: float = 60):
    """A server process until the block ends; ready is a URL that must answer 200 within timeout."""
    with log.open("w") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if requests.get(ready, timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"{command[0]} never answered 200 at {ready}:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)


class Peer:
    """An index: where to upload, where its Simple API is, who may upload."""

    def __init__(self, upload_url: str, simple_url: str, user: str, password: str):
        self.upload_url, self.simple_url, self.user, self.password = upload_url, simple_url, user, password


@contextlib.contextmanager
def pypiserver(work: Path):
    """pypiserver with an htpasswd file guarding uploads, and no fallback upstream."""
    bin_ = peers_venv()
    port = free_port()
    (work / "packages").mkdir(parents=True)
    hashed = subprocess.run(["openssl", "passwd", "-apr1", "uploader-pw"], capture_output=True, text=True,
                            check=True).stdout.strip()
    (work / "htpasswd").write_text(f"uploader:{hashed}\n")
    command = [str(bin_ / "pypi-server"), "run", "-i", "127.0.0.1", "-p", str(port), "-P", str(work / "htpasswd"),
               "-a", "update", "--disable-fallback", str(work / "packages")]
    url = f"http://127.0.0.1:{port}/"
    with process(command, work / "pypiserver.log", f"{url}simple/"):
        yield Peer(url, f"{url}simple/", "uploader", "uploader-pw")


@contextlib.contextmanager
def devpi(work: Path):
    """devpi-server offline, with root/prod (root uploads), alice/prod (alice uploads)
    and alice/readonly (only root may upload)."""
    bin_ = peers_venv()
    port = free_port()
    env = dict(os.environ)
    subprocess.run([str(bin_ / "devpi-init"), "--serverdir", str(work / "server"), "--no-root-pypi",
                    "--root-passwd", "root-pw"], env=env, check=True, capture_output=True)
    url = f"http://127.0.0.1:{port}"
    command = [str(bin_ / "devpi-server"), "--serverdir", str(work / "server"), "--host", "127.0.0.1",
               "--port", str(port), "--offline-mode"]
    with process(command, work / "devpi.log", f"{url}/+api", env=env):
        # devpi's REST API, with basic auth as root: what devpi-client does, without a process per step.
        admin = requests.Session()
        admin.auth = ("root", "root-pw")
        for path, config in (("/alice", {"password": "alice-pw"}),
                             ("/root/prod", {"bases": [], "volatile": False}),
                             ("/alice/prod", {"bases": [], "volatile": False}),
                             ("/alice/readonly", {"bases": [], "acl_upload": ["root"]})):
            response = admin.put(f"{url}{path}", json=config, headers={"Accept": "application/json"}, timeout=30)
            assert response.status_code in (200, 201), f"PUT {path}: {response.status_code} {response.text[:500]}"
        yield url


def devpi_index(url: str, index: str, user: str, password: str) -> Peer:
    return Peer(f"{url}/{index}/", f"{url}/{index}/+simple/", user, password)
