"""Reproducible, layered images, and what a refresh ships: delta bundles and registry pushes.

Two small mirrors that differ by one project (A = six, idna, scipy and its
numpy; B = A + tomli-w, 6.7 KB, which the old plan of 48 name-hash buckets
put in one layer with every scipy wheel) are built the way users build,
through scripts/build. Then: a --no-cache rebuild of A has A's image IDs; A
and B share every layer but tomli-w's bucket, the index pages and the
documents, and what B adds is tomli-w plus at most the plan's bound; a bundle of B --since A's bundle carries only those, and
the far side assembles, checks and loads it; a real registry on 127.0.0.1
takes A, gives it back with the same ID, and takes B uploading only the
layers A lacked.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import requests

from mirror.tree.layers import ORDER, REMAINDER_BOUND, bucket
from tests.integration.appliance import ONE_TARGET, REPO, bake

RUN = uuid.uuid4().hex[:6]
IMAGES = ("pypi-mirror", "pypi-mirror-wheelhouse")
# Adding a project to the appliance: its bucket, the index pages, the documents, nginx's project map.
CHANGED_LAYERS = 4


def sh(*args, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run([str(a) for a in args], cwd=REPO, capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, f"{' '.join(map(str, args))}:\n{result.stderr[-3000:]}"
    return result


def build(tag: str, requirements: Path, *flags: str) -> dict[str, str]:
    """scripts/build both images; {image name: image ID} as docker has them."""
    result = bake("mirror", "wheelhouse", *flags, TAG=tag, REQUIREMENTS=str(requirements), **ONE_TARGET)
    assert result.returncode == 0, result.stderr[-4000:]
    ids = {}
    for name in IMAGES:
        ids[name] = sh("docker", "image", "inspect", "--format", "{{.Id}}", f"{name}:{tag}").stdout.strip()
        # scripts/build prints the ID it built.
        assert re.search(rf"{name}:{tag} = \S+, image ID {ids[name]}", result.stderr), result.stderr[-2000:]
    return ids


def layers_of(image: str) -> list[str]:
    return json.loads(sh("docker", "image", "inspect", "--format", "{{json .RootFS.Layers}}", image).stdout)


@pytest.fixture(scope="module")
def sets(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("sets")
    (folder / "a.txt").write_text("six\nidna\nscipy\n")
    (folder / "b.txt").write_text("six\nidna\nscipy\ntomli-w\n")
    return {"a": folder / "a.txt", "b": folder / "b.txt"}


@pytest.fixture(scope="module")
def built(sets):
    images = {"a": build(f"a-{RUN}", sets["a"]), "b": build(f"b-{RUN}", sets["b"])}
    yield images
    for tag in (f"a-{RUN}", f"b-{RUN}"):
        for name in IMAGES:
            subprocess.run(["docker", "rmi", "-f", f"{name}:{tag}"], capture_output=True)


def test_a_no_cache_rebuild_of_the_same_lock_gives_the_same_image_ids(built, sets):
    assert build(f"a-{RUN}", sets["a"], "--no-cache") == built["a"]


@pytest.mark.parametrize("name", IMAGES)
def test_adding_one_project_changes_only_its_bucket_the_index_and_the_documents(built, name):
    a, b = layers_of(f"{name}:a-{RUN}"), layers_of(f"{name}:b-{RUN}")
    assert len(a) == len(b)
    tree_start = len(a) - len(ORDER)  # the tree's layers come last, in ORDER
    changed = {ORDER[i - tree_start] if i >= tree_start else "below the tree"
               for i, (x, y) in enumerate(zip(a, b)) if x != y}
    # The appliance also carries nginx's project-name map, just below the tree.
    extra = {"below the tree"} if name == "pypi-mirror" else set()
    assert changed == {bucket("tomli-w"), "simple", "docs"} | extra


def old_bucket(project: str) -> int:
    """The layer the plan before issue 24 gave a project: 48 buckets by name hash, nothing else."""
    return int.from_bytes(hashlib.sha256(project.encode()).digest()[:4], "big") % 48


def test_a_small_project_whose_old_bucket_held_scipy_ships_itself_not_scipy(built, bundles):
    assert old_bucket("tomli-w") == old_bucket("scipy")  # the case: one layer for both, before
    lock = json.loads(sh("docker", "run", "--rm", "--entrypoint", "/bin/cat", f"pypi-mirror:b-{RUN}",
                         "/srv/pypi/lock.json").stdout)
    own = {name: sum(f["size"] for f in lock["files"] if f["name"] == name) for name in ("tomli-w", "scipy")}
    sizes = {line.split()[0]: int(line.split()[1]) for line in (bundles / "b" / "BLOBS").read_text().splitlines()}
    new_layers = set(layers_of(f"pypi-mirror:b-{RUN}")) - set(layers_of(f"pypi-mirror:a-{RUN}"))
    shipped = sum(sizes[layer.removeprefix("sha256:")] for layer in new_layers)
    # Its bucket, the index pages, the documents and the project map: tomli-w's
    # own bytes plus at most the bound; scipy's wheel (tens of MB) stays put.
    assert shipped <= own["tomli-w"] + REMAINDER_BOUND, shipped
    assert shipped < own["scipy"] / 10, (shipped, own)


@pytest.fixture(scope="module")
def bundles(built, tmp_path_factory):
    root = tmp_path_factory.mktemp("bundles")
    sh(REPO / "scripts" / "bundle", f"pypi-mirror:a-{RUN}", root / "a")
    sh(REPO / "scripts" / "bundle", "--since", root / "a", f"pypi-mirror:b-{RUN}", root / "b")
    return root


def test_a_delta_bundle_carries_only_the_blobs_the_previous_bundle_lacks(bundles):
    full = {line.split()[0]: int(line.split()[1]) for line in (bundles / "b" / "BLOBS").read_text().splitlines()}
    previous = {line.split()[0] for line in (bundles / "a" / "BLOBS").read_text().splitlines()}
    new = set(full) - previous
    delta = bundles / "b" / f"pypi-mirror-b-{RUN}.delta.tar.gz"
    names = subprocess.run(["tar", "-tzf", delta], capture_output=True, text=True, check=True).stdout.split()
    shipped = {n.rsplit("/", 1)[1] for n in names if n.startswith("./blobs/sha256/") and not n.endswith("/")}
    assert shipped == new
    # Of the layers: exactly the four that changed (the project's bucket, the
    # index pages, the documents and nginx's project map); the rest of `new`
    # is the config, manifests and docker save's small per-layer JSON, which chain.
    changed = set(layers_of(f"pypi-mirror:b-{RUN}")) - set(layers_of(f"pypi-mirror:a-{RUN}"))
    assert len(changed) == CHANGED_LAYERS
    assert {f"sha256:{blob}" for blob in new} & set(layers_of(f"pypi-mirror:b-{RUN}")) == changed
    metadata = sum(full[blob] for blob in new if f"sha256:{blob}" not in changed)
    assert metadata < 128 * 1024
    assert delta.stat().st_size < (bundles / "a" / f"pypi-mirror-a-{RUN}.tar.gz").stat().st_size / 2


def test_the_far_side_assembles_checks_and_loads_the_delta(bundles, built, tmp_path):
    far = tmp_path / "far"
    shutil.copytree(bundles / "a", far / "a")
    shutil.copytree(bundles / "b", far / "b")
    image = f"pypi-mirror:b-{RUN}"
    retagged = f"pypi-mirror:b-{RUN}-far"
    # Load under the bundle's own tag after removing it: docker load must bring it back.
    sh("docker", "tag", image, retagged)
    sh("docker", "rmi", image)
    try:
        missing = subprocess.run([far / "b" / "verify-bundle", "--load", far / "b"], capture_output=True, text=True)
        assert missing.returncode == 1
        assert "is a delta bundle against pypi-mirror:a-" in missing.stderr
        result = sh(far / "b" / "verify-bundle", "--load", "--base", far / "a", far / "b")
        assert "every blob matches its sha256" in result.stderr and "match MANIFEST" in result.stderr
        assert sh("docker", "image", "inspect", "--format", "{{.Id}}", image).stdout.strip() == built["b"]["pypi-mirror"]
    finally:
        subprocess.run(["docker", "tag", retagged, image], capture_output=True)
        subprocess.run(["docker", "rmi", retagged], capture_output=True)


def test_a_damaged_base_is_named(bundles, tmp_path):
    far = tmp_path / "far"
    shutil.copytree(bundles / "a", far / "a")
    shutil.copytree(bundles / "b", far / "b")
    (far / "a" / "MANIFEST").write_text("damaged\n")
    result = subprocess.run([far / "b" / "verify-bundle", "--load", "--base", far / "a", far / "b"],
                            capture_output=True, text=True)
    assert result.returncode == 1
    [line] = [line for line in result.stderr.splitlines() if ": error: " in line]
    assert re.fullmatch(rf"verify-bundle: error: {re.escape(str(far / 'a'))}/MANIFEST: sha256 mismatch "
                        r"\(expected [0-9a-f]{64}, got [0-9a-f]{64}\): the bundle is damaged, copy it again", line), line


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    """The CNCF distribution registry (Debian's docker-registry) on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    root = tmp_path_factory.mktemp("registry")
    config = root / "config.yml"
    config.write_text(f"version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {root}/data\n"
                      f"http:\n  addr: 127.0.0.1:{port}\n")
    process = subprocess.Popen(["docker-registry", "serve", str(config)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if requests.get(f"http://127.0.0.1:{port}/v2/", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline and process.poll() is None, "the registry never answered /v2/"
            time.sleep(0.2)
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def push(reference: str) -> tuple[int, int]:
    """docker push: (layers uploaded, layers the registry already had)."""
    out = sh("docker", "push", reference).stdout
    return len(re.findall(r": Pushed$", out, re.M)), len(re.findall(r": Layer already exists$", out, re.M))


def test_a_registry_round_trip_keeps_the_id_and_a_refresh_pushes_only_the_changed_layers(built, registry):
    a, b = f"{registry}/pypi-mirror:a-{RUN}", f"{registry}/pypi-mirror:b-{RUN}"
    sh("docker", "tag", f"pypi-mirror:a-{RUN}", a)
    uploaded, _ = push(a)
    assert uploaded == len(set(layers_of(a)))
    # Gone locally (every tag of that image), then back from the registry.
    image_id = built["a"]["pypi-mirror"]
    tags = json.loads(sh("docker", "image", "inspect", "--format", "{{json .RepoTags}}", image_id).stdout)
    sh("docker", "rmi", *tags)
    sh("docker", "pull", a)
    assert sh("docker", "image", "inspect", "--format", "{{.Id}}", a).stdout.strip() == image_id
    for tag in tags:
        sh("docker", "tag", a, tag)

    sh("docker", "tag", f"pypi-mirror:b-{RUN}", b)
    uploaded, existing = push(b)
    assert uploaded == CHANGED_LAYERS
    assert existing == len(set(layers_of(b))) - CHANGED_LAYERS
