"""OSV matching for PyPI, in the form both the build and nginx run it.

One matcher, two runtimes: the build compiles every record once (here, with
`packaging`) into plain data, the build-time audit matches against that data
(`matches`), and nginx/osv.js runs the same few lines against the same data
per request. What makes the JavaScript side small is `version_key`: a string
whose plain code-unit order is PEP 440 order and whose equality is PEP 440
equality, so njs compares strings and needs no version arithmetic; it only
parses the query's version into the same key (nginx/osv.js `versionKey`,
proved equal by tests/integration/test_osv.py's differential test).

Key layout, field by field (every field is self-delimiting, all ASCII):
  number    3-digit length + digits without leading zeros ("0015" is 5)
  epoch     number
  release   numbers with trailing zeros dropped, then "!" (sorts below digits)
  pre       "A" dev-only release, "B"/"C"/"D" + number for a/b/rc, "E" none
  post      "A" none, "B" + number
  dev       "B" + number, "C" none
  local     "A" none, else "B" + segments: "a" + text + "!" for a string,
            "b" + number for an integer (strings sort below integers)
"""

from __future__ import annotations

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

# Range types whose events are package versions; GIT ranges name commits.
VERSION_RANGES = ("ECOSYSTEM", "SEMVER")
# Before every version, pre-releases of 0 included: OSV's `introduced: "0"`.
BEGINNING = ""
_MAX_DIGITS = 999  # the length prefix has 3 digits; nginx/osv.js refuses the same
_PRE = {"a": "B", "b": "C", "rc": "D"}
_EVENT_KINDS = {"introduced": "i", "fixed": "f", "last_affected": "l"}


def version_key(text: object) -> str | None:
    """The order key of a PEP 440 version string, None when it is not one.

    Only ASCII is accepted (packaging also strips Unicode whitespace; njs's
    regular expressions do not know the same set, and no real version has it).
    """
    if not isinstance(text, str) or not text.isascii():
        return None
    try:
        version = Version(text)
    except (InvalidVersion, ValueError):  # ValueError: more digits than int() takes
        return None
    return key_of(version)


def key_of(version: Version) -> str | None:
    try:
        release = list(version.release)
        while release and release[-1] == 0:
            release.pop()
        key = [_number(version.epoch), *(_number(n) for n in release), "!"]
        if version.pre is None and version.post is None and version.dev is not None:
            key.append("A")
        elif version.pre is None:
            key.append("E")
        else:
            key.append(_PRE[version.pre[0]] + _number(version.pre[1]))
        key.append("A" if version.post is None else "B" + _number(version.post))
        key.append("C" if version.dev is None else "B" + _number(version.dev))
        if version.local is None:
            key.append("A")
        else:
            key.append("B")
            for part in version.local.split("."):
                key.append("b" + _number(int(part)) if part.isdigit() else "a" + part + "!")
    except ValueError:  # a number longer than the length prefix allows
        return None
    return "".join(key)


def _number(n: int) -> str:
    digits = str(n)
    if len(digits) > _MAX_DIGITS:
        raise ValueError(n)
    return f"{len(digits):03d}{digits}"


def pypi_affected(record: dict) -> list[dict]:
    return [a for a in record.get("affected") or []
            if isinstance(a, dict) and isinstance(a.get("package"), dict)
            and a["package"].get("ecosystem") == "PyPI" and isinstance(a["package"].get("name"), str)]


def compile_record(record: dict) -> dict[str, list[dict]]:
    """normalized name -> the record's `affected` entries for it, compiled; {} for a withdrawn record.

    An entry is {"versions": [keys], "ranges": [{"events": [[key, kind]], "limits": [keys]}]}:
    events sorted by key (stable: same-version events keep the record's order),
    kinds "i" introduced, "f" fixed, "l" last_affected. A range with an event
    that does not parse is left out (it decides nothing, as before); listed
    versions that do not parse are skipped (osv.dev#5578); listed versions the
    ranges already cover are dropped, which changes no answer and keeps the
    per-project files (read per request) small.
    """
    if record.get("withdrawn"):
        return {}
    compiled: dict[str, list[dict]] = {}
    for affected in pypi_affected(record):
        ranges = [r for r in (compile_range(r) for r in affected.get("ranges") or [] if isinstance(r, dict)
                              and r.get("type") in VERSION_RANGES) if r is not None]
        listed = {k for k in (version_key(v) for v in affected.get("versions") or []) if k is not None}
        entry = {"versions": sorted(k for k in listed if not any(in_range(r, k) for r in ranges)),
                 "ranges": ranges}
        if entry["versions"] or entry["ranges"]:
            compiled.setdefault(canonicalize_name(affected["package"]["name"]), []).append(entry)
    return compiled


def compile_range(osv_range: dict) -> dict | None:
    events, limits = [], []
    for event in osv_range.get("events") or []:
        if not isinstance(event, dict):
            return None
        for kind, value in event.items():
            if kind == "limit":
                if value == "*":
                    continue
                key = version_key(value)
                if key is None:
                    return None
                limits.append(key)
            elif kind in _EVENT_KINDS:
                key = BEGINNING if kind == "introduced" and value == "0" else version_key(value)
                if key is None:
                    return None
                events.append([key, _EVENT_KINDS[kind]])
    events.sort(key=lambda e: e[0])
    return {"events": events, "limits": sorted(limits)}


def in_range(compiled_range: dict, key: str) -> bool:
    """OSV's range walk: introduced opens, fixed closes before itself, last_affected after itself;
    at or above any limit nothing is affected. Mirrored line for line by nginx/osv.js `inRange`."""
    for limit in compiled_range["limits"]:
        if key >= limit:
            return False
    affected = False
    for bound, kind in compiled_range["events"]:
        if kind == "i":
            if key >= bound:
                affected = True
        elif kind == "f":
            if key >= bound:
                affected = False
        elif key > bound:  # "l"
            affected = False
    return affected


def matches(entries: list[dict], key: str | None) -> bool:
    """Does a version (its key) fall in any of a record's compiled entries for one project?
    Mirrored by nginx/osv.js `matches`."""
    if key is None:
        return False
    for entry in entries:
        if key in entry["versions"]:
            return True
        for compiled_range in entry["ranges"]:
            if in_range(compiled_range, key):
                return True
    return False
