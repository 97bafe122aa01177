import datetime
import hashlib
import json

import pytest

from mirror.errors import InputError
from mirror.inputs.targets import Target
from mirror.resolve.lock import Lock, LockedFile
from mirror.tree.manifest import build_time, parse_time, render_manifest, tool_versions, tree_files

UTC = datetime.timezone.utc
LINUX = Target("3.11", "manylinux_x86_64")


def lock(*upload_times) -> Lock:
    files = tuple(
        LockedFile(f"p{i}-1.0-py3-none-any.whl", f"p{i}", "1.0", f"https://f.example/{i}.whl", "a" * 64,
                   upload_time=t)
        for i, t in enumerate(upload_times))
    return Lock(index_url="https://user:secret@pypi.example/simple/", pins={LINUX: ()}, files=files)


def test_source_date_epoch_wins():
    assert build_time(lock("2024-01-02T03:04:05Z"), "1700000000") == (
        datetime.datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC), "SOURCE_DATE_EPOCH")


def test_otherwise_the_newest_upload_time():
    moment, source = build_time(lock("2024-01-02T03:04:05.123456Z", None, "2025-06-01T10:00:00+02:00"), "")
    assert (moment, source) == (datetime.datetime(2025, 6, 1, 8, 0, 0, tzinfo=UTC),
                                "newest upload-time of the mirrored files")


def test_no_source_no_time():
    assert build_time(lock(None, None), None) == (None, None)


def test_bad_source_date_epoch_is_refused():
    with pytest.raises(InputError, match="SOURCE_DATE_EPOCH is not a whole number of seconds: 'yesterday'"):
        build_time(lock(), "yesterday")


@pytest.mark.parametrize("text, expected", [
    ("2024-01-02T03:04:05Z", datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
    ("2024-01-02T03:04:05.1Z", datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
    ("2024-01-02T03:04:05", datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
    ("2024-01-02T03:04:05-01:30", datetime.datetime(2024, 1, 2, 4, 34, 5, tzinfo=UTC)),
    ("last tuesday", None),
])
def test_parse_time(text, expected):
    assert parse_time(text) == expected


def test_tool_versions_name_the_build_tools():
    assert set(tool_versions()) == {"pypi-mirror", "python", "uv", "packaging", "requests"}


def test_tree_files_lists_every_file_but_the_excluded_with_size_and_hash(tmp_path):
    (tmp_path / "packages").mkdir()
    (tmp_path / "packages" / "a.whl").write_bytes(b"abc")
    (tmp_path / "mirror.json").write_bytes(b"{}")
    assert tree_files(tmp_path, exclude=("mirror.json",)) == [{
        "path": "packages/a.whl", "size": 3,
        "sha256": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"}]


def test_manifest_document_masks_upstream_credentials_and_embeds_the_lock():
    the_lock = lock("2024-01-02T03:04:05Z")
    lock_json = the_lock.to_json()
    files = [{"path": "packages/a.whl", "size": 3, "sha256": "b" * 64}]
    text = render_manifest(the_lock, lock_json, files, built=datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
                           built_from="SOURCE_DATE_EPOCH", tools={"pypi-mirror": "0.1.0"})
    document = json.loads(text)
    assert document["lock"].pop("document") == json.loads(lock_json)
    assert document == {
        "manifest-version": 1,
        "build-time": "2024-01-02T03:04:05Z",
        "build-time-source": "SOURCE_DATE_EPOCH",
        "upstream": "https://user:***@pypi.example/simple/",
        "indexes": ["https://user:***@pypi.example/simple/"],
        "targets": [{"name": "py3.11-manylinux_x86_64", "python": "3.11", "platform": "manylinux_x86_64"}],
        "tools": {"pypi-mirror": "0.1.0"},
        "lock": {"path": "lock.json", "sha256": hashlib.sha256(lock_json.encode()).hexdigest()},
        "files": files,
    }
