"""The pages' data (mirror/tree/pages/model.py) exactly, severity words, and what the written site must never hold."""

from __future__ import annotations

import re

import pytest

from mirror.advisories.audit import AuditReport, Finding
from mirror.advisories.severity import cvss3_base_score, severity_of
from mirror.inputs.targets import Target
from mirror.resolve.lock import Lock, LockedFile
from mirror.resolve.pins import Pin
from mirror.tree.index import IndexFile, Project
from mirror.tree.landing import write_landing
from mirror.tree.pages.model import (Advisory, AuditSummary, Bar, Change, ChangeGroup, Chart, DataSource, FileEntry,
                                ProjectPage, Release, ServedData, Summary, build_site, human_bytes)

SHA = {name: (c * 64) for name, c in (("a", "a"), ("b", "b"), ("c", "c"), ("d", "d"))}
T1, T2 = Target("3.11", "manylinux_x86_64"), Target("3.12", "manylinux_x86_64")
FILES = {
    "requests-2.19.1-py2.py3-none-any.whl": ("requests", "2.19.1", SHA["a"], 91_000, ("py3.11-manylinux_x86_64",)),
    "requests-2.31.0-py3-none-any.whl": ("requests", "2.31.0", SHA["b"], 62_500, ("py3.12-manylinux_x86_64",)),
    "idna-3.7-py3-none-any.whl": ("idna", "3.7", SHA["c"], 66_800,
                                  ("py3.11-manylinux_x86_64", "py3.12-manylinux_x86_64")),
    "tiny-1.0.tar.gz": ("tiny", "1.0", SHA["d"], 900, ("py3.11-manylinux_x86_64", "py3.12-manylinux_x86_64")),
}


def index_file(filename: str) -> IndexFile:
    _, _, sha256, size, _ = FILES[filename]
    return IndexFile(filename=filename, sha256=sha256, size=size, upload_time="2024-05-01T10:00:00.000000Z",
                     requires_python=">=3.8" if filename.startswith("requests-2.31") else None,
                     yanked="broken" if filename.startswith("tiny") else False, metadata_sha256=None)


PROJECTS = [
    Project("idna", ("3.7",), (index_file("idna-3.7-py3-none-any.whl"),)),
    Project("requests", ("2.19.1", "2.31.0"), (index_file("requests-2.19.1-py2.py3-none-any.whl"),
                                               index_file("requests-2.31.0-py3-none-any.whl"))),
    Project("tiny", ("1.0",), (index_file("tiny-1.0.tar.gz"),)),
]
LOCK = Lock(
    index_url="https://pypi.org/simple/",
    pins={T1: (Pin("idna", "3.7"), Pin("requests", "2.19.1"), Pin("tiny", "1.0")),
          T2: (Pin("idna", "3.7"), Pin("requests", "2.31.0"), Pin("tiny", "1.0"))},
    files=tuple(LockedFile(filename=f, name=n, version=v, url=f"https://files.example/{f}", sha256=s, size=z,
                           targets=t) for f, (n, v, s, z, t) in FILES.items()),
)
GHSA = Finding("requests", "2.19.1", "GHSA-j8r2-6x86-q33q", ("CVE-2023-32681",), ("2.31.0",),
               "Unintended leak of Proxy-Authorization header in requests", severity="MODERATE")
PYSEC = Finding("requests", "2.19.1", "PYSEC-2018-28", ("CVE-2018-18074",), ("2.20.0",), "Authorization on redirect")
IGNORED = Finding("idna", "3.7", "GHSA-jjg7-2v4v-x38h", (), ("3.8",), "<script>alert(1)</script> DoS",
                  ignored="we never decode untrusted names", severity="HIGH")
AUDIT = AuditReport(
    mode="warn", ran=True,
    sources=({"type": "osv-database", "file": "all.zip", "sha256": "e" * 64, "records": 5,
              "newest-modified": "2024-01-01T00:00:00Z"},),
    audited=(("idna", "3.7"), ("requests", "2.19.1"), ("requests", "2.31.0"), ("tiny", "1.0")),
    findings=(IGNORED, GHSA, PYSEC),
)
CHANGES = {
    "changes-version": 1,
    "projects": {"added": [{"name": "tiny", "versions": ["1.0"]}], "removed": [{"name": "six", "versions": ["1.16.0"]}],
                 "upgraded": [{"name": "requests", "from": ["2.19.1"], "to": ["2.19.1", "2.31.0"]}],
                 "downgraded": [], "changed": []},
    "advisories": {"compared": True, "appeared": [{"id": "GHSA-j8r2-6x86-q33q", "name": "requests",
                                                    "version": "2.19.1"}], "gone": []},
}
OSV_META = {"records": 5, "sha256": "e" * 64, "newest-modified": "2024-01-01T00:00:00Z",
            "taken-at": "2024-01-02T00:00:00Z", "reason": None}
BOTH = ("py3.11-manylinux_x86_64", "py3.12-manylinux_x86_64")


def test_the_site_model_holds_every_release_file_target_and_advisory():
    site = build_site(PROJECTS, LOCK, AUDIT, CHANGES, "2024-05-01T10:00:00Z", OSV_META)

    assert site.summary == Summary(projects=3, files=4, bytes=221_200, targets=BOTH,
                                   platforms=(("manylinux_x86_64", ("3.11", "3.12")),), built="2024-05-01T10:00:00Z",
                                   lock_sha256=LOCK.sha256, index_url="https://pypi.org/simple/")
    assert site.audit == AuditSummary(
        ran=True, reason=None, releases=4, known=2, ignored=1, affected_releases=1,
        sources=(DataSource("OSV database export all.zip", 5, "2024-01-01T00:00:00Z", None, "e" * 64),))
    assert site.served == ServedData(5, "2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z", "e" * 64, None)
    idna, requests, tiny = site.projects
    assert requests == ProjectPage(
        name="requests", href="projects/requests/", size=153_500, files=2, targets=BOTH, advisories=2,
        worst="MODERATE",
        releases=(
            Release("2.31.0", files=(FileEntry(
                "requests-2.31.0-py3-none-any.whl", "packages/requests-2.31.0-py3-none-any.whl", 62_500, SHA["b"],
                "2024-05-01T10:00:00.000000Z", ">=3.8", False, ("py3.12-manylinux_x86_64",), False),),
                targets=("py3.12-manylinux_x86_64",), advisories=()),
            Release("2.19.1", files=(FileEntry(
                "requests-2.19.1-py2.py3-none-any.whl", "packages/requests-2.19.1-py2.py3-none-any.whl", 91_000,
                SHA["a"], "2024-05-01T10:00:00.000000Z", None, False, ("py3.11-manylinux_x86_64",), False),),
                targets=("py3.11-manylinux_x86_64",), advisories=(
                    Advisory("GHSA-j8r2-6x86-q33q", ("CVE-2023-32681",),
                             "Unintended leak of Proxy-Authorization header in requests", ("2.31.0",), "MODERATE",
                             "osv/v1/vulns/GHSA-j8r2-6x86-q33q"),
                    Advisory("PYSEC-2018-28", ("CVE-2018-18074",), "Authorization on redirect", ("2.20.0",), None,
                             "osv/v1/vulns/PYSEC-2018-28"),
                )),
        ),
    )
    # An ignored advisory is shown with its reason, but counts as no known one.
    assert (idna.advisories, idna.worst, idna.releases[0].advisories) == (0, None, (Advisory(
        "GHSA-jjg7-2v4v-x38h", (), "<script>alert(1)</script> DoS", ("3.8",), "HIGH",
        "osv/v1/vulns/GHSA-jjg7-2v4v-x38h", ignored="we never decode untrusted names"),))
    assert idna.releases[0].files[0].all_targets is True
    assert (tiny.releases[0].files[0].yanked, tiny.releases[0].files[0].href) == ("broken", "packages/tiny-1.0.tar.gz")


def test_charts_show_the_largest_projects_and_the_known_advisories_by_severity_and_project():
    site = build_site(PROJECTS, LOCK, AUDIT)
    assert site.charts == (
        Chart("chart-size", "Largest projects by bytes", (
            Bar("requests", "153.5 kB", 100.0, "size", "projects/requests/"),
            Bar("idna", "66.8 kB", 43.5, "size", "projects/idna/"),
            Bar("tiny", "900 B", 0.6, "size", "projects/tiny/"),
        )),
        Chart("chart-severity", "Known advisories by severity (one per affected release)", (
            Bar("critical", "0", 0.0, "critical"), Bar("high", "0", 0.0, "high"),
            Bar("moderate", "1", 100.0, "moderate"), Bar("low", "0", 0.0, "low"),
            Bar("not rated", "1", 100.0, "unrated"),
        )),
        Chart("chart-projects", "Projects with the most known advisories", (
            Bar("requests", "2", 100.0, "moderate", "projects/requests/"),)),
    )


def test_changes_link_the_projects_still_here_and_the_advisories():
    assert build_site(PROJECTS, LOCK, AUDIT, CHANGES).changes == (
        ChangeGroup("added", (Change("tiny 1.0", "projects/tiny/"),)),
        ChangeGroup("removed", (Change("six 1.16.0"),)),
        ChangeGroup("upgraded", (Change("requests 2.19.1 \u2192 2.19.1, 2.31.0", "projects/requests/"),)),
        ChangeGroup("advisories appeared", (Change("requests 2.19.1 GHSA-j8r2-6x86-q33q",
                                                   "osv/v1/vulns/GHSA-j8r2-6x86-q33q"),)),
    )
    assert build_site(PROJECTS, LOCK, AUDIT).changes is None


def test_documents_name_the_served_vulnerability_data_only_when_there_is_some():
    def hrefs(**kwargs):
        return [d.href for d in build_site(PROJECTS, LOCK, AUDIT, **kwargs).documents]

    base = ["simple/", "lock.json", "mirror.json", "sbom.cdx.json", "audit.json"]
    clients = ["pip.conf", "uv.toml", "activate"]
    assert hrefs() == base + clients
    assert hrefs(changes=CHANGES, osv=OSV_META) == base + ["changes.json", "osv/meta.json", "osv/PyPI/all.zip"] + clients
    assert hrefs(osv={"records": 0, "reason": "no VULN_DB"}) == base + clients


def test_an_audit_that_did_not_run_has_no_advisories_and_says_why():
    report = AuditReport(mode="warn", ran=False, reason="no vulnerability source", audited=AUDIT.audited)
    site = build_site(PROJECTS, LOCK, report, osv={"records": 0, "reason": "no VULN_DB"})
    assert site.audit == AuditSummary(False, "no vulnerability source", 4, 0, 0, 0, ())
    assert site.served == ServedData(0, None, None, None, "no VULN_DB")
    assert [c.id for c in site.charts] == ["chart-size"]
    assert all(not r.advisories for p in site.projects for r in p.releases)


@pytest.mark.parametrize(("vector", "score"), [
    ("CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:C/C:H/I:N/A:N", 6.1),  # GHSA-j8r2-6x86-q33q, GitHub says MODERATE
    ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L", 5.3),  # GHSA-w596-4wvx-j9j6
    ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
    ("CVSS:3.0/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 7.8),
    ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:L/I:L/A:N", 6.4),
    ("CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:N/I:N/A:N", 0.0),
])
def test_cvss3_base_scores_match_the_specification(vector, score):
    assert cvss3_base_score(vector) == score


def test_severity_prefers_githubs_word_then_a_cvss3_rating_and_never_guesses():
    assert severity_of({"database_specific": {"severity": "moderate"}, "severity": [
        {"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]}) == "MODERATE"
    assert severity_of({"severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]}) \
        == "CRITICAL"
    assert severity_of({"severity": [{"type": "CVSS_V4", "score": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N"}]}) is None
    assert severity_of({"severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:X"}]}) is None
    assert severity_of({"id": "PYSEC-2018-28"}) is None


def test_human_bytes_uses_decimal_units():
    assert [human_bytes(n) for n in (0, 999, 1000, 153_500, 2_500_000, 7_200_000_000)] == [
        "0 B", "999 B", "1.0 kB", "153.5 kB", "2.5 MB", "7.2 GB"]


def test_the_written_site_holds_every_page_and_no_inline_code(tmp_path):
    site = write_landing(PROJECTS, LOCK, tmp_path, AUDIT, CHANGES, "2024-05-01T10:00:00Z", OSV_META)
    written = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert written == ["activate", "assets/icon.svg", "assets/site.css", "assets/site.js", "index.html", "pip.conf",
                       "projects/idna/index.html", "projects/requests/index.html", "projects/tiny/index.html",
                       "uv.toml"]
    assert [p.name for p in site.projects] == ["idna", "requests", "tiny"]
    for page in tmp_path.rglob("index.html"):
        text = page.read_text()
        # What the Content-Security-Policy would refuse: inline script, inline style, handlers, other origins.
        assert re.findall(r"<script(?![^>]*\bsrc=)|<style|\sstyle=|\son[a-z]+=|(?:src|href)=\"(?:https?:)?//",
                          text) == [], page
        # OSV text is data, never markup.
        assert "<script>alert" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; DoS" in (tmp_path / "projects/idna/index.html").read_text()
