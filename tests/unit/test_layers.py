"""mirror/layers.py: which layer each part of the tree goes to, and the Dockerfile in step with it."""

from __future__ import annotations

import json

from mirror import layers


def tree(tmp_path, files: dict[str, str]):
    root = tmp_path / "tree"
    (root / "packages").mkdir(parents=True)
    (root / "simple" / "six").mkdir(parents=True)
    (root / "simple" / "six" / "index.html").write_text("page")
    (root / "osv").mkdir()
    (root / "osv" / "meta.json").write_text("{}")
    (root / "index.html").write_text("landing")
    for filename in files:
        (root / "packages" / filename).write_text(filename)
    (root / "lock.json").write_text(json.dumps({"files": [
        {"filename": f, "name": n, "upload-time": "2024-01-02T03:04:05.123456Z"}
        for f, n in files.items() if not f.endswith(".metadata")]}))
    (root / "mirror.json").write_text(json.dumps({"build-time": "2025-06-07T08:09:10Z"}))
    return root


def test_a_project_always_lands_in_the_same_bucket_whatever_its_spelling():
    assert layers.bucket("Typing_Extensions") == layers.bucket("typing-extensions") == layers.bucket("typing.extensions")
    assert {layers.bucket(name) for name in ("six", "idna", "requests", "pip-audit", "urllib3")} <= set(layers.ORDER)


def test_buckets_spread_projects_and_stay_put():
    # Fixed by the hash of the name, not by what else is in the mirror.
    assert layers.bucket("six") == "p02"
    assert len({layers.bucket(f"project-{i}") for i in range(500)}) == layers.BUCKETS


def test_wheels_and_their_metadata_share_the_projects_bucket_and_the_rest_has_its_own_layer(tmp_path):
    root = tree(tmp_path, {"six-1.17.0-py2.py3-none-any.whl": "six",
                           "six-1.17.0-py2.py3-none-any.whl.metadata": "six",
                           "idna-3.7-py3-none-any.whl": "idna"})
    plan = {str(path.relative_to(root)): layer for path, layer in layers.plan(root).items()}
    assert plan == {
        "packages/six-1.17.0-py2.py3-none-any.whl": layers.bucket("six"),
        "packages/six-1.17.0-py2.py3-none-any.whl.metadata": layers.bucket("six"),
        "packages/idna-3.7-py3-none-any.whl": layers.bucket("idna"),
        "simple": "simple",
        "osv": "osv",
        "index.html": "docs",
        "lock.json": "docs",
        "mirror.json": "docs",
    }


def test_split_links_every_file_into_its_layer_and_makes_every_layer_folder(tmp_path):
    root = tree(tmp_path, {"six-1.17.0-py2.py3-none-any.whl": "six"})
    out = tmp_path / "layers"
    layers.split(root, out)
    assert sorted(p.name for p in out.iterdir()) == sorted(layers.ORDER)
    wheel = out / layers.bucket("six") / "srv/pypi/packages" / "six-1.17.0-py2.py3-none-any.whl"
    assert wheel.read_text() == "six-1.17.0-py2.py3-none-any.whl"
    assert wheel.stat().st_ino == (root / "packages" / wheel.name).stat().st_ino  # a link, not a copy
    assert (out / "simple/srv/pypi/simple/six/index.html").read_text() == "page"
    assert (out / "docs/srv/pypi/index.html").read_text() == "landing"


def test_split_gives_packages_their_upload_time_and_the_rest_the_build_time(tmp_path):
    root = tree(tmp_path, {"six-1.17.0-py2.py3-none-any.whl": "six"})
    (root / "packages" / "six-1.17.0-py2.py3-none-any.whl.metadata").write_text("m")
    out = tmp_path / "layers"
    layers.split(root, out)
    packages = out / layers.bucket("six") / "srv/pypi/packages"
    uploaded, built = 1704164645, 1749283750
    assert (packages / "six-1.17.0-py2.py3-none-any.whl").stat().st_mtime == uploaded
    assert (packages / "six-1.17.0-py2.py3-none-any.whl.metadata").stat().st_mtime == uploaded
    assert packages.stat().st_mtime == (out / "p00/srv").stat().st_mtime == 0
    assert (out / "simple/srv/pypi/simple/six/index.html").stat().st_mtime == built
    assert (out / "docs/srv/pypi/index.html").stat().st_mtime == built
    assert (out / "osv/srv/pypi/osv/meta.json").stat().st_mtime == layers.NO_TIME  # no export, no time


def test_the_advisory_layer_takes_the_exports_time_not_the_build_time(tmp_path):
    root = tree(tmp_path, {"six-1.17.0-py2.py3-none-any.whl": "six"})
    (root / "osv" / "meta.json").write_text(json.dumps({"taken-at": "2026-11-30T00:00:00Z"}))
    out = tmp_path / "layers"
    layers.split(root, out)
    assert (out / "osv/srv/pypi/osv/meta.json").stat().st_mtime == 1795996800


def test_a_file_the_lock_does_not_know_is_an_error(tmp_path):
    root = tree(tmp_path, {})
    (root / "packages" / "stray-1.0.tar.gz").write_text("?")
    try:
        layers.plan(root)
    except layers.InputError as exc:
        assert "stray-1.0.tar.gz: not a file of the lock" in str(exc)
    else:
        raise AssertionError("no error")


def test_the_dockerfile_copies_every_layer_in_order_in_both_images():
    assert layers.DOCKERFILE.read_text() == layers.expected_dockerfile()
    assert layers.DOCKERFILE.read_text().count(layers.dockerfile_block()) == 2
    # Well under overlayfs's 127 layers, with room for the base image's own.
    assert len(layers.ORDER) < 60
