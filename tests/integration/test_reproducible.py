"""Reproducible image IDs (issue 24): the same lock in two clones, built cold, gives the same IDs.

Two `git clone`s of this repo's committed revision into temporary folders,
the second with every file and folder touched to a later time (a clone made
on another day). Each is built with --no-cache on every bake pass: every
step runs again, the same check as an empty build cache, without emptying
the cache other builds on this engine use. First docs/operating.md's command
(`LOCK=... TAG=... scripts/build mirror wheelhouse`), then plain `docker
buildx bake` given the epoch and the labels scripts/build worked out: all
four builds of each image have one ID.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import uuid
from datetime import datetime
from pathlib import Path

import pytest

from tests.integration.appliance import REPO, run_bake

RUN = uuid.uuid4().hex[:6]
TAG = f"repro-{RUN}"
IMAGES = ("pypi-mirror", "pypi-mirror-wheelhouse")
# Inside each clone, relative: the description label names the lock as given.
LOCK = "tests/fixtures/small-lock.json"
BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


def run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess:
    result = run_bake(args, cwd=cwd, env={**os.environ, **env})
    assert result.returncode == 0, f"{' '.join(args)} in {cwd}:\n{result.stderr[-4000:]}"
    return result


def inspect(image: str, template: str) -> str:
    return run(["docker", "image", "inspect", "--format", template, image], cwd=REPO).stdout.strip()


@pytest.fixture(scope="module")
def clones(tmp_path_factory) -> list[Path]:
    root = tmp_path_factory.mktemp("clones")
    first, second = root / "first", root / "second"
    for clone in (first, second):
        run(["git", "clone", "--quiet", str(REPO), str(clone)], cwd=root)
    later = time.time() + 3 * 86400
    for folder, dirs, files in os.walk(second):
        for name in dirs + files:
            os.utime(Path(folder) / name, (later, later), follow_symlinks=False)
    os.utime(second, (later, later))
    return [first, second]


@pytest.fixture(scope="module")
def built(clones):
    """{clone: {image: ID}} from scripts/build --no-cache in each clone, and the first build's labels."""
    ids: dict[Path, dict[str, str]] = {}
    labels = {}
    pinned: set[str] = set()  # scripts/build's <day>-<lock> tags
    try:
        for clone in clones:
            result = run([str(clone / "scripts" / "build"), "--no-cache", "--progress", "plain",
                          "mirror", "wheelhouse"], cwd=clone, LOCK=LOCK, TAG=TAG)
            ids[clone] = {}
            for name in IMAGES:
                # The ID scripts/build printed is the one docker has (the tag moves with the next build).
                printed = re.search(rf"{name}:{TAG} = (\S+), image ID (\S+)", result.stderr)
                assert printed, result.stderr[-2000:]
                pinned.add(printed.group(1))
                ids[clone][name] = inspect(f"{name}:{TAG}", "{{.Id}}")
                assert printed.group(2) == ids[clone][name]
                if clone == clones[0]:
                    labels[name] = json.loads(inspect(f"{name}:{TAG}", "{{json .Config.Labels}}"))
                    labels[name]["layers"] = json.loads(inspect(f"{name}:{TAG}", "{{json .RootFS.Layers}}"))
        yield ids, labels
    finally:
        for image in [f"{name}:{TAG}" for name in IMAGES] + sorted(pinned):
            subprocess.run(["docker", "rmi", "-f", image], capture_output=True)
        # A differing build leaves the other ID untagged; only this run's label matches.
        subprocess.run(["docker", "image", "prune", "-f", "--filter", f"label=org.opencontainers.image.version={TAG}"],
                       capture_output=True)


def differing_layers(image: str, expected: list[str]) -> list[int]:
    layers = json.loads(inspect(image, "{{json .RootFS.Layers}}"))
    return [i for i, (a, b) in enumerate(zip(layers, expected)) if a != b] + list(range(len(expected), len(layers)))


def test_scripts_build_gives_the_same_ids_in_two_clones_built_cold(built, clones):
    ids, labels = built
    first, second = (ids[clone] for clone in clones)
    for name in IMAGES:
        assert second[name] == first[name], (
            f"{name}: layers that differ from the first clone's: "
            f"{differing_layers(f'{name}:{TAG}', labels[name]['layers'])}")


def test_plain_bake_given_the_epoch_and_labels_gives_the_same_ids(built, clones):
    ids, labels = built
    mirror = labels["pypi-mirror"]
    # What docs/operating.md tells a plain-bake user to set: the epoch from the tree's
    # build time (mirror.json), and the labels scripts/build adds.
    epoch = int(datetime.fromisoformat(mirror["org.opencontainers.image.created"].replace("Z", "+00:00")).timestamp())
    env = {
        "LOCK": LOCK, "TAG": TAG, "IMAGE_EPOCH": str(epoch), "CA_BUNDLE": BUNDLE,
        "REVISION": mirror["org.opencontainers.image.revision"],
        "SOURCE_URL": mirror["org.opencontainers.image.source"],
        "LOCK_SHA256": mirror["io.pypi-mirror.lock.sha256"],
        "MANIFEST_SHA256": mirror["io.pypi-mirror.manifest.sha256"],
    }
    assert env["REVISION"] == run(["git", "rev-parse", "HEAD"], cwd=clones[0]).stdout.strip()
    for clone in clones:
        # One image per bake, as docs/building.md says for --no-cache (docker/buildx#4011).
        for target in ("mirror", "wheelhouse"):
            run(["docker", "buildx", "bake", "--no-cache", "--progress", "plain", "--allow", f"fs.read={BUNDLE}",
                 target], cwd=clone, **env)
        for name in IMAGES:
            assert inspect(f"{name}:{TAG}", "{{.Id}}") == ids[clones[0]][name], (
                f"{name} from plain bake in {clone.name}: layers that differ: "
                f"{differing_layers(f'{name}:{TAG}', labels[name]['layers'])}")
