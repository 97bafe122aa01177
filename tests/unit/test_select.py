import dataclasses
from pathlib import Path

import pytest

from mirror.core.http import mask
from mirror.errors import NoDistributionError, UpstreamError
from mirror.inputs.sources import REQUIREMENTS, InputSet
from mirror.inputs.targets import Target
from mirror.resolve.lock import LockedFile
from mirror.resolve.pins import Pin, Resolved
from mirror.resolve.select import pick
from mirror.resolve.select import select as select_sets
from mirror.settings import spell
from mirror.upstream.upstream import ProjectStatus, UpstreamFile

LINUX_39 = Target("3.9", "manylinux_x86_64")
LINUX_312 = Target("3.12", "manylinux_x86_64")
LINUX_313 = Target("3.13", "manylinux_x86_64")
WIN_313 = Target("3.13", "win_amd64")
MUSL_313 = Target("3.13", "musllinux_x86_64")

MSGPACK = Pin("msgpack", "1.1.0")
SIX = Pin("six", "1.16.0")


def upstream_file(filename: str, requires_python: str | None = None, digit: str = "a") -> UpstreamFile:
    return UpstreamFile(filename=filename, url=f"https://files.example/{filename}", sha256=digit * 64,
                        size=100, requires_python=requires_python)


CP39_LINUX = upstream_file("msgpack-1.1.0-cp39-cp39-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", digit="1")
CP313_LINUX = upstream_file("msgpack-1.1.0-cp313-cp313-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", digit="2")
CP313_LINUX_TOO_NEW = upstream_file("msgpack-1.1.0-cp313-cp313-manylinux_2_34_x86_64.whl", digit="3")
CP313_LINUX_EXCLUDED = upstream_file("msgpack-1.1.0-cp313-cp313-manylinux_2_28_x86_64.whl", "<3.13", digit="4")
CP313_WIN = upstream_file("msgpack-1.1.0-cp313-cp313-win_amd64.whl", digit="5")
CP313_MUSL = upstream_file("msgpack-1.1.0-cp313-cp313-musllinux_1_2_x86_64.whl", digit="6")
OLD_VERSION = upstream_file("msgpack-1.0.8-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", digit="7")
SDIST = upstream_file("msgpack-1.1.0.tar.gz", digit="8")
EGG = upstream_file("msgpack-1.1.0-py3.12.egg", digit="9")
MSGPACK_FILES = [OLD_VERSION, CP313_LINUX_EXCLUDED, SDIST, CP39_LINUX, CP313_WIN, CP313_LINUX_TOO_NEW,
                 EGG, CP313_MUSL, CP313_LINUX]

SIX_WHEEL = upstream_file("six-1.16.0-py2.py3-none-any.whl", digit="b")
SIX_FILES = [upstream_file("six-1.16.0.tar.gz", digit="c"), SIX_WHEEL,
             upstream_file("six-1.15.0-py2.py3-none-any.whl", digit="d")]


@pytest.mark.parametrize("target, expected", [
    (LINUX_39, CP39_LINUX),
    (LINUX_313, CP313_LINUX),
    (WIN_313, CP313_WIN),
    (MUSL_313, CP313_MUSL),
])
def test_pick_takes_the_one_compatible_wheel_per_target(target, expected):
    assert pick(target, MSGPACK, MSGPACK_FILES, include_sdists=False) == [expected]


def test_pick_skips_a_better_wheel_whose_requires_python_excludes_the_target():
    assert pick(LINUX_313, MSGPACK, [CP313_LINUX_EXCLUDED, CP313_LINUX], include_sdists=False) == [CP313_LINUX]
    admitted = dataclasses.replace(CP313_LINUX_EXCLUDED, requires_python=">=3.13")
    assert pick(LINUX_313, MSGPACK, [admitted, CP313_LINUX], include_sdists=False) == [admitted]


def test_pick_prefers_the_newest_manylinux_within_the_floor():
    older = upstream_file("msgpack-1.1.0-cp313-cp313-manylinux_2_17_x86_64.whl")
    newer = upstream_file("msgpack-1.1.0-cp313-cp313-manylinux_2_28_x86_64.whl")
    assert pick(LINUX_313, MSGPACK, [older, newer], include_sdists=False) == [newer]


@pytest.mark.parametrize("target", [LINUX_39, LINUX_313, WIN_313, MUSL_313, Target("3.14", "macosx_arm64")])
def test_pick_takes_the_pure_wheel_for_every_target(target):
    assert pick(target, SIX, SIX_FILES, include_sdists=False) == [SIX_WHEEL]


def test_include_sdists_adds_the_sdist_after_the_wheel():
    assert pick(LINUX_313, MSGPACK, MSGPACK_FILES, include_sdists=True) == [CP313_LINUX, SDIST]


def test_include_sdists_alone_serves_a_target_without_wheel():
    assert pick(LINUX_312, MSGPACK, MSGPACK_FILES, include_sdists=True) == [SDIST]


def test_no_compatible_wheel_names_package_version_and_target():
    with pytest.raises(NoDistributionError) as info:
        pick(LINUX_312, MSGPACK, MSGPACK_FILES, include_sdists=False)
    assert str(info.value) == (
        "msgpack==1.1.0 has no compatible wheel for py3.12-manylinux_x86_64 "
        "(mirror sdists with --include-sdists, or leave the target out with --skip-missing-wheels)"
    )


def test_in_an_image_build_the_hint_names_the_bake_variables(monkeypatch):
    monkeypatch.setenv("PYPI_MIRROR_INCLUDE_SDISTS", "")
    monkeypatch.setenv("PYPI_MIRROR_SKIP_MISSING_WHEELS", "")
    with pytest.raises(NoDistributionError) as info:
        pick(LINUX_312, MSGPACK, MSGPACK_FILES, include_sdists=False)
    assert info.value.explain(spell).endswith("(mirror sdists with INCLUDE_SDISTS=1, or leave the target out "
                                    "with SKIP_MISSING_WHEELS=1)")


def test_no_wheel_nor_sdist_says_so():
    with pytest.raises(NoDistributionError) as info:
        pick(LINUX_312, MSGPACK, [CP39_LINUX], include_sdists=True)
    assert str(info.value).startswith("msgpack==1.1.0 has no compatible wheel or sdist for py3.12-manylinux_x86_64 ")


class FakeUpstream:
    def __init__(self, index_url: str, pages: dict[str, list[UpstreamFile]],
                 statuses: dict[str, ProjectStatus] | None = None):
        self.index_url, self.pages, self.statuses = index_url, pages, statuses or {}

    def project_files(self, name):
        return self.index_url, self.pages[name]

    def status(self, name):
        return self.statuses.get(name, ProjectStatus())

    @property
    def masked(self):
        return [mask(self.index_url)]


def select(pins, upstream, **options):
    """One plain requirements set with these pins."""
    resolved = Resolved(InputSet("default", Path("requirements.txt"), REQUIREMENTS),
                        {t: tuple(p) for t, p in pins.items()}, {})
    return select_sets([resolved], upstream, **options)


UPSTREAM = FakeUpstream("https://tok@pypi.example/simple/", {"msgpack": MSGPACK_FILES, "six": SIX_FILES})


def locked(f: UpstreamFile, pin: Pin, targets: tuple[str, ...]) -> LockedFile:
    return LockedFile(filename=f.filename, name=pin.name, version=pin.version, url=f.url, sha256=f.sha256,
                      size=f.size, targets=targets, index="https://***@pypi.example/simple/")


def test_select_locks_a_shared_pure_wheel_once_with_every_target():
    pins = {LINUX_313: [MSGPACK, SIX], WIN_313: [MSGPACK, SIX], LINUX_39: [SIX]}
    lock = select(pins, UPSTREAM, jobs=2)
    assert lock.index_url == "https://***@pypi.example/simple/"
    assert lock.pins == {LINUX_313: (MSGPACK, SIX), WIN_313: (MSGPACK, SIX), LINUX_39: (SIX,)}
    assert lock.files == (
        locked(CP313_LINUX, MSGPACK, ("py3.13-manylinux_x86_64",)),
        locked(CP313_WIN, MSGPACK, ("py3.13-win_amd64",)),
        locked(SIX_WHEEL, SIX, ("py3.13-manylinux_x86_64", "py3.13-win_amd64", "py3.9-manylinux_x86_64")),
    )


def test_select_fails_on_a_target_without_wheel_by_default():
    with pytest.raises(NoDistributionError) as info:
        select({LINUX_312: [MSGPACK, SIX], LINUX_313: [MSGPACK, SIX]}, UPSTREAM)
    assert info.value.target == "py3.12-manylinux_x86_64"


def test_skip_missing_wheels_drops_the_target_and_its_files():
    lock = select({LINUX_312: [MSGPACK, SIX], LINUX_313: [MSGPACK, SIX]}, UPSTREAM, skip_missing_wheels=True)
    assert lock.pins == {LINUX_313: (MSGPACK, SIX)}
    assert lock.files == (
        locked(CP313_LINUX, MSGPACK, ("py3.13-manylinux_x86_64",)),
        locked(SIX_WHEEL, SIX, ("py3.13-manylinux_x86_64",)),
    )


def test_select_refuses_a_file_without_sha256():
    upstream = FakeUpstream("https://pypi.example/simple/", {"six": [
        UpstreamFile("six-1.16.0-py2.py3-none-any.whl", "https://u:pw@files.example/six.whl", None)]})
    with pytest.raises(UpstreamError) as info:
        select({LINUX_313: [SIX]}, upstream)
    assert info.value.url == "https://u:***@files.example/six.whl"


def test_select_lowercases_upstream_sha256():
    upstream = FakeUpstream("https://pypi.example/simple/", {"six": [
        UpstreamFile("six-1.16.0-py2.py3-none-any.whl", "https://files.example/six.whl", "AB" * 32)]})
    (f,) = select({LINUX_313: [SIX]}, upstream).files
    assert f.sha256 == "ab" * 32
