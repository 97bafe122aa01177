"""Lock -> audit report: every mirrored release checked for known vulnerabilities.

The data is OSV's (https://ossf.github.io/osv-schema/): either an export
passed in as a file (the per-ecosystem zip of `<ID>.json` records OSV
publishes for PyPI; what an air-gapped build host has), or OSV's online API
when the build can reach it. Both feed the same matcher.

A report that did not run says so (`"ran": false` and why): an audit that
could not look must never read as "no vulnerabilities".
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import logging
import zipfile
from pathlib import Path

import requests
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from mirror.errors import AuditUnavailableError, InputError, VulnDatabaseError, VulnerabilitiesFoundError
from mirror.lock import Lock
from mirror.settings import FIELDS
from mirror.severity import severity_of

log = logging.getLogger(__name__)

MODES = FIELDS["audit"].metadata["choices"]
SERVICES = FIELDS["vuln_service"].metadata["choices"]
OSV_API = "https://api.osv.dev/v1"
REPORT_VERSION = 1
# Range types whose events are package versions; GIT ranges name commits.
_VERSION_RANGES = ("ECOSYSTEM", "SEMVER")


@dataclasses.dataclass(frozen=True, order=True)
class Finding:
    """One OSV record that affects one mirrored release."""

    name: str
    version: str
    id: str
    aliases: tuple[str, ...] = ()
    fixed: tuple[str, ...] = ()  # versions that fix it, above this one, oldest first
    summary: str = ""
    ignored: str | None = None  # the ignore list's reason, when it names this record
    severity: str | None = None  # LOW, MODERATE, HIGH, CRITICAL (mirror/severity.py), or None: not said

    def to_json(self) -> dict:
        entry = {"name": self.name, "version": self.version, "id": self.id, "aliases": list(self.aliases),
                 "fixed-in": list(self.fixed), "summary": self.summary, "severity": self.severity}
        if self.ignored is not None:
            entry["reason"] = self.ignored
        return entry


@dataclasses.dataclass(frozen=True)
class AuditReport:
    mode: str
    ran: bool
    reason: str | None = None  # why it did not run, or which source failed when another one ran
    sources: tuple[dict, ...] = ()
    audited: tuple[tuple[str, str], ...] = ()  # (name, version), sorted
    findings: tuple[Finding, ...] = ()
    ignore_list: tuple[tuple[str, str], ...] = ()  # (id, reason) as the file gave them

    @property
    def vulnerabilities(self) -> list[Finding]:
        return [f for f in self.findings if f.ignored is None]

    @property
    def ignored(self) -> list[Finding]:
        return [f for f in self.findings if f.ignored is not None]

    def to_json(self) -> str:
        document = {
            "report-version": REPORT_VERSION,
            "mode": self.mode,
            "ran": self.ran,
            "reason": self.reason,
            "sources": list(self.sources),
            "audited": [f"{n}=={v}" for n, v in self.audited],
            # null, not [], when nothing was looked at
            "vulnerabilities": [f.to_json() for f in self.vulnerabilities] if self.ran else None,
            "ignored": [f.to_json() for f in self.ignored] if self.ran else None,
            "ignore-list": [{"id": i, "reason": r} for i, r in self.ignore_list],
        }
        return json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def audit(lock: Lock, *, mode: str = "warn", vuln_db: Path | None = None, vuln_service: str | None = None,
          ignore_file: Path | None = None, ca_bundle: str | None = None) -> AuditReport:
    """The report for every (name, version) the lock mirrors; raises in `fail` mode when it must."""
    if mode not in MODES:
        raise InputError(f"unknown audit mode {mode!r}; accepted: {', '.join(MODES)}")
    if vuln_service is not None and vuln_service not in SERVICES:
        raise InputError(f"unknown vulnerability service {vuln_service!r}; accepted: {', '.join(SERVICES)}")
    ignores = read_ignore_list(ignore_file) if ignore_file else {}
    ignore_list = tuple(ignores.items())
    pins = tuple(sorted({(f.name, f.version) for f in lock.files}))
    if mode == "off":
        return AuditReport(mode, ran=False, reason="turned off (AUDIT=off / --audit off)", ignore_list=ignore_list)

    records: dict[str, dict] = {}  # by id: both sources may hold the same record
    sources, problems = [], []
    if vuln_db is not None:
        found, source = read_osv_export(vuln_db)
        records.update((r["id"], r) for r in found)
        sources.append(source)
    if vuln_service == "osv":
        try:
            found, source = query_osv_service(pins, ca_bundle=ca_bundle)
            records.update((r["id"], r) for r in found if r["id"] not in records)
            sources.append(source)
        except _Unreachable as exc:
            problems.append(f"OSV service unreachable ({exc})")
    if vuln_db is None and vuln_service is None:
        problems.append("no vulnerability source: pass an OSV database export (VULN_DB / --vuln-db) "
                        "or use the online service (--vuln-service osv)")
    if problems and (mode == "fail" or not sources):
        reason = "; ".join(problems)
        if mode == "fail":
            raise AuditUnavailableError(reason)
        log.warning("audit did not run: %s", reason)
        return AuditReport(mode, ran=False, reason=reason, audited=pins, ignore_list=ignore_list)

    findings = tuple(sorted(match(list(records.values()), pins, ignores)))
    report = AuditReport(mode, ran=True, reason="; ".join(problems) or None, sources=tuple(sources), audited=pins,
                         findings=findings, ignore_list=ignore_list)
    for f in report.vulnerabilities:
        log.warning("known vulnerability: %s %s %s%s", f.name, f.version, f.id,
                    f", fixed in {', '.join(f.fixed)}" if f.fixed else ", no fix known")
    log.info("audited %d releases against %s: %d known vulnerabilities, %d ignored", len(pins),
             " and ".join(s["type"] for s in sources), len(report.vulnerabilities), len(report.ignored))
    if mode == "fail" and report.vulnerabilities:
        raise VulnerabilitiesFoundError([(f.name, f.version, f.id, f.aliases, f.fixed) for f in report.vulnerabilities])
    return report


def read_ignore_list(path: Path) -> dict[str, str]:
    """`ID  reason` per line, `#` comments: id -> reason. A reason is required: an ignore must say why."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"audit ignore file {path}: {exc.strerror or exc}") from None
    ignores = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        vuln_id, *rest = line.split(None, 1)
        reason = rest[0] if rest else ""
        if not reason.strip():
            raise InputError(f"audit ignore file {path}, line {number}: {vuln_id} has no reason "
                             "(write `ID  reason`)")
        ignores[vuln_id] = reason.strip()
    return ignores


def read_osv_export(path: Path) -> tuple[list[dict], dict]:
    """Every record in an OSV export zip, and a description of the source for the report."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise VulnDatabaseError(str(path), exc.strerror or str(exc)) from None
    records = []
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for member in sorted(archive.namelist()):
                if not member.endswith(".json"):
                    continue
                try:
                    record = json.loads(archive.read(member))
                except ValueError as exc:
                    raise VulnDatabaseError(str(path), f"{member} is not JSON ({exc})") from None
                if not isinstance(record, dict) or not isinstance(record.get("id"), str):
                    raise VulnDatabaseError(str(path), f"{member} is not an OSV record (no id)")
                records.append(record)
    except zipfile.BadZipFile:
        raise VulnDatabaseError(str(path), "not a zip file (expected OSV's export, e.g. PyPI/all.zip)") from None
    if not records:
        raise VulnDatabaseError(str(path), "holds no OSV records (*.json)")
    modified = [r["modified"] for r in records if isinstance(r.get("modified"), str)]
    # The file's name and hash, not its path: the path is the build host's business.
    return records, {"type": "osv-database", "file": path.name, "sha256": hashlib.sha256(data).hexdigest(),
                     "records": len(records), "newest-modified": max(modified, default=None)}


class _Unreachable(Exception):
    pass


def query_osv_service(pins: tuple[tuple[str, str], ...], *, ca_bundle: str | None = None,
                      api: str = OSV_API) -> tuple[list[dict], dict]:
    """OSV's online API: one batch query for the ids, then each full record (the batch answer has ids only)."""
    session = requests.Session()
    session.headers["User-Agent"] = "pypi-mirror"
    if ca_bundle:
        session.verify = ca_bundle
    try:
        response = session.post(f"{api}/querybatch", timeout=(10, 60), json={"queries": [
            {"package": {"name": name, "ecosystem": "PyPI"}, "version": version} for name, version in pins]})
        response.raise_for_status()
        ids = sorted({v["id"] for result in response.json()["results"] for v in result.get("vulns", [])})
        records = []
        for vuln_id in ids:
            answer = session.get(f"{api}/vulns/{vuln_id}", timeout=(10, 60))
            answer.raise_for_status()
            records.append(answer.json())
    except (requests.RequestException, ValueError, KeyError, TypeError) as exc:
        raise _Unreachable(str(exc)[:200]) from exc
    modified = [r["modified"] for r in records if isinstance(r.get("modified"), str)]
    return records, {"type": "osv-service", "url": api, "records": len(records),
                     "newest-modified": max(modified, default=None)}


def match(records: list[dict], pins: tuple[tuple[str, str], ...], ignores: dict[str, str]) -> list[Finding]:
    by_name: dict[str, list[dict]] = {}
    for record in records:
        if record.get("withdrawn"):
            continue  # its publisher no longer stands behind it
        for name in {canonicalize_name(a["package"]["name"]) for a in _pypi_affected(record)}:
            by_name.setdefault(name, []).append(record)
    findings = []
    for name, version in pins:
        for record in by_name.get(name, []):
            finding = affects(record, name, version)
            if finding is None:
                continue
            reason = next((ignores[i] for i in (finding.id, *finding.aliases) if i in ignores), None)
            findings.append(dataclasses.replace(finding, ignored=reason))
    return findings


def affects(record: dict, name: str, version: str) -> Finding | None:
    """The finding if this (not withdrawn) OSV record covers name==version, else None."""
    if record.get("withdrawn"):
        return None
    parsed = _version(version)
    fixed: set[str] = set()
    hit = False
    for affected in _pypi_affected(record):
        if canonicalize_name(affected["package"]["name"]) != name:
            continue
        listed = any(v == version or (parsed is not None and _version(v) == parsed)
                     for v in affected.get("versions") or [])
        in_range = False
        for r in affected.get("ranges") or []:
            if r.get("type") not in _VERSION_RANGES or parsed is None:
                continue
            events = r.get("events") or []
            if in_events(parsed, events):
                in_range = True
                fixed.update(e["fixed"] for e in events if "fixed" in e and _above(e["fixed"], parsed))
        if listed or in_range:
            hit = True
    if not hit:
        return None
    return Finding(
        name=name, version=version, id=record["id"],
        aliases=tuple(sorted(a for a in record.get("aliases") or [] if a != record["id"])),
        fixed=tuple(sorted(fixed, key=Version)),
        summary=_summary(record),
        severity=severity_of(record),
    )


def in_events(version: Version, events: list[dict]) -> bool:
    """OSV's range evaluation: walk the events in version order; introduced opens, fixed and
    last_affected close; a limit caps the whole range. Unparsable events: not affected."""
    walk = []
    limits = []
    for event in events:
        for kind in ("introduced", "fixed", "last_affected", "limit"):
            if kind not in event:
                continue
            value = event[kind]
            if kind == "introduced" and value == "0":
                walk.append((0, None, kind))  # "0": before every version, pre-releases included
                continue
            if kind == "limit" and value == "*":
                continue
            bound = _version(value)
            if bound is None:
                return False
            (limits if kind == "limit" else walk).append((1, bound, kind))
    if any(version >= bound for _, bound, _ in limits):
        return False
    affected = False
    for _, bound, kind in sorted(walk, key=lambda e: (e[0], e[1] or Version("0"))):
        if kind == "introduced" and (bound is None or version >= bound):
            affected = True
        elif kind == "fixed" and version >= bound:
            affected = False
        elif kind == "last_affected" and version > bound:
            affected = False
    return affected


def _pypi_affected(record: dict) -> list[dict]:
    return [a for a in record.get("affected") or []
            if isinstance(a.get("package"), dict) and a["package"].get("ecosystem") == "PyPI"
            and isinstance(a["package"].get("name"), str)]


def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except (InvalidVersion, TypeError):
        return None


def _above(text: str, version: Version) -> bool:
    bound = _version(text)
    return bound is not None and bound > version


def _summary(record: dict) -> str:
    text = record.get("summary") or (record.get("details") or "").strip().split("\n", 1)[0]
    return text if len(text) <= 200 else text[:199] + "\u2026"
