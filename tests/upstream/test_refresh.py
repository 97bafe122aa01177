"""A refresh: changes.json against the previous build, and keeping its pins."""

from __future__ import annotations

import json


def pins(tree) -> dict:
    return json.loads((tree / "lock.json").read_text())["targets"][0]["pins"]


def test_refresh_reports_upgrades_and_additions(build, tmp_path):
    assert build(requirements="beta==1.0\n", out="previous").code == 0
    previous = tmp_path / "previous" / "mirror.json"

    result = build(requirements="alpha\n", out="next", extra=("--previous-manifest", str(previous)))
    assert result.code == 0, result.err
    changes = json.loads((tmp_path / "next" / "changes.json").read_text())
    assert changes["projects"]["upgraded"] == [{"name": "beta", "from": ["1.0"], "to": ["2.0"]}]
    assert changes["projects"]["added"] == [{"name": "alpha", "versions": ["1.0"]}]
    assert "Changes since the previous build" in (tmp_path / "next" / "index.html").read_text()


def test_keeping_the_previous_pins_only_adds_what_is_new(build, tmp_path):
    assert build(requirements="beta==1.0\n", out="previous").code == 0
    previous = tmp_path / "previous" / "mirror.json"

    result = build(requirements="alpha\n", out="next",
                   extra=("--previous-manifest", str(previous), "--keep-previous-pins"))
    assert result.code == 0, result.err
    assert pins(tmp_path / "next") == {"alpha": "1.0", "beta": "1.0"}
    changes = json.loads((tmp_path / "next" / "changes.json").read_text())
    assert changes["projects"]["added"] == [{"name": "alpha", "versions": ["1.0"]}]
    assert changes["projects"]["upgraded"] == []


def test_keeping_pins_without_a_previous_manifest_is_one_clear_error(build):
    result = build(extra=("--keep-previous-pins",))
    assert result.code == 1
    assert "needs the previous build's manifest" in result.error
