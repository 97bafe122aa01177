"""The one OSV matcher's pure parts: order keys equal to packaging's order, compiled records."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
import yaml
from packaging.version import Version

from mirror.advisories.osvmatch import BEGINNING, compile_record, matches, version_key

SPELLINGS = ["0", "0.dev0", "0a0", "0.0.1", "1", "1.0", "1.0.0", "1.0.0-RC1", "1.0rc1", "1.0c1", "1.0.pre2",
             "1.0a1", "1.0alpha1", "1.0b2", "1.0.dev0", "1.0a1.dev3", "1.0.post1", "1.0-1", "1.0.rev1", "1.0r",
             "1.0.post1.dev2", "1.0+local", "1.0+local.1", "1.0+local.a", "1.0+1", "1.0+1.0", "1.0+LOCAL_2",
             "1!0.1", "1!1.0", "2!0", "v1.2", " 1.2\n", "1.2.0.0.0", "10", "9.99", "1.0.0.1", "001.002",
             "99999999999999999999.1", "1.0+abc.01", "1.0_post_3", "1.0.alpha.2"]


def test_key_order_and_equality_are_packagings():
    for a, b in itertools.product(SPELLINGS, repeat=2):
        va, vb = Version(a), Version(b)
        ka, kb = version_key(a), version_key(b)
        assert (ka < kb, ka == kb) == (va < vb, va == vb), (a, b, ka, kb)


@pytest.mark.parametrize("text", ["", "not a version", "1.0+", "1..0", "1.0-", "\u0661.0", "1.0\u00a0", None, 1,
                                  "1" * 1000])
def test_what_is_not_a_version_has_no_key(text):
    assert version_key(text) is None


def test_introduced_zero_sorts_before_every_version_and_covered_list_entries_are_dropped():
    record = {"id": "X", "affected": [{"package": {"ecosystem": "PyPI", "name": "Zope.Interface"},
                                       "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"},
                                                                                   {"fixed": "2.0"}]}],
                                       "versions": ["0.dev0", "1.5", "3.0", "junk"]}]}
    compiled = compile_record(record)
    assert list(compiled) == ["zope-interface"]
    [entry] = compiled["zope-interface"]
    assert entry["versions"] == [version_key("3.0")] and entry["ranges"][0]["events"][0] == [BEGINNING, "i"]
    for version, hit in (("0.dev0", True), ("1.9", True), ("2.0", False), ("3.0", True), ("3.0.0", True),
                         ("3.1", False), ("junk", False)):
        assert matches(compiled["zope-interface"], version_key(version)) is hit, version
    assert compile_record({**record, "withdrawn": "2024-01-01T00:00:00Z"}) == {}


def test_the_offline_audit_example_audits_strictly_through_activate_on_an_internal_network():
    text = (Path(__file__).resolve().parents[2] / "examples" / "audit-offline.yml").read_text()
    document = yaml.safe_load(text)
    runs = " ".join(step.get("run", "") for step in document["jobs"]["audit"]["steps"])
    assert "docker network create --internal" in runs and "/activate" in runs
    assert "pip-audit --strict" in runs
    # uv audit, for a project with a uv.lock: the command the front page and /activate give.
    [uv_step] = [step for step in document["jobs"]["audit"]["steps"] if "uv audit" in step.get("run", "")]
    assert uv_step["if"] == "hashFiles('uv.lock') != ''"
    assert "--network audit-net" in uv_step["run"] and "/activate" in uv_step["run"]
    assert "uv audit --preview --frozen --service-url http://mirror:8080/osv/" in uv_step["run"]
    json.dumps(document)  # plain data, no YAML-only types
