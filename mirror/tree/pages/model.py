"""What the pages for people show, as plain records: one Site, built once.

It is built from the records the index is built from (index.Project, the
lock, the audit report, changes.json's document, the vulnerability data's
meta), so the pages cannot disagree with the Simple API or audit.json. The
templates only lay it out; the unit tests compare these records exactly.

Every href is relative to the site root (`projects/requests/`,
`osv/v1/vulns/PYSEC-2018-28`); a page prefixes its own way back to the root,
so the tree works under any host, path prefix and from file://.
"""

from __future__ import annotations

import dataclasses
import urllib.parse

from mirror.advisories.audit import AuditReport, Finding
from mirror.advisories.severity import LEVELS
from mirror.resolve.lock import Lock
from mirror.tree.index import PACKAGES, Project

PROJECTS = "projects"
VULNS = "osv/v1/vulns"
TOP = 10  # bars per chart


@dataclasses.dataclass(frozen=True)
class Advisory:
    id: str
    aliases: tuple[str, ...]
    summary: str
    fixed: tuple[str, ...]
    severity: str | None  # one of severity.LEVELS, or None: the record does not say
    href: str  # the record, as the appliance's vulnerability endpoint serves it
    ignored: str | None = None  # the ignore list's reason
    malicious: bool = False  # a MAL- record: malware, not a flaw (a build lets it in only when ignored)


@dataclasses.dataclass(frozen=True)
class FileEntry:
    filename: str
    href: str
    size: int
    sha256: str
    upload_time: str | None
    requires_python: str | None
    yanked: bool | str
    targets: tuple[str, ...]  # the targets it is the file for, in the lock's order
    all_targets: bool
    provenance: dict | None = None  # verified PEP 740 provenance: {"href", "publishers", "verified-at"}


@dataclasses.dataclass(frozen=True)
class Release:
    version: str
    files: tuple[FileEntry, ...]
    targets: tuple[str, ...]
    advisories: tuple[Advisory, ...]  # known ones first (most severe first), then the ignored

    @property
    def known(self) -> tuple[Advisory, ...]:
        return tuple(a for a in self.advisories if a.ignored is None)


@dataclasses.dataclass(frozen=True)
class ProjectPage:
    name: str
    href: str
    releases: tuple[Release, ...]  # newest first
    size: int
    files: int
    targets: tuple[str, ...]  # covered by at least one file, in the lock's order
    advisories: int  # known (not ignored) findings over all releases
    worst: str | None  # the most severe known advisory's severity
    status: str | None = None  # PEP 792, when the index gave one other than active
    status_reason: str | None = None


@dataclasses.dataclass(frozen=True)
class Bar:
    label: str
    value: str  # as shown next to the label
    percent: float  # of the chart's width, the largest bar 100
    tone: str  # a CSS class: "size", or a severity in lower case, or "unrated"
    href: str | None = None


@dataclasses.dataclass(frozen=True)
class Chart:
    id: str
    title: str
    bars: tuple[Bar, ...]


@dataclasses.dataclass(frozen=True)
class DataSource:
    """Where the vulnerability data came from, and how fresh it is."""

    label: str
    records: int | None
    newest_modified: str | None
    taken_at: str | None = None
    sha256: str | None = None


@dataclasses.dataclass(frozen=True)
class ServedData:
    """The advisories this appliance serves at osv/ (the facts of osv/meta.json)."""

    records: int
    newest_modified: str | None
    taken_at: str | None
    sha256: str | None
    reason: str | None  # why there are none, when records is 0


@dataclasses.dataclass(frozen=True)
class AuditSummary:
    ran: bool
    reason: str | None
    releases: int
    known: int
    ignored: int
    affected_releases: int
    sources: tuple[DataSource, ...]


@dataclasses.dataclass(frozen=True)
class Change:
    label: str
    href: str | None = None  # the project page, when the project is still here


@dataclasses.dataclass(frozen=True)
class ChangeGroup:
    kind: str
    items: tuple[Change, ...]


@dataclasses.dataclass(frozen=True)
class Document:
    href: str
    label: str
    what: str


@dataclasses.dataclass(frozen=True)
class Summary:
    projects: int
    files: int
    bytes: int
    targets: tuple[str, ...]
    platforms: tuple[tuple[str, tuple[str, ...]], ...]  # the targets as platform -> Python versions
    built: str | None
    lock_sha256: str
    index_url: str


@dataclasses.dataclass(frozen=True)
class Site:
    summary: Summary
    audit: AuditSummary | None
    projects: tuple[ProjectPage, ...]
    charts: tuple[Chart, ...]
    changes: tuple[ChangeGroup, ...] | None  # None: not a refresh
    documents: tuple[Document, ...]
    served: ServedData | None = None  # None: this build serves no vulnerability endpoint


def build_site(projects: list[Project], lock: Lock, audit: AuditReport | None = None, changes: dict | None = None,
               built: str | None = None, osv: dict | None = None) -> Site:
    all_targets = tuple(str(t) for t in lock.targets)
    by_filename = {f.filename: f for f in lock.files}
    findings: dict[tuple[str, str], list[Finding]] = {}
    for finding in (audit.findings if audit and audit.ran else ()):
        findings.setdefault((finding.name, finding.version), []).append(finding)
    pages = tuple(_project(p, all_targets, by_filename, findings) for p in projects)
    summary = Summary(
        projects=len(pages), files=sum(p.files for p in pages), bytes=sum(p.size for p in pages),
        targets=all_targets, platforms=_platforms(lock), built=built, lock_sha256=lock.sha256,
        index_url=lock.index_url,
    )
    present = {p.name for p in pages}
    return Site(
        summary=summary,
        audit=_audit_summary(audit, pages) if audit else None,
        projects=pages,
        charts=_charts(pages, audit),
        changes=_changes(changes, present) if changes else None,
        documents=_documents(changes is not None, bool(osv and osv.get("records"))),
        served=_served(osv) if osv is not None else None,
    )


def project_href(name: str) -> str:
    return f"{PROJECTS}/{name}/"


def vuln_href(vuln_id: str) -> str:
    return f"{VULNS}/{urllib.parse.quote(vuln_id, safe='')}"


def severity_rank(severity: str | None) -> int:
    """0 for CRITICAL ... 3 for LOW, 4 for unrated: sorts most severe first."""
    return LEVELS.index(severity) if severity in LEVELS else len(LEVELS)


def _platforms(lock: Lock) -> tuple[tuple[str, tuple[str, ...]], ...]:
    pythons: dict[str, list[str]] = {}
    for target in lock.targets:  # sorted by Python version
        pythons.setdefault(target.platform, []).append(target.python)
    return tuple((platform, tuple(versions)) for platform, versions in sorted(pythons.items()))


def _project(project: Project, all_targets: tuple[str, ...], by_filename: dict,
             findings: dict[tuple[str, str], list[Finding]]) -> ProjectPage:
    files_by_version: dict[str, list[FileEntry]] = {v: [] for v in project.versions}
    for f in project.files:
        locked = by_filename[f.filename]  # the index is built from the lock's files
        served = set(locked.targets)
        targets = tuple(t for t in all_targets if t in served)
        entry = FileEntry(
            filename=f.filename, href=f"{PACKAGES}/{urllib.parse.quote(f.filename)}", size=f.size, sha256=f.sha256,
            upload_time=f.upload_time, requires_python=f.requires_python, yanked=f.yanked, targets=targets,
            all_targets=bool(all_targets) and len(targets) == len(all_targets),
            provenance={"href": f"{PACKAGES}/{urllib.parse.quote(f.filename)}.provenance",
                        "publishers": locked.attestation["publishers"],
                        "verified-at": locked.attestation.get("verified-at")} if locked.attestation else None,
        )
        files_by_version[locked.version].append(entry)
    releases = []
    for version in reversed(project.versions):
        files = tuple(files_by_version[version])
        served = {t for f in files for t in f.targets}
        advisories = sorted((_advisory(f) for f in findings.get((project.name, version), [])),
                            key=lambda a: (a.ignored is not None, severity_rank(a.severity), a.id))
        releases.append(Release(version=version, files=files, targets=tuple(t for t in all_targets if t in served),
                                advisories=tuple(advisories)))
    served = {t for r in releases for t in r.targets}
    known = [a for r in releases for a in r.known]
    return ProjectPage(
        name=project.name, href=project_href(project.name), releases=tuple(releases),
        size=sum(f.size for f in project.files), files=len(project.files),
        targets=tuple(t for t in all_targets if t in served), advisories=len(known),
        worst=min((a.severity for a in known), key=severity_rank, default=None),
        status=project.status.status if project.status else None,
        status_reason=project.status.reason if project.status else None,
    )


def _advisory(finding: Finding) -> Advisory:
    return Advisory(id=finding.id, aliases=finding.aliases, summary=finding.summary, fixed=finding.fixed,
                    severity=finding.severity, href=vuln_href(finding.id), ignored=finding.ignored,
                    malicious=finding.malicious)


def _served(meta: dict) -> ServedData:
    return ServedData(records=meta.get("records") or 0, newest_modified=meta.get("newest-modified"),
                      taken_at=meta.get("taken-at"), sha256=meta.get("sha256"), reason=meta.get("reason"))


def _audit_summary(audit: AuditReport, pages: tuple[ProjectPage, ...]) -> AuditSummary:
    sources = [_source(s) for s in audit.sources]
    return AuditSummary(
        ran=audit.ran, reason=audit.reason, releases=len(audit.audited), known=len(audit.vulnerabilities),
        ignored=len(audit.ignored) if audit.ran else 0,
        affected_releases=sum(1 for p in pages for r in p.releases if r.known), sources=tuple(sources),
    )


def _source(source: dict) -> DataSource:
    if source.get("type") == "osv-database":
        label = f"OSV database export {source.get('file')}"
    elif source.get("type") == "osv-service":
        label = f"OSV online API {source.get('url')}"
    else:
        label = str(source.get("type"))
    return DataSource(label=label, records=source.get("records"), newest_modified=source.get("newest-modified"),
                      taken_at=source.get("taken-at"), sha256=source.get("sha256"))


def _charts(pages: tuple[ProjectPage, ...], audit: AuditReport | None) -> tuple[Chart, ...]:
    charts = []
    largest = sorted(pages, key=lambda p: (-p.size, p.name))[:TOP]
    if largest:
        charts.append(Chart("chart-size", "Largest projects by bytes", tuple(
            Bar(p.name, human_bytes(p.size), _percent(p.size, largest[0].size), "size", p.href) for p in largest)))
    if audit and audit.ran and audit.vulnerabilities:
        counts = {level: 0 for level in (*LEVELS, None)}
        for finding in audit.vulnerabilities:
            counts[finding.severity if finding.severity in LEVELS else None] += 1
        most = max(counts.values())
        charts.append(Chart("chart-severity", "Known advisories by severity (one per affected release)", tuple(
            Bar(level.lower() if level else "not rated", str(count), _percent(count, most),
                level.lower() if level else "unrated")
            for level, count in counts.items())))
        affected = sorted((p for p in pages if p.advisories), key=lambda p: (-p.advisories, p.name))[:TOP]
        charts.append(Chart("chart-projects", "Projects with the most known advisories", tuple(
            Bar(p.name, str(p.advisories), _percent(p.advisories, affected[0].advisories),
                p.worst.lower() if p.worst else "unrated", p.href) for p in affected)))
    return tuple(charts)


def _percent(value: int, largest: int) -> float:
    return round(100 * value / largest, 1) if largest else 0.0


def _changes(changes: dict, present: set[str]) -> tuple[ChangeGroup, ...]:
    def item(name: str, text: str) -> Change:
        return Change(f"{name} {text}", project_href(name) if name in present else None)

    projects = changes["projects"]
    groups = [
        ChangeGroup("added", tuple(item(p["name"], ", ".join(p["versions"])) for p in projects["added"])),
        ChangeGroup("removed", tuple(item(p["name"], ", ".join(p["versions"])) for p in projects["removed"])),
    ]
    for kind in ("upgraded", "downgraded", "changed"):
        groups.append(ChangeGroup(kind, tuple(
            item(p["name"], f"{', '.join(p['from'])} \u2192 {', '.join(p['to'])}") for p in projects[kind])))
    advisories = changes["advisories"]
    if advisories["compared"]:
        for kind in ("appeared", "gone"):
            groups.append(ChangeGroup(f"advisories {kind}", tuple(
                Change(f"{a['name']} {a['version']} {a['id']}", vuln_href(a["id"])) for a in advisories[kind])))
    return tuple(g for g in groups if g.items)


def _documents(refresh: bool, osv: bool) -> tuple[Document, ...]:
    documents = [
        Document("simple/", "simple/", "the Simple API: PEP 503 HTML and PEP 691 JSON"),
        Document("lock.json", "lock.json", "the lock this mirror was built from"),
        Document("mirror.json", "mirror.json", "the manifest: build time, targets, every file with its sha256"),
        Document("sbom.cdx.json", "sbom.cdx.json", "CycloneDX 1.6 SBOM, one component per release"),
        Document("audit.json", "audit.json", "the build-time vulnerability audit"),
    ]
    if refresh:
        documents.append(Document("changes.json", "changes.json", "what this refresh changed"))
    if osv:
        documents.append(Document("osv/meta.json", "osv/meta.json", "the vulnerability data served here: sha256, records, age"))
        documents.append(Document("osv/PyPI/all.zip", "osv/PyPI/all.zip", "that OSV export: osv-scanner's offline database"))
    documents += [
        Document("pip.conf", "pip.conf", "pip configuration for this address"),
        Document("uv.toml", "uv.toml", "uv configuration for this address"),
        Document("activate", "activate", "a POSIX sh script to source: pip, uv and pip-audit at once"),
    ]
    return tuple(documents)


def human_bytes(size: int) -> str:
    """Decimal units, as the rest of the mirror reports sizes: 1.3 MB, 980 kB, 512 B."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} B"
