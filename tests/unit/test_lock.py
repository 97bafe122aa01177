import json

import pytest

from mirror.errors import InputError
from mirror.inputs.targets import Target
from mirror.resolve.lock import Lock, LockedFile, read_lock
from mirror.resolve.pins import Pin

LINUX = Target("3.11", "manylinux_x86_64")
WIN = Target("3.9", "win_amd64")

LOCK = Lock(
    index_url="https://***@pypi.example/simple/",
    pins={
        WIN: (Pin("colorama", "0.4.6"), Pin("six", "1.16.0")),
        LINUX: (Pin("six", "1.16.0"),),
    },
    files=tuple(sorted([
        LockedFile("six-1.16.0-py2.py3-none-any.whl", "six", "1.16.0", "https://files.example/six.whl", "a" * 64,
                   size=11053, upload_time="2021-05-05T14:18:17.000000Z", requires_python=">=2.7, !=3.0.*",
                   targets=("py3.11-manylinux_x86_64", "py3.9-win_amd64")),
        LockedFile("colorama-0.4.6-py2.py3-none-any.whl", "colorama", "0.4.6", "https://files.example/c.whl",
                   "b" * 64, yanked="broken \u2014 use 0.4.7", targets=("py3.9-win_amd64",)),
        LockedFile("six-1.16.0.tar.gz", "six", "1.16.0", "https://files.example/six.tar.gz", "c" * 64,
                   yanked=True, targets=("py3.11-manylinux_x86_64",)),
    ])),
)


def test_lock_round_trips_through_json(tmp_path):
    path = tmp_path / "lock.json"
    path.write_text(LOCK.to_json(), encoding="utf-8")
    assert read_lock(path) == LOCK


def test_lock_reserializes_byte_identically(tmp_path):
    path = tmp_path / "lock.json"
    text = LOCK.to_json()
    path.write_text(text, encoding="utf-8")
    assert read_lock(path).to_json() == text


def test_lock_json_lists_targets_oldest_python_first_with_markers():
    document = json.loads(LOCK.to_json())
    assert document["lock-version"] == 1
    assert document["targets"] == [
        {"name": "py3.9-win_amd64", "python": "3.9", "platform": "win_amd64",
         "marker": "python_version == '3.9' and sys_platform == 'win32' and platform_machine == 'AMD64'",
         "pins": {"colorama": "0.4.6", "six": "1.16.0"}},
        {"name": "py3.11-manylinux_x86_64", "python": "3.11", "platform": "manylinux_x86_64",
         "marker": "python_version == '3.11' and sys_platform == 'linux' and platform_machine == 'x86_64'",
         "pins": {"six": "1.16.0"}},
    ]
    assert [f["filename"] for f in document["files"]] == [
        "colorama-0.4.6-py2.py3-none-any.whl", "six-1.16.0-py2.py3-none-any.whl", "six-1.16.0.tar.gz"]


def test_missing_lock_file_names_the_path(tmp_path):
    path = tmp_path / "absent.json"
    with pytest.raises(InputError) as info:
        read_lock(path)
    assert str(info.value) == f"lock file not found: {path}"


def test_lock_that_is_not_json_names_the_path(tmp_path):
    path = tmp_path / "lock.json"
    path.write_text("{not json")
    with pytest.raises(InputError) as info:
        read_lock(path)
    assert str(info.value).startswith(f"lock file {path} is not JSON: ")


@pytest.mark.parametrize("version", [2, None, "1"])
def test_wrong_lock_version_names_the_path_and_version(tmp_path, version):
    path = tmp_path / "lock.json"
    document = json.loads(LOCK.to_json())
    document["lock-version"] = version
    path.write_text(json.dumps(document))
    with pytest.raises(InputError) as info:
        read_lock(path)
    assert str(info.value) == f"lock file {path}: lock-version {version!r}, this build reads 1"


def _without(key):
    def edit(document):
        del document[key]
    return edit


def _set(key, value):
    def edit(document):
        document[key] = value
    return edit


def _edit_first(section, key, value):
    def edit(document):
        document[section][0][key] = value
    return edit


@pytest.mark.parametrize("edit", [
    pytest.param(_without("files"), id="no-files"),
    pytest.param(_without("targets"), id="no-targets"),
    pytest.param(_edit_first("targets", "python", "3.11 3.12"), id="two-pythons-in-one-target"),
    pytest.param(_set("targets", 5), id="targets-not-a-list"),
    pytest.param(_set("files", ["six.whl"]), id="file-not-an-object"),
    pytest.param(_set("files", [{"filename": "six.whl"}]), id="file-without-fields"),
    pytest.param(_without("index-url"), id="no-index-url"),
    pytest.param(_edit_first("targets", "pins", []), id="pins-a-list"),
    pytest.param(_edit_first("files", "name", None), id="null-name"),
    pytest.param(_edit_first("targets", "platform", "nope"), id="unknown-platform"),
    pytest.param(_edit_first("files", "filename", "../evil.whl"), id="unsafe-filename"),
    pytest.param(_edit_first("files", "sha256", "not-a-hash"), id="bad-sha256"),
])
def test_malformed_lock_raises_input_error_naming_the_path(tmp_path, edit):
    path = tmp_path / "lock.json"
    document = json.loads(LOCK.to_json())
    edit(document)
    path.write_text(json.dumps(document))
    with pytest.raises(InputError, match=str(path)):
        read_lock(path)


@pytest.mark.parametrize("text", ["[]", "null", '"lock"'])
def test_lock_that_is_json_but_not_an_object_raises_input_error(tmp_path, text):
    path = tmp_path / "lock.json"
    path.write_text(text)
    with pytest.raises(InputError, match=str(path)):
        read_lock(path)


@pytest.mark.parametrize("filename", ["a/b.whl", "../six.whl", "a\\b.whl", ".hidden.whl", ".."])
def test_locked_file_rejects_names_that_are_not_plain_file_names(filename):
    with pytest.raises(InputError) as info:
        LockedFile(filename, "six", "1.0", "https://x/", "a" * 64)
    assert str(info.value) == f"refusing file name {filename!r}"


@pytest.mark.parametrize("digest", ["a" * 63, "a" * 65, "A" * 64, "g" * 64, ""])
def test_locked_file_rejects_a_sha256_that_is_not_64_lowercase_hex(digest):
    with pytest.raises(InputError) as info:
        LockedFile("six-1.0.tar.gz", "six", "1.0", "https://x/", digest)
    assert str(info.value) == f"six-1.0.tar.gz: sha256 is not 64 lowercase hex digits: {digest!r}"
