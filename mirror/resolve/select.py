"""Pins per target -> the lock: for each (target, pin) the one best file.

"Best" is what pip on that target would take: the compatible wheel whose
tag ranks highest in packaging.tags' order for that interpreter and platform.
A pure wheel chosen by many targets is one file in the lock.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import functools
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

from mirror.core.http import mask
from mirror.errors import HashNotFoundError, InputError, NoDistributionError, ProjectStatusError, UpstreamError
from mirror.inputs.sources import HASHED, InputSet
from mirror.inputs.targets import Target
from mirror.resolve.lock import Lock, LockedFile, LockedSet, union
from mirror.resolve.pins import Pin, Resolved
from mirror.settings import spell
from mirror.upstream.indexes import Indexes
from mirror.upstream.upstream import UpstreamFile

log = logging.getLogger(__name__)


def select(
    resolved: list[Resolved],
    indexes: Indexes,
    *,
    include_sdists: bool = False,
    skip_missing_wheels: bool = False,
    jobs: int = 8,
) -> Lock:
    """Every set's pins -> one lock; a file many targets or sets need is one entry."""
    names = sorted({pin.name for r in resolved if r.set.resolves or r.set.kind == HASHED
                    for target_pins in r.pins.values() for pin in target_pins})
    # A lock's files are fetched through the configured indexes where they list them (same name,
    # same sha256): a uv.lock full of upstream URLs still builds behind a corporate proxy.
    lock_names = sorted({p.name for r in resolved if r.set.lock for p in r.set.lock.packages})
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        pages = dict(zip(names, pool.map(indexes.project_files, names)))
        lock_pages = dict(zip(lock_names, pool.map(lambda n: _page_or_none(indexes, n), lock_names)))

    statuses = {n: indexes.status(n) for n in sorted({*names, *lock_names}) if not indexes.status(n).active}
    chosen: dict[str, tuple[UpstreamFile, Pin, set[str], str | None]] = {}
    sets = []
    for r in resolved:
        check_quarantine(r.set.name, {p.name for target_pins in r.pins.values() for p in target_pins}, statuses)
        kept: dict[Target, tuple[Pin, ...]] = {}
        skipped = {str(t): reason for t, reason in r.skipped.items()}
        locked = _lock_files(r.set, lock_pages) if r.set.lock else {}
        for target, target_pins in r.pins.items():
            try:
                picks = []
                for pin in target_pins:
                    if r.set.lock:
                        where, files = locked[pin]
                    else:
                        index, files = pages[pin.name]
                        where = dict.fromkeys((f.filename for f in files), index)
                    files = _allowed(r.set, pin, target, files, include_sdists)
                    picks += [(pin, f, where[f.filename]) for f in pick(target, pin, files, include_sdists)]
            except NoDistributionError as exc:
                if not skip_missing_wheels:
                    raise
                reason = exc.explain(spell)  # recorded in the lock as the user sets the knobs here
                log.warning("skipping target %s for set %s: %s", target, r.set.name, reason)
                skipped[str(target)] = reason
                continue
            kept[target] = tuple(target_pins)
            for pin, f, index in picks:
                entry = chosen.setdefault(f.filename, (f, pin, set(), index))
                if entry[0].sha256 and f.sha256 and entry[0].sha256.lower() != f.sha256.lower():
                    raise InputError(f"{f.filename} has two different sha256 in two sets: "
                                     f"{entry[0].sha256} ({mask(entry[0].url)}) and {f.sha256} ({mask(f.url)})")
                entry[2].add(str(target))
        sets.append(LockedSet(r.set.name, str(r.set.path), r.set.kind, kept, skipped, r.set.requires_python))

    files = tuple(sorted(_locked(f, pin, targets, index) for f, pin, targets, index in chosen.values()))
    mirrored = {f.name for f in files}
    return Lock(index_url=mask(indexes.index_url), pins=union(sets), files=files, sets=tuple(sets),
                indexes=tuple(indexes.masked), statuses={n: s for n, s in statuses.items() if n in mirrored})


def check_quarantine(set_name: str, names, statuses: dict) -> None:
    """PEP 792: a quarantined project is one its index considers unsafe; a set that needs one fails."""
    for name in sorted(names):
        status = statuses.get(name)
        if status is not None and status.status == "quarantined":
            raise ProjectStatusError(set_name, name, status.status, status.reason)


def _page_or_none(indexes: Indexes, name: str) -> tuple[str, list[UpstreamFile]] | None:
    try:
        return indexes.project_files(name)
    except UpstreamError as exc:
        if exc.status == 404:
            return None  # on no configured index: the lock's own URL it is
        raise


def _lock_files(s: InputSet, pages: dict) -> dict[Pin, tuple[dict[str, str | None], list[UpstreamFile]]]:
    """Per pin: each file's index and the files, at the configured index's URL where it lists them."""
    out = {}
    for p in s.lock.packages:
        page = pages.get(p.name)
        listed = {f.filename: f for f in page[1]} if page else {}
        where, files = {}, []
        for f in p.files:
            found = listed.get(f.filename)
            if found and found.sha256 and found.sha256.lower() != f.sha256:
                raise InputError(f"{s.path}: {f.filename}: {mask(page[0])} serves sha256 {found.sha256.lower()}, "
                                 f"the lock says {f.sha256}")
            if found and found.sha256:
                files.append(dataclasses.replace(f, url=found.url, provenance=found.provenance))
                where[f.filename] = page[0]
            else:
                files.append(f)
                where[f.filename] = p.index
        out[Pin(p.name, p.version)] = (where, files)
    return out


def _allowed(s: InputSet, pin: Pin, target: Target, files: list[UpstreamFile],
             include_sdists: bool) -> list[UpstreamFile]:
    """Only the files whose sha256 the user wrote, where they wrote any."""
    hashes = s.hashes.get(pin.name)
    if not hashes:
        return files
    matching = [f for f in files if f.sha256 and f.sha256.lower() in hashes]
    try:
        pick(target, pin, matching, include_sdists)
    except NoDistributionError:
        raise HashNotFoundError(str(pin), str(s.path), str(target), sorted(hashes)) from None
    return matching


def pick(target: Target, pin: Pin, files: list[UpstreamFile], include_sdists: bool) -> list[UpstreamFile]:
    """The best wheel for the target, plus the sdist when sdists are wanted."""
    version = Version(pin.version)
    ranks = _ranks(target)
    wheels, sdists = [], []
    # A project page lists every release: match name and version first (cheap, cached),
    # Requires-Python only for the few files left. This runs for every pin of every target.
    for f in files:
        parsed = _parse_filename(f.filename)
        if parsed is None or parsed[0] != pin.name or parsed[1] != version:
            continue
        if not _admits(f.requires_python, target.python):
            continue
        file_tags = parsed[2]
        if file_tags is None:
            sdists.append((f.filename, f))
            continue
        rank = min((ranks[t] for t in file_tags if t in ranks), default=None)
        if rank is not None:
            wheels.append((rank, f.filename, f))
    picked = [min(wheels)[2]] if wheels else []
    if include_sdists and sdists:
        picked.append(min(sdists)[1])
    if not picked:
        what = "compatible wheel or sdist" if include_sdists else "compatible wheel"
        raise NoDistributionError(pin.name, pin.version, str(target), what)
    return picked


@functools.lru_cache(maxsize=None)
def _ranks(target: Target) -> dict:
    """Tag -> rank, best first: hundreds of tags per target, asked for every pin."""
    return {tag: rank for rank, tag in enumerate(target.wheel_tags())}


@functools.lru_cache(maxsize=65536)
def _parse_filename(filename: str) -> tuple | None:
    """(name, version, tags) of a wheel, (name, version, None) of an sdist, None for anything else."""
    try:
        if filename.endswith(".whl"):
            name, version, _, tags = parse_wheel_filename(filename)
            return name, version, tags
        name, version = parse_sdist_filename(filename)
        return name, version, None
    except (InvalidWheelFilename, InvalidSdistFilename):
        return None  # eggs, installers and other files pip never takes


@functools.lru_cache(maxsize=4096)
def _admits(requires_python: str | None, python: str) -> bool:
    if not requires_python:
        return True
    try:
        return SpecifierSet(requires_python).contains(python, prereleases=True)
    except InvalidSpecifier:
        return True  # pip ignores an unparsable Requires-Python too


def _locked(f: UpstreamFile, pin: Pin, targets: set[str], index: str | None) -> LockedFile:
    if not f.sha256:
        raise UpstreamError(mask(f.url), "the index publishes no sha256 for this file; it cannot be verified")
    return LockedFile(
        filename=f.filename, name=NormalizedName(pin.name), version=pin.version, url=f.url,
        sha256=f.sha256.lower(), size=f.size, upload_time=f.upload_time,
        requires_python=f.requires_python, yanked=f.yanked, targets=tuple(sorted(targets)),
        index=mask(index) if index else None, provenance=f.provenance,
    )
