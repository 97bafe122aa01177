"""Pins per target -> the lock: for each (target, pin) the one best file.

"Best" is what pip on that target would take: the compatible wheel whose
tag ranks highest in packaging.tags' order for that interpreter and platform.
A pure wheel chosen by many targets is one file in the lock.
"""

from __future__ import annotations

import concurrent.futures
import logging

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    NormalizedName,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import Version

from mirror.errors import NoDistributionError, UpstreamError
from mirror.lock import Lock, LockedFile
from mirror.resolve import Pin
from mirror.targets import Target
from mirror.upstream import Upstream, UpstreamFile, mask

log = logging.getLogger(__name__)


def select(
    pins: dict[Target, list[Pin]],
    upstream: Upstream,
    *,
    include_sdists: bool = False,
    skip_missing_wheels: bool = False,
    jobs: int = 8,
) -> Lock:
    names = sorted({pin.name for target_pins in pins.values() for pin in target_pins})
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        pages = dict(zip(names, pool.map(upstream.project_files, names)))

    chosen: dict[str, tuple[UpstreamFile, Pin, set[str]]] = {}
    kept: dict[Target, tuple[Pin, ...]] = {}
    for target, target_pins in pins.items():
        try:
            picks = [(pin, f) for pin in target_pins for f in pick(target, pin, pages[pin.name], include_sdists)]
        except NoDistributionError as exc:
            if not skip_missing_wheels:
                raise
            log.warning("skipping target %s: %s", target, exc)
            continue
        kept[target] = tuple(target_pins)
        for pin, f in picks:
            chosen.setdefault(f.filename, (f, pin, set()))[2].add(str(target))

    files = tuple(sorted(_locked(f, pin, targets) for f, pin, targets in chosen.values()))
    return Lock(index_url=mask(upstream.index_url), pins=kept, files=files)


def pick(target: Target, pin: Pin, files: list[UpstreamFile], include_sdists: bool) -> list[UpstreamFile]:
    """The best wheel for the target, plus the sdist when sdists are wanted."""
    version = Version(pin.version)
    ranks = {tag: rank for rank, tag in enumerate(target.wheel_tags())}
    wheels, sdists = [], []
    for f in files:
        if not _admits(f.requires_python, target):
            continue
        try:
            if f.filename.endswith(".whl"):
                name, file_version, _, file_tags = parse_wheel_filename(f.filename)
                rank = min((ranks[t] for t in file_tags if t in ranks), default=None)
                if name == pin.name and file_version == version and rank is not None:
                    wheels.append((rank, f.filename, f))
            else:
                name, file_version = parse_sdist_filename(f.filename)
                if name == pin.name and file_version == version:
                    sdists.append((f.filename, f))
        except (InvalidWheelFilename, InvalidSdistFilename):
            continue  # eggs, installers and other files pip never takes
    picked = [min(wheels)[2]] if wheels else []
    if include_sdists and sdists:
        picked.append(min(sdists)[1])
    if not picked:
        what = "compatible wheel or sdist" if include_sdists else "compatible wheel"
        raise NoDistributionError(pin.name, pin.version, str(target), what)
    return picked


def _admits(requires_python: str | None, target: Target) -> bool:
    if not requires_python:
        return True
    try:
        return SpecifierSet(requires_python).contains(target.python, prereleases=True)
    except InvalidSpecifier:
        return True  # pip ignores an unparsable Requires-Python too


def _locked(f: UpstreamFile, pin: Pin, targets: set[str]) -> LockedFile:
    if not f.sha256:
        raise UpstreamError(mask(f.url), "the index publishes no sha256 for this file; it cannot be verified")
    return LockedFile(
        filename=f.filename, name=NormalizedName(pin.name), version=pin.version, url=f.url,
        sha256=f.sha256.lower(), size=f.size, upload_time=f.upload_time,
        requires_python=f.requires_python, yanked=f.yanked, targets=tuple(sorted(targets)),
    )
