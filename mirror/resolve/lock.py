"""The lock: every target's pins and every file to mirror, with its hash.

It is the hand-off between resolving (which needs the upstream index's
opinion) and building the tree (which must not): a lock holds all the index
needs, so the same lock always gives the same tree.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import re
from pathlib import Path

from packaging.utils import NormalizedName, canonicalize_name

from mirror.core.files import read_json_object
from mirror.core.http import strip_credentials
from mirror.errors import InputError
from mirror.inputs.targets import Target, parse_targets
from mirror.resolve.pins import Pin
from mirror.upstream.upstream import ProjectStatus

LOCK_VERSION = 1
# A set's name becomes a folder (locks/<name>/pylock.toml): what mirror/inputs/sources.py makes, and nothing
# that climbs (`..`), starts hidden or holds a separator.
SET_NAME = re.compile(r"^[a-z0-9_](?:[a-z0-9._-]{0,253}[a-z0-9_])?$")


@dataclasses.dataclass(frozen=True, order=True)
class LockedFile:
    filename: str
    name: NormalizedName
    version: str
    url: str  # never carries credentials
    sha256: str
    size: int | None = None
    upload_time: str | None = None
    requires_python: str | None = None
    yanked: bool | str = False
    targets: tuple[str, ...] = ()
    index: str | None = None  # the index it came from (masked); None: the lock's index_url
    provenance: str | None = None  # PEP 740: the index's URL of its provenance object; None: it has none
    # After the build verified it (mirror/fetch/provenance.py): {"sha256" of the object, "publishers", "verified-at"}.
    attestation: dict | None = dataclasses.field(default=None, compare=False, hash=False)

    def __post_init__(self):
        # The filename becomes a path in the tree.
        if not self.filename or "/" in self.filename or "\\" in self.filename or self.filename.startswith("."):
            raise InputError(f"refusing file name {self.filename!r}")
        if len(self.sha256) != 64 or not all(c in "0123456789abcdef" for c in self.sha256):
            raise InputError(f"{self.filename}: sha256 is not 64 lowercase hex digits: {self.sha256!r}")
        # lock.json and mirror.json are served: a URL in them never carries credentials, whoever wrote it
        # (a page, a pylock.toml, a crafted LOCK).
        object.__setattr__(self, "url", strip_credentials(self.url)[0])


@dataclasses.dataclass(frozen=True)
class LockedSet:
    """One input set: where it came from, its pins per target, and the targets it leaves out."""

    name: str
    source: str
    kind: str
    pins: dict[Target, tuple[Pin, ...]]
    skipped: dict[str, str] = dataclasses.field(default_factory=dict)  # target name -> why
    requires_python: str | None = None

    def __post_init__(self):
        if not isinstance(self.name, str) or not SET_NAME.match(self.name):
            raise InputError(f"refusing set name {self.name!r}: it becomes the folder locks/<name>/ "
                             "(lowercase letters, digits, . _ -; no leading dot)")


@dataclasses.dataclass(frozen=True)
class Lock:
    index_url: str
    pins: dict[Target, tuple[Pin, ...]]  # every set's pins for a target together
    files: tuple[LockedFile, ...]
    # Empty in a lock of one unnamed set (older locks); else each set's own pins.
    sets: tuple[LockedSet, ...] = ()
    indexes: tuple[str, ...] = ()  # every upstream index, first asked first (masked)
    # PEP 792: the projects whose index gave a status other than active (absent: active).
    statuses: dict[NormalizedName, ProjectStatus] = dataclasses.field(default_factory=dict, compare=False)

    @property
    def targets(self) -> list[Target]:
        return sorted(self.pins, key=_order)

    def to_json(self) -> str:
        return self._json

    @property
    def sha256(self) -> str:
        """Of lock.json's bytes: the lock's identity in mirror.json, the SBOM, labels and landing page."""
        return hashlib.sha256(self._json.encode("utf-8")).hexdigest()

    @functools.cached_property
    def _json(self) -> str:
        # Rendered once: at 5,000 projects it is tens of MB, and five stages need it.
        document = {
            "lock-version": LOCK_VERSION,
            "index-url": self.index_url,
            "targets": [_target_to_json(t, self.pins[t]) for t in self.targets] if not self.sets else [
                {**_target_to_json(t, s.pins[t]), "set": s.name}
                for s in self.sets for t in sorted(s.pins, key=_order)
            ],
            "files": [_file_to_json(f) for f in sorted(self.files)],
        }
        if self.sets:
            document["sets"] = [
                {"name": s.name, "source": s.source, "kind": s.kind, "requires-python": s.requires_python,
                 "skipped": dict(sorted(s.skipped.items()))}
                for s in self.sets
            ]
        if self.indexes:
            document["indexes"] = list(self.indexes)
        if self.statuses:
            document["project-status"] = {n: s.to_json() for n, s in sorted(self.statuses.items())}
        return json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def _order(t: Target) -> tuple:
    return (t.python_tuple, t.platform)


def _target_to_json(t: Target, pins: tuple[Pin, ...]) -> dict:
    return {"name": str(t), "python": t.python, "platform": t.platform, "marker": t.marker,
            "pins": {p.name: p.version for p in pins}}


def union(sets: list[LockedSet]) -> dict[Target, tuple[Pin, ...]]:
    together: dict[Target, set[Pin]] = {}
    for s in sets:
        for t, pins in s.pins.items():
            together.setdefault(t, set()).update(pins)
    return {t: tuple(sorted(p)) for t, p in together.items()}


def _file_to_json(f: LockedFile) -> dict:
    extra = {"index": f.index} if f.index else {}
    if f.provenance:
        # Written only for files that have one: a lock from before PEP 740 support reads the same.
        extra["provenance"] = {"url": f.provenance, **(f.attestation or {})}
    return {**extra,
        "filename": f.filename,
        "name": f.name,
        "version": f.version,
        "url": f.url,
        "sha256": f.sha256,
        "size": f.size,
        "upload-time": f.upload_time,
        "requires-python": f.requires_python,
        "yanked": f.yanked,
        "targets": list(f.targets),
    }


def read_lock(path: Path) -> Lock:
    document = read_json_object(path, "lock file")
    version = document.get("lock-version")
    if version != LOCK_VERSION:
        raise InputError(f"lock file {path}: lock-version {version!r}, this build reads {LOCK_VERSION}")
    try:
        return _lock_from_json(document)
    except InputError as exc:
        raise InputError(f"lock file {path}: {exc}") from None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InputError(f"lock file {path} is malformed: {exc!r}") from None


def _lock_from_json(document: dict) -> Lock:
    pins = {}
    by_set: dict[str, dict[Target, tuple[Pin, ...]]] = {}
    for entry in document["targets"]:
        (target,) = parse_targets(entry["python"], entry["platform"])
        target_pins = tuple(sorted(Pin(canonicalize_name(n), v) for n, v in entry["pins"].items()))
        if "set" in entry:
            by_set.setdefault(entry["set"], {})[target] = target_pins
        else:
            pins[target] = target_pins
    sets = tuple(
        LockedSet(s["name"], s["source"], s["kind"], by_set.get(s["name"], {}), dict(s.get("skipped") or {}),
                  s.get("requires-python"))
        for s in document.get("sets") or []
    )
    if sets:
        pins = union(list(sets))
    files = tuple(
        LockedFile(
            filename=f["filename"], name=canonicalize_name(f["name"]), version=f["version"],
            url=f["url"], sha256=f["sha256"], size=f.get("size"), upload_time=f.get("upload-time"),
            requires_python=f.get("requires-python"), yanked=f.get("yanked", False),
            targets=tuple(f.get("targets", ())), index=f.get("index"),
            provenance=(f.get("provenance") or {}).get("url"),
            attestation={k: v for k, v in f["provenance"].items() if k != "url"} if f.get("provenance") else None,
        )
        for f in document["files"]
    )
    statuses = {canonicalize_name(n): ProjectStatus(s["status"], s.get("reason"))
                for n, s in (document.get("project-status") or {}).items()}
    return Lock(index_url=document["index-url"], pins=pins, files=files, sets=sets,
                indexes=tuple(document.get("indexes") or ()), statuses=statuses)
