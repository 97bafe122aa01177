"""Each standard judged from a crafted Crawl: exact verdicts for what real indexes get wrong."""

import hashlib
import json

import pytest

from mirror.upstream import simple
from mirror.verify.standards import (ABSENT, FAIL, Crawl, Fetched, Problem, pep503, pep592, pep629, pep658, pep691,
                              pep700, pep740, pep792)

ROOT = "http://h/simple/"
PAGE = "http://h/simple/foo/"
WHEEL = "foo-1.0-py3-none-any.whl"
FILE = f"http://h/packages/{WHEEL}"
DATA = b"the wheel"
SHA = hashlib.sha256(DATA).hexdigest()
META = b"Metadata-Version: 2.1\nName: foo\nVersion: 1.0\n"
META_SHA = hashlib.sha256(META).hexdigest()


def html_page(attrs: str = f'data-core-metadata="sha256={META_SHA}"', sha: str = SHA, version: str = "1.1") -> str:
    return (f'<meta name="pypi:repository-version" content="{version}">'
            f'<a href="../../packages/{WHEEL}#sha256={sha}" {attrs}>{WHEEL}</a>')


def json_page(api: str = "1.1", **extra) -> str:
    entry = {"filename": WHEEL, "url": f"../../packages/{WHEEL}", "hashes": {"sha256": SHA}, "size": len(DATA),
             "upload-time": "2024-01-02T03:04:05.000000Z", "yanked": False, "core-metadata": {"sha256": META_SHA},
             **extra}
    return json.dumps({"meta": {"api-version": api}, "name": "foo", "versions": ["1.0"], "files": [entry]})


def crawl(html: str | None = None, json_text: str | None = None, *, vary: str = "Accept") -> Crawl:
    c = Crawl(root=ROOT)
    c.root_html = simple.parse_index(ROOT, "text/html", '<meta name="pypi:repository-version" content="1.1">'
                                                        '<a href="foo/">foo</a>')
    c.root_html_raw = Fetched(ROOT, 200, "text/html", vary, b"")
    c.html_pages["foo"] = simple.parse_project(PAGE, "text/html", html or html_page())
    c.raw_pages[("foo", "html")] = Fetched(PAGE, 200, "text/html", vary, b"")
    if json_text is not None:
        c.root_json = simple.parse_index(ROOT, simple.JSON_TYPE, '{"meta": {"api-version": "1.1"}, "projects": [{"name": "foo"}]}')
        c.root_json_raw = Fetched(ROOT, 200, simple.JSON_TYPE, vary, b"")
        c.json_pages["foo"] = simple.parse_project(PAGE, simple.JSON_TYPE, json_text)
        c.raw_pages[("foo", "json")] = Fetched(PAGE, 200, simple.JSON_TYPE, vary, b"")
        c.pip_accept = "json"
    else:
        c.json_refused = f"Accept: {simple.JSON_TYPE} got text/html (HTTP 200)"
    c.files[FILE] = (SHA, len(DATA))
    c.file_bytes = len(DATA)
    c.metadata[f"{FILE}.metadata"] = META
    c.wheel_metadata[FILE] = META
    c.normalized = "Foo redirects to foo"
    return c


def verdict(judge, c: Crawl) -> tuple[str, str]:
    with pytest.raises(Problem) as raised:
        judge(c)
    return raised.value.status, raised.value.detail


def test_a_good_index_passes_every_standard_but_provenance():
    c = crawl(json_text=json_page())
    for judge in (pep503, pep592, pep629, pep691, pep700, pep658):
        judge(c)
    assert verdict(pep740, c) == (ABSENT, "no file links a provenance")


def test_503_names_the_file_whose_hash_is_wrong():
    status, detail = verdict(pep503, crawl(html_page(sha="0" * 64)))
    assert status == FAIL and f"{FILE} is {SHA}, the page says {'0' * 64}" in detail


def test_503_fails_a_file_without_sha256():
    c = crawl(f'<a href="../../packages/{WHEEL}#md5=abc">{WHEEL}</a>')
    assert verdict(pep503, c) == (FAIL, f"1 file(s) without #sha256 (clients cannot check them): {FILE}")


def test_691_absent_without_json_and_failed_without_vary():
    assert verdict(pep691, crawl()) == (ABSENT, f"no JSON: Accept: {simple.JSON_TYPE} got text/html (HTTP 200)")
    status, detail = verdict(pep691, crawl(json_text=json_page(), vary="User-Agent"))
    assert status == FAIL and "no Vary: Accept" in detail


def test_691_fails_when_html_and_json_disagree_on_a_hash():
    c = crawl(json_text=json_page(hashes={"sha256": "1" * 64}))
    assert verdict(pep691, c) == (FAIL, f"{PAGE}: HTML and JSON pages disagree on {WHEEL}")


def test_700_absent_at_api_1_0_and_failed_on_a_wrong_size():
    c = crawl(json_text=json_page())
    c.root_json = simple.IndexPage(ROOT, "json", "1.0", c.root_json.projects)
    assert verdict(pep700, c)[0] == ABSENT
    status, detail = verdict(pep700, crawl(json_text=json_page(size=1)))
    assert status == FAIL and f"{FILE}: {len(DATA)} bytes, the JSON page says 1" in detail


def test_629_absent_without_the_meta_tag_and_failed_on_a_major_version_2():
    c = crawl(f'<a href="../../packages/{WHEEL}#sha256={SHA}">{WHEEL}</a>')
    c.root_html = simple.IndexPage(ROOT, "html", None, c.root_html.projects)
    assert verdict(pep629, c)[0] == ABSENT
    assert verdict(pep629, crawl(html_page(version="2.0")))[0] == FAIL


def test_658_pre_714_name_only_fails_both_names_pass_with_a_note():
    status, detail = verdict(pep658, crawl(html_page(f'data-dist-info-metadata="sha256={META_SHA}"')))
    assert status == FAIL and "only by the pre-PEP 714 name data-dist-info-metadata" in detail
    both = f'data-dist-info-metadata="sha256={META_SHA}" data-core-metadata="sha256={META_SHA}"'
    assert pep658(crawl(html_page(both))).endswith("also the pre-714 name data-dist-info-metadata")


def test_658_fails_metadata_that_is_not_the_wheels():
    c = crawl()
    c.metadata[f"{FILE}.metadata"] = b"other"
    status, detail = verdict(pep658, c)
    assert status == FAIL and detail.startswith(f"{FILE}.metadata: sha256 ")
    c = crawl(html_page('data-core-metadata="true"'))
    c.wheel_metadata[FILE] = b"the real METADATA"
    assert verdict(pep658, c) == (FAIL, f"{FILE}.metadata: not the wheel's METADATA byte for byte (pip rejects it)")


def test_592_fails_when_the_formats_disagree_on_a_yank():
    c = crawl(json_text=json_page(yanked="broken"))
    assert verdict(pep592, c) == (FAIL, f"{WHEEL}: yanked in one format, not in the other ({PAGE})")
    assert pep592(crawl(html_page('data-yanked="broken"'), json_page(yanked="broken"))).startswith("1 yanked")


def test_740_reads_the_provenance_objects():
    c = crawl(html_page('data-provenance="foo.provenance"'))
    c.provenance[f"{PAGE}foo.provenance"] = json.dumps({"version": 1, "attestation_bundles": []}).encode()
    assert pep740(c).startswith("1 files link a provenance")
    c.provenance[f"{PAGE}foo.provenance"] = b"{}"
    assert verdict(pep740, c) == (FAIL, f"{PAGE}foo.provenance: not a PEP 740 provenance object")


def status_html(status: str, reason: str = "") -> str:
    meta = f'<meta name="pypi:project-status" content="{status}">'
    if reason:
        meta += f'<meta name="pypi:project-status-reason" content="{reason}">'
    return meta + html_page(version="1.4")


def test_792_is_absent_before_1_4_and_passes_when_declared():
    assert verdict(pep792, crawl()) == (ABSENT, "api-version 1.1: no project status (it came with 1.4)")
    assert pep792(crawl(json_text=json_page(api="1.4"))).startswith(
        "api-version 1.4; 1 projects, 0 with a status other than active")


def test_792_names_the_statuses_and_checks_both_formats_agree():
    archived = json.loads(json_page(api="1.4"))
    archived["project-status"] = {"status": "archived", "reason": "done"}
    assert pep792(crawl(status_html("archived", "done"), json.dumps(archived))).startswith(
        "api-version 1.4; 1 projects, 1 with a status other than active: foo archived")
    assert verdict(pep792, crawl(status_html("archived", "done"), json_page(api="1.4"))) == (
        FAIL, f"{PAGE}: HTML and JSON pages give different statuses (archived, active)")


def test_792_fails_an_unknown_status_and_a_status_without_1_4():
    assert verdict(pep792, crawl(status_html("gone"))) == (
        FAIL, f"{PAGE}: project status 'gone' is not one of active, archived, quarantined, deprecated")
    old = '<meta name="pypi:project-status" content="archived">' + html_page()
    assert verdict(pep792, crawl(old)) == (
        FAIL, f"{PAGE}: project status archived on a page that declares api-version 1.1, not 1.4")


def signed_crawl(provenance: bytes, sha256: str | None = None):
    """A crawl of one real signed sdist (tests/fixtures/trust) that links its provenance."""
    from tests.upstream.fake_index import TRUST_ASSETS

    sdist = "pypi_attestations-0.0.19.tar.gz"
    data = (TRUST_ASSETS / sdist).read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    page = (f'<meta name="pypi:repository-version" content="1.4"><a href="../../packages/{sdist}#sha256={digest}" '
            f'data-provenance="../../packages/{sdist}.provenance">{sdist}</a>')
    c = crawl(page)
    c.files = {f"http://h/packages/{sdist}": (sha256 or digest, len(data))}
    c.provenance = {f"http://h/packages/{sdist}.provenance": provenance}
    return c


def test_740_verifies_the_signatures_against_the_downloaded_file():
    from tests.upstream.fake_index import TRUST_ASSETS

    real = (TRUST_ASSETS / "pypi_attestations-0.0.19.tar.gz.provenance").read_bytes()
    assert pep740(signed_crawl(real)) == ("1 files link a provenance; 1 read as PEP 740 objects, 1 verified against "
                                          "the downloaded files (Sigstore, offline)")
    status, detail = verdict(pep740, signed_crawl(real, sha256="0" * 64))
    assert status == FAIL and detail.startswith(
        "http://h/packages/pypi_attestations-0.0.19.tar.gz.provenance: does not verify against the GitHub publisher")
