"""Install targets: one Python version on one platform, and the wheel tags it accepts.

A platform name here is a family of machines, not one wheel tag: a team says
"manylinux_x86_64" and means every glibc x86-64 box they run. Each family is
pinned to a floor (the oldest system it must serve), so the mirror never
picks a wheel that needs a newer system than the floor.
"""

from __future__ import annotations

import dataclasses
import re

from packaging import tags

from mirror.errors import TargetError

# The floors: glibc 2.28 (RHEL 8, Debian 10, Ubuntu 20.04), musl 1.2
# (Alpine 3.13+), macOS 12. Change here, document in docs/targets.md.
MANYLINUX_GLIBC = (2, 28)
MUSLLINUX_MUSL = (1, 2)
MACOS = (12, 0)


def _manylinux(arch: str) -> list[str]:
    # Newest first, each legacy alias right after the PEP 600 tag it equals
    # (PEP 600); manylinux1/2010 were only defined for Intel.
    legacy = {17: "manylinux2014"}
    if arch in ("x86_64", "i686"):
        legacy.update({12: "manylinux2010", 5: "manylinux1"})
    major, floor = MANYLINUX_GLIBC
    out = []
    for minor in range(floor, 4, -1):
        out.append(f"manylinux_{major}_{minor}_{arch}")
        if minor in legacy:
            out.append(f"{legacy[minor]}_{arch}")
    return out


def _musllinux(arch: str) -> list[str]:
    major, floor = MUSLLINUX_MUSL
    return [f"musllinux_{major}_{minor}_{arch}" for minor in range(floor, 0, -1)]


@dataclasses.dataclass(frozen=True)
class Platform:
    name: str
    uv_platform: str  # what `uv pip compile --python-platform` calls it
    wheel_platforms: tuple[str, ...]  # most preferred first
    description: str
    marker: str  # PEP 508 marker that holds on this platform, for the lock


_LINUX_X86_64 = "sys_platform == 'linux' and platform_machine == 'x86_64'"
_LINUX_AARCH64 = "sys_platform == 'linux' and platform_machine == 'aarch64'"

PLATFORMS: dict[str, Platform] = {
    p.name: p
    for p in [
        Platform("manylinux_x86_64", "x86_64-manylinux_2_28", tuple(_manylinux("x86_64")),
                 "Linux x86-64 with glibc >= 2.28", _LINUX_X86_64),
        Platform("manylinux_aarch64", "aarch64-manylinux_2_28", tuple(_manylinux("aarch64")),
                 "Linux ARM64 with glibc >= 2.28", _LINUX_AARCH64),
        Platform("musllinux_x86_64", "x86_64-unknown-linux-musl", tuple(_musllinux("x86_64")),
                 "Linux x86-64 with musl >= 1.2 (Alpine)", _LINUX_X86_64),
        Platform("musllinux_aarch64", "aarch64-unknown-linux-musl", tuple(_musllinux("aarch64")),
                 "Linux ARM64 with musl >= 1.2 (Alpine)", _LINUX_AARCH64),
        Platform("macosx_arm64", "aarch64-apple-darwin", tuple(tags.mac_platforms(MACOS, "arm64")),
                 "macOS >= 12 on Apple silicon",
                 "sys_platform == 'darwin' and platform_machine == 'arm64'"),
        Platform("macosx_x86_64", "x86_64-apple-darwin", tuple(tags.mac_platforms(MACOS, "x86_64")),
                 "macOS >= 12 on Intel",
                 "sys_platform == 'darwin' and platform_machine == 'x86_64'"),
        Platform("win_amd64", "x86_64-pc-windows-msvc", ("win_amd64",), "Windows x86-64",
                 "sys_platform == 'win32' and platform_machine == 'AMD64'"),
        Platform("win_arm64", "aarch64-pc-windows-msvc", ("win_arm64",), "Windows ARM64",
                 "sys_platform == 'win32' and platform_machine == 'ARM64'"),
    ]
}

# sys_platform -> (platform_system, os_name)
_SYSTEMS = {"linux": ("Linux", "posix"), "darwin": ("Darwin", "posix"), "win32": ("Windows", "nt")}

_PYTHON_VERSION = re.compile(r"3\.(0|[1-9]\d*)")


@dataclasses.dataclass(frozen=True, order=True)
class Target:
    python: str  # "3.12"
    platform: str  # a key of PLATFORMS

    def __str__(self) -> str:
        return f"py{self.python}-{self.platform}"

    @property
    def python_tuple(self) -> tuple[int, int]:
        major, minor = self.python.split(".")
        return int(major), int(minor)

    @property
    def marker(self) -> str:
        return f"python_version == '{self.python}' and {PLATFORMS[self.platform].marker}"

    @property
    def uv_platform(self) -> str:
        return PLATFORMS[self.platform].uv_platform

    def environment(self) -> dict[str, str]:
        """PEP 508 marker values on this target, for evaluating other people's markers.

        The patch version is unknown: x.y.0, as uv assumes for --python-version x.y.
        """
        values = dict(re.findall(r"(\w+) == '([^']*)'", PLATFORMS[self.platform].marker))
        system, os_name = _SYSTEMS[values["sys_platform"]]
        return {
            "python_version": self.python, "python_full_version": f"{self.python}.0",
            "implementation_name": "cpython", "implementation_version": f"{self.python}.0",
            "platform_python_implementation": "CPython", "os_name": os_name,
            "sys_platform": values["sys_platform"], "platform_machine": values["platform_machine"],
            "platform_system": system, "platform_release": "", "platform_version": "", "extra": "",
        }

    def wheel_tags(self) -> list[tags.Tag]:
        """Every tag a CPython of this version on this platform installs, best first.

        The ABI is named explicitly: left to packaging, it would read the
        debug and free-threading flags of the interpreter running the build.
        """
        version = self.python_tuple
        interpreter = f"cp{version[0]}{version[1]}"
        platforms = list(PLATFORMS[self.platform].wheel_platforms)
        return [
            *tags.cpython_tags(version, abis=[interpreter], platforms=platforms),
            *tags.compatible_tags(version, interpreter, platforms),
        ]


def parse_targets(python_versions: str, platforms: str) -> list[Target]:
    """Every (python, platform) pair named by two space- or comma-separated lists."""
    pythons = _split(python_versions)
    names = _split(platforms)
    if not pythons:
        raise TargetError("Python version", python_versions, ["3.9", "3.10", "..."])
    if not names:
        raise TargetError("platform", platforms, sorted(PLATFORMS))
    for python in pythons:
        match = _PYTHON_VERSION.fullmatch(python)
        if not match or int(match.group(1)) < 8:
            raise TargetError("Python version", python, ["3.8", "3.9", "3.10", "..."])
    for name in names:
        if name not in PLATFORMS:
            raise TargetError("platform", name, sorted(PLATFORMS))
    return sorted({Target(p, n) for p in pythons for n in names}, key=_target_order)


def _target_order(target: Target) -> tuple:
    return (target.python_tuple, target.platform)


def _split(value: str) -> list[str]:
    return list(dict.fromkeys(v for v in re.split(r"[\s,]+", value.strip()) if v))
