"""PEP 751 pylock.toml: read one as a lock, and write the mirror's own.

Reading: each package with its marker and exactly the files the lock names,
with their hashes; a package the mirror cannot serve (a directory, VCS or
archive source, a file with no URL or no sha256) is an error naming it.

Writing: one entry per (project, version) with the markers of the targets
that need it, every file with size, upload-time and sha256, and URLs under
the placeholder @MIRROR_URL@, which nginx replaces with the address the
client used (as it does for pip.conf).
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import logging
import urllib.parse
from pathlib import Path

from packaging.markers import InvalidMarker, Marker
from packaging.utils import NormalizedName, canonicalize_name

from mirror.core.http import mask, strip_credentials
from mirror.errors import InputError
from mirror.upstream.upstream import UpstreamFile

log = logging.getLogger(__name__)

MIRROR_URL = "@MIRROR_URL@"
LOCK_VERSION = "1.0"

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11: the same parser, as a package
    import tomli as tomllib  # type: ignore[no-redef]


@dataclasses.dataclass(frozen=True)
class LockedPackage:
    """One [[packages]] entry of a pylock.toml."""

    name: NormalizedName
    version: str
    marker: str | None
    requires_python: str | None
    index: str | None
    files: tuple[UpstreamFile, ...]

    def applies(self, environment: dict) -> bool:
        return self.marker is None or Marker(self.marker).evaluate(environment, "lock_file")


@dataclasses.dataclass(frozen=True)
class PyLock:
    path: Path
    requires_python: str | None
    environments: tuple[str, ...]
    extras: tuple[str, ...]
    groups: tuple[str, ...]
    default_groups: tuple[str, ...]
    packages: tuple[LockedPackage, ...]


def read_toml(path: Path, what: str) -> dict:
    try:
        with path.open("rb") as stream:
            return tomllib.load(stream)
    except OSError as exc:
        raise InputError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{what} {path} is not valid TOML: {exc}") from None
    except RecursionError:
        raise InputError(f"{what} {path} nests deeper than this build reads") from None
    except UnicodeDecodeError:
        raise InputError(f"{what} {path} is not UTF-8 text") from None


def read_pylock(path: Path, *, source: Path | None = None) -> PyLock:
    """source: the file to name in errors (a uv.lock this pylock was exported from)."""
    shown = source or path
    document = read_toml(path, "lock file")
    try:
        return _pylock(shown, document)
    except InputError as exc:
        raise InputError(f"{shown}: {exc}") from None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InputError(f"{shown} is malformed ({exc!r})"[:300]) from None


def _pylock(shown: Path, document: dict) -> PyLock:
    version = str(document.get("lock-version", ""))
    if version.split(".")[0] != "1":
        raise InputError(f"lock-version {version!r}; PEP 751 version 1 is supported")
    packages = []
    for n, entry in enumerate(_list(document, "packages", dict), 1):
        try:
            packages.append(_package(entry))
        except InputError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InputError(f"package {n} is malformed ({exc!r})"[:300]) from None
    environments = _list(document, "environments", str)
    for marker in environments:
        try:
            Marker(marker)
        except InvalidMarker as exc:
            raise InputError(f"environments: {exc}") from None
    requires_python = document.get("requires-python")
    if requires_python is not None and not isinstance(requires_python, str):
        raise TypeError("requires-python is not a string")
    return PyLock(shown, requires_python, environments, _list(document, "extras", str),
                  _list(document, "dependency-groups", str), _list(document, "default-groups", str),
                  tuple(packages))


def _list(document: dict, key: str, kind: type) -> tuple:
    """document[key], an array of `kind` (absent: empty), or TypeError naming the key."""
    value = document.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, kind) for v in value):
        raise TypeError(f"{key} is not an array of {'tables' if kind is dict else 'strings'}")
    return tuple(value)


def _package(entry: dict) -> LockedPackage:
    name, version = canonicalize_name(entry["name"]), entry.get("version")
    label = f"package {name}" + (f" {version}" if version else "")
    for kind in ("vcs", "directory", "archive"):
        if kind in entry:
            raise InputError(f"{label} comes from a {kind}, which a mirror cannot serve: "
                             "lock it from an index (name==version)")
    if not version:
        raise InputError(f"{label} has no version")
    marker = entry.get("marker")
    if marker:
        try:
            Marker(marker)
        except InvalidMarker as exc:
            raise InputError(f"{label}: marker: {exc}") from None
    requires_python = entry.get("requires-python")
    if not isinstance(marker or "", str) or not isinstance(requires_python or "", str):
        raise TypeError(f"{label}: marker and requires-python are strings")
    files = [_file(label, f, requires_python) for f in [*(entry.get("wheels") or []),
                                                        *([entry["sdist"]] if entry.get("sdist") else [])]]
    if not files:
        raise InputError(f"{label} lists no wheels and no sdist")
    return LockedPackage(name, str(version), marker or None, requires_python, entry.get("index"), tuple(files))


def _file(label: str, entry: dict, requires_python: str | None) -> UpstreamFile:
    url = entry.get("url")
    if not url:
        raise InputError(f"{label}: a file with no URL (path {entry.get('path')!r}) cannot be fetched by a mirror")
    filename = entry.get("name") or urllib.parse.unquote(urllib.parse.urlsplit(url).path.rsplit("/", 1)[-1])
    sha256 = (entry.get("hashes") or {}).get("sha256")
    if not isinstance(url, str) or not isinstance(filename, str) or not isinstance(sha256 or "", str):
        raise TypeError(f"{label}: a file's url, name and sha256 are strings")
    if not isinstance(entry.get("size") or 0, int):
        raise TypeError(f"{label}: {filename}: size is not a number")
    if not sha256:
        raise InputError(f"{label}: {filename} has no sha256 hash (the mirror verifies every file)")
    upload = entry.get("upload-time")
    if isinstance(upload, datetime.datetime):
        if upload.tzinfo:
            upload = upload.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        upload = upload.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    bare, credentials = strip_credentials(url)
    if credentials:
        # lock.json and mirror.json are served: the URL goes in bare; the index's secret lends its own.
        log.warning("%s: %s: the credentials in its URL are not used; give them as a secret "
                    "(EXTRA_INDEX_URLS_FILE or NETRC_FILE) for %s", label, filename, mask(url))
    return UpstreamFile(filename=filename, url=bare, sha256=sha256.lower(), size=entry.get("size"),
                        upload_time=upload, requires_python=requires_python)


# -- writing


def render_pylock(entries: list[tuple[str, str, list[str], list]], environments: list[str]) -> str:
    """entries: (name, version, target markers, LockedFiles) sorted; the result is TOML text.

    Written by hand, not by a TOML library: the shape is fixed and small, and
    every string goes through one quoting function (JSON string syntax is
    valid TOML basic-string syntax for what json.dumps emits).
    """
    out = [f"lock-version = {_q(LOCK_VERSION)}", f"created-by = {_q('pypi-mirror')}"]
    if environments:
        out.append("environments = [" + ", ".join(_q(e) for e in environments) + "]")
    for name, version, markers, files in entries:
        out += ["", "[[packages]]", f"name = {_q(name)}", f"version = {_q(version)}"]
        if markers:
            out.append(f"marker = {_q(' or '.join(f'({m})' for m in markers))}")
        requires = next((f.requires_python for f in files if f.requires_python), None)
        if requires:
            out.append(f"requires-python = {_q(requires)}")
        out.append(f"index = {_q(MIRROR_URL + '/simple/')}")
        sdists = [f for f in files if not f.filename.endswith(".whl")]
        wheels = [f for f in files if f.filename.endswith(".whl")]
        if sdists:
            out.append(f"sdist = {_file_table(sdists[0])}")
        if wheels:
            out.append("wheels = [")
            out += [f"    {_file_table(f)}," for f in wheels]
            out.append("]")
    return "\n".join(out) + "\n"


def _file_table(f) -> str:
    parts = [f"name = {_q(f.filename)}", f"url = {_q(MIRROR_URL + '/packages/' + urllib.parse.quote(f.filename))}"]
    if f.size is not None:
        parts.append(f"size = {int(f.size)}")
    upload = _toml_time(f.upload_time)
    if upload:
        parts.append(f"upload-time = {upload}")
    parts.append(f"hashes = {{ sha256 = {_q(f.sha256)} }}")
    return "{ " + ", ".join(parts) + " }"


def _toml_time(value: str | None) -> str | None:
    """An index's ISO 8601 upload time as a TOML offset datetime (UTC), or None if unreadable."""
    if not value:
        return None
    try:
        parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.timezone.utc)
    parsed = parsed.astimezone(datetime.timezone.utc)
    text = parsed.strftime("%Y-%m-%dT%H:%M:%S")
    if parsed.microsecond:
        text += f".{parsed.microsecond:06d}".rstrip("0")
    return text + "Z"


def _q(text: str) -> str:
    return json.dumps(mask(text), ensure_ascii=True)


def pylock_documents(lock) -> dict[str, str]:
    """Relative path -> pylock.toml text: the whole mirror, and one per input set."""
    targets = {str(t): t for t in lock.targets}
    documents = {"pylock.toml": _document(lock.files, lock.targets, targets, None)}
    for s in lock.sets:
        wanted = {(str(t), p.name, p.version) for t, pins in s.pins.items() for p in pins}
        files = []
        for f in lock.files:
            mine = tuple(t for t in f.targets if (t, f.name, f.version) in wanted)
            if mine:
                files.append(dataclasses.replace(f, targets=mine))
        set_targets = sorted(s.pins, key=lambda t: (t.python_tuple, t.platform))
        documents[f"locks/{s.name}/pylock.toml"] = _document(files, set_targets, targets, s)
    return documents


def _document(files, set_targets, targets, locked_set) -> str:
    grouped: dict[tuple[str, str], list] = {}
    for f in sorted(files, key=lambda f: f.filename):
        grouped.setdefault((f.name, f.version), []).append(f)
    entries = []
    everywhere = {str(t) for t in set_targets}
    for (name, version), group in sorted(grouped.items()):
        needed = {t for f in group for t in f.targets}
        if needed >= everywhere:
            entries.append((name, version, [], group))  # `environments` already says where
            continue
        markers = [targets[t].marker for t in sorted(needed, key=lambda n: (targets[n].python_tuple,
                                                                            targets[n].platform))]
        entries.append((name, version, markers, group))
    return render_pylock(entries, [t.marker for t in set_targets])
