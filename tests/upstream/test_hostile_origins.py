"""Issue 21, items 5-9 and 11: credentials stay with their own origin, documents never carry them,
a crafted lock writes nowhere else, and an upstream's answers are read within bounds."""

from __future__ import annotations

import json
import logging

import pytest

import mirror.core.http
from mirror.verify.verify import Verifier
from tests.fixtures.osv_db import make_osv_zip
from tests.upstream.fake_index import Dist, FakeIndex

USER = "builder"
SECRET = "hunter2-origin-only"
ALPHA = "alpha-1.0-py3-none-any.whl"
BETA = "beta-2.0-py3-none-any.whl"


def no_secret_in(folder, *texts: str) -> None:
    for text in texts:
        assert SECRET not in text
    for path in folder.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), f"the password is in {path}"


# -- item 5: verify


def test_verify_sends_credentials_to_the_index_origin_only():
    # Failed before issue 21: requests sent the session's (user, password) to every host a page links to.
    with FakeIndex() as files, FakeIndex(auth=(USER, SECRET), files_url=files.base) as private:
        checks = Verifier(private.url_with(USER, SECRET), install=[], report=lambda line: None).verify()
    assert files.downloads(), [c.line() for c in checks]
    assert [r.path for r in files.log if r.authorized] == []
    assert private.log and all(r.authorized for r in private.log)


# -- item 8: netrc


@pytest.mark.parametrize("entry", ["machine 127.0.0.1", "default"])
@pytest.mark.parametrize("how", ["linked", "redirected"])
def test_netrc_credentials_reach_the_index_origin_and_no_other(build, tmp_path, monkeypatch, entry, how):
    # Failed before issue 21: requests (and uv) gave netrc's entry to any origin on that host, the default
    # entry to every origin, and re-applied it after a redirect to another origin.
    netrc = tmp_path / "netrc"
    netrc.write_text(f"{entry} login {USER} password {SECRET}\n")
    monkeypatch.setenv("NETRC", str(netrc))
    with FakeIndex() as files:
        options = {"files_url": files.base} if how == "linked" else {"redirect_files_to": files.base}
        with FakeIndex(auth=(USER, SECRET), **options) as private:
            result = build(index_url=private.url)
    assert result.code == 0, result.err
    assert sorted(files.downloads()) == [ALPHA, BETA]
    assert [r.path for r in files.log if r.authorized] == []
    assert private.log and all(r.authorized for r in private.log)


def test_a_netrc_default_entry_is_for_index_url_alone(build, index, tmp_path, monkeypatch):
    # An extra index on another origin never receives the default entry (mirror/core/http.py's policy).
    netrc = tmp_path / "netrc"
    netrc.write_text(f"default login {USER} password {SECRET}\n")
    monkeypatch.setenv("NETRC", str(netrc))
    with FakeIndex([]) as extra:
        result = build(extra=("--extra-index-urls", extra.url))
    assert result.code == 0, result.err
    assert extra.log and [r.path for r in extra.log if r.authorized] == []


# -- item 6: a pylock.toml's file URLs


def test_credentials_in_a_pylock_file_url_reach_no_document(build, index, tmp_path, caplog):
    # Failed before issue 21: lock.json and mirror.json (both served) carried the URLs as written.
    caplog.set_level(logging.INFO)
    entries = []
    for name, filename in (("alpha", ALPHA), ("beta", BETA)):
        url = f"http://{USER}:{SECRET}@127.0.0.1:{index.port}/files/{filename}"
        entries.append(f'[[packages]]\nname = "{name}"\nversion = "{filename.split("-")[1]}"\n'
                       f'wheels = [{{ name = "{filename}", url = "{url}", '
                       f'hashes = {{ sha256 = "{index.dists[filename].sha256}" }} }}]\n')
    lock = tmp_path / "in" / "pylock.toml"
    lock.parent.mkdir()
    lock.write_text('lock-version = "1.0"\ncreated-by = "hand"\n\n' + "\n".join(entries))
    result = build(requirements=lock)
    assert result.code == 0, result.err
    files = json.loads((tmp_path / "out" / "lock.json").read_text())["files"]
    assert [f["url"] for f in files] == [index.file_url(ALPHA), index.file_url(BETA)]
    no_secret_in(tmp_path / "out", result.err, caplog.text)
    assert "credentials in its URL are not used" in caplog.text


# -- item 7: VULN_DB_URL


def test_vuln_db_url_credentials_are_sent_to_it_and_shown_nowhere(build, tmp_path, caplog):
    # Failed before issue 21: the URL with its password went into the log, /osv/meta.json and mirror.json.
    caplog.set_level(logging.INFO)
    export = Dist("all.zip", make_osv_zip(tmp_path / "all.zip").read_bytes(), None)
    with FakeIndex([export], auth=(USER, SECRET)) as osv:
        url = f"http://{USER}:{SECRET}@127.0.0.1:{osv.port}/files/all.zip"
        result = build(extra=("--vuln-db-url", url))
        assert result.code == 0, result.err
        assert [r.path for r in osv.log if r.authorized and r.status == 200] == ["/files/all.zip"]
    meta = json.loads((tmp_path / "out" / "osv" / "meta.json").read_text())
    assert meta["records"] > 0 and meta["source"]["url"] == osv.file_url("all.zip")
    no_secret_in(tmp_path / "out", result.err, caplog.text)


# -- item 9: a crafted LOCK's set name


def test_a_lock_set_name_that_climbs_out_of_the_tree_is_refused(build, tmp_path):
    # Failed before issue 21: locks/../../escape/pylock.toml was written beside the tree.
    assert build().code == 0
    document = json.loads((tmp_path / "out" / "lock.json").read_text())
    for entry in document["sets"] + document["targets"]:
        entry["set" if "set" in entry else "name"] = "../../escape"
    crafted = tmp_path / "crafted" / "lock.json"
    crafted.parent.mkdir()
    crafted.write_text(json.dumps(document))
    result = build(lock=crafted, out="again")
    assert result.code == 1
    assert "refusing set name '../../escape'" in result.error
    assert not (tmp_path / "escape").exists() and not (tmp_path / "again").exists()


# -- item 11: bounds on what an upstream sends


def test_a_page_past_the_size_bound_fails_in_one_line(build, index, monkeypatch, tmp_path):
    # Failed before issue 21: a page was read whole, however large.
    monkeypatch.setattr(mirror.core.http, "MAX_PAGE", 200)
    result = build(lock=None)
    assert result.code == 1
    assert f"{index.url}alpha/" in result.error and "more than the 200 bytes this build reads" in result.error


def test_a_file_past_its_declared_size_stops_there(build, index, tmp_path):
    # Failed before issue 21: the whole answer was read (any size), then its hash compared.
    index.inject(ALPHA, "oversize")
    result = build()
    assert result.code == 1
    assert result.error == (f"pypi-mirror: error: {ALPHA}: the index sends more than the "
                            f"{len(index.dists[ALPHA].data)} bytes it declares for it ({index.file_url(ALPHA)})")


def test_indexes_read_fetches_a_linked_object_bounded_and_with_its_own_origins_credentials(tmp_path):
    # The entry point for new downloads (provenance and the like): mirror/core/http.py's bounds and origin rule.
    from mirror.errors import UpstreamError
    from mirror.upstream.indexes import Indexes
    with FakeIndex() as files, FakeIndex(auth=(USER, SECRET), files_url=files.base) as private:
        indexes = Indexes([private.url_with(USER, SECRET)])
        assert indexes.read(private.base + "/files/" + ALPHA) == private.dists[ALPHA].data
        assert indexes.read(files.file_url(ALPHA)) == files.dists[ALPHA].data
        with pytest.raises(UpstreamError, match="more than the 100 bytes"):
            indexes.read(files.file_url(ALPHA), limit=100)
    assert [r.path for r in files.log if r.authorized] == []
    assert all(r.authorized for r in private.log)


def test_vuln_db_url_credentials_as_a_bake_variable_are_refused(build, tmp_path, monkeypatch):
    # Issue 21 item 7: in an image build PYPI_MIRROR_VULN_DB_URL is a build argument, which
    # `docker history` shows. Failed before: the build used it (and published it).
    monkeypatch.setenv("PYPI_MIRROR_VULN_DB_URL", f"https://{USER}:{SECRET}@osv.example/PyPI/all.zip")
    build.requirements("alpha\n")
    from mirror.cli import main
    code = main(["build", "-r", str(tmp_path / "requirements.txt"), "-o", str(tmp_path / "out"),
                 "--index-url", "http://127.0.0.1:9/simple/"])
    err = build.capfd.readouterr().err
    assert code == 1 and SECRET not in err
    assert f"pypi-mirror: error: VULN_DB_URL: https://{USER}:***@osv.example/PyPI/all.zip carries credentials" in err
