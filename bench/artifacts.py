"""What several suites start from, made once per run: the appliance image and its tree.

The image is built the way users build it (scripts/build) for the one target
the side-by-side runs use. The peers get the very tree the image serves,
copied out of the wheelhouse image, so every server holds the same bytes.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import time
from pathlib import Path

from common import (IMAGE, REPO, TAG, TARGET_PLATFORM, TARGET_PYTHON, WHEELHOUSE_IMAGE, BenchError, Settings,
                    log, run)


@functools.cache
def images() -> float:
    """Build IMAGE and WHEELHOUSE_IMAGE (pypi-mirror[-wheelhouse]:bench); the seconds it took."""
    log(f"building {IMAGE} and {WHEELHOUSE_IMAGE} (scripts/build, py{TARGET_PYTHON} {TARGET_PLATFORM})")
    env = dict(os.environ, TAG=TAG, PYTHON_VERSIONS=TARGET_PYTHON, PLATFORMS=TARGET_PLATFORM)
    started = time.perf_counter()
    run([str(REPO / "scripts" / "build"), "mirror", "wheelhouse"], env=env, cwd=REPO, timeout=1200)
    return time.perf_counter() - started


@functools.cache
def tree(settings: Settings) -> Path:
    """The appliance's /srv/pypi, copied out of the wheelhouse image."""
    images()
    out = settings.work / "tree"
    if not (out / "lock.json").exists():
        created = run(["docker", "create", WHEELHOUSE_IMAGE, "/none"]).stdout.strip()
        try:
            run(["docker", "cp", f"{created}:/srv/pypi", str(out)])
        finally:
            subprocess.run(["docker", "rm", created], capture_output=True)
    return out


@functools.cache
def wheels(settings: Settings) -> Path:
    """The tree's wheels alone (hard links): what pypiserver and devpi are given."""
    out = settings.work / "wheels"
    out.mkdir(parents=True, exist_ok=True)
    for wheel in (tree(settings) / "packages").glob("*.whl"):
        if not (out / wheel.name).exists():
            os.link(wheel, out / wheel.name)
    if not any(out.iterdir()):
        raise BenchError(f"no wheels in {tree(settings)}/packages")
    return out


def lock_files(tree_root: Path) -> list[dict]:
    return json.loads((tree_root / "lock.json").read_text())["files"]
