"""mirror/core/http.py: what an origin is, and which origin a credential (given or from netrc) is for."""

from __future__ import annotations

import requests

from mirror.core.http import OriginAuth, new_session, netrc_credentials, origin


def test_an_origin_is_scheme_host_and_port_with_the_default_port_filled_in():
    assert origin("HTTPS://Index.Example/simple/") == ("https", "index.example", 443)
    assert origin("https://index.example:443/x") == origin("https://index.example/y")
    assert origin("http://index.example/") != origin("https://index.example/")
    assert origin("https://index.example:8443/") != origin("https://index.example/")


def prepared(url: str) -> requests.PreparedRequest:
    return requests.Request("GET", url).prepare()


def test_bound_credentials_go_to_their_origin_only():
    auth = OriginAuth()
    auth.bind("https://user:x@index.example/simple/", ("user", "pässword"))
    assert "Authorization" in auth(prepared("https://INDEX.example:443/files/a.whl")).headers
    for other in ("http://index.example/simple/", "https://index.example:8443/simple/",
                  "https://files.example/a.whl"):
        assert "Authorization" not in auth(prepared(other)).headers, other


def test_a_redirect_carries_only_what_is_bound_to_its_new_origin(tmp_path, monkeypatch):
    # requests would keep the header on some cross-origin redirects and add netrc's entry for the new host.
    netrc = tmp_path / "netrc"
    netrc.write_text("default login someone password leaked\n")
    monkeypatch.setenv("NETRC", str(netrc))
    session = new_session()
    session.auth.bind("https://index.example/", ("user", "secret"))
    request = prepared("https://files.example/a.whl")
    request.headers["Authorization"] = "Basic carried-over"
    session.rebuild_auth(request, requests.Response())
    assert "Authorization" not in request.headers
    request = prepared("https://index.example/b.whl")
    session.rebuild_auth(request, requests.Response())
    assert request.headers["Authorization"].startswith("Basic ")


def test_netrc_machine_entries_match_the_host_and_default_only_when_asked(tmp_path, monkeypatch):
    netrc = tmp_path / "netrc"
    netrc.write_text("machine index.example login builder password one\n"
                     "default login anyone password two\n")
    monkeypatch.setenv("NETRC", str(netrc))
    assert netrc_credentials("https://INDEX.example:8443/simple/") == ("builder", "one")
    assert netrc_credentials("https://other.example/simple/") is None
    assert netrc_credentials("https://other.example/simple/", default_entry=True) == ("anyone", "two")
    monkeypatch.setenv("NETRC", str(tmp_path / "missing"))
    assert netrc_credentials("https://index.example/simple/") is None
