import pytest

from mirror.errors import InputError
from mirror.inputs.pylock import pylock_documents, read_pylock
from mirror.inputs.targets import Target
from mirror.resolve.lock import Lock, LockedFile, LockedSet, union
from mirror.resolve.pins import Pin

LINUX = Target("3.12", "manylinux_x86_64")
WIN = Target("3.12", "win_amd64")


def locked(filename, name, version, digit, targets):
    return LockedFile(filename, name, version, f"https://files.example/{filename}", digit * 64, size=10,
                      upload_time="2024-01-02T03:04:05.123000Z", requires_python=">=3.8", targets=targets)


SETS = (
    LockedSet("a", "a.txt", "requirements", {LINUX: (Pin("six", "1.16.0"),), WIN: (Pin("six", "1.16.0"),)}),
    LockedSet("b", "b.txt", "requirements", {WIN: (Pin("colorama", "0.4.6"), Pin("six", "1.17.0"))}),
)
LOCK = Lock("https://pypi.example/simple/", union(list(SETS)), (
    locked("colorama-0.4.6-py2.py3-none-any.whl", "colorama", "0.4.6", "c", ("py3.12-win_amd64",)),
    locked("six-1.16.0-py2.py3-none-any.whl", "six", "1.16.0", "a", ("py3.12-manylinux_x86_64", "py3.12-win_amd64")),
    locked("six-1.16.0.tar.gz", "six", "1.16.0", "b", ("py3.12-manylinux_x86_64",)),
    locked("six-1.17.0-py2.py3-none-any.whl", "six", "1.17.0", "d", ("py3.12-win_amd64",)),
), sets=SETS)


def test_the_mirror_lock_reads_back_with_mirror_urls_and_target_markers(tmp_path):
    documents = pylock_documents(LOCK)
    assert sorted(documents) == ["locks/a/pylock.toml", "locks/b/pylock.toml", "pylock.toml"]
    path = tmp_path / "pylock.toml"
    path.write_text(documents["pylock.toml"].replace("@MIRROR_URL@", "http://mirror:8080"))
    lock = read_pylock(path)
    assert lock.environments == (LINUX.marker, WIN.marker)
    assert [(p.name, p.version, p.marker) for p in lock.packages] == [
        ("colorama", "0.4.6", f"({WIN.marker})"), ("six", "1.16.0", None), ("six", "1.17.0", f"({WIN.marker})")]
    six = lock.packages[1]
    assert [(f.filename, f.url, f.sha256, f.size, f.upload_time) for f in six.files] == [
        ("six-1.16.0-py2.py3-none-any.whl", "http://mirror:8080/packages/six-1.16.0-py2.py3-none-any.whl",
         "a" * 64, 10, "2024-01-02T03:04:05.123000Z"),
        ("six-1.16.0.tar.gz", "http://mirror:8080/packages/six-1.16.0.tar.gz", "b" * 64, 10,
         "2024-01-02T03:04:05.123000Z")]
    assert six.requires_python == ">=3.8" and six.index == "http://mirror:8080/simple/"


def test_a_set_lock_holds_only_that_sets_pins_and_targets(tmp_path):
    path = tmp_path / "pylock.toml"
    path.write_text(pylock_documents(LOCK)["locks/b/pylock.toml"])
    lock = read_pylock(path)
    assert lock.environments == (WIN.marker,)
    assert [(p.name, p.version, p.marker) for p in lock.packages] == [
        ("colorama", "0.4.6", None), ("six", "1.17.0", None)]


@pytest.mark.parametrize("package, reason", [
    ('name = "app"\nversion = "1"\ndirectory = { path = "." }', "package app 1 comes from a directory"),
    ('name = "x"\nversion = "1"\nvcs = { type = "git", url = "https://g.example/x" }', "comes from a vcs"),
    ('name = "x"\nversion = "1"\nwheels = [{ url = "https://f.example/x-1-py3-none-any.whl", hashes = {} }]',
     "x-1-py3-none-any.whl has no sha256"),
    ('name = "x"\nversion = "1"\nwheels = [{ path = "x-1-py3-none-any.whl", hashes = { sha256 = "a" } }]',
     "a file with no URL"),
    ('name = "x"\nversion = "1"', "lists no wheels and no sdist"),
])
def test_packages_a_mirror_cannot_serve_are_named(tmp_path, package, reason):
    path = tmp_path / "pylock.toml"
    path.write_text(f'lock-version = "1.0"\ncreated-by = "t"\n\n[[packages]]\n{package}\n')
    with pytest.raises(InputError, match=reason) as info:
        read_pylock(path)
    assert str(info.value).startswith(f"{path}: ")


def test_an_unknown_lock_version_is_refused(tmp_path):
    path = tmp_path / "pylock.toml"
    path.write_text('lock-version = "2.0"\n')
    with pytest.raises(InputError, match="lock-version '2.0'"):
        read_pylock(path)


def test_extras_and_groups_pick_a_user_locks_entries(tmp_path):
    from mirror.resolve.resolve import _locked_pins
    from mirror.inputs.sources import read_sets

    wheel = '[{ url = "https://f.example/NAME-1-py3-none-any.whl", hashes = { sha256 = "' + "a" * 64 + '" } }]'
    packages = "".join(
        f'\n[[packages]]\nname = "{name}"\nversion = "1"\n' + (f'marker = "{marker}"\n' if marker else "")
        + f"wheels = {wheel.replace('NAME', name)}\n"
        for name, marker in [("core", None), ("click", "'cli' in extras"), ("pytest", "'test' in dependency_groups"),
                             ("pywin32", "sys_platform == 'win32'")])
    path = tmp_path / "pylock.toml"
    path.write_text('lock-version = "1.0"\ncreated-by = "t"\nextras = ["cli"]\ndependency-groups = ["test"]\n'
                    'default-groups = []\n' + packages)
    linux, win = Target("3.12", "manylinux_x86_64"), Target("3.12", "win_amd64")
    (plain,) = read_sets([path])
    assert [p.name for p in _locked_pins(plain, linux)] == ["core"]
    (chosen,) = read_sets([path], extras="cli", groups="all")
    assert [p.name for p in _locked_pins(chosen, linux)] == ["click", "core", "pytest"]
    assert [p.name for p in _locked_pins(chosen, win)] == ["click", "core", "pytest", "pywin32"]
