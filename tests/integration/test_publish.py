"""`build.py publish URL` / `scripts/publish IMAGE URL` into real indexes: pypiserver
(htpasswd upload auth) and devpi-server, then pip installs from that index alone,
verify passes PEP 503 there, and a second publish uploads nothing. Through twine:
a ~/.pypirc section named by --repository, TWINE_* variables, keyring, a proxy from
the environment, --skip-existing as twine reads a refusal."""

from __future__ import annotations

import hashlib
import http.client
import http.server
import json
import os
import shutil
import subprocess
import sys
import urllib.parse
import venv
import zipfile
from pathlib import Path

import pytest

from tests.integration.appliance import REPO
from tests.integration.peers import Peer, devpi_index, pypiserver
from tests.upstream.fake_index import serving

SUMMARY = "pypi-mirror: published to "
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


def host_env(**extra: str) -> dict:
    """No TWINE_*, NETRC, keyring or pip configuration from the machine: only what a test gives."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PIP_", "TWINE_")) and k != "NETRC" and k.lower() not in PROXY_VARIABLES}
    return {**env, "PIP_CONFIG_FILE": os.devnull, "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring", **extra}


def build_py(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "build.py"), *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=600)


def summary(result: subprocess.CompletedProcess) -> str:
    lines = [line for line in result.stderr.splitlines() if line.startswith(SUMMARY)]
    assert len(lines) == 1, result.stderr
    return lines[0].split(": ", 2)[2]


def mirrored(tree: Path) -> list[str]:
    return sorted(f["filename"] for f in json.loads((tree / "lock.json").read_text())["files"])


def pip_installs_from(index: str, tmp_path: Path) -> list[str]:
    """pip-audit into a fresh venv from that index alone; the URL of every file pip took."""
    env_dir = tmp_path / "client"
    venv.create(env_dir, with_pip=True)
    report = tmp_path / "report.json"
    result = subprocess.run([str(env_dir / "bin" / "python"), "-m", "pip", "install", "--isolated", "--no-cache-dir",
                             "--no-compile", "--quiet", "--index-url", index, "--report", str(report), "pip-audit"],
                            env=host_env(), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    version = subprocess.run([str(env_dir / "bin" / "pip-audit"), "--version"], capture_output=True, text=True)
    assert version.stdout.startswith("pip-audit "), version.stderr
    return [item["download_info"]["url"] for item in json.loads(report.read_text())["install"]]


def verify_503(url: str, tmp_path: Path) -> dict[str, str]:
    """build.py verify against the index: its PEP 503 checks pass; every check's status."""
    build_py("verify", url, "--install", "", "--json", str(tmp_path / "verify.json"), env=host_env())
    checks = {c["name"]: c for c in json.loads((tmp_path / "verify.json").read_text())}
    assert checks["PEP 503"]["status"] == "PASS", checks["PEP 503"]
    return {name: c["status"] for name, c in checks.items()}


def test_scripts_publish_into_pypiserver_with_htpasswd_then_pip_and_verify(mirror_image, mirror_tree, pypiserver_peer,
                                                                          tmp_path):
    peer: Peer = pypiserver_peer
    env = host_env(TWINE_USERNAME=peer.user, TWINE_PASSWORD=peer.password, PYTHON=sys.executable)
    first = subprocess.run([str(REPO / "scripts" / "publish"), mirror_image, peer.upload_url, "--jobs", "4"],
                           cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr
    count = len(mirrored(mirror_tree))
    assert summary(first).startswith(f"{count} uploaded, 0 skipped, 0 failed")
    assert "uploading " in first.stderr and peer.password not in first.stderr + first.stdout

    urls = pip_installs_from(peer.simple_url, tmp_path)
    assert urls and all(u.startswith(peer.upload_url) for u in urls), urls
    statuses = verify_503(peer.upload_url, tmp_path)
    assert statuses["PEP 691"] == "ABSENT" and statuses["mirror.json"] == "ABSENT"  # pypiserver: HTML only

    again = subprocess.run([str(REPO / "scripts" / "publish"), mirror_image, peer.upload_url], cwd=REPO, env=env,
                           capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    assert summary(again).startswith(f"0 uploaded, {count} skipped, 0 failed")


def test_publish_into_devpi_with_netrc_then_pip_and_verify(mirror_tree, devpi_url, tmp_path):
    peer = devpi_index(devpi_url, "root/prod", "root", "root-pw")
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine 127.0.0.1 login {peer.user} password {peer.password}\n")
    netrc.chmod(0o600)
    env = host_env(NETRC=str(netrc))
    first = build_py("publish", peer.upload_url, "--tree", str(mirror_tree), env=env)
    assert first.returncode == 0, first.stderr
    count = len(mirrored(mirror_tree))
    assert summary(first).startswith(f"{count} uploaded, 0 skipped, 0 failed")
    assert "(as root)" in first.stderr

    urls = pip_installs_from(peer.simple_url, tmp_path)
    assert urls and all(u.startswith(devpi_url + "/root/prod/") for u in urls), urls
    assert verify_503(peer.upload_url, tmp_path)["PEP 691"] == "PASS"  # devpi serves PEP 691 JSON

    again = build_py("publish", peer.upload_url, "--tree", str(mirror_tree), env=env)
    assert again.returncode == 0, again.stderr
    assert summary(again).startswith(f"0 uploaded, {count} skipped, 0 failed")


def error_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 1, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("pypi-mirror: error: ")]
    assert len(errors) == 1 and "Traceback" not in result.stderr, result.stderr
    return errors[0]


def test_wrong_credentials_one_line(mirror_tree, devpi_url):
    peer = devpi_index(devpi_url, "alice/prod", "alice", "alice-pw")
    line = error_line(build_py("publish", peer.upload_url, "--tree", str(mirror_tree),
                               env=host_env(TWINE_USERNAME="alice", TWINE_PASSWORD="not-alices")))
    assert f"{peer.upload_url}: HTTP 401: credentials refused (as alice)" in line
    assert "not-alices" not in line


def test_credentials_from_keyring_are_sent(mirror_tree, devpi_url, tmp_path):
    """keyring's entry for the upload URL is used: devpi refuses it by name (a wrong password,
    so that this index stays empty for the tests that need one)."""
    peer = devpi_index(devpi_url, "alice/prod", "alice", "alice-pw")
    store = tmp_path / "keyring.json"
    store.write_text(json.dumps({peer.upload_url: {"alice": "stale-password"}}))
    result = build_py("publish", peer.upload_url, "--tree", str(mirror_tree), env=host_env(
        PYTHON_KEYRING_BACKEND="tests.integration.keyring_backend.FileKeyring", PYPI_MIRROR_TEST_KEYRING=str(store)))
    assert "(as alice)" in result.stderr
    assert f"{peer.upload_url}: HTTP 401: credentials refused (as alice)" in error_line(result)
    assert "stale-password" not in result.stderr


def test_read_only_index_one_line(mirror_tree, devpi_url):
    peer = devpi_index(devpi_url, "alice/readonly", "alice", "alice-pw")
    line = error_line(build_py("publish", peer.upload_url, "--tree", str(mirror_tree),
                               env=host_env(TWINE_USERNAME="alice", TWINE_PASSWORD="alice-pw")))
    assert f"{peer.upload_url}: HTTP 403: uploads refused, a read-only index or no upload permission for alice" in line


def test_the_appliance_itself_takes_no_uploads(mirror_tree, mirror, devpi_url):
    # The Simple API of an empty index, so that every file is to be uploaded.
    empty = devpi_index(devpi_url, "alice/prod", "alice", "alice-pw").simple_url
    line = error_line(build_py("publish", mirror.url + "/", "--index-url", empty, "--tree", str(mirror_tree),
                               env=host_env(TWINE_USERNAME="x", TWINE_PASSWORD="y")))
    assert "HTTP 405: this address takes no uploads" in line


def test_dead_address_one_line(mirror_tree):
    line = error_line(build_py("publish", "http://127.0.0.1:9/", "--tree", str(mirror_tree), env=host_env()))
    assert line.startswith("pypi-mirror: error: http://127.0.0.1:9/simple/: cannot reach the index: ")
    assert "gave up after 4 attempts" in line


def test_credentials_in_the_url_are_refused(mirror_tree):
    line = error_line(build_py("publish", "http://u:secret@127.0.0.1:9/", "--tree", str(mirror_tree), env=host_env()))
    assert "credentials in it" in line and "secret" not in line


@pytest.fixture
def altered_tree(mirror_tree, tmp_path) -> tuple[Path, str]:
    """The tree with one wheel rebuilt (one more file inside), its lock updated to match:
    a same-named file with other contents than the index has."""
    tree = tmp_path / "tree"
    shutil.copytree(mirror_tree, tree)
    lock = json.loads((tree / "lock.json").read_text())
    entry = next(f for f in sorted(lock["files"], key=lambda f: f["filename"]) if f["filename"].endswith(".whl"))
    wheel = tree / "packages" / entry["filename"]
    with zipfile.ZipFile(wheel, "a") as archive:
        archive.writestr("extra.txt", "not the published file")
    entry["sha256"] = hashlib.sha256(wheel.read_bytes()).hexdigest()
    (tree / "lock.json").write_text(json.dumps(lock))
    return tree, entry["filename"]


def test_a_file_the_index_has_with_another_hash_fails_naming_it(mirror_tree, altered_tree, pypiserver_peer):
    tree, victim = altered_tree
    peer: Peer = pypiserver_peer
    env = host_env(TWINE_USERNAME=peer.user, TWINE_PASSWORD=peer.password)
    # The original files first (nothing new when the publish test ran before).
    assert build_py("publish", peer.upload_url, "--tree", str(mirror_tree), env=env).returncode == 0
    line = error_line(build_py("publish", peer.upload_url, "--tree", str(tree), env=env))
    assert "already has 1 file(s) with a different sha256, nothing uploaded" in line
    assert victim in line


# --- through twine: .pypirc, TWINE_*, a proxy, --skip-existing, the conflict check first ---------------

@pytest.fixture
def fresh_pypiserver(tmp_path) -> tuple[Peer, Path]:
    """An empty pypiserver of this test's own (htpasswd upload auth), and the folder it stores files in."""
    with pypiserver(tmp_path / "pypiserver") as peer:
        yield peer, tmp_path / "pypiserver" / "packages"


def stored(packages: Path) -> list[str]:
    return sorted(p.name for p in packages.iterdir())


def test_pypirc_section_named_by_repository_publishes_into_pypiserver(mirror_tree, fresh_pypiserver, tmp_path):
    peer, packages = fresh_pypiserver
    home = tmp_path / "home"
    home.mkdir()
    (home / ".pypirc").write_text(f"[distutils]\nindex-servers =\n    corp\n\n[corp]\nrepository = {peer.upload_url}\n"
                                  f"username = {peer.user}\npassword = {peer.password}\n")
    result = build_py("publish", "--repository", "corp", "--tree", str(mirror_tree), env=host_env(HOME=str(home)))
    assert result.returncode == 0, result.stderr
    count = len(mirrored(mirror_tree))
    assert summary(result).startswith(f"{count} uploaded, 0 skipped, 0 failed")
    assert f"(as {peer.user})" in result.stderr and peer.password not in result.stderr + result.stdout
    assert stored(packages) == mirrored(mirror_tree)  # pypiserver took them: the .pypirc credentials were sent


def test_twine_environment_names_the_index_and_the_user(mirror_tree, fresh_pypiserver):
    """TWINE_REPOSITORY_URL, TWINE_USERNAME and TWINE_PASSWORD alone: no URL, no option, no file."""
    peer, packages = fresh_pypiserver
    env = host_env(TWINE_REPOSITORY_URL=peer.upload_url, TWINE_USERNAME=peer.user, TWINE_PASSWORD=peer.password)
    result = build_py("publish", "--tree", str(mirror_tree), env=env)
    assert result.returncode == 0, result.stderr
    assert summary(result).startswith(f"{len(mirrored(mirror_tree))} uploaded, 0 skipped, 0 failed")
    assert stored(packages) == mirrored(mirror_tree)
    assert peer.password not in result.stderr + result.stdout


def test_without_a_target_or_into_pypi_one_line(mirror_tree, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    line = error_line(build_py("publish", "--tree", str(mirror_tree), env=host_env(HOME=str(home))))
    assert "no index named: give its URL, --repository-url URL or --repository NAME" in line
    line = error_line(build_py("publish", "-r", "pypi", "--tree", str(mirror_tree), env=host_env(HOME=str(home))))
    assert "publish into https://upload.pypi.org/legacy/: a mirror holds other people's projects" in line
    line = error_line(build_py("publish", "-r", "corp", "--tree", str(mirror_tree), env=host_env(HOME=str(home))))
    assert line == "pypi-mirror: error: publish: Missing 'corp' section from ~/.pypirc."


class RecordingProxy(http.server.ThreadingHTTPServer):
    """A plain HTTP forward proxy on 127.0.0.1 that records every request it carries."""

    def __init__(self):
        self.seen: list[tuple[str, str]] = []
        super().__init__(("127.0.0.1", 0), _ProxyHandler)


class _ProxyHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _forward(self):
        self.server.seen.append((self.command, self.path))
        target = urllib.parse.urlsplit(self.path)  # a proxy is sent the absolute URL
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection", "proxy-connection")}
        upstream = http.client.HTTPConnection(target.hostname, target.port, timeout=120)
        path = target.path + (f"?{target.query}" if target.query else "")
        upstream.request(self.command, path, body=body or None, headers=headers)
        response = upstream.getresponse()
        data = response.read()
        upstream.close()
        self.send_response(response.status, response.reason)
        for key, value in response.getheaders():
            if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _forward


def recording_proxy():
    return serving(RecordingProxy())


def test_the_proxy_from_the_environment_carries_the_reads_and_the_uploads(mirror_tree, fresh_pypiserver):
    peer, packages = fresh_pypiserver
    with recording_proxy() as proxy:
        env = host_env(HTTP_PROXY=f"http://127.0.0.1:{proxy.server_address[1]}",
                       TWINE_USERNAME=peer.user, TWINE_PASSWORD=peer.password)
        result = build_py("publish", peer.upload_url, "--tree", str(mirror_tree), env=env)
    assert result.returncode == 0, result.stderr
    assert stored(packages) == mirrored(mirror_tree)
    posts = [url for method, url in proxy.seen if method == "POST"]
    assert len(posts) == len(mirrored(mirror_tree)) and set(posts) == {peer.upload_url}
    assert ("GET", peer.simple_url) in proxy.seen


def test_skip_existing_counts_the_indexs_already_there_as_skipped(mirror_tree, fresh_pypiserver, tmp_path):
    """The Simple API read first is an empty index's (--index-url), so every upload reaches pypiserver,
    which already has the files and answers 400 "already exists" (409 to other clients than twine):
    a failure, or with --skip-existing a skip (twine's reading)."""
    peer, packages = fresh_pypiserver
    env = host_env(TWINE_USERNAME=peer.user, TWINE_PASSWORD=peer.password)
    assert build_py("publish", peer.upload_url, "--tree", str(mirror_tree), env=env).returncode == 0
    count = len(mirrored(mirror_tree))
    with pypiserver(tmp_path / "empty") as empty:
        line = error_line(build_py("publish", peer.upload_url, "--index-url", empty.simple_url,
                                   "--tree", str(mirror_tree), env=env))
        assert f"{peer.upload_url}: {count} upload(s) failed: " in line and "HTTP 400" in line
        again = build_py("publish", peer.upload_url, "--index-url", empty.simple_url, "--skip-existing",
                         "--tree", str(mirror_tree), env=env)
    assert again.returncode == 0, again.stderr
    assert summary(again).startswith(f"0 uploaded, {count} skipped, 0 failed")


def test_a_conflicting_file_stops_the_publish_before_any_upload(mirror_tree, altered_tree, fresh_pypiserver,
                                                                tmp_path):
    """The index has only the original of one wheel; the tree has that wheel altered and every other file
    new: the publish fails naming the wheel, and the index still holds that one file alone."""
    tree, victim = altered_tree
    peer, packages = fresh_pypiserver
    one = tmp_path / "one"
    shutil.copytree(mirror_tree, one)
    lock = json.loads((one / "lock.json").read_text())
    lock["files"] = [f for f in lock["files"] if f["filename"] == victim]
    (one / "lock.json").write_text(json.dumps(lock))
    env = host_env(TWINE_USERNAME=peer.user, TWINE_PASSWORD=peer.password)
    first = build_py("publish", peer.upload_url, "--tree", str(one), env=env)
    assert first.returncode == 0, first.stderr
    assert stored(packages) == [victim]
    line = error_line(build_py("publish", peer.upload_url, "--tree", str(tree), env=env))
    assert "already has 1 file(s) with a different sha256, nothing uploaded" in line and victim in line
    assert stored(packages) == [victim]
