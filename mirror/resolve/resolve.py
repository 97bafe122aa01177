"""Input sets + targets -> pins for every (set, target).

uv resolves: it evaluates environment markers and Requires-Python for the
target it is told (not for the machine running the build), reads metadata
with range requests instead of downloading whole wheels, and backtracks like
pip. By default each set resolves once for all targets (`--universal`) and
the answer's markers are evaluated per target; a target the universal answer
has no file for resolves on its own, as every target does with
resolution=per-target. Sets that are locks already only have their markers
evaluated.
"""

from __future__ import annotations

import concurrent.futures
import logging
import subprocess
import tempfile
from pathlib import Path

from mirror.core.uvtool import condense, find_uv, uv_env, uv_options
from mirror.errors import InputError, NoDistributionError, ResolutionError
from mirror.inputs.pylock import PyLock, read_pylock
from mirror.inputs.reqfile import Entry, applies
from mirror.inputs.sources import HASHED, InputSet
from mirror.inputs.targets import Target
from mirror.resolve import sandbox
from mirror.resolve.pins import Pin, Resolved, parse_pins
from mirror.resolve.select import pick
from mirror.settings import spell

log = logging.getLogger(__name__)

# uv's wording when --no-build stopped it (it then names the package).
_NEEDS_BUILD = ("building from source is disabled", "--no-build", "no-build")

def resolve(
    sets: list[InputSet],
    targets: list[Target],
    *,
    index_urls: list[str],
    ca_bundle: str | None = None,
    cache_dir: Path | None = None,
    preferences: dict[tuple[str | None, str], dict[str, str]] | None = None,
    jobs: int = 4,
    universal: bool = True,
    include_sdists: bool = False,
    build_sdists: bool = False,
) -> list[Resolved]:
    """Each set's pins for each target its requires-python admits.

    index_urls: first asked first, INDEX_URL last, credentials attached.
    preferences, by (set name or None, target name): pins to keep where they
    still satisfy the requirements (a refresh that only adds what is new).
    Sets that are locks already (hashed requirements) pin from their lines.

    universal: one `uv pip compile --universal` per set, its markers then
    evaluated per target, instead of one resolution per target (the matrix
    costs about one target); a target for which the universal answer picks a
    release with no file it can install is resolved on its own.

    build_sdists: let uv run an sdist's build backend for metadata no wheel or
    PEP 658 file gives (package code, with no network: sandbox.py; the caller
    makes sure no credential is in play). Without it uv runs with --no-build:
    no package code ever runs.
    """
    uv = find_uv()
    env = uv_env(ca_bundle, cache_dir)
    options = ("--no-build", *uv_options())
    with tempfile.TemporaryDirectory(prefix="pypi-mirror-home-") as home:
        if build_sdists:
            # Package code runs: not even the build user's home (~/.netrc, ~/.pypirc, ~/.config) is pointed
            # to, and what it builds is not kept in the cache later builds resolve from. It runs in
            # sandbox.py's environment, which has no network, never in one uv fills from the index.
            env = {**env, "HOME": home, "UV_CACHE_DIR": str(Path(home) / "uv-cache")}
            options = ("--no-build-isolation", *uv_options(str(sandbox.create(Path(home) / "backends"))))
        # The environment and the options every resolution here runs with.
        return _resolve(sets, targets, uv, (env, options), index_urls, preferences or {}, jobs, universal,
                        include_sdists)


def _resolve(sets, targets, uv, env, index_urls, preferences, jobs, universal, include_sdists) -> list[Resolved]:
    answers: list[Resolved] = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        work = []
        for s in sets:
            skipped = {t: reason for t in targets if (reason := s.excludes(t))}
            fitting = [t for t in targets if t not in skipped]
            if not fitting:
                raise InputError(f"{s.path} fits none of the targets ({' '.join(map(str, targets))}): "
                                 f"{next(iter(skipped.values()))}")
            for t, reason in skipped.items():
                log.info("set %s: not resolved for %s: %s", s.name, t, reason)
            if s.kind == HASHED:
                answers.append(Resolved(s, {t: _hashed_pins(s, t) for t in fitting}, skipped))
                continue
            if not s.resolves:  # pylock.toml, uv.lock: select reads their packages
                answers.append(Resolved(s, {t: _locked_pins(s, t) for t in fitting}, skipped))
                continue
            preferred = {t: preferences.get((s.name, str(t))) or preferences.get((None, str(t))) or {}
                         for t in fitting}
            if universal and len(fitting) > 1 and not any(preferred.values()):
                work.append((s, pool.submit(_resolve_universal, uv, env, s, fitting, index_urls), skipped))
                continue
            futures = {t: pool.submit(_resolve_one, uv, env, s, t, index_urls, preferred[t]) for t in fitting}
            work.append((s, futures, skipped))
        for s, futures, skipped in work:
            if isinstance(futures, concurrent.futures.Future):
                futures = _per_target(futures.result(), s, pool, uv, env, index_urls, include_sdists)
            answers.append(Resolved(s, {t: tuple(f.result()) for t, f in futures.items()}, skipped))
    order = {s.name: n for n, s in enumerate(sets)}
    return sorted(answers, key=lambda r: order[r.set.name])


def _hashed_pins(s: InputSet, target: Target) -> tuple[Pin, ...]:
    environment = target.environment()
    pins: dict[str, Entry] = {}
    for entry in s.entries:
        if not applies(entry, environment):
            continue
        other = pins.get(entry.name)
        if other and other.pinned_version != entry.pinned_version:
            raise InputError(f"{entry.where}: {entry.requirement} and {other.where}: {other.requirement} "
                             f"both apply to {target}")
        pins[entry.name] = entry
    return tuple(sorted(Pin(name, e.pinned_version) for name, e in pins.items()))


def _resolve_universal(uv: str, env: tuple[dict, tuple[str, ...]], s: InputSet, targets: list[Target],
                       index_urls: list[str]) -> tuple[list[Target], PyLock]:
    env, build = env
    with tempfile.TemporaryDirectory(prefix="pypi-mirror-resolve-") as work:
        # The .toml name makes uv write PEP 751: markers, and every file with its hashes.
        output = Path(work) / "pylock.toml"
        oldest = min(targets, key=lambda t: t.python_tuple)
        command = [uv, "pip", "compile", str(s.path.resolve()), *s.compile_args, "--universal",
                   "--python-version", oldest.python, *_index_args(index_urls), "--output-file", str(output),
                   *build]
        result = subprocess.run(command, env=env, capture_output=True, text=True, cwd=s.path.parent)
        if result.returncode != 0:
            where = f"{' '.join(map(str, targets))} ({s.path}, universal resolution)"
            raise ResolutionError(where, _explain(condense(result.stderr)))
        return targets, read_pylock(output, source=s.path)


def _per_target(universal: tuple[list[Target], PyLock], s: InputSet, pool, uv: str, env: tuple,
                index_urls: list[str], include_sdists: bool) -> dict:
    """The universal answer's pins for each target, or (where it lacks a file for one) a resolution of its own."""
    targets, lock = universal
    by_pin = {(p.name, p.version): p for p in lock.packages}
    answers = {}
    for target in targets:
        pins = _pins_from_lock(lock, {**target.environment(), "extras": set(), "dependency_groups": set()},
                               s.path, target)
        try:
            for pin in pins:
                pick(target, pin, list(by_pin[(pin.name, pin.version)].files), include_sdists)
        except NoDistributionError as exc:
            log.info("set %s: the universal resolution has no file for %s (%s==%s): resolving it on its own",
                     s.name, target, exc.name, exc.version)
            answers[target] = pool.submit(_resolve_one, uv, env, s, target, index_urls, {})
            continue
        done = concurrent.futures.Future()
        done.set_result(list(pins))
        answers[target] = done
    return answers


def _locked_pins(s: InputSet, target: Target) -> tuple[Pin, ...]:
    return _pins_from_lock(s.lock, s.environment(target), s.path, target)


def _pins_from_lock(lock: PyLock, environment: dict, path: Path, target: Target) -> tuple[Pin, ...]:
    pins = {}
    for package in lock.packages:
        if package.applies(environment):
            other = pins.get(package.name)
            if other and other != package.version:
                raise InputError(f"{path}: {package.name} {other} and {package.version} both apply to {target}")
            pins[package.name] = package.version
    return tuple(sorted(Pin(n, v) for n, v in pins.items()))


def _resolve_one(uv: str, env: tuple[dict, tuple[str, ...]], s: InputSet, target: Target, index_urls: list[str],
                 preferred: dict[str, str]) -> list[Pin]:
    env, build = env
    with tempfile.TemporaryDirectory(prefix="pypi-mirror-resolve-") as work:
        # uv keeps the pins already in its output file unless they no longer fit.
        output = Path(work) / "pins.txt"
        output.write_text("".join(f"{name}=={version}\n" for name, version in sorted(preferred.items())))
        command = [
            uv, "pip", "compile", str(s.path.resolve()), *s.compile_args,
            "--python-version", target.python,
            "--python-platform", target.uv_platform,
            *_index_args(index_urls),
            "--output-file", str(output),
            *build,
        ]
        # uv reads a pyproject's groups relative to the working directory.
        result = subprocess.run(command, env=env, capture_output=True, text=True, cwd=s.path.parent)
        if result.returncode != 0:
            raise ResolutionError(f"{target} ({s.path})", _explain(condense(result.stderr)))
        return parse_pins(output.read_text())


def _index_args(index_urls: list[str]) -> list[str]:
    *extras, default = index_urls
    return ["--index-url", default, *(a for url in extras for a in ("--extra-index-url", url)),
            "--index-strategy", "first-index"]


def _explain(detail: str) -> str:
    """uv's reason, and where --no-build stopped it, what the user can do."""
    if any(words in detail for words in _NEEDS_BUILD):
        knob = spell("build_sdist_metadata")
        switch = f"{knob}=1" if knob.isupper() else knob
        return (f"{detail} (the build never runs package code: ask for a wheel or PEP 658 metadata upstream, "
                f"give a lock, or run that sdist's build backend with {switch})")
    return detail
