"""An index behind basic auth: credentials reach it, and nothing else ever sees them."""

from __future__ import annotations

import json
import logging
import urllib.parse

import pytest

from tests.upstream.fake_index import FakeIndex

USER = "builder"
# Characters that must be percent-encoded in a URL: the round trip to uv's URL must keep them.
PASSWORD = "s3cr3t:p@ss/word"
SECRETS = [PASSWORD, urllib.parse.quote(PASSWORD, safe=""), urllib.parse.quote(PASSWORD)]


@pytest.fixture
def private():
    with FakeIndex(auth=(USER, PASSWORD)) as fake:
        yield fake


def url_with_credentials(index: FakeIndex) -> str:
    return index.url_with(USER, urllib.parse.quote(PASSWORD, safe=""))


def assert_no_secret(text: str, where: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"password in {where}"


def test_credentials_in_the_url_reach_the_index_and_nothing_else(build, private, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    result = build(index_url=url_with_credentials(private))
    assert result.code == 0, result.err
    assert_no_secret(result.out + result.err + caplog.text, "output or log")
    # The tree, and the cache a later build (or a BuildKit cache mount) keeps.
    for path in tmp_path.rglob("*"):
        if path.is_file():
            for secret in SECRETS:
                assert secret.encode() not in path.read_bytes(), f"password in {path}"
    lock = json.loads((tmp_path / "out" / "lock.json").read_text())
    assert lock["index-url"] == private.url
    assert all(f["url"].startswith(private.base + "/files/") for f in lock["files"])
    # Every request, the resolver's and the mirror's, pages and files, was authenticated.
    assert private.log and all(r.authorized and r.status == 200 for r in private.log)
    assert len(private.downloads()) == 2


@pytest.mark.parametrize("password", [None, "wrong-horse"], ids=["no-credentials", "wrong-password"])
def test_refused_credentials_fail_in_one_line_naming_the_401(build, private, tmp_path, password):
    url = private.url if password is None else private.url_with(USER, password)
    result = build(index_url=url)
    assert result.code == 1
    assert "wrong-horse" not in result.out + result.err
    assert "401" in result.error
    assert private.base in result.error
    assert not (tmp_path / "out").exists()


def test_a_lock_build_without_credentials_fails_in_one_line(build, private, tmp_path):
    assert build(index_url=url_with_credentials(private)).code == 0
    build.cache = tmp_path / "empty-cache"
    result = build(lock=tmp_path / "out" / "lock.json", out="again", index_url=private.url)
    assert result.code == 1
    assert "HTTP 401" in result.error
    assert private.base + "/files/" in result.error
    assert not (tmp_path / "again").exists()


def test_a_non_ascii_password_works_for_resolver_and_mirror_alike(build):
    password = "sécret-wörd"
    with FakeIndex(auth=(USER, password)) as private:
        result = build(index_url=private.url_with(USER, urllib.parse.quote(password, safe="")))
    assert [r.path for r in private.log if r.status == 401] == []
    assert result.code == 0, result.err


def test_a_file_host_on_another_port_never_sees_the_credentials(build, tmp_path):
    with FakeIndex() as files, FakeIndex(auth=(USER, PASSWORD), files_url=files.base) as private:
        result = build(index_url=url_with_credentials(private))
    assert result.code == 0, result.err
    assert len(files.downloads()) == 2
    assert [r.path for r in files.log if r.authorized] == []
