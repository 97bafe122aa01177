"""Builds against a well-behaved upstream: the tree, the cache, the lock."""

from __future__ import annotations

import hashlib
import json

import pytest

from tests.upstream.build_checks import tree_hashes
from tests.upstream.fake_index import FakeIndex

FILES = ["alpha-1.0-py3-none-any.whl", "beta-2.0-py3-none-any.whl"]


@pytest.mark.parametrize("html_only", [False, True], ids=["pep691-json", "pep503-html"])
def test_happy_path_writes_a_verified_tree(build, tmp_path, html_only):
    with FakeIndex(html_only=html_only) as index:
        result = build(index_url=index.url)
    assert result.code == 0, result.err
    assert result.errors == []
    out = tmp_path / "out"
    lock = json.loads((out / "lock.json").read_text())
    assert lock["index-url"] == index.url
    assert [f["filename"] for f in lock["files"]] == FILES
    for name in ("simple/index.html", "simple/alpha/index.html", "simple/beta/index.json", "index.html"):
        assert (out / name).is_file(), name
    assert sorted(p.name for p in (out / "packages").iterdir()) == sorted(FILES + [f"{f}.metadata" for f in FILES])
    for f in lock["files"]:
        assert f["sha256"] == index.dists[f["filename"]].sha256
        assert hashlib.sha256((out / "packages" / f["filename"]).read_bytes()).hexdigest() == f["sha256"]
        # PEP 658: the mirror's .metadata is the wheel's METADATA, byte for byte.
        assert (out / "packages" / f"{f['filename']}.metadata").read_bytes() == index.dists[f["filename"]].metadata


def test_second_build_downloads_nothing_and_a_new_requirement_only_its_files(build, index):
    assert build().code == 0
    assert sorted(index.downloads()) == FILES

    mark = len(index.log)
    assert build(out="again").code == 0
    # Neither the mirror nor the resolver fetches a file it has already verified.
    assert index.requests("/files/", since=mark) == []

    mark = len(index.log)
    assert build(requirements="alpha\ndelta\n", out="more").code == 0
    assert index.downloads(since=mark) == ["delta-1.0-py3-none-any.whl"]


def test_a_damaged_cache_entry_is_downloaded_again(build, index, tmp_path):
    assert build().code == 0
    (build.cache / "files" / FILES[0]).write_bytes(b"not a wheel")
    mark = len(index.log)
    assert build(out="again").code == 0
    assert index.downloads(since=mark) == [FILES[0]]
    assert tree_hashes(tmp_path / "again") == tree_hashes(tmp_path / "out")


def test_lock_gives_a_byte_identical_tree(build, index, tmp_path):
    assert build(out="from-requirements").code == 0
    lock = tmp_path / "from-requirements" / "lock.json"
    assert build(lock=lock, out="from-lock").code == 0
    # A fresh cache: the third tree comes from upstream again, not from copies of the first.
    build.cache = tmp_path / "fresh-cache"
    mark = len(index.log)
    assert build(lock=lock, out="from-lock-fresh-cache").code == 0
    assert sorted(index.downloads(since=mark)) == FILES
    # A lock build never asks the index for its opinion.
    assert index.requests("/simple/", since=mark) == []

    trees = [tree_hashes(tmp_path / name) for name in ("from-requirements", "from-lock", "from-lock-fresh-cache")]
    assert "lock.json" in trees[0] and len(trees[0]) > 10
    assert trees[0] == trees[1] == trees[2]
