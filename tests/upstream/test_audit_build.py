"""The real CLI mirrors an old requests release and audits it against a small OSV export."""

from __future__ import annotations

import hashlib
import json

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from tests.fixtures.osv_db import make_osv_zip
from tests.upstream.build_checks import leftovers, tree_hashes
from tests.upstream.conftest import Builder
from tests.upstream.fake_index import UPLOAD_TIME, FakeIndex, wheel

REQUIREMENTS = "requests==2.19.1\n"


@pytest.fixture
def index():
    # Overrides conftest's: the build fixture serves from this one.
    with FakeIndex([wheel("requests", "2.19.1", "idna"), wheel("idna", "2.7")]) as fake:
        yield fake


@pytest.fixture
def osv_zip(tmp_path):
    return make_osv_zip(tmp_path / "osv-pypi.zip")


def audit_json(tmp_path, out="out") -> dict:
    return json.loads((tmp_path / out / "audit.json").read_text())


def test_warn_reports_each_advisory_with_aliases_and_fixes_and_builds(build, tmp_path, osv_zip):
    result = build(requirements=REQUIREMENTS, extra=("--vuln-db", str(osv_zip)))
    assert result.code == 0, result.err
    assert result.errors == []
    report = audit_json(tmp_path)
    assert report["ran"] is True and report["mode"] == "warn"
    assert report["audited"] == ["idna==2.7", "requests==2.19.1"]
    assert [(v["name"], v["version"], v["id"], v["aliases"], v["fixed-in"]) for v in report["vulnerabilities"]] == [
        ("requests", "2.19.1", "GHSA-j8r2-6x86-q33q", ["CVE-2023-32681"], ["2.31.0"]),
        ("requests", "2.19.1", "PYSEC-2018-28", ["CVE-2018-18074"], ["2.20.0"]),
    ]
    source, = report["sources"]
    assert source["sha256"] == hashlib.sha256(osv_zip.read_bytes()).hexdigest()
    landing = (tmp_path / "out" / "index.html").read_text()
    assert "2 known vulnerabilities in the 2 mirrored releases" in landing
    assert ('<a href="osv/v1/vulns/PYSEC-2018-28">PYSEC-2018-28</a> <span class="aliases">(CVE-2018-18074)</span>'
            '</td><td data-label="fixed in">2.20.0</td>') in landing
    project_page = (tmp_path / "out" / "projects" / "requests" / "index.html").read_text()
    assert '<a href="../../osv/v1/vulns/GHSA-j8r2-6x86-q33q">GHSA-j8r2-6x86-q33q</a>' in project_page
    assert "@MIRROR_URL@/simple/" in landing


def test_fail_fails_with_one_line_naming_them_and_writes_nothing(build, tmp_path, osv_zip, index):
    result = build(requirements=REQUIREMENTS, extra=("--vuln-db", str(osv_zip), "--audit", "fail"))
    assert result.code == 1
    assert result.error == (
        "pypi-mirror: error: 2 known vulnerabilities: "
        "requests 2.19.1 GHSA-j8r2-6x86-q33q (CVE-2023-32681), fixed in 2.31.0; "
        "requests 2.19.1 PYSEC-2018-28 (CVE-2018-18074), fixed in 2.20.0")
    assert not (tmp_path / "out").exists()
    assert leftovers(tmp_path) == []
    assert index.downloads() == []  # the audit needs only the lock: it fails before any download


def test_fail_passes_with_both_ignored_and_the_report_keeps_the_reasons(build, tmp_path, osv_zip):
    ignore = tmp_path / "audit-ignore.txt"
    ignore.write_text("# reviewed\nPYSEC-2018-28  the mirror's clients never follow https-to-http redirects\n"
                      "CVE-2023-32681  no proxies with credentials\n")
    result = build(requirements=REQUIREMENTS,
                   extra=("--vuln-db", str(osv_zip), "--audit", "fail", "--audit-ignore", str(ignore)))
    assert result.code == 0, result.err
    report = audit_json(tmp_path)
    assert report["vulnerabilities"] == []
    assert [(i["id"], i["reason"]) for i in report["ignored"]] == [
        ("GHSA-j8r2-6x86-q33q", "no proxies with credentials"),
        ("PYSEC-2018-28", "the mirror's clients never follow https-to-http redirects"),
    ]
    landing = (tmp_path / "out" / "index.html").read_text()
    assert "No known vulnerabilities in the 2 mirrored releases." in landing
    assert ('<a href="projects/requests/#v2.19.1">requests 2.19.1</a> '
            '<a href="osv/v1/vulns/GHSA-j8r2-6x86-q33q">GHSA-j8r2-6x86-q33q</a>: no proxies with credentials') in landing


def test_fail_with_one_of_two_ignored_still_names_the_other(build, tmp_path, osv_zip):
    ignore = tmp_path / "audit-ignore.txt"
    ignore.write_text("GHSA-j8r2-6x86-q33q  no proxies\n")
    result = build(requirements=REQUIREMENTS,
                   extra=("--vuln-db", str(osv_zip), "--audit", "fail", "--audit-ignore", str(ignore)))
    assert result.error == ("pypi-mirror: error: 1 known vulnerability: "
                            "requests 2.19.1 PYSEC-2018-28 (CVE-2018-18074), fixed in 2.20.0")


def test_a_withdrawn_record_and_a_range_that_does_not_cover_report_nothing(build, tmp_path):
    db = make_osv_zip(tmp_path / "osv.zip", only=("PYPI-MIRROR-TEST-WITHDRAWN", "PYSEC-2014-13"))
    result = build(requirements=REQUIREMENTS, extra=("--vuln-db", str(db), "--audit", "fail"))
    assert result.code == 0, result.err
    report = audit_json(tmp_path)
    assert (report["ran"], report["vulnerabilities"], report["sources"][0]["records"]) == (True, [], 2)
    assert "No known vulnerabilities in the 2 mirrored releases." in (tmp_path / "out" / "index.html").read_text()


def test_no_source_in_warn_mode_records_that_the_audit_did_not_run(build, tmp_path):
    result = build(requirements=REQUIREMENTS)
    assert result.code == 0, result.err
    report = audit_json(tmp_path)
    assert report["ran"] is False and report["vulnerabilities"] is None
    assert "no vulnerability source" in report["reason"]
    assert "Not audited: no vulnerability source" in (tmp_path / "out" / "index.html").read_text()


def test_no_source_in_fail_mode_fails(build, tmp_path):
    result = build(requirements=REQUIREMENTS, extra=("--audit", "fail"))
    assert result.code == 1
    assert result.error.startswith("pypi-mirror: error: the audit could not run (--audit fail needs it): "
                                   "no vulnerability source")
    assert not (tmp_path / "out").exists()


def test_a_missing_database_is_one_error_line(build, tmp_path):
    missing = tmp_path / "absent.zip"
    result = build(requirements=REQUIREMENTS, extra=("--vuln-db", str(missing)))
    assert result.error == f"pypi-mirror: error: --vuln-db: file not found: {missing}"


def test_sbom_is_valid_and_lists_exactly_the_files_in_packages_with_their_hashes(build, tmp_path, osv_zip):
    assert build(requirements=REQUIREMENTS, extra=("--vuln-db", str(osv_zip))).code == 0
    out = tmp_path / "out"
    text = (out / "sbom.cdx.json").read_text()
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    sbom = json.loads(text)
    assert [c["purl"] for c in sbom["components"]] == ["pkg:pypi/idna@2.7", "pkg:pypi/requests@2.19.1"]
    listed = {ref["url"]: ref["hashes"][0]["content"] for c in sbom["components"] for ref in c["externalReferences"]}
    on_disk = {k: v for k, v in tree_hashes(out).items() if k.startswith("packages/")}
    assert listed == on_disk
    assert sbom["metadata"]["timestamp"] == "2024-01-02T03:04:05Z"  # the fake index's upload time


def test_manifest_lists_every_other_file_of_the_tree_byte_for_byte(build, tmp_path, osv_zip):
    assert build(requirements=REQUIREMENTS, extra=("--vuln-db", str(osv_zip))).code == 0
    out = tmp_path / "out"
    manifest = json.loads((out / "mirror.json").read_text())
    hashes = tree_hashes(out)
    del hashes["mirror.json"]
    # The advisories' derived files are covered by one digest in the "osv" entry instead.
    derived = sorted((p, h) for p, h in hashes.items() if p.startswith(("osv/projects/", "osv/ids/")))
    lines = "".join(f"{h}  {p}\n" for p, h in derived)
    assert manifest["osv"]["derived"] == {"files": len(derived),
                                          "sha256sum-sha256": hashlib.sha256(lines.encode()).hexdigest()}
    hashes = {p: h for p, h in hashes.items() if (p, h) not in derived}
    assert {"osv/meta.json", "osv/PyPI/all.zip"} <= set(hashes)
    assert {f["path"]: f["sha256"] for f in manifest["files"]} == hashes
    assert all(f["size"] == (out / f["path"]).stat().st_size for f in manifest["files"])
    assert {"packages/requests-2.19.1-py3-none-any.whl.metadata", "sbom.cdx.json", "audit.json"} <= set(hashes)
    assert manifest["lock"]["document"] == json.loads((out / "lock.json").read_text())
    assert manifest["lock"]["sha256"] == hashlib.sha256((out / "lock.json").read_bytes()).hexdigest()
    assert manifest["build-time"] == UPLOAD_TIME.split(".")[0] + "Z"
    assert manifest["build-time-source"] == "newest upload-time of the mirrored files"
    assert manifest["upstream"] == build.index.url
    assert set(manifest["tools"]) == {"pypi-mirror", "python", "uv", "packaging", "requests"}


def test_manifest_masks_upstream_credentials(tmp_path, capfd):
    with FakeIndex([wheel("requests", "2.19.1", "idna"), wheel("idna", "2.7")], auth=("alice", "s3cret")) as index:
        result = Builder(tmp_path, capfd, index)(requirements=REQUIREMENTS, index_url=index.url_with("alice", "s3cret"))
    assert result.code == 0, result.err
    text = (tmp_path / "out" / "mirror.json").read_text()
    assert "s3cret" not in text


def test_source_date_epoch_sets_the_build_time(build, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert build(requirements=REQUIREMENTS).code == 0
    manifest = json.loads((tmp_path / "out" / "mirror.json").read_text())
    assert (manifest["build-time"], manifest["build-time-source"]) == ("2023-11-14T22:13:20Z", "SOURCE_DATE_EPOCH")
    sbom = json.loads((tmp_path / "out" / "sbom.cdx.json").read_text())
    assert sbom["metadata"]["timestamp"] == "2023-11-14T22:13:20Z"


def test_same_lock_and_database_give_the_same_tree(build, tmp_path, osv_zip):
    assert build(requirements=REQUIREMENTS, out="first", extra=("--vuln-db", str(osv_zip))).code == 0
    lock = tmp_path / "first" / "lock.json"
    assert build(lock=lock, out="second", extra=("--vuln-db", str(osv_zip))).code == 0
    assert tree_hashes(tmp_path / "first") == tree_hashes(tmp_path / "second")
    assert audit_json(tmp_path, "second")["vulnerabilities"]  # the same findings, not an empty report

