"""Upstream misbehaving mid-build: each fault gives one error line and leaves no half-written tree."""

from __future__ import annotations

import hashlib

import pytest

import mirror.core.http
from tests.upstream.build_checks import leftovers, tree_hashes
from tests.upstream.fake_index import FakeIndex, closed_port, corrupted

ALPHA = "alpha-1.0-py3-none-any.whl"
BETA = "beta-2.0-py3-none-any.whl"


def test_corrupt_file_fails_naming_both_hashes(build, index, tmp_path):
    index.inject(ALPHA, "corrupt")
    result = build()
    good = index.dists[ALPHA]
    got = hashlib.sha256(corrupted(good.data)).hexdigest()
    assert result.code == 1
    assert result.error == f"pypi-mirror: error: sha256 mismatch for {ALPHA}: expected {good.sha256}, got {got}"
    assert not (tmp_path / "out").exists()
    # The cache only ever holds verified files: a corrupt one must not poison the next build.
    assert not (build.cache / "files" / ALPHA).exists()
    assert [p for p in leftovers(tmp_path) if p.endswith(".part")] == []


def test_failed_build_leaves_no_staging_folder(build, index, tmp_path):
    index.inject(ALPHA, "corrupt")
    assert build().code == 1
    assert leftovers(tmp_path) == []


def test_failed_build_keeps_the_previous_tree(build, index, tmp_path):
    assert build().code == 0
    before = tree_hashes(tmp_path / "out")
    index.inject("delta-1.0-py3-none-any.whl", "corrupt")
    result = build(requirements="alpha\ndelta\n")
    assert result.code == 1
    assert "delta-1.0-py3-none-any.whl" in result.error
    assert tree_hashes(tmp_path / "out") == before


def test_a_500_is_retried(build, index):
    index.inject(ALPHA, "fail_once_500")
    result = build()
    assert result.code == 0, result.err
    assert [r.status for r in index.gets(ALPHA)] == [500, 200]


def test_a_500_on_a_project_page_is_retried(build, index):
    # Only the mirror's own request fails: the resolver has read the page already.
    index.inject("/simple/beta/", "fail_once_500", user_agent="pypi-mirror")
    result = build()
    assert result.code == 0, result.err


def test_a_stall_once_is_retried(build, index):
    index.inject(ALPHA, "stall_once")
    result = build()
    assert result.code == 0, result.err
    assert len(index.gets(ALPHA)) == 2


def test_a_stall_that_persists_gives_up(build, index, tmp_path):
    index.inject(ALPHA, "stall")
    result = build()
    assert result.code == 1
    assert index.file_url(ALPHA) in result.error
    assert f"gave up after {mirror.core.http.RETRIES} attempts" in result.error
    assert len(index.gets(ALPHA)) == mirror.core.http.RETRIES
    assert not (tmp_path / "out").exists()


def test_a_missing_file_fails_without_retrying(build, index, tmp_path):
    index.inject(ALPHA, "missing")
    result = build()
    assert result.code == 1
    assert result.error == f"pypi-mirror: error: {index.file_url(ALPHA)}: HTTP 404"
    assert len(index.gets(ALPHA)) == 1
    assert not (tmp_path / "out").exists()


def test_unreachable_index_while_resolving(build):
    url = f"http://127.0.0.1:{closed_port()}/simple/"
    result = build(index_url=url)
    assert result.code == 1
    assert url.removesuffix("/simple/") in result.error


def test_unreachable_index_while_downloading_from_a_lock(build, tmp_path):
    with FakeIndex() as gone:
        assert build(index_url=gone.url).code == 0
    build.cache = tmp_path / "empty-cache"
    result = build(lock=tmp_path / "out" / "lock.json", out="again", index_url=gone.url)
    assert result.code == 1
    assert gone.base in result.error
    assert f"gave up after {mirror.core.http.RETRIES} attempts" in result.error
    assert not (tmp_path / "again").exists()


@pytest.mark.parametrize("requirement", ["nosuchproject", "beta==9"])
def test_unresolvable_requirement(build, requirement, tmp_path):
    result = build(requirements=f"{requirement}\n")
    assert result.code == 1
    assert "cannot resolve for py3.11-manylinux_x86_64" in result.error
    assert requirement in result.error
    assert not (tmp_path / "out").exists()


def test_sdist_only_project_needs_include_sdists(build, tmp_path):
    # Issue 21: an sdist is no candidate for the resolver unless its metadata may be built.
    result = build(requirements="gamma\n")
    assert result.code == 1
    assert "gamma" in result.error and "--build-sdist-metadata" in result.error
    result = build(requirements="gamma\n", extra=("--build-sdist-metadata",))
    assert result.code == 1
    assert result.error.startswith("pypi-mirror: error: gamma==1.0 has no compatible wheel for "
                                   "py3.11-manylinux_x86_64")
    result = build(requirements="gamma\n", extra=("--include-sdists", "--build-sdist-metadata"))
    assert result.code == 0, result.err
    assert (tmp_path / "out" / "packages" / "gamma-1.0.tar.gz").is_file()
