"""Lock -> audit report: every mirrored release checked for known vulnerabilities.

The data is OSV's (https://ossf.github.io/osv-schema/): either an export
passed in as a file (the per-ecosystem zip of `<ID>.json` records OSV
publishes for PyPI; what an air-gapped build host has), or OSV's online API
when the build can reach it. Both feed the same matcher.

A report that did not run says so (`"ran": false` and why): an audit that
could not look must never read as "no vulnerabilities".

A release named by a `MAL-` record (OpenSSF malicious-packages, in OSV's
export) is not a vulnerability to weigh: it is refused in every mode but
off, unless the ignore list names the record.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

import requests
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from mirror.advisories.osvmatch import (VERSION_RANGES, compile_range, compile_record, in_range, key_of, matches,
                             pypi_affected, version_key)
from mirror.advisories.severity import severity_of
from mirror.advisories.vulndb import Export, parse_export
from mirror.core.http import TooLarge, Transient, get_bytes, mask, new_session, read_body
from mirror.errors import (AuditUnavailableError, InputError, MaliciousReleaseError, UpstreamError,
                           VulnDatabaseError, VulnerabilitiesFoundError)
from mirror.resolve.lock import Lock
from mirror.settings import FIELDS

log = logging.getLogger(__name__)

MODES = FIELDS["audit"].metadata["choices"]
SERVICES = FIELDS["vuln_service"].metadata["choices"]
OSV_API = "https://api.osv.dev/v1"
REPORT_VERSION = 1
MALICIOUS_PREFIX = "MAL-"  # OpenSSF malicious-packages ids, as OSV publishes them


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
    severity: str | None = None  # LOW, MODERATE, HIGH, CRITICAL (mirror/advisories/severity.py), or None: not said

    @property
    def malicious(self) -> bool:
        """A malicious-packages record (its id or an alias is MAL-...): the release is malware, not flawed."""
        return any(i.startswith(MALICIOUS_PREFIX) for i in (self.id, *self.aliases))

    def to_json(self) -> dict:
        entry = {"name": self.name, "version": self.version, "id": self.id, "aliases": list(self.aliases),
                 "fixed-in": list(self.fixed), "summary": self.summary, "severity": self.severity}
        if self.malicious:
            entry["malicious"] = True
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
    # Filled in after the download (mirror/pipeline.py): what the provenance check and PEP 792 found.
    provenance: dict | None = None
    project_status: dict | None = None

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
        if self.provenance is not None:
            document["provenance"] = self.provenance
        if self.project_status is not None:
            document["project-status"] = self.project_status
        return json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def audit(lock: Lock, *, mode: str = "warn", vuln_db: Path | None = None, vuln_service: str | None = None,
          ignore_file: Path | None = None, ca_bundle: str | None = None, export: Export | None = None) -> AuditReport:
    """The report for every (name, version) the lock mirrors; raises in `fail` mode when it must.

    `export`: the OSV export the build loaded (mirror/advisories/vulndb.py), the same data the appliance
    serves under /osv/, used instead of reading `vuln_db` again."""
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
    if export is not None and export.data is not None:
        records.update((r["id"], r) for r in export.records)
        sources.append(export.source)
    elif export is not None:
        problems.append(export.reason)
    elif vuln_db is not None:
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
    if vuln_db is None and vuln_service is None and export is None:
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
    malicious = [f for f in report.vulnerabilities if f.malicious]
    for f in malicious:
        log.error("malicious release: %s %s %s: %s", f.name, f.version, f.id, f.summary)
    if malicious:
        raise MaliciousReleaseError([(f.name, f.version, f.id) for f in malicious])
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
    return parse_export(data, path.name, where=str(path))


class _Unreachable(Exception):
    pass


def query_osv_service(pins: tuple[tuple[str, str], ...], *, ca_bundle: str | None = None,
                      api: str = OSV_API) -> tuple[list[dict], dict]:
    """OSV's online API: one batch query for the ids, then each full record (the batch answer has ids only)."""
    session, verify = new_session(), ca_bundle or True
    try:
        queries = [{"package": {"name": name, "ecosystem": "PyPI"}, "version": version} for name, version in pins]
        response = session.post(f"{api}/querybatch", timeout=(10, 60), stream=True, verify=verify,
                                json={"queries": queries})
        response.raise_for_status()
        answer = json.loads(read_body(response))
        ids = sorted({v["id"] for result in answer["results"] for v in result.get("vulns", [])})
        records = []
        for vuln_id in ids:
            body, _ = get_bytes(session, f"{api}/vulns/{vuln_id}", verify=verify)
            records.append(json.loads(body))
    except (requests.RequestException, ValueError, KeyError, TypeError, AttributeError, RecursionError,
            TooLarge, Transient, UpstreamError) as exc:
        raise _Unreachable(mask(str(exc))[:200]) from exc
    modified = [r["modified"] for r in records if isinstance(r.get("modified"), str)]
    return records, {"type": "osv-service", "url": api, "records": len(records),
                     "newest-modified": max(modified, default=None)}


def match(records: list[dict], pins: tuple[tuple[str, str], ...], ignores: dict[str, str]) -> list[Finding]:
    """Every (pin, record) that matches, through the compiled form nginx serves (mirror/advisories/osvmatch.py)."""
    by_name: dict[str, list[tuple[dict, list[dict]]]] = {}
    for record in records:
        for name, entries in compile_record(record).items():  # {} for a withdrawn record
            by_name.setdefault(name, []).append((record, entries))
    findings = []
    for name, version in pins:
        key = version_key(version)
        for record, entries in by_name.get(name, []):
            if not matches(entries, key):
                continue
            finding = _finding(record, name, version)
            reason = next((ignores[i] for i in (finding.id, *finding.aliases) if i in ignores), None)
            findings.append(dataclasses.replace(finding, ignored=reason))
    return findings


def affects(record: dict, name: str, version: str) -> Finding | None:
    """The finding if this (not withdrawn) OSV record covers name==version, else None."""
    if not matches(compile_record(record).get(canonicalize_name(name), []), version_key(version)):
        return None
    return _finding(record, canonicalize_name(name), version)


def _finding(record: dict, name: str, version: str) -> Finding:
    parsed = _version(version)
    fixed: set[str] = set()
    for affected in pypi_affected(record):
        if canonicalize_name(affected["package"]["name"]) != name:
            continue
        for r in affected.get("ranges") or []:
            if r.get("type") not in VERSION_RANGES or parsed is None:
                continue
            events = r.get("events") or []
            if in_events(parsed, events):
                fixed.update(e["fixed"] for e in events if "fixed" in e and _above(e["fixed"], parsed))
    return Finding(
        name=name, version=version, id=record["id"],
        aliases=tuple(sorted(a for a in record.get("aliases") or [] if a != record["id"])),
        fixed=tuple(sorted(fixed, key=Version)),
        summary=_summary(record),
        severity=severity_of(record),
    )


def in_events(version: Version, events: list[dict]) -> bool:
    """OSV's range evaluation (osvmatch.in_range) on one range's raw events. Unparsable events: not affected."""
    compiled = compile_range({"events": events})
    key = key_of(version)
    return compiled is not None and key is not None and in_range(compiled, key)


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
