"""Behind a proxy: whose address is the client's (issue 21, item 11).

The auth rate limit and the access log key a client by its address. Behind
an ingress every request comes from the ingress, so every client shared one
limit. X-Forwarded-For now names the client, but only when the peer is a
proxy named in MIRROR_TRUSTED_PROXIES: from anyone else the header is
ignored, or any client could pick a fresh address per request and never be
limited. Requests come from this host through the published port, so the
appliance's peer is docker's bridge gateway, learned from its access log.
"""

from __future__ import annotations

import re
import uuid

import pytest
import requests

from tests.integration.appliance import flushed_logs, start_mirror
from tests.integration.test_tls_auth import run_until_exit

USER = "auditor"
PASSWORD = f"pw-{uuid.uuid4().hex}"
# Documentation addresses (RFC 5737): never a real peer here.
CLIENT_A, CLIENT_B, FORGED = "203.0.113.7", "203.0.113.8", "198.51.100.1"


def start(mirror_image, internal_network, **env: str):
    # One hash check a second per client address and none queued: a second
    # wrong password from the same address within the second gets 429.
    container, _ = start_mirror(mirror_image, internal_network, MIRROR_BASIC_AUTH=f"{USER}:{PASSWORD}",
                                MIRROR_AUTH_RATE="1", MIRROR_AUTH_BURST="0", **env)
    return container


def wrong_password(container, forwarded_for: str | None, probe: str) -> int:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    url = f"http://127.0.0.1:{container.get_exposed_port(8080)}/simple/?probe={probe}"
    return requests.get(url, auth=(USER, "wrong-" + probe), headers=headers, timeout=10).status_code


def logged_addresses(container) -> dict[str, str]:
    """probe -> the client address the access log gives its request."""
    stdout, _ = flushed_logs(container)
    return dict((probe, address) for address, probe in re.findall(r"^(\S+) \[[^]]+\] \"GET /simple/\?probe=(\w+) ",
                                                                   stdout, re.MULTILINE))


@pytest.fixture(scope="module")
def peer(mirror_image, internal_network) -> str:
    """The address this host's requests reach an appliance from."""
    container = start(mirror_image, internal_network)
    try:
        assert wrong_password(container, None, "peer") == 401
        return logged_addresses(container)["peer"]
    finally:
        container.stop()


def test_without_trusted_proxies_the_header_is_ignored(mirror_image, internal_network, peer):
    container = start(mirror_image, internal_network)
    try:
        assert wrong_password(container, CLIENT_A, "a1") == 401
        # Another address in the header is still the same client: limited.
        assert wrong_password(container, CLIENT_B, "b1") == 429
        assert logged_addresses(container) == {"a1": peer, "b1": peer}
    finally:
        container.stop()


def test_from_a_trusted_proxy_each_forwarded_client_has_its_own_limit(mirror_image, internal_network, peer):
    container = start(mirror_image, internal_network, MIRROR_TRUSTED_PROXIES=f"192.0.2.1, {peer}")
    try:
        # Each answer below comes within the second of the one before (a 429
        # itself takes a second, so none is asked for before the last check).
        assert wrong_password(container, CLIENT_A, "a1") == 401
        # Before the fix both were the proxy's address, and this was a 429.
        assert wrong_password(container, CLIENT_B, "b1") == 401
        # A client may put anything in front of the header; the address the
        # trusted proxy appended (the right-most one) is what counts: B again.
        assert wrong_password(container, f"{FORGED}, {CLIENT_B}", "b2") == 429
        # No header: the peer itself, a client of its own.
        assert wrong_password(container, None, "p1") == 401
        assert logged_addresses(container) == {"a1": CLIENT_A, "b1": CLIENT_B, "b2": CLIENT_B, "p1": peer}
    finally:
        container.stop()


def test_a_bad_trusted_proxy_stops_the_container_with_one_line(mirror_image, docker_client):
    status, stderr = run_until_exit(docker_client, mirror_image,
                                    environment={"MIRROR_TRUSTED_PROXIES": "10.0.0.0/8, 10.1.2.300"})
    assert status != 0
    assert re.findall(r".*error.*", stderr) == [
        "25-trusted-proxies.sh: error: MIRROR_TRUSTED_PROXIES: '10.1.2.300' is not an IP address or CIDR range"], \
        stderr
