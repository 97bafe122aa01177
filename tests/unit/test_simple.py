"""The one Simple API reader: exact records from PEP 503 HTML and PEP 691 JSON,
and the same view of the appliance's own pages as pypi-simple (an independent parser)."""

import json

import pypi_simple
import pytest

from mirror.tree.index import IndexFile, Project, render_project_html, render_project_json, render_root_html, \
    render_root_json
from mirror.upstream import simple
from mirror.upstream.simple import Link

PAGE = "https://pypi.example/simple/foo/"
A, B, C = "a" * 64, "b" * 64, "c" * 64

HTML_PAGE = f"""<!DOCTYPE html>
<html><head><meta name="pypi:repository-version" content="1.0"></head>
<body>
<a href="../../packages/ab/cd/foo-1.0-py3-none-any.whl#sha256={A}" data-requires-python="&gt;=3.8,&lt;4"
   data-dist-info-metadata="sha256={B}" data-core-metadata="sha256={B}">
  foo-1.0-py3-none-any.whl</a><br>
<a href="https://files.example/foo-1.0.tar.gz#md5=0123" data-yanked="">foo-1.0.tar.gz</a>
<a href="foo-0.9.tar.gz#sha256={B}" data-yanked="bad &amp; broken" data-provenance="foo-0.9.tar.gz.provenance">foo-0.9.tar.gz</a>
<a href="/packages/foo-1.0%2Blocal-py3-none-any.whl#sha256={C}" data-requires-python="" data-dist-info-metadata="true"></a>
<a name="no-href">nothing</a>
</body></html>
"""


def test_project_html_reads_every_attribute_and_keeps_the_metadata_names():
    page = simple.parse_project(PAGE, "text/html; charset=utf-8", HTML_PAGE.encode())
    assert (page.format, page.api_version, page.name, page.versions) == ("html", "1.0", None, None)
    assert page.files == (
        Link("foo-1.0-py3-none-any.whl", "https://pypi.example/packages/ab/cd/foo-1.0-py3-none-any.whl",
             {"sha256": A}, requires_python=">=3.8,<4", metadata={"sha256": B},
             metadata_names=("data-core-metadata", "data-dist-info-metadata")),
        Link("foo-1.0.tar.gz", "https://files.example/foo-1.0.tar.gz", {"md5": "0123"}, yanked=True),
        Link("foo-0.9.tar.gz", "https://pypi.example/simple/foo/foo-0.9.tar.gz", {"sha256": B},
             yanked="bad & broken", provenance="https://pypi.example/simple/foo/foo-0.9.tar.gz.provenance"),
        Link("foo-1.0+local-py3-none-any.whl", "https://pypi.example/packages/foo-1.0%2Blocal-py3-none-any.whl",
             {"sha256": C}, metadata=True, metadata_names=("data-dist-info-metadata",)),
    )
    assert page.files[0].sha256 == A and page.files[0].metadata_sha256 == B
    assert page.files[1].sha256 is None and page.files[3].metadata_sha256 is None


def test_project_json_reads_a_pep691_and_700_page():
    data = {
        "meta": {"api-version": "1.1"}, "name": "foo", "versions": ["1.0"],
        "files": [{
            "filename": "foo-1.0-py3-none-any.whl",
            "url": "../../packages/foo-1.0-py3-none-any.whl#sha256=" + A,
            "hashes": {"sha256": A, "blake2b_256": "ff"},
            "requires-python": ">=3.9", "size": 1234, "upload-time": "2024-01-02T03:04:05.123456Z",
            "core-metadata": {"sha256": B}, "yanked": "use 1.1", "provenance": "/p/foo.provenance",
        }, {"filename": "foo-1.0.tar.gz", "url": "https://files.example/foo-1.0.tar.gz", "hashes": {},
            "dist-info-metadata": True, "yanked": ""}],
    }
    page = simple.parse_project(PAGE, simple.JSON_TYPE, json.dumps(data))
    assert (page.format, page.api_version, page.name, page.versions) == ("json", "1.1", "foo", ("1.0",))
    assert page.files == (
        Link("foo-1.0-py3-none-any.whl", "https://pypi.example/packages/foo-1.0-py3-none-any.whl",
             {"sha256": A, "blake2b_256": "ff"}, requires_python=">=3.9", yanked="use 1.1",
             metadata={"sha256": B}, metadata_names=("core-metadata",), size=1234,
             upload_time="2024-01-02T03:04:05.123456Z", provenance="https://pypi.example/p/foo.provenance"),
        Link("foo-1.0.tar.gz", "https://files.example/foo-1.0.tar.gz", {}, yanked=True, metadata=True,
             metadata_names=("dist-info-metadata",)),
    )
    assert "size" in page.keys and "dist-info-metadata" in page.keys


@pytest.mark.parametrize("content_type, body, reason", [
    ("application/octet-stream", b"<html></html>", "neither HTML nor PEP 691 JSON"),
    (simple.JSON_TYPE, b"<html>", "not JSON"),
    (simple.JSON_TYPE, b'{"files": []}', "without meta.api-version"),
    (simple.JSON_TYPE, b'{"meta": {"api-version": "1.0"}, "name": "foo", "files": [{"url": "x"}]}',
     "missing 'filename'"),
])
def test_malformed_pages_raise_naming_the_url(content_type, body, reason):
    with pytest.raises(simple.PageError, match=reason) as raised:
        simple.parse_project(PAGE, content_type, body)
    assert raised.value.url == PAGE


def test_root_pages_in_both_formats():
    root = "http://h/simple/"
    html = simple.parse_index(root, "text/html", '<meta name="pypi:repository-version" content="1.1">'
                                                 '<a href="foo-bar/">Foo.Bar</a><a href="/simple/baz/">baz</a>')
    assert html.projects == (("Foo.Bar", "http://h/simple/foo-bar/"), ("baz", "http://h/simple/baz/"))
    assert html.api_version == "1.1"
    data = simple.parse_index(root, simple.JSON_TYPE, '{"meta": {"api-version": "1.0"}, "projects": [{"name": "Foo.Bar"}]}')
    assert data.projects == (("Foo.Bar", "http://h/simple/Foo.Bar/"),) and data.format == "json"


PROJECT = Project("foo", ("0.9", "1.0"), (
    IndexFile("foo-0.9.tar.gz", A, 10, None, ">=3.8", "broken", None),
    IndexFile("foo-1.0-py3-none-any.whl", B, 20, "2024-01-02T03:04:05Z", None, False, C),
))


@pytest.mark.parametrize("render, content_type", [
    (render_project_html, "text/html"),
    (render_project_json, pypi_simple.ACCEPT_JSON_ONLY),
])
def test_same_view_of_the_appliances_pages_as_pypi_simple(render, content_type):
    body = render(PROJECT)
    ours = simple.parse_project(PAGE, content_type, body)
    theirs = (pypi_simple.ProjectPage.from_html("foo", body, PAGE) if content_type == "text/html"
              else pypi_simple.ProjectPage.from_json_data(json.loads(body), PAGE))
    assert [(f.filename, f.url, dict(f.hashes), f.requires_python, f.yanked is not False,
             f.yanked if isinstance(f.yanked, str) else None, bool(f.metadata), f.metadata_sha256)
            for f in ours.files] == [
        (p.filename, p.url, p.digests, p.requires_python, p.is_yanked, p.yanked_reason or None,
         bool(p.has_metadata), (p.metadata_digests or {}).get("sha256")) for p in theirs.packages]
    assert ours.api_version == theirs.repository_version == "1.4"


def test_same_root_as_pypi_simple():
    for render, content_type in ((render_root_html, "text/html"), (render_root_json, pypi_simple.ACCEPT_JSON_ONLY)):
        body = render([PROJECT])
        ours = simple.parse_index("http://h/simple/", content_type, body)
        theirs = (pypi_simple.IndexPage.from_html(body) if content_type == "text/html"
                  else pypi_simple.IndexPage.from_json_data(json.loads(body)))
        assert [name for name, _ in ours.projects] == theirs.projects == ["foo"]
