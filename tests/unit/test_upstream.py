import pytest

from mirror.upstream import UpstreamFile, _from_html, _from_json, mask, strip_credentials

PAGE = "https://pypi.example/simple/foo/"
A, B, C = "a" * 64, "b" * 64, "c" * 64


@pytest.mark.parametrize("text, expected", [
    ("https://user:pass@pypi.example/simple/", "https://user:***@pypi.example/simple/"),
    ("https://tok3n@pypi.example/simple/", "https://***@pypi.example/simple/"),
    ("https://pypi.example/simple/", "https://pypi.example/simple/"),
    ("https://pypi.example/simple/a@b/", "https://pypi.example/simple/a@b/"),
    ("fetch http://u:p%40ss@h:8080/x failed, then https://t@g/y", "fetch http://u:***@h:8080/x failed, then https://***@g/y"),
])
def test_mask_hides_the_secret_part_of_credentials(text, expected):
    assert mask(text) == expected


def test_mask_hides_a_password_with_an_unencoded_at_sign():
    assert mask("https://user:p@ssw0rd@pypi.example/simple/") == "https://user:***@pypi.example/simple/"


def test_strip_credentials_decodes_a_percent_encoded_password():
    assert strip_credentials("https://alice:p%40ss%3Aw%2Frd@pypi.example:8443/simple/") == (
        "https://pypi.example:8443/simple/", ("alice", "p@ss:w/rd"))


def test_strip_credentials_with_a_token_only():
    assert strip_credentials("https://tok3n@pypi.example/simple/") == ("https://pypi.example/simple/", ("tok3n", ""))


def test_strip_credentials_without_credentials_returns_the_url_unchanged():
    assert strip_credentials("https://pypi.example/simple/") == ("https://pypi.example/simple/", None)


def test_strip_credentials_keeps_ipv6_brackets():
    assert strip_credentials("http://u:p@[::1]:8080/simple/") == ("http://[::1]:8080/simple/", ("u", "p"))


HTML_PAGE = f"""<!DOCTYPE html>
<html><head><meta name="pypi:repository-version" content="1.0"></head>
<body>
<a href="../../packages/ab/cd/foo-1.0-py3-none-any.whl#sha256={A}" data-requires-python="&gt;=3.8,&lt;4">
  foo-1.0-py3-none-any.whl</a><br>
<a href="https://files.example/foo-1.0.tar.gz#md5=0123" data-yanked="">foo-1.0.tar.gz</a>
<a href="foo-0.9.tar.gz#sha256={B}" data-yanked="bad &amp; broken">foo-0.9.tar.gz</a>
<a href="/packages/foo-1.0%2Blocal-py3-none-any.whl#sha256={C}" data-requires-python=""></a>
<a name="no-href">nothing</a>
</body></html>
"""


def test_from_html_reads_pep503_anchors():
    assert _from_html(PAGE, HTML_PAGE) == [
        UpstreamFile("foo-1.0-py3-none-any.whl", "https://pypi.example/packages/ab/cd/foo-1.0-py3-none-any.whl",
                     A, requires_python=">=3.8,<4"),
        UpstreamFile("foo-1.0.tar.gz", "https://files.example/foo-1.0.tar.gz", None, yanked=True),
        UpstreamFile("foo-0.9.tar.gz", "https://pypi.example/simple/foo/foo-0.9.tar.gz", B,
                     yanked="bad & broken"),
        UpstreamFile("foo-1.0+local-py3-none-any.whl",
                     "https://pypi.example/packages/foo-1.0%2Blocal-py3-none-any.whl", C),
    ]


def test_from_json_reads_a_pep691_file_entry():
    entry = {
        "filename": "foo-1.0-py3-none-any.whl",
        "url": "../../packages/foo-1.0-py3-none-any.whl#sha256=" + A,
        "hashes": {"sha256": A, "blake2b_256": "ff"},
        "requires-python": ">=3.9",
        "size": 1234,
        "upload-time": "2024-01-02T03:04:05.123456Z",
        "core-metadata": {"sha256": B},
        "yanked": "use 1.1",
    }
    assert _from_json(PAGE, entry) == UpstreamFile(
        filename="foo-1.0-py3-none-any.whl", url="https://pypi.example/packages/foo-1.0-py3-none-any.whl",
        sha256=A, size=1234, upload_time="2024-01-02T03:04:05.123456Z", requires_python=">=3.9",
        yanked="use 1.1",
    )


@pytest.mark.parametrize("extra, yanked, requires_python", [
    ({}, False, None),
    ({"yanked": False, "requires-python": ""}, False, None),
    ({"yanked": True}, True, None),
    ({"yanked": ""}, True, None),
])
def test_from_json_minimal_entries(extra, yanked, requires_python):
    entry = {"filename": "foo-1.0.tar.gz", "url": "https://files.example/foo-1.0.tar.gz", "hashes": {}, **extra}
    assert _from_json(PAGE, entry) == UpstreamFile(
        "foo-1.0.tar.gz", "https://files.example/foo-1.0.tar.gz", None,
        requires_python=requires_python, yanked=yanked)
