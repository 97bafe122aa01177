"""The strictest container policy still serves; hostile requests get their exact answers.

Hostile requests go over raw http.client connections so the path reaches nginx
exactly as written (requests and curl would normalize `..` away).
"""

from __future__ import annotations

import hashlib
import http.client
import re
import ssl
import uuid
import pytest
import requests

from tests.integration.appliance import start_mirror, wait_until_healthy

USER = "auditor"
PASSWORD = f"pw-{uuid.uuid4().hex}"


def hardened_options(user: str) -> dict:
    """`--read-only --tmpfs /tmp --user U --cap-drop ALL --security-opt no-new-privileges`."""
    return {"read_only": True, "tmpfs": {"/tmp": ""}, "user": user,
            "cap_drop": ["ALL"], "security_opt": ["no-new-privileges"]}


@pytest.fixture(scope="module", params=["101:101", "12345:12345"], ids=["uid-101", "uid-12345"])
def hardened(request, mirror_image, internal_network, tmp_path_factory):
    """TLS (self-signed) and basic auth on, under the hardened policy, as the image's UID and another."""
    container, _ = start_mirror(mirror_image, internal_network, run_options=hardened_options(request.param),
                                MIRROR_TLS="self-signed", MIRROR_BASIC_AUTH=f"{USER}:{PASSWORD}")
    try:
        pem = tmp_path_factory.mktemp("hardened") / "served.pem"
        # The served self-signed certificate as the CA: verification still checks chain and SAN.
        pem.write_text(ssl.get_server_certificate(("127.0.0.1", container.get_exposed_port(8443))))
        yield container, request.param, str(pem)
    finally:
        container.stop()


def https(hardened, path: str, **kwargs) -> requests.Response:
    container, _, ca = hardened
    url = f"https://127.0.0.1:{container.get_exposed_port(8443)}{path}"
    return requests.get(url, verify=ca, timeout=10, allow_redirects=False, **kwargs)


def test_hardened_policy_is_really_in_force(hardened):
    # Without this, every other hardened test could pass on a default container.
    container, user, _ = hardened
    wrapped = container.get_wrapped_container()
    code, status = wrapped.exec_run(["cat", "/proc/1/status"])
    assert code == 0
    fields = dict(line.split(":", 1) for line in status.decode().splitlines())
    uid, gid = user.split(":")
    assert fields["Uid"].split() == [uid] * 4
    assert fields["Gid"].split() == [gid] * 4
    assert int(fields["CapEff"], 16) == 0 and int(fields["CapBnd"], 16) == 0
    assert fields["NoNewPrivs"].strip() == "1"
    code, _ = wrapped.exec_run(["touch", "/srv/pypi/written"])
    assert code != 0
    wrapped.reload()
    assert wrapped.attrs["HostConfig"]["ReadonlyRootfs"] is True


def test_hardened_healthz_is_200_without_credentials(hardened):
    assert https(hardened, "/healthz").status_code == 200


def test_hardened_index_is_401_without_credentials(hardened):
    response = https(hardened, "/simple/")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Basic realm="pypi-mirror"'


def test_hardened_index_is_200_with_credentials(hardened):
    response = https(hardened, "/simple/", auth=(USER, PASSWORD))
    assert response.status_code == 200
    assert 'href="pip-audit/"' in response.text


def test_hardened_serves_a_package_matching_its_sha256(hardened):
    page = https(hardened, "/simple/pip-audit/", auth=(USER, PASSWORD), headers={"Accept": "text/html"}).text
    href = re.search(r'href="\.\./\.\./(packages/[^"#]+)#sha256=([0-9a-f]{64})"', page)
    assert href, page
    wheel = https(hardened, "/" + href.group(1), auth=(USER, PASSWORD))
    assert wheel.status_code == 200
    assert hashlib.sha256(wheel.content).hexdigest() == href.group(2)


def test_hardened_container_restarts_and_every_hook_runs_again(mirror_image, internal_network):
    container, _ = start_mirror(mirror_image, internal_network, run_options=hardened_options("12345:12345"),
                                MIRROR_TLS="self-signed", MIRROR_BASIC_AUTH=f"{USER}:{PASSWORD}")
    try:
        wrapped = container.get_wrapped_container()
        before = ssl.get_server_certificate(("127.0.0.1", container.get_exposed_port(8443)))
        wrapped.restart(timeout=10)
        wait_until_healthy(f"http://127.0.0.1:{container.get_exposed_port(8080)}/healthz", container)
        after = ssl.get_server_certificate(("127.0.0.1", container.get_exposed_port(8443)))
        url = f"http://127.0.0.1:{container.get_exposed_port(8080)}/simple/"
        assert requests.get(url, timeout=10).status_code == 401
        assert requests.get(url, auth=(USER, PASSWORD), timeout=10).status_code == 200
        # A fresh pair on every start, as documented.
        assert before != after
    finally:
        container.stop()


# --- hostile requests, against the shared plain-HTTP mirror ----------------

def raw_request(mirror, method: str, path: str, headers: dict | None = None,
                body: bytes | None = None) -> tuple[http.client.HTTPResponse, bytes]:
    port = int(mirror.url.rsplit(":", 1)[1])
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response, response.read()
    finally:
        connection.close()


HOSTILE = {
    # Traversal: nginx normalizes the URI and refuses any that climbs above the root.
    "dot-dot traversal": ("GET", "/packages/../../etc/passwd", 400),
    "encoded dot-dot": ("GET", "/packages/%2e%2e/%2e%2e/etc/passwd", 400),
    "encoded slash": ("GET", "/simple/..%2f..%2fetc/passwd", 400),
    "fully encoded": ("GET", "/packages/%2e%2e%2f%2e%2e%2fetc%2fpasswd", 400),
    "encoded dot-dot at root": ("GET", "/%2e%2e/etc/passwd", 400),
    "traversal from a project page": ("GET", "/simple/pip-audit/../../../etc/passwd", 400),
    "double-encoded dot-dot": ("GET", "/packages/%252e%252e/etc/passwd", 404),
    "backslashes": ("GET", "/packages/..\\..\\etc\\passwd", 404),
    "NUL byte": ("GET", "/packages/%00", 400),
    # Nothing outside the listed routes, no listings, no dotfiles, no internal locations.
    "absolute path": ("GET", "/etc/passwd", 404),
    "packages directory": ("GET", "/packages/", 404),
    "git config": ("GET", "/.git/config", 404),
    "dotfile in packages": ("GET", "/packages/.htaccess", 404),
    "internal negotiation location": ("GET", "/_pm/json/simple/pip-audit/index.json", 404),
    "stored representation file": ("GET", "/simple/pip-audit/index.json", 404),
    # Only GET and HEAD.
    "POST": ("POST", "/simple/", 405),
    "PUT": ("PUT", "/packages/evil.whl", 405),
    "DELETE": ("DELETE", "/simple/pip-audit/", 405),
    "PATCH": ("PATCH", "/simple/", 405),
    "OPTIONS": ("OPTIONS", "/simple/", 405),
    "TRACE": ("TRACE", "/simple/", 405),
    "PROPFIND": ("PROPFIND", "/simple/", 405),
}


@pytest.mark.parametrize("case", HOSTILE, ids=list(HOSTILE))
def test_hostile_request_gets_its_expected_status(case, mirror):
    method, path, expected = HOSTILE[case]
    response, body = raw_request(mirror, method, path)
    assert response.status == expected, (path, response.status)
    assert b"root:" not in body


def test_405_names_the_allowed_methods(mirror):
    response, _ = raw_request(mirror, "POST", "/simple/", body=b"x")
    assert response.status == 405
    assert response.getheader("Allow") == "GET, HEAD"


def test_head_is_allowed(mirror):
    response, body = raw_request(mirror, "HEAD", "/simple/")
    assert response.status == 200 and body == b""


def test_huge_header_is_refused(mirror):
    # 64 KiB cookie: far beyond large_client_header_buffers (8k); nginx answers 400
    # ("Request Header Or Cookie Too Large", logged as 494).
    response, _ = raw_request(mirror, "GET", "/simple/", headers={"Cookie": "a=" + "x" * 65536})
    assert response.status == 400


def test_long_uri_is_refused(mirror):
    response, _ = raw_request(mirror, "GET", "/simple/" + "a" * 20000)
    assert response.status == 414


def test_request_body_over_the_limit_is_refused(mirror):
    response, _ = raw_request(mirror, "GET", "/simple/", body=b"x" * 65536)
    assert response.status == 413


NON_NORMALIZED = ["/simple/Pip_Audit/", "/simple/PIP.AUDIT", "/simple/pip-audit", "/simple/pip__audit/"]


@pytest.mark.parametrize("path", NON_NORMALIZED)
def test_non_normalized_project_name_redirects_to_the_normalized_page(path, mirror):
    response, _ = raw_request(mirror, "GET", path)
    assert response.status == 301
    assert response.getheader("Location") == "/simple/pip-audit/"


@pytest.mark.parametrize("path", ["/simple/", "/no-such-page", "/simple/Pip_Audit/"])
def test_server_header_has_no_version(path, mirror):
    response, _ = raw_request(mirror, "GET", path)
    assert response.getheader("Server") == "nginx"


@pytest.mark.parametrize("method, path", [("GET", "/simple/"), ("GET", "/packages/"), ("DELETE", "/simple/"),
                                          ("GET", "/packages/../../etc/passwd")])
def test_security_headers_on_every_answer(method, path, mirror):
    # "always": on 404/405/400 too, and no location's own add_header may drop them.
    response, _ = raw_request(mirror, method, path)
    assert response.getheader("X-Content-Type-Options") == "nosniff"
    assert response.getheader("X-Frame-Options") == "DENY"
    assert response.getheader("Referrer-Policy") == "no-referrer"
