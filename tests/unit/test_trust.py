"""Issue 22 in pure functions: 1.4 pages rendered and read back (ours and pypi-simple's parser), the lock's
provenance and statuses round-tripped, provenance verified offline, MAL- findings, layers."""

from __future__ import annotations

import json
import urllib.parse

import pypi_simple
import pytest
from packaging.utils import canonicalize_name

from mirror.advisories.audit import Finding, audit
from mirror.advisories.vulndb import parse_export
from mirror.errors import MaliciousReleaseError, ProvenanceError
from mirror.fetch.provenance import verify_provenance
from mirror.resolve.lock import Lock, LockedFile, _lock_from_json
from mirror.tree import layers
from mirror.tree.index import IndexFile, Project, render_project_html, render_project_json
from mirror.upstream import simple
from mirror.upstream.upstream import ProjectStatus
from tests.upstream.fake_index import TRUST_ASSETS

A, B = "a" * 64, "b" * 64
PAGE = "http://h/simple/foo/"
WHEEL = "foo-1.0-py3-none-any.whl"
PROJECT = Project(canonicalize_name("foo"), ("1.0",), (IndexFile(WHEEL, A, 10, None, None, False, B, provenance=True),),
                  status=ProjectStatus("archived", 'moved to "bar" & <baz>'))
PLAIN = Project(canonicalize_name("foo"), ("1.0",), (IndexFile(WHEEL, A, 10, None, None, False, B),))


def test_the_project_page_carries_provenance_and_status_in_both_formats():
    html = render_project_html(PROJECT)
    assert ('    <meta name="pypi:repository-version" content="1.4">\n'
            '    <meta name="pypi:project-status" content="archived">\n'
            '    <meta name="pypi:project-status-reason" content="moved to &quot;bar&quot; &amp; &lt;baz&gt;">\n'
            '    <title>') in html
    assert (f'<a href="../../packages/{WHEEL}#sha256={A}" data-core-metadata="sha256={B}" '
            f'data-provenance="../../packages/{WHEEL}.provenance">{WHEEL}</a>') in html
    document = json.loads(render_project_json(PROJECT))
    assert document["project-status"] == {"status": "archived", "reason": 'moved to "bar" & <baz>'}
    assert document["files"][0]["provenance"] == f"../../packages/{WHEEL}.provenance"


def test_nothing_is_invented_without_provenance_or_status():
    html = render_project_html(PLAIN)
    assert "project-status" not in html and "data-provenance" not in html
    document = json.loads(render_project_json(PLAIN))
    assert "project-status" not in document and document["files"][0]["provenance"] is None


def test_ours_and_pypi_simples_parser_read_the_same_provenance_and_status_from_html():
    body = render_project_html(PROJECT)
    ours = simple.parse_project(PAGE, "text/html", body)
    theirs = pypi_simple.ProjectPage.from_html("foo", body, PAGE)
    # pypi-simple leaves data-provenance as written (relative); ours resolves it against the page.
    assert ours.files[0].provenance == urllib.parse.urljoin(PAGE, theirs.packages[0].provenance_url) == (
        f"http://h/packages/{WHEEL}.provenance")
    assert (ours.status, ours.status_reason) == (str(theirs.status), theirs.status_reason) == (
        "archived", 'moved to "bar" & <baz>')


def test_ours_reads_provenance_and_status_from_json():
    # pypi-simple 1.8 refuses a relative `provenance` in JSON (its model wants an absolute URL); PEP 691's
    # URLs may be relative, and the appliance's must be: it answers under whatever address a client used.
    ours = simple.parse_project(PAGE, simple.JSON_TYPE, render_project_json(PROJECT))
    assert ours.files[0].provenance == f"http://h/packages/{WHEEL}.provenance"
    assert (ours.status, ours.status_reason) == ("archived", 'moved to "bar" & <baz>')


def test_a_malformed_json_status_names_the_page():
    body = json.dumps({"meta": {"api-version": "1.4"}, "name": "foo", "files": [], "project-status": "archived"})
    with pytest.raises(simple.PageError) as info:
        simple.parse_project(PAGE, simple.JSON_TYPE, body)
    assert str(info.value) == f"{PAGE}: malformed PEP 792 project-status (expected an object with a status string)"


def test_the_lock_keeps_provenance_and_statuses_and_reads_them_back():
    attestation = {"sha256": A, "publishers": [{"kind": "GitHub", "repository": "https://github.com/o/r"}],
                   "verified-at": "2024-01-02T03:04:05Z"}
    lock = Lock("https://i/simple/", {}, (
        LockedFile(WHEEL, canonicalize_name("foo"), "1.0", "https://i/f", B, provenance="https://i/p",
                   attestation=attestation),
        LockedFile("bar-1.0.tar.gz", canonicalize_name("bar"), "1.0", "https://i/g", A),
    ), statuses={canonicalize_name("foo"): ProjectStatus("deprecated", None)})
    document = json.loads(lock.to_json())
    files = {f["filename"]: f for f in document["files"]}
    assert files[WHEEL]["provenance"] == {"url": "https://i/p", **attestation}
    assert "provenance" not in files["bar-1.0.tar.gz"]
    assert document["project-status"] == {"foo": {"status": "deprecated", "reason": None}}
    again = _lock_from_json(document)
    assert again.to_json() == lock.to_json()


def test_real_provenance_verifies_offline_and_names_the_publisher():
    path = TRUST_ASSETS / "pypi_attestations-0.0.19.tar.gz"
    (publisher,) = verify_provenance(path, (TRUST_ASSETS / f"{path.name}.provenance").read_bytes())
    assert publisher == {"kind": "GitHub", "repository": "https://github.com/trailofbits/pypi-attestations",
                         "workflow": "release.yml", "environment": None,
                         "claims": {"repository": "trailofbits/pypi-attestations", "workflow": "release.yml"}}


def test_a_provenance_that_is_not_one_names_the_file():
    path = TRUST_ASSETS / "rfc8785-0.1.2-py3-none-any.whl"
    with pytest.raises(ProvenanceError) as info:
        verify_provenance(path, b'{"version": 1}')
    assert str(info.value).startswith("provenance of rfc8785-0.1.2-py3-none-any.whl: not a PEP 740 provenance object")


def test_a_mal_record_is_malicious_by_id_or_alias():
    assert Finding("x", "1", "MAL-2024-1").malicious
    assert Finding("x", "1", "GHSA-xxxx", aliases=("MAL-2024-1",)).malicious
    assert not Finding("x", "1", "PYSEC-2024-1").malicious


def test_audit_refuses_a_malicious_release_in_warn_mode(tmp_path):
    import zipfile
    record = {"id": "MAL-2099-7", "summary": "Synthetic test record", "modified": "2099-01-01T00:00:00Z",
              "affected": [{"package": {"ecosystem": "PyPI", "name": "foo"}, "versions": ["1.0"]}]}
    path = tmp_path / "mal.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("MAL-2099-7.json", json.dumps(record))
    lock = Lock("https://i/simple/", {}, (LockedFile(WHEEL, canonicalize_name("foo"), "1.0", "https://i/f", B),))
    with pytest.raises(MaliciousReleaseError) as info:
        audit(lock, mode="warn", vuln_db=path)
    assert info.value.findings == [("foo", "1.0", "MAL-2099-7")]
    ignore = tmp_path / "ignore"
    ignore.write_text("MAL-2099-7  a false report\n")
    report = audit(lock, mode="warn", vuln_db=path, ignore_file=ignore)
    assert [f.id for f in report.ignored] == ["MAL-2099-7"]
    assert json.loads(report.to_json())["ignored"][0]["malicious"] is True


def test_a_provenance_rides_in_its_files_layer(tmp_path):
    root = tmp_path / "tree"
    (root / "packages").mkdir(parents=True)
    for name in (WHEEL, f"{WHEEL}.metadata", f"{WHEEL}.provenance"):
        (root / "packages" / name).write_text(name)
    (root / "lock.json").write_text(json.dumps({"files": [{"filename": WHEEL, "name": "foo"}]}))
    plan = {p.name: layer for p, layer in layers.plan(root).items() if p.parent.name == "packages"}
    assert set(plan.values()) == {layers.bucket("foo")} and len(plan) == 3
