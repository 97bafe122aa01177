"""The finished tree -> mirror.json: what is inside, where it came from, what built it.

Same lock in, same bytes out: the build time is SOURCE_DATE_EPOCH when set,
otherwise the newest upload time among the locked files (the moment the
mirrored content last changed), never the wall clock.
"""

from __future__ import annotations

import datetime
import hashlib
import importlib.metadata
import json
import platform
import re
from pathlib import Path

from mirror import __version__
from mirror.core.files import sha256_file, write_atomic
from mirror.core.http import mask
from mirror.errors import InputError
from mirror.resolve.lock import Lock

MANIFEST_NAME = "mirror.json"
MANIFEST_VERSION = 1
# Build tools whose versions the manifest records; the rest come along with them.
TOOLS = ("uv", "packaging", "requests")

_TIMESTAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.\d+)?(Z|[+-]\d\d:\d\d)?$")


def build_time(lock: Lock, source_date_epoch: str | None) -> tuple[datetime.datetime | None, str | None]:
    """(time, where it came from); (None, None) when neither source gives one (an HTML-only upstream)."""
    if source_date_epoch:
        try:
            seconds = int(source_date_epoch)
        except ValueError:
            raise InputError(f"SOURCE_DATE_EPOCH is not a whole number of seconds: {source_date_epoch!r}") from None
        return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc), "SOURCE_DATE_EPOCH"
    uploads = [t for t in (parse_time(f.upload_time) for f in lock.files if f.upload_time) if t]
    if not uploads:
        return None, None
    return max(uploads), "newest upload-time of the mirrored files"


def parse_time(text: str) -> datetime.datetime | None:
    """An RFC 3339 time as indexes write it (any fraction, Z or offset), to the second, in UTC."""
    match = _TIMESTAMP.match(text)
    if not match:
        return None
    zone = match.group(2) or "Z"
    parsed = datetime.datetime.fromisoformat(match.group(1) + ("+00:00" if zone == "Z" else zone))
    return parsed.astimezone(datetime.timezone.utc)


def format_time(moment: datetime.datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def tool_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {"pypi-mirror": __version__, "python": platform.python_version()}
    for name in TOOLS:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


# The advisories' per-record and per-project files (tens of thousands, derived from
# osv/PyPI/all.zip, which is listed): mirror.json describes them by the "osv" entry.
DERIVED = ("osv/projects/", "osv/ids/")


def tree_files(root: Path, *, exclude: tuple[str, ...] = (), derived: tuple[str, ...] = DERIVED) -> list[dict]:
    """Every file under root as {path, size, sha256}, sorted by path ('/'-separated)."""
    files = []
    for path in root.rglob("*"):
        relative = path.relative_to(root).as_posix()
        if path.is_file() and relative not in exclude and not relative.startswith(derived):
            files.append({"path": relative, "size": path.stat().st_size, "sha256": sha256_file(path)})
    return sorted(files, key=lambda f: f["path"])


def render_manifest(lock: Lock, lock_json: str, files: list[dict], *, built: datetime.datetime | None,
                    built_from: str | None, tools: dict[str, str | None], osv: dict | None = None) -> str:
    document = {
        "manifest-version": MANIFEST_VERSION,
        "build-time": format_time(built),
        "build-time-source": built_from,
        "upstream": mask(lock.index_url),
        "indexes": [mask(u) for u in (lock.indexes or (lock.index_url,))],
        "targets": [{"name": str(t), "python": t.python, "platform": t.platform} for t in lock.targets],
        "tools": tools,
        "lock": {"path": "lock.json", "sha256": hashlib.sha256(lock_json.encode("utf-8")).hexdigest(),
                 "document": json.loads(lock_json)},
        "files": files,
    }
    if osv is not None:
        document["osv"] = osv  # /osv/meta.json: the advisories served at /osv/
    return json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def write_manifest(lock: Lock, root: Path, *, built: datetime.datetime | None, built_from: str | None,
                   osv: dict | None = None) -> None:
    """mirror.json, listing every other file of the tree: so it must be written last."""
    files = tree_files(root, exclude=(MANIFEST_NAME,))
    text = render_manifest(lock, lock.to_json(), files, built=built, built_from=built_from, tools=tool_versions(),
                           osv=osv)
    write_atomic(root / MANIFEST_NAME, text.encode("utf-8"))
