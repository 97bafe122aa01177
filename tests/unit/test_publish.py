"""What twine uploads from a wheel's and an sdist's own metadata (after twine's checks), and where
build.py publish's target and credentials come from (twine's .pypirc, TWINE_*, keyring; then netrc)."""

import hashlib
import io
import subprocess
import sys
import tarfile
import zipfile

import keyring
import pytest

from mirror.errors import DistributionError, InputError
from mirror.publish.twine_api import package, resolve
from mirror.verify.standards import require_names
from tests.integration.appliance import REPO
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


def a_wheel(tmp_path, metadata: bytes = METADATA):
    wheel = tmp_path / "foo_bar-1.0-py2.py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("foo_bar-1.0.dist-info/METADATA", metadata)
        archive.writestr("foo_bar-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\nTag: py2.py3-none-any\n")
    return wheel, hashlib.sha256(wheel.read_bytes()).hexdigest()


def test_twine_reads_a_wheels_metadata_kind_and_digests(tmp_path):
    wheel, sha256 = a_wheel(tmp_path)
    form = package(wheel, "foo-bar", sha256).metadata_dictionary()
    assert (form["filetype"], form["pyversion"], form["sha256_digest"]) == ("bdist_wheel", "py2.py3", sha256)
    assert (form["name"], form["version"], form["author"]) == ("Foo-Bar", "1.0", "Łukasz Ångström")
    assert form["classifiers"] == ["A :: B", "C :: D"] and form["requires_dist"] == ["requests>=2"]
    assert form["project_urls"] == {"Home": "https://example.org"}
    assert form["description"] == "The long description.\n"


def test_sdist_metadata_from_pkg_info(tmp_path):
    sdist = tmp_path / "foo_bar-1.0.tar.gz"
    with tarfile.open(sdist, "w:gz") as archive:
        for name, data in (("foo_bar-1.0/PKG-INFO", METADATA), ("foo_bar-1.0/setup.py", b"")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    form = package(sdist, "foo-bar", hashlib.sha256(sdist.read_bytes()).hexdigest()).metadata_dictionary()
    assert (form["filetype"], form["pyversion"], form["name"]) == ("sdist", "source", "Foo-Bar")


def test_a_wheel_whose_metadata_names_another_project_is_refused(tmp_path):
    wheel, sha256 = a_wheel(tmp_path, METADATA.replace(b"Name: Foo_Bar", b"Name: other"))
    with pytest.raises(DistributionError, match="its metadata names 'other', the lock foo-bar"):
        package(wheel, "foo-bar", sha256)


def test_twines_own_checks_refuse_malformed_metadata(tmp_path):
    wheel, sha256 = a_wheel(tmp_path, METADATA.replace(b"Requires-Python: >=3.9", b"Requires-Python: >>3.9"))
    with pytest.raises(DistributionError, match=r"foo_bar-1.0-py2.py3-none-any.whl: twine refuses it: "
                                                r"Invalid distribution metadata: .*requires-python"):
        package(wheel, "foo-bar", sha256)


def test_a_file_changed_since_the_lock_was_hashed_is_refused(tmp_path):
    wheel, _ = a_wheel(tmp_path)
    with pytest.raises(DistributionError, match="the lock says " + "a" * 64):
        package(wheel, "foo-bar", "a" * 64)


@pytest.fixture
def no_config(tmp_path, monkeypatch):
    """No ~/.pypirc, TWINE_*, netrc or keyring entry of the machine's: only what a test writes."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("NETRC", str(tmp_path / "netrc"))
    for name in ("TWINE_USERNAME", "TWINE_PASSWORD", "TWINE_REPOSITORY", "TWINE_REPOSITORY_URL", "TWINE_CERT"):
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture
def test_keyring(tmp_path, monkeypatch):
    store = tmp_path / "keyring.json"
    store.write_text("{}")
    monkeypatch.setenv("PYPI_MIRROR_TEST_KEYRING", str(store))
    before = keyring.get_keyring()
    keyring.set_keyring(FileKeyring())
    yield store
    keyring.set_keyring(before)


def test_credentials_from_the_environment_before_netrc(no_config, test_keyring, tmp_path, monkeypatch):
    (tmp_path / "netrc").write_text("machine index.example login nina password from-netrc\n")
    assert resolve("https://index.example/upload/").credentials == ("nina", "from-netrc")
    assert resolve("https://other.example/").credentials is None
    monkeypatch.setenv("TWINE_USERNAME", "ci")
    monkeypatch.setenv("TWINE_PASSWORD", "from-env")
    assert resolve("https://index.example/upload/").credentials == ("ci", "from-env")


def test_a_pypirc_section_names_the_url_user_password_and_ca(no_config, test_keyring, tmp_path):
    (no_config / ".pypirc").write_text("[distutils]\nindex-servers =\n    corp\n\n[corp]\n"
                                       "repository = https://nexus.example/repository/hosted/\n"
                                       "username = deploy\npassword = from-pypirc\nca_cert = /etc/corp-ca.pem\n")
    target = resolve(None, repository="corp")
    assert target.url == "https://nexus.example/repository/hosted/"
    assert (target.credentials, target.ca_file) == (("deploy", "from-pypirc"), "/etc/corp-ca.pem")


def test_twine_repository_url_and_cert_from_the_environment(no_config, test_keyring, monkeypatch):
    monkeypatch.setenv("TWINE_REPOSITORY_URL", "https://devpi.example/team/prod/")
    monkeypatch.setenv("TWINE_CERT", "/etc/team-ca.pem")
    target = resolve(None)
    assert (target.url, target.ca_file, target.credentials) == ("https://devpi.example/team/prod/",
                                                                 "/etc/team-ca.pem", None)


def test_credentials_from_keyring_when_neither_environment_nor_pypirc_has_them(no_config, test_keyring):
    test_keyring.write_text('{"https://index.example/upload/": {"kim": "from-keyring"}}')
    assert resolve("https://index.example/upload/").credentials == ("kim", "from-keyring")
    assert resolve("https://other.example/").credentials is None


@pytest.mark.parametrize("url, repository, message", [
    (None, None, "no index named: give its URL, --repository-url URL or --repository NAME"),
    (None, "pypi", "a mirror holds other people's projects; publish into your own index, not PyPI"),
    (None, "corp", "Missing 'corp' section from ~/.pypirc."),
])
def test_a_target_is_named_and_never_pypi(no_config, test_keyring, url, repository, message):
    with pytest.raises(InputError, match=message):
        resolve(url, repository=repository)


def test_a_user_without_a_password_is_one_line(no_config, test_keyring, monkeypatch):
    monkeypatch.setenv("TWINE_USERNAME", "ci")
    with pytest.raises(InputError, match="user ci but no password in TWINE_USERNAME/TWINE_PASSWORD"):
        resolve("https://index.example/upload/")


def test_publish_without_twine_installed_says_how_to_install_it(tmp_path):
    """twine made unimportable (as when it is not installed): one line naming the install command."""
    code = ("import sys; sys.modules['twine'] = None; from mirror.cli import main; "
            "sys.exit(main(['publish', 'http://127.0.0.1:9/', '--tree', sys.argv[1]]))")
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path)], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip() == ("pypi-mirror: error: build.py publish uploads through twine, which is not "
                                     "installed: pip install 'twine>=6'")


@pytest.mark.parametrize("given, expected", [
    (["503"], {"PEP 503"}), (["PEP 691", "pep700"], {"PEP 691", "PEP 700"}),
    (["714"], {"PEP 658/714"}), (["658/714"], {"PEP 658/714"}), ([], set()),
])
def test_require_names(given, expected):
    assert require_names(given) == expected


def test_require_names_rejects_an_unknown_pep():
    with pytest.raises(ValueError, match="--require '12'"):
        require_names(["12"])
