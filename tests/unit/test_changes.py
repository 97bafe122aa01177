import json

import pytest

from mirror.errors import InputError
from mirror.tree.changes import compare, read_previous


def lock(**pins_by_target) -> dict:
    return {"lock-version": 1, "targets": [{"name": t, "pins": p} for t, p in pins_by_target.items()]}


def audit(*findings, ran=True) -> dict:
    return {"ran": ran, "vulnerabilities": [{"id": i, "name": n, "version": v} for i, n, v in findings]}


PREVIOUS = lock(a={"requests": "2.19.1", "idna": "3.7", "old": "1.0", "rich": "13.0"},
                b={"requests": "2.19.1", "idna": "3.7", "old": "1.0", "rich": "13.0"})
CURRENT = lock(a={"requests": "2.32.5", "idna": "3.6", "new": "0.1", "rich": "13.0"},
               b={"requests": "2.32.5", "idna": "3.6", "new": "0.1", "rich": "12.0"})


def test_projects_added_removed_upgraded_downgraded_changed():
    changes = compare({"lock": PREVIOUS, "audit": None}, CURRENT, None)
    assert changes["projects"] == {
        "added": [{"name": "new", "versions": ["0.1"]}],
        "removed": [{"name": "old", "versions": ["1.0"]}],
        "upgraded": [{"name": "requests", "from": ["2.19.1"], "to": ["2.32.5"]}],
        "downgraded": [{"name": "idna", "from": ["3.7"], "to": ["3.6"]}],
        "changed": [{"name": "rich", "from": ["13.0"], "to": ["12.0", "13.0"]}],
    }


def test_versions_compare_as_versions_not_strings():
    changes = compare({"lock": lock(a={"x": "1.9"}), "audit": None}, lock(a={"x": "1.10"}), None)
    assert changes["projects"]["upgraded"] == [{"name": "x", "from": ["1.9"], "to": ["1.10"]}]


def test_advisories_that_appeared_and_went_away():
    before = audit(("PYSEC-2018-28", "requests", "2.19.1"), ("GHSA-x", "idna", "3.7"))
    after = audit(("GHSA-x", "idna", "3.7"), ("GHSA-new", "rich", "13.0"))
    changes = compare({"lock": PREVIOUS, "audit": before}, CURRENT, after)
    assert changes["advisories"] == {
        "compared": True,
        "appeared": [{"id": "GHSA-new", "name": "rich", "version": "13.0"}],
        "gone": [{"id": "PYSEC-2018-28", "name": "requests", "version": "2.19.1"}],
    }


@pytest.mark.parametrize("before, after", [(None, audit()), (audit(ran=False), audit()), (audit(), None)])
def test_advisories_are_not_compared_without_two_audits_that_ran(before, after):
    changes = compare({"lock": PREVIOUS, "audit": before}, CURRENT, after)
    assert changes["advisories"] == {"compared": False, "appeared": [], "gone": []}


def test_previous_read_from_a_manifest_or_a_bare_lock(tmp_path):
    manifest = tmp_path / "mirror.json"
    manifest.write_text(json.dumps({"manifest-version": 1, "lock": {"document": PREVIOUS}}))
    bare = tmp_path / "lock.json"
    bare.write_text(json.dumps(PREVIOUS))
    assert read_previous(manifest)["lock"] == read_previous(bare)["lock"] == PREVIOUS


def test_a_previous_file_that_is_neither_names_itself(tmp_path):
    path = tmp_path / "x.json"
    path.write_text("{}")
    with pytest.raises(InputError, match="x.json: neither a mirror.json nor a lock.json"):
        read_previous(path)
