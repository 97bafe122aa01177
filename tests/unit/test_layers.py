"""mirror/tree/layers.py: which layer each part of the tree goes to, and the Dockerfile in step with it."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from mirror.tree import layers

# The data-science set of bench/layers.py for its 10 targets: each project's
# wheel bytes from the upstream's pages (a lock, no download), 1.05 GB.
DATA_SCIENCE = json.loads((Path(__file__).parents[1] / "fixtures" / "data-science-sizes.json").read_text())
KB, MB = 1000, layers.MB


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
    assert layers.bucket("six") == "p08"
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
    # overlayfs stacks at most 127 layers: the tree's, the appliance's own two
    # (config and hooks, the project map) and the runtime base's (the official
    # nginx image: 7), with room to spare for a larger base.
    assert len(layers.ORDER) == 31
    assert len(layers.ORDER) + 2 + 7 <= 127 - 60


def test_more_large_projects_than_slots_keep_the_largest_apart_and_say_so(caplog):
    sizes = {f"big-{i:02d}": (10 + i) * MB for i in range(layers.OWN_SLOTS + 2)}
    plan = layers.assign(sizes)
    assert {plan[f"big-{i:02d}"] for i in range(2, layers.OWN_SLOTS + 2)} == set(layers.OWN)
    assert plan["big-00"] == layers.bucket("big-00") and plan["big-01"] == layers.bucket("big-01")
    assert "20 projects need a layer of their own, 18 slots: big-00 big-01 share their buckets" in caplog.text


def test_the_stated_bound_meets_the_goal():
    # Issue 24's goal: at most 20 MB or 2 % of the image, whichever is larger.
    assert layers.REMAINDER_BOUND <= 20 * MB


def remainder(before: dict[str, int], after: dict[str, int], project: str, changed: bool = False) -> int:
    """What a change ships beyond the project's own bytes (after the change), from the plan."""
    return layers.shipped(before, after, project if changed else None) - after.get(project, 0)


def test_a_large_project_has_a_layer_of_its_own_and_small_ones_share_buckets():
    plan = layers.assign(DATA_SCIENCE)
    own = {name for name, layer in plan.items() if layer in layers.OWN}
    assert {"scipy", "numpy", "pandas", "matplotlib", "scikit-learn", "jupyterlab"} <= own
    assert len(own) == 14 <= layers.OWN_SLOTS
    assert len({plan[name] for name in own}) == len(own)  # one each
    assert plan["tomli"] == layers.bucket("tomli")
    for name in own:
        assert DATA_SCIENCE[name] >= layers.OWN_BYTES or plan[name] != layers.bucket(name)


def test_an_overfull_bucket_hands_out_its_largest_projects_until_it_fits():
    same = [f"project-{i}" for i in range(2000) if layers.bucket(f"project-{i}") == "p07"][:5]
    sizes = dict(zip(same, [3_500_000, 3 * MB, 2 * MB, 1 * MB, 500 * KB]))  # 10 MB in one bucket
    plan = layers.assign(sizes)
    assert plan[same[0]] in layers.OWN  # 3.5 MB out: 6.5 MB left, under the 8 MB cap
    assert [plan[name] for name in same[1:]] == ["p07"] * 4


# Every project of the data-science set, removed, added back, upgraded a
# little, a lot, down, and across the own-layer threshold both ways.
CHANGES = [(name, kind) for name in sorted(DATA_SCIENCE)
           for kind in ("remove", "add", "grow 10%", "grow 3x", "shrink 90%", "to 3.9 MB", "to 4.1 MB")]


@pytest.mark.parametrize("name,kind", CHANGES, ids=[f"{n}-{k}" for n, k in CHANGES])
def test_a_one_project_change_of_the_data_science_set_ships_that_project_and_at_most_the_bound(name, kind):
    without = {n: s for n, s in DATA_SCIENCE.items() if n != name}
    if kind == "remove":
        before, after, changed = DATA_SCIENCE, without, False
    elif kind == "add":
        before, after, changed = without, DATA_SCIENCE, False
    else:
        size = DATA_SCIENCE[name]
        new = {"grow 10%": size * 11 // 10, "grow 3x": size * 3, "shrink 90%": size // 10,
               "to 3.9 MB": 3_900_000, "to 4.1 MB": 4_100_000}[kind]
        before, after, changed = DATA_SCIENCE, {**without, name: new}, True
    assert remainder(before, after, name, changed) <= layers.REMAINDER_BOUND


@pytest.mark.parametrize("size", [6_700, 300 * KB, 3_999_999, 4 * MB, 60 * MB, 400 * MB])
@pytest.mark.parametrize("name", ["tomli-w", "pluggy", "tabulate", "backcall", "zipp", "a-new-project"])
def test_adding_a_new_project_to_the_data_science_set_ships_that_project_and_at_most_the_bound(name, size):
    # tomli-w: 6.7 KB whose old bucket (48 by name hash) also held every scipy wheel: 350 MB shipped.
    after = {**DATA_SCIENCE, name: size}
    assert remainder(DATA_SCIENCE, after, name) <= layers.REMAINDER_BOUND
    assert remainder(after, DATA_SCIENCE, name) <= layers.REMAINDER_BOUND


def test_the_bound_holds_for_any_one_project_change_of_random_mirrors():
    """Heavy-tailed random mirrors of 20 to 400 projects; every kind of change to a random project."""
    rng = random.Random(24)
    checked = 0
    for _ in range(300):
        sizes = {f"p-{rng.randrange(10**6)}": int(rng.paretovariate(0.9) * 20 * KB)
                 for _ in range(rng.randrange(20, 400))}
        if sum(layer in layers.OWN for layer in layers.assign(sizes).values()) >= layers.OWN_SLOTS:
            continue  # outside the bound's condition (the build log names it)
        name = rng.choice(sorted(sizes))
        without = {n: s for n, s in sizes.items() if n != name}
        new = int(sizes[name] * rng.choice([0.1, 0.9, 1.1, 3, 30]))
        upgraded = {**without, name: new}
        if sum(layer in layers.OWN for layer in layers.assign(upgraded).values()) >= layers.OWN_SLOTS:
            continue
        assert remainder(sizes, without, name) <= layers.REMAINDER_BOUND
        assert remainder(without, sizes, name) <= layers.REMAINDER_BOUND
        assert remainder(sizes, upgraded, name, changed=True) <= layers.REMAINDER_BOUND
        checked += 1
    assert checked > 200


def test_one_project_change_leaves_every_layer_outside_its_bucket_and_own_slot_alone():
    after = {**DATA_SCIENCE, "tomli-w": 6_700}
    before_plan, after_plan = layers.assign(DATA_SCIENCE), layers.assign(after)
    moved = {name for name in DATA_SCIENCE if before_plan[name] != after_plan[name]}
    # Own-layer slots are in name order (a new one shifts the slot numbers after
    # it, not any layer's content); bucket members never move.
    assert all(before_plan[name] in layers.OWN and after_plan[name] in layers.OWN for name in moved)
