import pytest
from packaging.tags import Tag, parse_tag

from mirror.errors import TargetError
from mirror.inputs.targets import Target, parse_targets


def tag(text: str) -> Tag:
    (single,) = parse_tag(text)
    return single


def test_parse_targets_accepts_spaces_commas_and_duplicates_sorted_by_version():
    targets = parse_targets(" 3.12, 3.9 3.12,,3.10 ", "win_amd64,manylinux_x86_64  win_amd64")
    assert targets == [
        Target("3.9", "manylinux_x86_64"), Target("3.9", "win_amd64"),
        Target("3.10", "manylinux_x86_64"), Target("3.10", "win_amd64"),
        Target("3.12", "manylinux_x86_64"), Target("3.12", "win_amd64"),
    ]


def test_target_names_marker_and_uv_platform():
    target = Target("3.11", "manylinux_x86_64")
    assert str(target) == "py3.11-manylinux_x86_64"
    assert target.marker == "python_version == '3.11' and sys_platform == 'linux' and platform_machine == 'x86_64'"
    assert target.uv_platform == "x86_64-manylinux_2_28"


def test_unknown_platform_raises_target_error_naming_it():
    with pytest.raises(TargetError) as info:
        parse_targets("3.11", "manylinux_x86_64 nope")
    assert info.value.value == "nope"
    assert str(info.value) == (
        "unknown platform 'nope'; accepted: macosx_arm64, macosx_x86_64, manylinux_aarch64, "
        "manylinux_x86_64, musllinux_aarch64, musllinux_x86_64, win_amd64, win_arm64"
    )


@pytest.mark.parametrize("bad", ["2.7", "3.7", "3", "3.x", "311", "3.11.2"])
def test_bad_python_version_raises_target_error_naming_it(bad):
    with pytest.raises(TargetError) as info:
        parse_targets(f"3.12 {bad}", "manylinux_x86_64")
    assert info.value.value == bad
    assert str(info.value).startswith(f"unknown Python version {bad!r}; accepted: ")


@pytest.mark.parametrize("pythons, platforms", [("", "manylinux_x86_64"), ("3.11", " , ")])
def test_empty_lists_raise_target_error(pythons, platforms):
    with pytest.raises(TargetError):
        parse_targets(pythons, platforms)


def test_manylinux_tags_rank_specific_abi_then_abi3_then_pure():
    ranks = {t: i for i, t in enumerate(Target("3.11", "manylinux_x86_64").wheel_tags())}
    specific = ranks[tag("cp311-cp311-manylinux_2_28_x86_64")]
    legacy = ranks[tag("cp311-cp311-manylinux2014_x86_64")]
    abi3 = ranks[tag("cp311-abi3-manylinux_2_17_x86_64")]
    pure = ranks[tag("py3-none-any")]
    assert specific == 0
    assert specific < legacy < abi3 < pure


def test_manylinux_tags_stop_at_the_glibc_2_28_floor():
    tags = set(Target("3.11", "manylinux_x86_64").wheel_tags())
    assert tag("cp311-cp311-manylinux_2_28_x86_64") in tags
    assert tag("cp311-cp311-manylinux1_x86_64") in tags
    assert tag("cp311-cp311-manylinux_2_29_x86_64") not in tags
    assert tag("cp311-cp311-manylinux_2_31_x86_64") not in tags
    assert tag("cp311-cp311-manylinux_2_28_aarch64") not in tags


def test_aarch64_has_no_intel_only_legacy_aliases():
    tags = set(Target("3.12", "manylinux_aarch64").wheel_tags())
    assert tag("cp312-cp312-manylinux2014_aarch64") in tags
    assert tag("cp312-cp312-manylinux2010_aarch64") not in tags
    assert tag("cp312-cp312-manylinux1_aarch64") not in tags


def test_win_amd64_tags_contain_no_linux_tag():
    tags = Target("3.11", "win_amd64").wheel_tags()
    assert tags[0] == tag("cp311-cp311-win_amd64")
    assert tag("py3-none-any") in tags
    assert not [t for t in tags if "linux" in t.platform]


@pytest.mark.parametrize("python, abi", [("3.9", "cp39"), ("3.13", "cp313"), ("3.14", "cp314")])
def test_abi_follows_the_target_not_the_running_interpreter(python, abi):
    tags = Target(python, "manylinux_x86_64").wheel_tags()
    abis = {t.abi for t in tags}
    assert abis == {abi, "abi3", "none"}
    assert tags[0] == tag(f"{abi}-{abi}-manylinux_2_28_x86_64")
