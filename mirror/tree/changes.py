"""Previous build + this build -> changes.json: what a refresh changed.

The previous build is read from its mirror.json (which embeds its lock) or a
bare lock.json, and optionally its audit.json; both come out of the previous
image (scripts/refresh) or from files an operator kept.
"""

from __future__ import annotations

import json
from pathlib import Path

from packaging.version import InvalidVersion, Version

from mirror.core.files import read_json_object, write_atomic
from mirror.errors import InputError

CHANGES_NAME = "changes.json"


def read_previous(manifest: Path, audit: Path | None = None) -> dict:
    """{"lock": <lock document>, "audit": <audit document or None>} from a previous build's files."""
    document = read_json_object(manifest, "previous manifest")
    lock = document.get("lock", {}).get("document") if "manifest-version" in document else document
    if not isinstance(lock, dict) or "targets" not in lock:
        raise InputError(f"previous manifest {manifest}: neither a mirror.json nor a lock.json")
    return {"lock": lock, "audit": read_json_object(audit, "previous audit") if audit else None}


def compare(previous: dict, lock: dict, audit: dict | None) -> dict:
    """Projects added, removed, upgraded, downgraded or changed; advisories appeared and gone."""
    before, after = _versions(previous["lock"]), _versions(lock)
    projects: dict[str, list] = {"added": [], "removed": [], "upgraded": [], "downgraded": [], "changed": []}
    for name in sorted(before.keys() | after.keys()):
        old, new = before.get(name, []), after.get(name, [])
        if not old:
            projects["added"].append({"name": name, "versions": new})
        elif not new:
            projects["removed"].append({"name": name, "versions": old})
        elif old != new:
            kind = {1: "upgraded", -1: "downgraded", 0: "changed"}[_cmp(_newest(new), _newest(old))]
            projects[kind].append({"name": name, "from": old, "to": new})
    return {
        "changes-version": 1,
        "projects": projects,
        "advisories": _advisories(previous["audit"], audit),
    }


def write_changes(changes: dict, root: Path) -> None:
    text = json.dumps(changes, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    write_atomic(root / CHANGES_NAME, text.encode("utf-8"))


def _advisories(before: dict | None, after: dict | None) -> dict:
    if not (before and before.get("ran") and after and after.get("ran")):
        return {"compared": False, "appeared": [], "gone": []}
    old, new = _findings(before), _findings(after)
    return {
        "compared": True,
        "appeared": [new[key] for key in sorted(new.keys() - old.keys())],
        "gone": [old[key] for key in sorted(old.keys() - new.keys())],
    }


def _findings(audit: dict) -> dict[tuple[str, str, str], dict]:
    return {
        (f["id"], f["name"], f["version"]): {"id": f["id"], "name": f["name"], "version": f["version"]}
        for f in audit.get("vulnerabilities") or []
    }


def _versions(lock: dict) -> dict[str, list[str]]:
    found: dict[str, set[str]] = {}
    for target in lock["targets"]:
        for name, version in target["pins"].items():
            found.setdefault(name, set()).add(version)
    return {name: sorted(versions, key=_key) for name, versions in found.items()}


def _newest(versions: list[str]) -> str:
    return max(versions, key=_key)


def _cmp(a: str, b: str) -> int:
    return (_key(a) > _key(b)) - (_key(a) < _key(b))


def _key(version: str):
    try:
        return (1, Version(version), "")
    except InvalidVersion:
        return (0, Version("0"), version)
