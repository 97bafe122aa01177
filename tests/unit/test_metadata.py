import pytest

from mirror.errors import DistributionError
from mirror.fetch.metadata import wheel_metadata

OWN = b"Metadata-Version: 2.1\nName: Foo.Bar\nVersion: 1.0\n\n\xc3\xa9 description\r\n"
VENDORED = b"Metadata-Version: 2.1\nName: other\nVersion: 2.0\n"
WHEEL = "foo_bar-1.0-py3-none-any.whl"


def test_returns_the_projects_own_metadata_byte_for_byte(tmp_path, make_zip):
    path = make_zip(tmp_path / WHEEL, {
        "foo_bar/_vendor/other-2.0.dist-info/METADATA": VENDORED,
        "other-2.0.dist-info/METADATA": VENDORED,
        "foo_bar-1.0.dist-info/METADATA": OWN,
        "foo_bar-1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\n",
        "foo_bar-1.0.dist-info/RECORD": b"",
    })
    assert wheel_metadata(path) == OWN


def test_matches_the_dist_info_folder_by_normalized_name(tmp_path, make_zip):
    path = make_zip(tmp_path / WHEEL, {"Foo.Bar-1.0.dist-info/METADATA": OWN})
    assert wheel_metadata(path) == OWN


@pytest.mark.parametrize("entries", [
    {"foo_bar/__init__.py": b""},
    {"other-2.0.dist-info/METADATA": VENDORED},
    {"foo_bar/_vendor/foo_bar-1.0.dist-info/METADATA": OWN},
])
def test_wheel_without_its_metadata_names_the_file(tmp_path, make_zip, entries):
    path = make_zip(tmp_path / WHEEL, entries)
    with pytest.raises(DistributionError) as info:
        wheel_metadata(path)
    assert info.value.filename == WHEEL
    assert str(info.value) == f"{WHEEL}: expected one foo-bar .dist-info/METADATA, found 0"


def test_wheel_with_two_own_metadata_folders_is_refused(tmp_path, make_zip):
    path = make_zip(tmp_path / WHEEL, {"foo_bar-1.0.dist-info/METADATA": OWN, "Foo_Bar-1.0.dist-info/METADATA": OWN})
    with pytest.raises(DistributionError) as info:
        wheel_metadata(path)
    assert str(info.value) == f"{WHEEL}: expected one foo-bar .dist-info/METADATA, found 2"


def test_file_that_is_not_a_zip_names_the_file(tmp_path):
    path = tmp_path / WHEEL
    path.write_bytes(b"<html>404 Not Found</html>")
    with pytest.raises(DistributionError) as info:
        wheel_metadata(path)
    assert info.value.filename == WHEEL
    assert str(info.value).startswith(f"{WHEEL}: not a readable wheel: ")
