"""The closure check: every target's pins resolve against the built tree alone.

However the pins were found (one universal resolution, per-target ones, a
user's lock), the proof that a target can install from this mirror is that
uv, told that target's platform and Python and given nothing but the tree's
files, resolves every set's pins for it with their dependencies.
"""

from __future__ import annotations

import concurrent.futures
import logging
import subprocess
import tempfile
import time
from pathlib import Path

from mirror.core.uvtool import UV_OPTIONS, condense, find_uv, uv_env
from mirror.errors import MirrorError
from mirror.inputs.targets import Target
from mirror.resolve.lock import Lock

log = logging.getLogger(__name__)


class ClosureError(MirrorError):
    """A target's pins do not resolve against the built tree."""

    def __init__(self, target: str, set_name: str | None, detail: str):
        self.target, self.set_name, self.detail = target, set_name, detail

    def __str__(self) -> str:
        of = f" (set {self.set_name})" if self.set_name else ""
        return f"closure check: {self.target}{of} cannot install from the built tree alone: {self.detail}"


def check_closure(lock: Lock, packages: Path, *, cache_dir: Path | None = None, jobs: int = 4) -> None:
    started = time.monotonic()
    uv, env = find_uv(), uv_env(None, cache_dir)
    sdist_only = _sdist_only(lock)
    work: list[tuple[str | None, Target, tuple]] = []
    groups = [(s.name, s.pins) for s in lock.sets] or [(None, lock.pins)]
    for name, pins in groups:
        for target, target_pins in pins.items():
            lacking = [p for p in target_pins if (str(target), p.name, p.version) in sdist_only]
            if lacking:
                # uv would have to build them to read their dependencies; the mirror only serves them.
                log.info("closure check: %s%s not checked: %s only as sdist", target,
                         f" (set {name})" if name else "", ", ".join(map(str, lacking)))
                continue
            work.append((name, target, target_pins))
    with tempfile.TemporaryDirectory(prefix="pypi-mirror-closure-") as folder, \
            concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(_check_one, uv, env, packages, Path(folder) / f"{n}.txt", *item)
                   for n, item in enumerate(work)]
        for future in futures:
            future.result()
    log.info("closure check: %d (set, target) pairs resolve against the tree alone (%.1f s)",
             len(work), time.monotonic() - started)


def _sdist_only(lock: Lock) -> set[tuple[str, str, str]]:
    with_wheel = {(t, f.name, f.version) for f in lock.files if f.filename.endswith(".whl") for t in f.targets}
    return {(t, f.name, f.version) for f in lock.files for t in f.targets} - with_wheel


def _check_one(uv: str, env: dict, packages: Path, requirements: Path, set_name: str | None, target: Target,
               pins: tuple) -> None:
    requirements.write_text("".join(f"{p.name}=={p.version}\n" for p in pins))
    command = [uv, "pip", "compile", str(requirements), "--no-index", "--find-links", str(packages), "--no-build",
               "--python-version", target.python, "--python-platform", target.uv_platform,
               "--output-file", str(requirements.with_suffix(".out")),
               *UV_OPTIONS]
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise ClosureError(str(target), set_name, condense(result.stderr))
