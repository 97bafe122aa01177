"""The upload form twine sends, from a wheel's and an sdist's own metadata; where credentials come from."""

import io
import tarfile
import zipfile

import keyring
import pytest

from mirror.errors import DistributionError
from mirror.publish.publish import credentials, upload_form
from mirror.resolve.lock import LockedFile
from mirror.verify.standards import require_names
from tests.integration.keyring_backend import FileKeyring

METADATA = """Metadata-Version: 2.1
Name: Foo_Bar
Version: 1.0
Summary: a test
Author: Łukasz Ångström
Requires-Python: >=3.9
Classifier: A :: B
Classifier: C :: D
Requires-Dist: requests>=2
Project-URL: Home, https://example.org

The long description.
""".encode()


def locked(filename: str) -> LockedFile:
    return LockedFile(filename=filename, name="foo-bar", version="1.0", url="https://x/" + filename, sha256="a" * 64)


def test_wheel_form_carries_its_metadata_kind_and_digests(tmp_path):
    wheel = tmp_path / "foo_bar-1.0-py2.py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("foo_bar-1.0.dist-info/METADATA", METADATA)
    form = upload_form(locked(wheel.name), wheel)
    assert form[:5] == [(":action", "file_upload"), ("protocol_version", "1"), ("filetype", "bdist_wheel"),
                        ("pyversion", "py2.py3"), ("sha256_digest", "a" * 64)]
    assert form[6:] == [("metadata_version", "2.1"), ("name", "Foo_Bar"), ("version", "1.0"), ("summary", "a test"),
                        ("author", "Łukasz Ångström"), ("requires_python", ">=3.9"), ("classifiers", "A :: B"), ("classifiers", "C :: D"),
                        ("requires_dist", "requests>=2"), ("project_urls", "Home, https://example.org"),
                        ("description", "The long description.\n")]


def test_sdist_form_reads_pkg_info(tmp_path):
    sdist = tmp_path / "foo_bar-1.0.tar.gz"
    with tarfile.open(sdist, "w:gz") as archive:
        info = tarfile.TarInfo("foo_bar-1.0/PKG-INFO")
        info.size = len(METADATA)
        archive.addfile(info, io.BytesIO(METADATA))
    form = dict(upload_form(locked(sdist.name), sdist))
    assert (form["filetype"], form["pyversion"], form["name"]) == ("sdist", "source", "Foo_Bar")


def test_a_wheel_whose_metadata_names_another_project_is_refused(tmp_path):
    wheel = tmp_path / "foo_bar-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("foo_bar-1.0.dist-info/METADATA", METADATA.replace(b"Name: Foo_Bar", b"Name: other"))
    with pytest.raises(DistributionError, match="its metadata names 'other', the lock foo-bar"):
        upload_form(locked(wheel.name), wheel)


def test_credentials_from_the_environment_first_then_netrc(test_keyring, tmp_path, monkeypatch):
    test_keyring.write_text("{}")
    netrc = tmp_path / "netrc"
    netrc.write_text("machine index.example login nina password from-netrc\n")
    monkeypatch.setenv("NETRC", str(netrc))
    monkeypatch.delenv("TWINE_USERNAME", raising=False)
    monkeypatch.delenv("TWINE_PASSWORD", raising=False)
    assert credentials("https://index.example/upload/") == ("nina", "from-netrc")
    assert credentials("https://other.example/") is None
    monkeypatch.setenv("TWINE_USERNAME", "ci")
    monkeypatch.setenv("TWINE_PASSWORD", "from-env")
    assert credentials("https://index.example/upload/") == ("ci", "from-env")


@pytest.mark.parametrize("given, expected", [
    (["503"], {"PEP 503"}), (["PEP 691", "pep700"], {"PEP 691", "PEP 700"}),
    (["714"], {"PEP 658/714"}), (["658/714"], {"PEP 658/714"}), ([], set()),
])
def test_require_names(given, expected):
    assert require_names(given) == expected


def test_require_names_rejects_an_unknown_pep():
    with pytest.raises(ValueError, match="--require '12'"):
        require_names(["12"])


@pytest.fixture
def test_keyring(tmp_path, monkeypatch):
    store = tmp_path / "keyring.json"
    monkeypatch.setenv("PYPI_MIRROR_TEST_KEYRING", str(store))
    before = keyring.get_keyring()
    keyring.set_keyring(FileKeyring())
    yield store
    keyring.set_keyring(before)


def test_credentials_from_keyring_when_neither_environment_nor_netrc_has_them(test_keyring, tmp_path, monkeypatch):
    test_keyring.write_text('{"https://index.example/upload/": {"kim": "from-keyring"}}')
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    monkeypatch.delenv("TWINE_USERNAME", raising=False)
    monkeypatch.delenv("TWINE_PASSWORD", raising=False)
    assert credentials("https://index.example/upload/") == ("kim", "from-keyring")
    assert credentials("https://other.example/") is None
