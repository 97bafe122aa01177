import json
import zipfile

import pytest
from packaging.version import Version

from mirror.advisories.audit import Finding, affects, audit, in_events, match, read_ignore_list, read_osv_export
from mirror.errors import AuditUnavailableError, InputError, VulnDatabaseError, VulnerabilitiesFoundError
from mirror.resolve.lock import Lock, LockedFile
from tests.fixtures.osv_db import OSV_DIR, make_osv_zip


def record(name: str) -> dict:
    return json.loads((OSV_DIR / f"{name}.json").read_text())


def events(*pairs):
    return [{kind: value} for kind, value in pairs]


@pytest.mark.parametrize("version, expected", [
    ("0.0.1", True), ("2.19.1", True), ("2.20.0", False), ("2.20.0rc1", True), ("3.0", False),
])
def test_introduced_zero_to_fixed(version, expected):
    assert in_events(Version(version), events(("introduced", "0"), ("fixed", "2.20.0"))) is expected


@pytest.mark.parametrize("version, expected", [
    ("0.9", False), ("1.0", True), ("1.4.9", True), ("1.5", False), ("1.9", False), ("2.0", True), ("2.5", False),
])
def test_several_intervals_in_one_range_given_out_of_order(version, expected):
    # OSV sorts the events by version before walking them.
    walk = events(("fixed", "2.5"), ("introduced", "2.0"), ("introduced", "1.0"), ("fixed", "1.5"))
    assert in_events(Version(version), walk) is expected


@pytest.mark.parametrize("version, expected", [("1.11.0", True), ("1.11.0.post1", False), ("1.12", False)])
def test_last_affected_is_inclusive(version, expected):
    assert in_events(Version(version), events(("introduced", "0"), ("last_affected", "1.11.0"))) is expected


def test_limit_caps_an_open_range():
    walk = events(("introduced", "1.0"), ("limit", "2.0"))
    assert in_events(Version("1.5"), walk) is True
    assert in_events(Version("2.0"), walk) is False
    assert in_events(Version("2.0"), events(("introduced", "1.0"), ("limit", "*"))) is True


def test_unparsable_event_decides_nothing():
    assert in_events(Version("1.0"), events(("introduced", "0"), ("fixed", "not-a-version"))) is False


def test_pysec_2018_28_covers_requests_2_19_1_with_its_alias_and_fix():
    assert affects(record("PYSEC-2018-28"), "requests", "2.19.1") == Finding(
        name="requests", version="2.19.1", id="PYSEC-2018-28", aliases=("CVE-2018-18074",), fixed=("2.20.0",),
        summary="The Requests package before 2.20.0 for Python sends an HTTP Authorization header to an http URI "
                "upon receiving a same-hostname https-to-http redirect, which makes it easier for remote attackers "
                "to di\u2026",
    )
    assert affects(record("PYSEC-2018-28"), "requests", "2.20.0") is None


def test_ghsa_covers_from_its_introduced_version():
    found = affects(record("GHSA-j8r2-6x86-q33q"), "requests", "2.19.1")
    assert (found.id, found.aliases, found.fixed, found.summary) == (
        "GHSA-j8r2-6x86-q33q", ("CVE-2023-32681",), ("2.31.0",),
        "Unintended leak of Proxy-Authorization header in requests")
    assert affects(record("GHSA-j8r2-6x86-q33q"), "requests", "2.2.1") is None


def test_a_range_that_does_not_cover_the_version_reports_nothing():
    assert affects(record("PYSEC-2014-13"), "requests", "2.19.1") is None
    assert affects(record("PYSEC-2014-13"), "requests", "2.2.1").fixed == ("2.3.0",)


def test_a_withdrawn_record_reports_nothing():
    assert affects(record("PYPI-MIRROR-TEST-WITHDRAWN"), "requests", "2.19.1") is None
    assert match([record("PYPI-MIRROR-TEST-WITHDRAWN")], (("requests", "2.19.1"),), {}) == []


def test_last_affected_record_has_no_fix_to_name():
    found = affects(record("GHSA-w596-4wvx-j9j6"), "py", "1.11.0")
    assert (found.id, found.fixed) == ("GHSA-w596-4wvx-j9j6", ())


def test_explicit_versions_list_matches_equal_versions_and_names_are_canonical():
    listed = {"id": "X-1", "affected": [{"package": {"ecosystem": "PyPI", "name": "Zope.Interface"},
                                         "versions": ["5.0"]}]}
    assert affects(listed, "zope-interface", "5.0.0") == Finding("zope-interface", "5.0.0", "X-1")
    assert affects(listed, "zope-interface", "5.0.1") is None


def test_other_ecosystems_are_not_pypi():
    npm = {"id": "X-2", "affected": [{"package": {"ecosystem": "npm", "name": "requests"}, "versions": ["2.19.1"]}]}
    assert affects(npm, "requests", "2.19.1") is None


def test_match_marks_ignored_findings_by_id_or_alias():
    records = [record("PYSEC-2018-28"), record("GHSA-j8r2-6x86-q33q")]
    found = match(records, (("requests", "2.19.1"),), {"CVE-2023-32681": "proxies are not used"})
    assert sorted((f.id, f.ignored) for f in found) == [
        ("GHSA-j8r2-6x86-q33q", "proxies are not used"), ("PYSEC-2018-28", None)]


def test_ignore_list_reads_ids_with_reasons_and_comments(tmp_path):
    path = tmp_path / "ignore.txt"
    path.write_text("# accepted risks\n\nPYSEC-2018-28   no redirects to http  # reviewed 2026-11\n"
                    "GHSA-j8r2-6x86-q33q\tno proxies\n")
    assert read_ignore_list(path) == {"PYSEC-2018-28": "no redirects to http", "GHSA-j8r2-6x86-q33q": "no proxies"}


def test_ignore_without_a_reason_is_refused(tmp_path):
    path = tmp_path / "ignore.txt"
    path.write_text("PYSEC-2018-28\n")
    with pytest.raises(InputError, match=r"line 1: PYSEC-2018-28 has no reason"):
        read_ignore_list(path)


def test_osv_export_is_read_with_a_description_of_the_source(tmp_path):
    records, source = read_osv_export(make_osv_zip(tmp_path / "osv.zip"))
    assert sorted(r["id"] for r in records) == sorted(p.stem for p in OSV_DIR.glob("*.json"))
    assert source["type"] == "osv-database" and source["file"] == "osv.zip" and source["records"] == 5
    assert source["newest-modified"] == "2024-01-01T00:00:00Z"


@pytest.mark.parametrize("content, reason", [
    (None, "No such file or directory"),
    (b"not a zip", "not a zip file"),
    ({"README": b"x"}, "holds no OSV records"),
    ({"A.json": b"{"}, "A.json is not JSON"),
    ({"A.json": b"[]"}, "A.json is not an OSV record"),
])
def test_a_bad_osv_export_names_the_file_and_the_problem(tmp_path, content, reason):
    path = tmp_path / "osv.zip"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, dict):
        with zipfile.ZipFile(path, "w") as archive:
            for name, data in content.items():
                archive.writestr(name, data)
    with pytest.raises(VulnDatabaseError, match=reason) as caught:
        read_osv_export(path)
    assert str(caught.value).startswith(f"vulnerability database {path}: ")


LOCK = Lock(index_url="https://pypi.example/simple/", pins={}, files=(
    LockedFile("requests-2.19.1-py2.py3-none-any.whl", "requests", "2.19.1", "https://f.example/r.whl", "a" * 64),
    LockedFile("idna-2.7-py2.py3-none-any.whl", "idna", "2.7", "https://f.example/i.whl", "b" * 64),
))


def test_warn_reports_and_returns(tmp_path):
    report = audit(LOCK, mode="warn", vuln_db=make_osv_zip(tmp_path / "osv.zip"))
    document = json.loads(report.to_json())
    assert document["ran"] is True and document["reason"] is None
    assert document["audited"] == ["idna==2.7", "requests==2.19.1"]
    assert [(v["id"], v["aliases"], v["fixed-in"]) for v in document["vulnerabilities"]] == [
        ("GHSA-j8r2-6x86-q33q", ["CVE-2023-32681"], ["2.31.0"]), ("PYSEC-2018-28", ["CVE-2018-18074"], ["2.20.0"])]
    assert document["ignored"] == []


def test_fail_raises_one_line_naming_every_vulnerability(tmp_path):
    with pytest.raises(VulnerabilitiesFoundError) as caught:
        audit(LOCK, mode="fail", vuln_db=make_osv_zip(tmp_path / "osv.zip"))
    assert str(caught.value) == (
        "2 known vulnerabilities: requests 2.19.1 GHSA-j8r2-6x86-q33q (CVE-2023-32681), fixed in 2.31.0; "
        "requests 2.19.1 PYSEC-2018-28 (CVE-2018-18074), fixed in 2.20.0")


def test_fail_passes_when_every_finding_is_ignored_and_the_report_keeps_them(tmp_path):
    ignore = tmp_path / "ignore.txt"
    ignore.write_text("PYSEC-2018-28  never follows redirects to http\nCVE-2023-32681  no proxies\n")
    report = audit(LOCK, mode="fail", vuln_db=make_osv_zip(tmp_path / "osv.zip"), ignore_file=ignore)
    document = json.loads(report.to_json())
    assert document["vulnerabilities"] == []
    assert [(i["id"], i["reason"]) for i in document["ignored"]] == [
        ("GHSA-j8r2-6x86-q33q", "no proxies"), ("PYSEC-2018-28", "never follows redirects to http")]
    assert document["ignore-list"] == [{"id": "PYSEC-2018-28", "reason": "never follows redirects to http"},
                                       {"id": "CVE-2023-32681", "reason": "no proxies"}]


def test_no_source_in_warn_mode_is_a_report_that_did_not_run():
    document = json.loads(audit(LOCK, mode="warn").to_json())
    assert document["ran"] is False
    assert document["reason"].startswith("no vulnerability source: pass an OSV database export (VULN_DB / --vuln-db)")
    assert document["vulnerabilities"] is None and document["ignored"] is None


def test_no_source_in_fail_mode_fails():
    with pytest.raises(AuditUnavailableError, match=r"^the audit could not run .*: no vulnerability source"):
        audit(LOCK, mode="fail")


def test_off_looks_at_nothing_and_says_so(tmp_path):
    document = json.loads(audit(LOCK, mode="off", vuln_db=tmp_path / "absent.zip").to_json())
    assert (document["ran"], document["reason"], document["vulnerabilities"]) == (
        False, "turned off (AUDIT=off / --audit off)", None)


def test_one_known_vulnerability_is_singular():
    assert str(VulnerabilitiesFoundError([("py", "1.11.0", "GHSA-w596-4wvx-j9j6", (), ())])) == (
        "1 known vulnerability: py 1.11.0 GHSA-w596-4wvx-j9j6, no fix known")
