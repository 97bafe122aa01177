"""build.py publish's retries against an index that fails the way real ones do
(a 503 while it restarts, a dropped connection): a local server on 127.0.0.1
that fails the first uploads, then takes them."""

from __future__ import annotations

import http.server

import pytest

import mirror.core.http
from mirror.errors import DistributionError, PublishError
from mirror.publish.publish import Publisher
from mirror.resolve.lock import LockedFile
from tests.upstream.fake_index import serving, wheel

EMPTY_ROOT = b'<!DOCTYPE html><html><body></body></html>'


class FlakyIndex(http.server.ThreadingHTTPServer):
    """An empty Simple API; POSTs answered by `answers` in turn (an int status, or "drop"), then 200."""

    def __init__(self, answers: list):
        self.answers, self.posts = list(answers), []
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/"


class _Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        status, body = (200, EMPTY_ROOT) if self.path == "/simple/" else (404, b"")
        self.send_response(status)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        server: FlakyIndex = self.server
        answer = server.answers.pop(0) if server.answers else 200
        server.posts.append((answer, body))
        if answer == "drop":
            self.close_connection = True
            return
        self.send_response(answer)
        self.send_header("Content-Length", "0")
        self.end_headers()


def flaky(answers: list):
    return serving(FlakyIndex(answers))


@pytest.fixture
def one_wheel(tmp_path):
    dist = wheel("alpha", "1.0")
    path = tmp_path / dist.filename
    path.write_bytes(dist.data)
    locked = LockedFile(filename=dist.filename, name="alpha", version="1.0", url="https://x/" + dist.filename,
                        sha256=dist.sha256)
    return [(locked, path)]


def test_upload_retried_after_a_503_and_a_dropped_connection(one_wheel, monkeypatch):
    monkeypatch.setattr(mirror.core.http, "BACKOFF", 0.01)
    monkeypatch.delenv("TWINE_USERNAME", raising=False)
    with flaky([503, "drop"]) as index:
        summary = Publisher(index.url).publish(one_wheel)
    assert [answer for answer, _ in index.posts] == [503, "drop", 200]
    assert (summary.uploaded, summary.skipped, summary.failed) == (1, 0, 0)
    body = index.posts[-1][1]
    assert b'name="sha256_digest"' in body and one_wheel[0][0].sha256.encode() in body
    assert b'name=":action"\r\n\r\nfile_upload' in body


def test_an_index_that_keeps_failing_ends_in_one_error_naming_it(one_wheel, monkeypatch):
    monkeypatch.setattr(mirror.core.http, "BACKOFF", 0.01)
    monkeypatch.delenv("TWINE_USERNAME", raising=False)
    with flaky([502] * 4) as index, pytest.raises(PublishError) as raised:
        Publisher(index.url).publish(one_wheel)
    assert str(raised.value) == f"{index.url}: uploading alpha-1.0-py3-none-any.whl: HTTP 502 (gave up after 4 attempts)"


def test_twines_checks_refuse_a_file_before_any_upload(one_wheel, tmp_path, monkeypatch):
    """alpha is fine, beta's metadata has a Requires-Dist twine's check refuses: nothing is posted,
    alpha included, and the error names beta."""
    monkeypatch.delenv("TWINE_USERNAME", raising=False)
    bad = wheel("beta", "1.0", "not a requirement !!")
    path = tmp_path / bad.filename
    path.write_bytes(bad.data)
    files = one_wheel + [(LockedFile(filename=bad.filename, name="beta", version="1.0", url="https://x/" + bad.filename,
                                     sha256=bad.sha256), path)]
    with flaky([]) as index, pytest.raises(DistributionError) as raised:
        Publisher(index.url).publish(files)
    assert index.posts == []
    assert str(raised.value).startswith(f"{bad.filename}: twine refuses it: Invalid distribution metadata: ")
