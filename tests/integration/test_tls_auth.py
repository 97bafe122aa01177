"""HTTPS and basic auth with real certificates, real pip and uv on an air-gapped network.

Certificates are made with the openssl CLI on the host, as an operator would;
the client containers get only the CA (or a wrong one) and the credentials.
"""

from __future__ import annotations

import base64
import concurrent.futures
import hashlib
import http.client
import os
import json
import re
import socket
import ssl
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import requests

from tests.integration.appliance import flushed_logs, run_client, start_mirror

USER = "auditor"
# Random, so "appears in no file and no log" cannot pass by luck.
PASSWORD = f"pw-{uuid.uuid4().hex}"
TLS_DIR = "/etc/pypi-mirror/tls"


def openssl(*args: str, cwd: Path, stdin: str | None = None) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, input=stdin, check=True, capture_output=True, text=True)


def make_ca(directory: Path, name: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
            "-subj", f"/CN={name}", "-keyout", "ca.key", "-out", "ca.pem",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign",
            cwd=directory)
    return directory / "ca.pem"


def make_server_pair(directory: Path, ca_dir: Path, names: list[str]) -> Path:
    """tls.crt + tls.key in directory, signed by the CA in ca_dir, readable by any UID.

    The container runs as UID 101 and must read the key: in Kubernetes the
    secret's defaultMode does that; here the mount is read-only and the
    directory lives in pytest's private temp dir.
    """
    directory.mkdir(parents=True, exist_ok=True)
    san = ",".join(f"IP:{n}" if re.fullmatch(r"[\d.]+", n) else f"DNS:{n}" for n in names)
    (directory / "ext.cnf").write_text(f"subjectAltName={san}\nextendedKeyUsage=serverAuth\n")
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-subj", f"/CN={names[0]}", "-keyout", "tls.key", "-out", "tls.csr", cwd=directory)
    openssl("x509", "-req", "-in", "tls.csr", "-CA", str(ca_dir / "ca.pem"), "-CAkey", str(ca_dir / "ca.key"),
            "-CAcreateserial", "-days", "2", "-extfile", "ext.cnf", "-out", "tls.crt", cwd=directory)
    for name in ("ext.cnf", "tls.csr"):
        (directory / name).unlink()
    directory.chmod(0o755)
    for name in ("tls.crt", "tls.key"):
        (directory / name).chmod(0o644)
    return directory


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """The mirror's CA and server pair (SAN: its network alias and 127.0.0.1), and an unrelated CA."""
    root = tmp_path_factory.mktemp("pki")
    alias = f"mirror-tls-{uuid.uuid4().hex[:6]}"
    ca = make_ca(root / "ca", "pypi-mirror test CA")
    other_ca = make_ca(root / "other-ca", "some other CA")
    tls_dir = make_server_pair(root / "tls", root / "ca", [alias, "127.0.0.1"])
    return {"alias": alias, "ca": ca, "other_ca": other_ca, "tls_dir": tls_dir}


@pytest.fixture(scope="module")
def tls_mirror(mirror_image, internal_network, pki):
    """A mounted pair (no MIRROR_TLS: the pair alone turns HTTPS on) and MIRROR_BASIC_AUTH."""
    container, alias = start_mirror(mirror_image, internal_network, alias=pki["alias"],
                                    volumes={str(pki["tls_dir"]): TLS_DIR},
                                    MIRROR_BASIC_AUTH=f"{USER}:{PASSWORD}")
    try:
        yield container
    finally:
        container.stop()


def https_url(container, path: str = "") -> str:
    return f"https://127.0.0.1:{container.get_exposed_port(8443)}{path}"


def https_get(container, ca: Path, path: str, **kwargs) -> requests.Response:
    return requests.get(https_url(container, path), verify=str(ca), timeout=10, allow_redirects=False, **kwargs)


# --- raw requests ---------------------------------------------------------

def test_request_without_credentials_is_401_with_the_realm(tls_mirror, pki):
    response = https_get(tls_mirror, pki["ca"], "/simple/")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Basic realm="pypi-mirror"'


def test_request_with_a_wrong_password_is_401(tls_mirror, pki):
    response = https_get(tls_mirror, pki["ca"], "/simple/", auth=(USER, PASSWORD + "x"))
    assert response.status_code == 401


def basic(credentials: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(credentials.encode()).decode()}


MALFORMED = {
    "not base64": {"Authorization": "Basic !!!"},
    "no colon": basic(USER + PASSWORD),
    "empty": {"Authorization": "Basic "},
    "another scheme": {"Authorization": f"Bearer {PASSWORD}"},
    "user only": basic(f"{USER}:"),
}


@pytest.mark.parametrize("case", MALFORMED)
def test_malformed_credentials_are_refused_with_400_or_401(tls_mirror, pki, case):
    response = https_get(tls_mirror, pki["ca"], "/simple/", headers=MALFORMED[case])
    assert response.status_code in (400, 401), response.status_code


def test_a_huge_authorization_header_is_refused_with_a_4xx(tls_mirror):
    # Over large_client_header_buffers (8k): nginx refuses it before any check.
    port = tls_mirror.get_exposed_port(8080)
    response = requests.get(f"http://127.0.0.1:{port}/simple/", headers={"Authorization": "Basic " + "A" * 20000},
                            timeout=10)
    assert 400 <= response.status_code < 500, response.status_code


def test_the_auth_subrequest_and_its_check_server_are_not_reachable(tls_mirror, pki):
    for path in ("/_pm/auth", "/_pm/check"):
        assert https_get(tls_mirror, pki["ca"], path, auth=(USER, PASSWORD)).status_code == 404


def test_request_with_credentials_gets_the_index_over_https(tls_mirror, pki):
    response = https_get(tls_mirror, pki["ca"], "/simple/pip-audit/", auth=(USER, PASSWORD),
                         headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    assert response.status_code == 200
    assert response.json()["name"] == "pip-audit"


def test_auth_applies_to_plain_http_too(tls_mirror):
    port = tls_mirror.get_exposed_port(8080)
    assert requests.get(f"http://127.0.0.1:{port}/simple/", timeout=10).status_code == 401


@pytest.mark.parametrize("path", ["/", "/projects/pip-audit/", "/assets/site.js"])
def test_the_pages_for_people_are_behind_auth_too(tls_mirror, pki, path):
    assert https_get(tls_mirror, pki["ca"], path).status_code == 401
    assert https_get(tls_mirror, pki["ca"], path, auth=(USER, PASSWORD)).status_code == 200


def test_normalizing_redirect_is_not_given_before_auth(tls_mirror, pki):
    # A 301 vs 404 would tell an anonymous caller which projects the mirror holds.
    response = https_get(tls_mirror, pki["ca"], "/simple/Pip_Audit/")
    assert response.status_code == 401


def test_behind_auth_every_answer_is_private_to_the_client(tls_mirror, pki):
    # Issue 21 item 10: "public" let a shared cache (a proxy, a CDN) hand a
    # package that needs a password to whoever asks it next.
    page = https_get(tls_mirror, pki["ca"], "/simple/pip-audit/", auth=(USER, PASSWORD),
                     headers={"Accept": "text/html"})
    href = re.search(r'href="\.\./\.\./(packages/[^"#]+)#', page.text)
    assert href, page.text
    answers = {path: https_get(tls_mirror, pki["ca"], path, auth=(USER, PASSWORD))
               for path in ("/simple/", "/simple/pip-audit/", "/" + href.group(1), "/", "/lock.json",
                            "/assets/site.js")}
    controls = {path: (response.status_code, response.headers.get("Cache-Control"))
                for path, response in answers.items()}
    assert controls["/" + href.group(1)] == (200, "private, max-age=31536000, immutable"), controls
    assert all(status == 200 and control.startswith("private, ") for status, control in controls.values()), \
        controls
    # Plain HTTP too: it is the same server body.
    port = tls_mirror.get_exposed_port(8080)
    plain = requests.get(f"http://127.0.0.1:{port}/simple/", auth=(USER, PASSWORD), timeout=10)
    assert plain.headers["Cache-Control"] == "private, max-age=300"


# --- the gate (auth/gate.conf): credentials not seen yet take the check first -

SPACES = iter(range(2, 1000))


def unseen() -> dict[str, str]:
    """The right credential under a header the dictionary of seen credentials has not met: nginx
    skips any number of spaces after "Basic", and the dictionary's key is the header's HMAC."""
    header = basic(f"{USER}:{PASSWORD}")["Authorization"]
    return {"Authorization": header.replace(" ", " " * next(SPACES), 1)}


def test_a_credential_not_seen_yet_gets_the_uri_it_asked_for(tls_mirror, pki):
    # The gate rewrites to an internal location for the check, then back to
    # the decoded URI with the query string: encoded characters, arguments,
    # redirects and internal paths must come out as on the fast path.
    seen = {"Authorization": basic(f"{USER}:{PASSWORD}")["Authorization"]}
    json_type = "application/vnd.pypi.simple.v1+json"
    cases = {
        "/simple/pip%2Daudit/": (200, "text/html"),
        "/simple/pip-audit/?format=application/vnd.pypi.simple.v1%2Bjson": (200, json_type),
        "/simple/Pip_Audit/": (301, "/simple/pip-audit/"),
        "/projects/pip-audit/": (200, "text/html"),
        "/simple/pip-audit%3F/": (404, None),
        "/_pm/json/simple/pip-audit/index.json": (404, None),
        "/_pm/auth-gate": (404, None),
        "/_pm/auth-renew": (404, None),
    }
    for headers in (seen, unseen(), seen):
        for path, (status, what) in cases.items():
            response = https_get(tls_mirror, pki["ca"], path, headers=dict(headers))
            got = response.headers.get("Location") if status == 301 else response.headers.get("Content-Type")
            assert (response.status_code, got if what else None) == (status, what), (path, headers)


def test_osv_queries_over_1_kib_and_records_pass_auth_seen_or_not(tls_mirror, pki):
    # Failed before the auth subrequest ignored the body's length: any query
    # over the server's 1 KiB (a pip-audit batch) got a 500. And njs keeps the
    # first VM a request makes: one made for the dictionary lookup lacks
    # osv.js ("js function not found", a 500).
    queries = [{"package": {"name": f"project-{n}", "ecosystem": "PyPI"}, "version": "1.0"} for n in range(40)]
    assert len(json.dumps({"queries": queries})) > 1024
    seen = basic(f"{USER}:{PASSWORD}")
    for headers in (unseen(), seen, seen):
        batch = requests.post(https_url(tls_mirror, "/osv/v1/querybatch"), json={"queries": queries},
                              headers=headers, verify=str(pki["ca"]), timeout=30)
        assert batch.status_code == 200 and len(batch.json()["results"]) == 40, batch.text[:300]
        one = requests.post(https_url(tls_mirror, "/osv/v1/query"), json=queries[0], headers=headers,
                            verify=str(pki["ca"]), timeout=30)
        assert one.status_code == 200 and one.json() == {}, one.text[:300]
        record = https_get(tls_mirror, pki["ca"], "/osv/v1/vulns/NO-SUCH-ID", headers=headers)
        assert record.status_code == 404 and record.json()["code"] == 5, record.text[:300]
    anonymous = requests.post(https_url(tls_mirror, "/osv/v1/querybatch"), json={"queries": queries},
                              verify=str(pki["ca"]), timeout=30)
    assert anonymous.status_code == 401


def test_healthz_needs_no_credentials_on_either_port(tls_mirror, pki):
    assert https_get(tls_mirror, pki["ca"], "/healthz").status_code == 200
    port = tls_mirror.get_exposed_port(8080)
    assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code == 200


def test_the_mounted_certificate_is_the_one_served(tls_mirror, pki):
    served = ssl.get_server_certificate(("127.0.0.1", tls_mirror.get_exposed_port(8443)))
    mounted = (pki["tls_dir"] / "tls.crt").read_text()
    assert ssl.PEM_cert_to_DER_cert(served) == ssl.PEM_cert_to_DER_cert(mounted)


def handshake(port: int, version: ssl.TLSVersion, ciphers: str = "ALL:@SECLEVEL=0") -> ssl.SSLSocket:
    """A TLS handshake pinned to one version, with the client willing to use anything."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    context.minimum_version = context.maximum_version = version
    if version != ssl.TLSVersion.TLSv1_3:
        context.set_ciphers(ciphers)
    context.set_alpn_protocols(["h2", "http/1.1"])
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    return context.wrap_socket(sock)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("version", ["TLSv1", "TLSv1_1"])
def test_tls_below_1_2_is_refused_by_the_server(tls_mirror, version):
    with pytest.raises(ssl.SSLError) as refused:
        handshake(tls_mirror.get_exposed_port(8443), ssl.TLSVersion[version]).close()
    # The server's alert, not a client that could not even try.
    assert "PROTOCOL_VERSION" in str(refused.value)


@pytest.mark.parametrize("version", ["TLSv1_2", "TLSv1_3"])
def test_tls_1_2_and_1_3_are_served_with_http2(tls_mirror, version):
    with handshake(tls_mirror.get_exposed_port(8443), ssl.TLSVersion[version]) as tls:
        assert tls.version() == version.replace("_", ".")
        assert tls.selected_alpn_protocol() == "h2"


def test_tls_1_2_without_forward_secrecy_or_aead_is_refused(tls_mirror):
    with pytest.raises(ssl.SSLError) as refused:
        handshake(tls_mirror.get_exposed_port(8443), ssl.TLSVersion.TLSv1_2,
                  ciphers="AES128-SHA:AES256-SHA:AES128-GCM-SHA256:ECDHE-ECDSA-AES128-SHA:@SECLEVEL=0").close()
    # The server's alert: it shares none of these (plain RSA kex, or CBC) with the client.
    assert "HANDSHAKE_FAILURE" in str(refused.value)


def test_generated_htpasswd_holds_a_hash_and_the_password_is_in_no_file_and_no_log(tls_mirror, pki):
    # A success and a failure first, so the auth cache holds an entry to search.
    assert https_get(tls_mirror, pki["ca"], "/simple/", auth=(USER, PASSWORD)).status_code == 200
    assert https_get(tls_mirror, pki["ca"], "/simple/", auth=(USER, PASSWORD + "x")).status_code == 401
    wrapped = tls_mirror.get_wrapped_container()
    code, htpasswd = wrapped.exec_run(["cat", "/tmp/pypi-mirror/auth/htpasswd"])
    assert code == 0 and re.fullmatch(rf"{USER}:\$6\$\S+\n", htpasswd.decode()), htpasswd
    code, cached = wrapped.exec_run(["find", "/tmp/pypi-mirror/auth-cache", "-type", "f"], user="0")
    assert code == 0 and cached.split(), "the successful check was not cached"
    # The header as sent (base64) and the password, in the clear or as its
    # wrong twin: in no file (as root, so none escapes the search; /proc holds
    # the environment, which is the input), and in no log.
    secrets = [PASSWORD, basic(f"{USER}:{PASSWORD}")["Authorization"].split()[1],
               basic(f"{USER}:{PASSWORD}x")["Authorization"].split()[1]]
    patterns = [arg for secret in secrets for arg in ("-e", secret)]
    code, found = wrapped.exec_run(
        ["grep", "-rlsF", "--exclude-dir=proc", "--exclude-dir=sys", "--exclude-dir=dev", *patterns, "/"],
        user="0")
    assert code == 1 and found == b"", found
    stdout, stderr = flushed_logs(tls_mirror)
    assert not [secret for secret in secrets if secret in stdout + stderr]


# --- real clients on the internal network ---------------------------------

def client_files(pki, ca: str = "ca") -> dict[str, bytes]:
    return {"/ca.pem": pki[ca].read_bytes()}


def test_pip_installs_pip_audit_over_https_with_the_ca_and_url_credentials(
    tls_mirror, pki, docker_client, client_image, internal_network
):
    alias = pki["alias"]
    report = run_client(docker_client, client_image, internal_network, f"""
        python3 -m venv /v
        /v/bin/pip install --no-input --cert /ca.pem --index-url "https://{USER}:$PW@{alias}:8443/simple/" \\
            --report /tmp/report.json --quiet pip-audit >&2
        /v/bin/pip-audit --version >&2
        cat /tmp/report.json
    """, files=client_files(pki), environment={"PW": PASSWORD})
    urls = [item["download_info"]["url"] for item in json.loads(report)["install"]]
    assert len(urls) > 10
    assert all(re.match(rf"https://([^@/]+@)?{alias}:8443/packages/", url) for url in urls), urls


def test_pip_installs_pip_audit_with_credentials_from_netrc(
    tls_mirror, pki, docker_client, client_image, internal_network
):
    alias = pki["alias"]
    files = {**client_files(pki), "/root/.netrc": f"machine {alias} login {USER} password {PASSWORD}\n".encode()}
    run_client(docker_client, client_image, internal_network, f"""
        python3 -m venv /v
        HOME=/root /v/bin/pip install --no-input --cert /ca.pem --index-url https://{alias}:8443/simple/ \\
            --quiet pip-audit >&2
        /v/bin/pip-audit --version
    """, files=files)


@pytest.mark.parametrize("credentials", ["uv's per-index variables", "the index URL"])
def test_uv_installs_pip_audit_with_ssl_cert_file_and_credentials(
    tls_mirror, pki, docker_client, client_image, internal_network, credentials
):
    index = f"{pki['alias']}:8443/simple/"
    environment = {
        # UV_INDEX_<NAME>_USERNAME / _PASSWORD belong to the index named "mirror".
        "uv's per-index variables": {"UV_DEFAULT_INDEX": f"mirror=https://{index}",
                                     "UV_INDEX_MIRROR_USERNAME": USER, "UV_INDEX_MIRROR_PASSWORD": PASSWORD},
        "the index URL": {"UV_INDEX_URL": f"https://{USER}:{PASSWORD}@{index}"},
    }[credentials]
    run_client(docker_client, client_image, internal_network, """
        uv venv --quiet /v
        uv pip install --quiet --python /v/bin/python pip-audit >&2
        /v/bin/pip-audit --version
    """, with_uv=True, files=client_files(pki), environment={"SSL_CERT_FILE": "/ca.pem", **environment})


def expect_failure(command: str) -> str:
    """Shell lines: run command, which must fail; print its output for the test to inspect."""
    return f"""
        if {command} >/tmp/out 2>&1; then cat /tmp/out >&2; echo "unexpected success" >&2; exit 1; fi
        cat /tmp/out
    """


def test_pip_without_credentials_fails_with_401(tls_mirror, pki, docker_client, client_image, internal_network):
    # `pip download` needs no venv: the same index requests, seconds sooner.
    output = run_client(docker_client, client_image, internal_network, expect_failure(
        f"python3 -m pip download --no-input --retries 0 --cert /ca.pem -d /tmp/d "
        f"--index-url https://{pki['alias']}:8443/simple/ pip-audit"), files=client_files(pki))
    assert "No matching distribution found for pip-audit" in output, output
    # pip 23 does not name the status without -v: the mirror's access log does.
    access_log, _ = flushed_logs(tls_mirror)
    assert re.search(r'"GET /simple/pip-audit/ HTTP/[\d.]+" 401 \d+ "pip/', access_log)


def test_pip_with_a_wrong_ca_fails_certificate_verification(
    tls_mirror, pki, docker_client, client_image, internal_network
):
    output = run_client(docker_client, client_image, internal_network, expect_failure(
        f"python3 -m pip download --no-input --retries 0 --cert /ca.pem -d /tmp/d "
        f'--index-url "https://{USER}:$PW@{pki["alias"]}:8443/simple/" pip-audit'),
        files=client_files(pki, "other_ca"), environment={"PW": PASSWORD})
    assert "CERTIFICATE_VERIFY_FAILED" in output, output


def test_uv_with_a_wrong_ca_fails_certificate_verification(
    tls_mirror, pki, docker_client, client_image, internal_network
):
    output = run_client(docker_client, client_image, internal_network, "uv venv --quiet /v" + expect_failure(
        "uv pip install --python /v/bin/python pip-audit"), with_uv=True, files=client_files(pki, "other_ca"),
        environment={"SSL_CERT_FILE": "/ca.pem", "UV_HTTP_RETRIES": "0",
                     "UV_INDEX_URL": f"https://{USER}:{PASSWORD}@{pki['alias']}:8443/simple/"})
    assert re.search(r"UnknownIssuer|certificate verify failed|invalid peer certificate", output), output


# --- mounted htpasswd -----------------------------------------------------

def apr1(password: str) -> str:
    # apr1 is what `htpasswd` writes by default and nginx checks it itself.
    return subprocess.run(["openssl", "passwd", "-apr1", "-stdin"], input=password, text=True,
                          capture_output=True, check=True).stdout.strip()


def replace_file(path: Path, text: str) -> None:
    """Atomically, as a Kubernetes Secret update or a deploy tool does."""
    tmp = path.with_name(path.name + ".new")
    tmp.write_text(text)
    tmp.chmod(0o644)
    os.replace(tmp, path)


CACHE_SECONDS = 3


def test_mounted_htpasswd_turns_auth_on_and_a_changed_password_is_refused_within_the_cache_time(
    mirror_image, internal_network, tmp_path
):
    auth_dir = tmp_path / "auth"
    auth_dir.mkdir(mode=0o755)
    replace_file(auth_dir / "htpasswd", f"fileuser:{apr1('file-pass')}\n")
    container, _ = start_mirror(mirror_image, internal_network, volumes={str(auth_dir): "/etc/pypi-mirror/auth"},
                                MIRROR_AUTH_CACHE_SECONDS=str(CACHE_SECONDS))
    try:
        url = f"http://127.0.0.1:{container.get_exposed_port(8080)}/simple/"
        assert requests.get(url, timeout=10).status_code == 401
        assert requests.get(url, auth=("fileuser", "wrong"), timeout=10).status_code == 401
        assert requests.get(url, auth=("fileuser", "file-pass"), timeout=10).status_code == 200

        # The directory is mounted, so the container sees the new file.
        replace_file(auth_dir / "htpasswd", f"fileuser:{apr1('new-pass')}\n")
        changed = time.monotonic()
        # A credential not seen before is checked against the file at once.
        assert requests.get(url, auth=("fileuser", "new-pass"), timeout=10).status_code == 200
        # The old one may live on in the cache for the documented time, never
        # longer (half a second for the requests themselves).
        deadline = changed + CACHE_SECONDS + 0.5
        while True:
            status = requests.get(url, auth=("fileuser", "file-pass"), timeout=10).status_code
            if status == 401:
                break
            assert status == 200, status
            assert time.monotonic() < deadline, f"the old password still works {CACHE_SECONDS} s after the change"
            time.sleep(0.1)
        assert requests.get(url, auth=("fileuser", "new-pass"), timeout=10).status_code == 200
    finally:
        container.stop()


def test_a_flood_of_wrong_passwords_gets_delayed_429s_and_spares_cached_users(mirror_image, internal_network):
    rate, burst = 5, 2
    container, _ = start_mirror(mirror_image, internal_network, MIRROR_BASIC_AUTH=f"{USER}:{PASSWORD}",
                                MIRROR_AUTH_RATE=str(rate), MIRROR_AUTH_BURST=str(burst))
    try:
        port = container.get_exposed_port(8080)
        url = f"http://127.0.0.1:{port}/simple/"
        assert requests.get(url, auth=(USER, PASSWORD), timeout=10).status_code == 200

        def wrong(n: int) -> tuple[int, float, str | None]:
            started = time.monotonic()
            response = requests.get(url, auth=(USER, f"guess-{n}"), timeout=10)
            return response.status_code, time.monotonic() - started, response.headers.get("Retry-After")

        started = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(12) as pool:
            answers = list(pool.map(wrong, range(12)))
        elapsed = time.monotonic() - started
        statuses = sorted(status for status, _, _ in answers)
        # One check at once, `burst` more queued, `rate` more each second:
        # the rest are refused before any hash is computed.
        assert set(statuses) == {401, 429}, statuses
        assert statuses.count(401) <= 1 + burst + rate * elapsed, (statuses, elapsed)
        limited = [(seconds, retry) for status, seconds, retry in answers if status == 429]
        assert all(seconds >= 0.9 and retry == "1" for seconds, retry in limited), limited
        # The cached user and the probes do not notice, from the same address.
        assert requests.get(url, auth=(USER, PASSWORD), timeout=10).status_code == 200
        assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code == 200
    finally:
        container.stop()


def busy_clients(url: str, *, clients: int, seconds: float) -> list[int]:
    """The statuses of `clients` keep-alive sessions of USER getting url back to back for `seconds`."""
    def client(_: int) -> list[int]:
        statuses = []
        with requests.Session() as session:
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                statuses.append(session.get(url, auth=(USER, PASSWORD), timeout=10).status_code)
        return statuses

    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        return [status for answers in pool.map(client, range(clients)) for status in answers]


def test_many_connections_of_one_user_pass_each_cache_period_without_429s(mirror_image, internal_network):
    # A limit that lets 1 check a second (plus 2) through, 16 connections of
    # one user: where they miss the cache at once (a period's end without a
    # dictionary entry) they must wait for one check, not all go into the
    # limit; and the renewals, one every half second here, go over the rate
    # and must be served all the same.
    container, _ = start_mirror(mirror_image, internal_network, MIRROR_BASIC_AUTH=f"{USER}:{PASSWORD}",
                                MIRROR_AUTH_CACHE_SECONDS="1", MIRROR_AUTH_RATE="1", MIRROR_AUTH_BURST="2")
    try:
        url = f"http://127.0.0.1:{container.get_exposed_port(8080)}/simple/"
        statuses = busy_clients(url, clients=16, seconds=3)
        assert set(statuses) == {200}, {status: statuses.count(status) for status in set(statuses)}
        assert len(statuses) > 100, len(statuses)
    finally:
        container.stop()


def test_a_busy_client_never_waits_while_its_credential_is_checked_again(mirror_image, internal_network):
    # Once a period one request checks a known credential again while the
    # others are served. If they all fell off the dictionary at once, they
    # would wait on the cache's lock, which nginx looks at every 500 ms.
    container, _ = start_mirror(mirror_image, internal_network, MIRROR_BASIC_AUTH=f"{USER}:{PASSWORD}",
                                MIRROR_AUTH_CACHE_SECONDS="2")
    try:
        url = f"http://127.0.0.1:{container.get_exposed_port(8080)}/simple/"
        # A new credential's first requests do wait for its one check: not these.
        assert requests.get(url, auth=(USER, PASSWORD), timeout=10).status_code == 200
        statuses = busy_clients(url, clients=8, seconds=7)
        assert set(statuses) == {200}, {status: statuses.count(status) for status in set(statuses)}
        access_log, _ = flushed_logs(container)
        # The log line ends with $request_time: nginx's own time, whatever the client's threads did.
        times = [float(line.rsplit(" ", 1)[1]) for line in access_log.splitlines() if '"GET /simple/ HTTP/1.1" 200' in line]
        assert len(times) > 100, len(times)
        assert max(times) < 0.4, sorted(times)[-10:]
    finally:
        container.stop()


def test_a_renewal_over_the_check_rate_is_served_and_a_wrong_password_still_refused(mirror_image, internal_network):
    # MIRROR_AUTH_CACHE_SECONDS=2: a credential's answering entry ends 1 s
    # after its check, its own entry 2 s after; the next request in between
    # renews the check. One check per second, none queued: a wrong password
    # sent just before takes the second's check, so the renewal is over the
    # rate, and is served as the credential's other requests are.
    container, _ = start_mirror(mirror_image, internal_network, MIRROR_BASIC_AUTH=f"{USER}:{PASSWORD}",
                                MIRROR_AUTH_CACHE_SECONDS="2", MIRROR_AUTH_RATE="1", MIRROR_AUTH_BURST="0")
    try:
        url = f"http://127.0.0.1:{container.get_exposed_port(8080)}/simple/pip-audit/"
        assert requests.get(url, auth=(USER, PASSWORD), timeout=10).status_code == 200
        time.sleep(1.2)
        assert requests.get(url, auth=(USER, "wrong"), timeout=10).status_code == 401
        renewal = requests.get(url, auth=(USER, PASSWORD), timeout=10)
        assert renewal.status_code == 200 and "pip_audit-" in renewal.text, renewal.status_code
    finally:
        container.stop()


@pytest.mark.parametrize("variable, value, message", [
    ("MIRROR_AUTH_CACHE_SECONDS", "61", "MIRROR_AUTH_CACHE_SECONDS must be between 0 and 60 (got 61)"),
    ("MIRROR_AUTH_RATE", "fast", "MIRROR_AUTH_RATE must be a whole number (got 'fast')"),
])
def test_a_bad_auth_setting_stops_the_container_with_one_line(mirror_image, docker_client, variable, value, message):
    status, stderr = run_until_exit(docker_client, mirror_image,
                                    environment={"MIRROR_BASIC_AUTH": "a:b", variable: value})
    assert status != 0
    assert re.findall(r".*error.*", stderr) == [f"30-basic-auth.sh: error: {message}"], stderr


# --- self-signed mode -----------------------------------------------------

def logged_fingerprint(container) -> str:
    _, stderr = container.get_logs()
    found = re.findall(r"20-tls\.sh: info: sha256 Fingerprint=([0-9A-F:]{95})", stderr.decode(), re.IGNORECASE)
    assert len(found) == 1, stderr.decode()
    return found[0].replace(":", "").lower()


def served_fingerprint(container) -> str:
    pem = ssl.get_server_certificate(("127.0.0.1", container.get_exposed_port(8443)))
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest()


SELF_SIGNED_ALIAS = f"mirror-self-{uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="module")
def self_signed_pair(mirror_image, internal_network):
    first, _ = start_mirror(mirror_image, internal_network, alias=SELF_SIGNED_ALIAS, MIRROR_TLS="self-signed",
                            MIRROR_TLS_HOSTNAMES=f"{SELF_SIGNED_ALIAS},10.1.2.3")
    try:
        second, _ = start_mirror(mirror_image, internal_network, MIRROR_TLS="self-signed")
        try:
            yield first, second
        finally:
            second.stop()
    finally:
        first.stop()


def test_self_signed_fingerprint_in_the_log_is_the_served_certificates(self_signed_pair):
    for container in self_signed_pair:
        assert logged_fingerprint(container) == served_fingerprint(container)


def test_two_self_signed_containers_get_different_certificates(self_signed_pair):
    # Generated per container at start, never baked into the image.
    first, second = self_signed_pair
    assert served_fingerprint(first) != served_fingerprint(second)


def pinned_certificate(container, directory: Path) -> Path:
    """The served self-signed certificate as a CA file: verification still checks it and its SAN."""
    pem = directory / f"served-{container.get_wrapped_container().short_id}.pem"
    pem.write_text(ssl.get_server_certificate(("127.0.0.1", container.get_exposed_port(8443))))
    return pem


def test_self_signed_certificate_verifies_for_127_0_0_1(self_signed_pair, tmp_path):
    container = self_signed_pair[0]
    response = requests.get(https_url(container, "/simple/"), verify=str(pinned_certificate(container, tmp_path)),
                            timeout=10)
    assert response.status_code == 200


def verifies_as(container, ca: Path, hostname: str) -> bool:
    context = ssl.create_default_context(cafile=str(ca))
    sock = socket.create_connection(("127.0.0.1", container.get_exposed_port(8443)), timeout=10)
    try:
        context.wrap_socket(sock, server_hostname=hostname).close()
        return True
    except ssl.SSLCertVerificationError:
        return False
    finally:
        sock.close()


def test_self_signed_certificate_names_the_extra_hostnames(self_signed_pair, tmp_path):
    container = self_signed_pair[0]
    pem = pinned_certificate(container, tmp_path)
    assert verifies_as(container, pem, SELF_SIGNED_ALIAS)
    assert verifies_as(container, pem, "localhost")
    # The control: a name not given is not in the certificate.
    assert not verifies_as(container, pem, "not-this-mirror")
    san = subprocess.run(["openssl", "x509", "-in", str(pem), "-noout", "-ext", "subjectAltName"],
                         capture_output=True, text=True, check=True).stdout
    assert "IP Address:10.1.2.3" in san, san


# --- bad pairs ------------------------------------------------------------

def write_bad_pair(case: str, directory: Path) -> None:
    ca_dir = directory / "ca"
    make_ca(ca_dir, "bad-pair CA")
    make_server_pair(directory / "a", ca_dir, ["localhost"])
    tls = directory / "tls"
    tls.mkdir(mode=0o755)
    (tls / "tls.crt").write_bytes((directory / "a" / "tls.crt").read_bytes())
    (tls / "tls.key").write_bytes((directory / "a" / "tls.key").read_bytes())
    if case == "mismatched":
        make_server_pair(directory / "b", ca_dir, ["localhost"])
        (tls / "tls.key").write_bytes((directory / "b" / "tls.key").read_bytes())
    elif case == "certificate not PEM":
        (tls / "tls.crt").write_text("this is not a certificate\n")
    elif case == "encrypted key":
        openssl("pkey", "-in", str(directory / "a" / "tls.key"), "-aes256", "-passout", "pass:secret",
                "-out", str(tls / "tls.key"), cwd=directory)
    for name in ("tls.crt", "tls.key"):
        (tls / name).chmod(0o644)
    if case == "key unreadable":
        # A Kubernetes secret mounted 0600 for root: UID 101 cannot read it.
        (tls / "tls.key").chmod(0o600)


BAD_PAIRS = {
    "mismatched": "private key /etc/pypi-mirror/tls/tls.key does not match certificate /etc/pypi-mirror/tls/tls.crt",
    "certificate not PEM": "/etc/pypi-mirror/tls/tls.crt is not a PEM certificate",
    "encrypted key": "/etc/pypi-mirror/tls/tls.key is not an unencrypted PEM private key",
    "key unreadable": "private key /etc/pypi-mirror/tls/tls.key is missing or not readable by uid 101",
}


def run_until_exit(docker_client, image: str, **run_options) -> tuple[int, str]:
    """Start the image, which must stop by itself; its exit status and stderr."""
    container = docker_client.containers.run(image, detach=True, name=f"pypi-mirror-exits-{uuid.uuid4().hex[:8]}",
                                             **run_options)
    try:
        status = container.wait(timeout=30)
        return status["StatusCode"], container.logs(stdout=False, stderr=True).decode()
    finally:
        container.remove(force=True)


@pytest.mark.parametrize("case", BAD_PAIRS, ids=list(BAD_PAIRS))
def test_bad_certificate_pair_stops_the_container_with_one_clear_line(case, mirror_image, docker_client, tmp_path):
    write_bad_pair(case, tmp_path)
    status, stderr = run_until_exit(docker_client, mirror_image,
                                    volumes={str(tmp_path / "tls"): {"bind": TLS_DIR, "mode": "ro"}})
    assert status != 0
    errors = [line for line in stderr.splitlines() if "error" in line.lower() or "emerg" in line]
    assert errors == [f"20-tls.sh: error: {BAD_PAIRS[case]}"], stderr


def test_tls_on_without_a_mounted_pair_stops_the_container(mirror_image, docker_client):
    status, stderr = run_until_exit(docker_client, mirror_image, environment={"MIRROR_TLS": "on"})
    assert status != 0
    assert re.findall(r".*error.*", stderr) == [
        "20-tls.sh: error: certificate /etc/pypi-mirror/tls/tls.crt is missing or not readable by uid 101"], stderr


# --- HTTP -> HTTPS redirect -----------------------------------------------

@pytest.fixture(scope="module")
def redirecting_mirror(mirror_image, internal_network):
    container, _ = start_mirror(mirror_image, internal_network, MIRROR_TLS="self-signed", MIRROR_TLS_REDIRECT="1")
    try:
        yield container
    finally:
        container.stop()


def plain_get(container, path: str) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", container.get_exposed_port(8080), timeout=10)
    connection.request("GET", path)
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def test_plain_http_redirects_to_https_keeping_path_and_query(redirecting_mirror):
    response = plain_get(redirecting_mirror, "/simple/pip-audit/?format=text/html")
    assert response.status == 301
    assert response.getheader("Location") == "https://127.0.0.1:8443/simple/pip-audit/?format=text/html"


def test_healthz_stays_200_on_plain_http_when_redirecting(redirecting_mirror):
    response = plain_get(redirecting_mirror, "/healthz")
    assert response.status == 200


def test_redirect_to_port_443_names_no_port(mirror_image, internal_network):
    container, _ = start_mirror(mirror_image, internal_network, MIRROR_TLS="self-signed", MIRROR_TLS_REDIRECT="1",
                                MIRROR_HTTPS_PORT="443")
    try:
        response = plain_get(container, "/simple/")
    finally:
        container.stop()
    assert response.status == 301
    assert response.getheader("Location") == "https://127.0.0.1/simple/"


def test_https_serves_when_plain_http_redirects(redirecting_mirror, tmp_path):
    response = requests.get(https_url(redirecting_mirror, "/simple/"),
                            verify=str(pinned_certificate(redirecting_mirror, tmp_path)), timeout=10)
    assert response.status_code == 200
