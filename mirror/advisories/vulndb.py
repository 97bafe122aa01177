"""OSV's PyPI export -> the advisory data the appliance serves under /osv/.

Source: the export file given to the build (VULN_DB / --vuln-db), or else
OSV's public export downloaded when its host answers; the build says in one
log line which it used. With neither, the tree still gets /osv/meta.json with
`"records": 0` and the reason, and the endpoint answers `{}`.

Written under `<tree>/osv/` (nginx/osv.conf and nginx/osv.js read it):
  PyPI/all.zip          the export, byte for byte (osv-scanner's offline database)
  meta.json             sha256, record count, newest `modified`, when it was taken
  projects/<name>.json  per PEP 503 name: each record's id, modified, compiled
                        `affected` entries (mirror/advisories/osvmatch.py) and where its text is, sorted by id
  projects/<name>.records  those records' compact JSON, back to back: a query reads two files
  ids/<xx>.json         id -> [records file, offset, length], sharded by md5: GET /osv/v1/vulns/<ID>
  ids/orphans.records   records no project holds (withdrawn, no PyPI package)
Everything per request is two file reads, JSON.parse, string comparisons and substrings.
"""

from __future__ import annotations

import dataclasses
import datetime
import email.utils
import hashlib
import io
import json
import logging
import re
import time
import zipfile
import zlib
from pathlib import Path

from mirror.advisories.osvmatch import compile_record
from mirror.core.files import write_atomic
from mirror.core.http import (EXPORT_DEADLINE, MAX_EXPORT, TooLarge, Transient, mask, new_session, open_url, read_body,
                         strip_credentials)
from mirror.errors import UpstreamError, VulnDatabaseError

log = logging.getLogger(__name__)

OSV_DIR = "osv"
META_NAME = "meta.json"
# Ids become file names: only what OSV's id scheme (PREFIX-...) uses.
ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
# PEP 503-normalized project names that can be file names (nginx/osv.js checks queries against the same).
NAME_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
META_VERSION = 1
# What an export may unpack to (docs/building.md, "Downloads"): far above what PyPI's export holds.
MAX_RECORD = 16 << 20
MAX_UNPACKED = 2 << 30
MAX_MEMBERS = 500_000


@dataclasses.dataclass(frozen=True)
class Export:
    """One OSV export as the build got it: its bytes and records, or why there is none."""

    data: bytes | None = None
    records: tuple[dict, ...] = ()
    source: dict | None = None  # for audit.json's "sources": type, file or url, sha256, records, newest-modified
    taken_at: str | None = None
    reason: str | None = None  # why there is no data

    @property
    def meta(self) -> dict:
        """meta.json, and mirror.json's "osv" entry: the facts about the served data."""
        if self.data is None:
            return {"meta-version": META_VERSION, "records": 0, "reason": self.reason, "sha256": None,
                    "newest-modified": None, "taken-at": None, "source": None}
        withdrawn = sum(1 for r in self.records if r.get("withdrawn"))
        return {
            "meta-version": META_VERSION,
            "records": len(self.records),
            "withdrawn": withdrawn,
            "sha256": hashlib.sha256(self.data).hexdigest(),
            "size": len(self.data),
            "newest-modified": self.source.get("newest-modified"),
            "taken-at": self.taken_at,
            "source": {k: v for k, v in self.source.items() if k in ("type", "file", "url")},
            "reason": self.reason,
            "path": f"{OSV_DIR}/PyPI/all.zip",
        }


def load_export(vuln_db: Path | None, url: str | None, *, ca_bundle: str | None = None,
                timeout: float = 10) -> Export:
    """The file when given, else the download when `url` answers, else an Export saying why not."""
    if vuln_db is not None:
        try:
            data = vuln_db.read_bytes()
        except OSError as exc:
            raise VulnDatabaseError(str(vuln_db), exc.strerror or str(exc)) from None
        records, source = parse_export(data, vuln_db.name, where=str(vuln_db))
        export = Export(data, tuple(records), source, taken_at=_zip_time(data))
        log.info("advisories: %d OSV records from the file %s (VULN_DB), sha256 %s", len(records),
                 vuln_db.name, source["sha256"][:12])
        return export
    if not url or url == "off":
        reason = ("no vulnerability source: no OSV export given (VULN_DB / --vuln-db) and downloading it is off "
                  "(VULN_DB_URL=off / --vuln-db-url off)")
        log.warning("advisories: none: %s", reason)
        return Export(reason=reason)
    # Credentials in VULN_DB_URL go to its own origin and nowhere else: not into a log line,
    # meta.json, audit.json or mirror.json (all of which show the bare URL).
    shown, credentials = strip_credentials(url)
    session = new_session()
    if credentials:
        session.auth.bind(shown, credentials)
    try:
        # One attempt: an air-gapped build must not wait through retries for a host it cannot reach.
        response = open_url(session, shown, verify=ca_bundle or True, timeout=(timeout, 300))
        data = read_body(response, limit=MAX_EXPORT, deadline=EXPORT_DEADLINE)
    except (Transient, TooLarge, UpstreamError) as exc:
        why = exc.reason if isinstance(exc, UpstreamError) else str(exc)
        reason = (f"no vulnerability source: no OSV export given (VULN_DB / --vuln-db) and {shown} is unreachable "
                  f"({mask(why)[:160]})")
        log.warning("advisories: none: %s", reason)
        return Export(reason=reason)
    records, source = parse_export(data, "all.zip", where=shown)
    source = {**source, "type": "osv-export-download", "url": shown}
    export = Export(data, tuple(records), source, taken_at=_http_time(response.headers.get("Last-Modified"))
                    or _zip_time(data))
    log.info("advisories: %d OSV records downloaded from %s, sha256 %s", len(records), shown, source["sha256"][:12])
    return export


def parse_export(data: bytes, name: str, *, where: str | None = None) -> tuple[list[dict], dict]:
    """Every record in an OSV export zip, and a description of the source for the audit report.
    `where` names the file in errors (its path), `name` in the description (the path is the host's business)."""
    label = where or name
    records = []
    unpacked = 0
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = [m for m in sorted(archive.namelist()) if m.endswith(".json")]
            if len(members) > MAX_MEMBERS:
                raise VulnDatabaseError(label, f"{len(members)} records, more than the {MAX_MEMBERS} this build reads")
            for member in members:
                raw = _read_member(archive, member, label)
                unpacked += len(raw)
                if unpacked > MAX_UNPACKED:
                    raise VulnDatabaseError(label, f"unpacks to more than {MAX_UNPACKED} bytes (a zip bomb?)")
                try:
                    record = json.loads(raw)
                except ValueError as exc:
                    raise VulnDatabaseError(label, f"{member} is not JSON ({exc})") from None
                except RecursionError:
                    raise VulnDatabaseError(label, f"{member} nests deeper than this build reads") from None
                if not isinstance(record, dict) or not isinstance(record.get("id"), str):
                    raise VulnDatabaseError(label, f"{member} is not an OSV record (no id)")
                records.append(record)
    except (zipfile.BadZipFile, EOFError):
        raise VulnDatabaseError(label, "not a zip file (expected OSV's export, e.g. PyPI/all.zip)") from None
    if not records:
        raise VulnDatabaseError(label, "holds no OSV records (*.json)")
    modified = [r["modified"] for r in records if isinstance(r.get("modified"), str)]
    # The file's name and hash, not its path: the path is the build host's business.
    return records, {"type": "osv-database", "file": name, "sha256": hashlib.sha256(data).hexdigest(),
                     "records": len(records), "newest-modified": max(modified, default=None)}


def _read_member(archive: zipfile.ZipFile, member: str, label: str) -> bytes:
    """One member's bytes, read no further than MAX_RECORD whatever its header claims."""
    try:
        with archive.open(member) as stream:
            raw = stream.read(MAX_RECORD + 1)
    except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError, EOFError, zlib.error) as exc:
        raise VulnDatabaseError(label, f"{member} cannot be unpacked ({type(exc).__name__})") from None
    if len(raw) > MAX_RECORD:
        raise VulnDatabaseError(label, f"{member} unpacks to more than {MAX_RECORD} bytes (a zip bomb?)")
    return raw


def write_osv_tree(export: Export, root: Path) -> dict:
    """`<root>/osv/`: the export, the per-project match data and records, the id index, meta.json."""
    started = time.monotonic()
    base = root / OSV_DIR
    meta = export.meta
    projects: dict[str, list[tuple[dict, str]]] = {}
    if export.data is not None:
        write_atomic(base / "PyPI" / "all.zip", export.data)
        unsafe, orphans = [], []
        by_id = {r["id"]: r for r in export.records}  # a repeated id: the last one, as a dict would
        for vuln_id, record in sorted(by_id.items()):
            if not ID_PATTERN.match(vuln_id):
                unsafe.append(vuln_id)
                continue
            # ASCII (\u escapes): character offsets are byte offsets, for njs's substring.
            text = json.dumps(record, ensure_ascii=True, separators=(",", ":"))
            compiled = {n: e for n, e in compile_record(record).items() if NAME_PATTERN.match(n)}
            for name, entries in compiled.items():
                projects.setdefault(name, []).append(({"id": vuln_id, "modified": record.get("modified"),
                                                       "affected": entries}, text))
            if not compiled:  # withdrawn, or no PyPI package: served by id only
                orphans.append((vuln_id, text))
        if unsafe:
            log.warning("advisories: left out %d records whose id cannot be a file name: %s", len(unsafe),
                        ", ".join(repr(i) for i in unsafe[:5]))
        ids: dict[str, dict[str, list]] = {}
        folder = base / "projects"
        folder.mkdir(parents=True, exist_ok=True)
        # The staging tree is fresh and moved into place whole: no temp file per file needed.
        for name, found in projects.items():
            entries, offset, texts = [], 0, []
            for entry, text in found:
                entries.append({**entry, "at": [offset, len(text)]})
                ids.setdefault(id_shard(entry["id"]), {})[entry["id"]] = [f"projects/{name}.records", offset,
                                                                          len(text)]
                texts.append(text)
                offset += len(text)
            (folder / f"{name}.records").write_text("".join(texts), encoding="ascii")
            (folder / f"{name}.json").write_text(
                json.dumps({"name": name, "records": entries}, separators=(",", ":")), encoding="ascii")
        index = base / "ids"
        index.mkdir(parents=True, exist_ok=True)
        offset = 0
        for vuln_id, text in orphans:
            ids.setdefault(id_shard(vuln_id), {})[vuln_id] = ["ids/orphans.records", offset, len(text)]
            offset += len(text)
        (index / "orphans.records").write_text("".join(t for _, t in orphans), encoding="ascii")
        for shard, entries in ids.items():
            (index / f"{shard}.json").write_text(json.dumps(entries, separators=(",", ":"), sort_keys=True),
                                                 encoding="ascii")
        meta = {**meta, "projects": len(projects), "served": len(by_id) - len(unsafe),
                "derived": derived_digest(base)}
    write_atomic(base / META_NAME, (json.dumps(meta, indent=1, sort_keys=True) + "\n").encode("utf-8"))
    log.info("advisories: wrote %s/ (%d records, %d projects) in %.1f s", OSV_DIR, meta["records"],
             len(projects), time.monotonic() - started)
    return meta


def id_shard(vuln_id: str) -> str:
    """Which ids/<shard>.json indexes a record: md5's first two hex digits (nginx/osv.js computes the same)."""
    return hashlib.md5(vuln_id.encode("ascii")).hexdigest()[:2]


def derived_digest(base: Path) -> dict:
    """The per-record and per-project files in one hash (mirror.json lists the export and
    meta.json, not these tens of thousands): sha256 over `<sha256>  <path>` lines, sorted by path,
    which is `sha256sum` output for them, run from the tree's root."""
    lines = []
    for folder in ("projects", "ids"):
        for path in sorted((base / folder).iterdir()):
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            lines.append(f"{digest}  {OSV_DIR}/{folder}/{path.name}\n")
    lines.sort(key=lambda line: line.split("  ", 1)[1])
    return {"files": len(lines), "sha256sum-sha256": hashlib.sha256("".join(lines).encode()).hexdigest()}


def _zip_time(data: bytes) -> str | None:
    """The newest member time in the zip (zip times have no zone: taken as UTC), as RFC 3339."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            newest = max((i.date_time for i in archive.infolist()), default=None)
    except zipfile.BadZipFile:
        return None
    return datetime.datetime(*newest).strftime("%Y-%m-%dT%H:%M:%SZ") if newest else None


def _http_time(header: str | None) -> str | None:
    if not header:
        return None
    try:
        moment = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
