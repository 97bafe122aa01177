"""Verified files -> the simple/ tree: one model, rendered as PEP 503 HTML and PEP 691 JSON.

Both formats are rendered from the same Project records, so they cannot
disagree. Every page is written with a gzip twin for nginx's gzip_static.
Hrefs are relative (../../packages/...) so the tree works under any host,
any path prefix and from file://.

API 1.4: a file with a verified PEP 740 provenance object links its copy
(packages/<file>.provenance, mirror/fetch/provenance.py), and a project whose index
gave a PEP 792 status other than active carries it. Nothing is invented:
no provenance is null (JSON) or no attribute (HTML), no status is no key.
"""

from __future__ import annotations

import dataclasses
import html
import json
import urllib.parse
from collections import defaultdict
from pathlib import Path

from packaging.utils import NormalizedName
from packaging.version import Version

from mirror.core.files import gzip_bytes, sha256_file, write_atomic
from mirror.fetch.metadata import wheel_metadata
from mirror.resolve.lock import LockedFile
from mirror.upstream.upstream import ProjectStatus

API_VERSION = "1.4"
PROVENANCE_SUFFIX = ".provenance"  # mirror/fetch/provenance.py writes it beside the file
PACKAGES = "packages"


@dataclasses.dataclass(frozen=True, order=True)
class IndexFile:
    filename: str
    sha256: str
    size: int
    upload_time: str | None
    requires_python: str | None
    yanked: bool | str
    metadata_sha256: str | None  # of the PEP 658 file; None for sdists
    provenance: bool = False  # PEP 740: packages/<file>.provenance exists (verified)


@dataclasses.dataclass(frozen=True)
class Project:
    name: NormalizedName
    versions: tuple[str, ...]  # oldest first
    files: tuple[IndexFile, ...]  # by filename
    status: ProjectStatus | None = None  # PEP 792, when the index gave one other than active


def build_projects(files: list[LockedFile], packages: Path,
                   statuses: dict[NormalizedName, ProjectStatus] | None = None) -> list[Project]:
    """The index model for files already verified in `packages`; writes their .metadata files."""
    by_name: dict[NormalizedName, list[tuple[LockedFile, IndexFile]]] = defaultdict(list)
    for f in files:
        path = packages / f.filename
        metadata_sha256 = None
        if f.filename.endswith(".whl"):
            metadata = wheel_metadata(path)
            metadata_path = packages / f"{f.filename}.metadata"
            write_atomic(metadata_path, metadata)
            metadata_sha256 = sha256_file(metadata_path)
        by_name[f.name].append((f, IndexFile(
            filename=f.filename, sha256=f.sha256, size=path.stat().st_size, upload_time=f.upload_time,
            requires_python=f.requires_python, yanked=f.yanked, metadata_sha256=metadata_sha256,
            provenance=(packages / (f.filename + PROVENANCE_SUFFIX)).is_file(),
        )))
    return [
        Project(
            name=name,
            versions=tuple(sorted({f.version for f, _ in entries}, key=Version)),
            files=tuple(sorted(i for _, i in entries)),
            status=(statuses or {}).get(name),
        )
        for name, entries in sorted(by_name.items())
    ]


def write_index(projects: list[Project], root: Path) -> None:
    """simple/ with root and project pages in both formats, each with a .gz twin."""
    simple = root / "simple"
    _write_page(simple / "index", render_root_html(projects), render_root_json(projects))
    for project in projects:
        _write_page(simple / project.name / "index", render_project_html(project), render_project_json(project))


def _write_page(stem: Path, html_text: str, json_text: str) -> None:
    for suffix, text in ((".html", html_text), (".json", json_text)):
        data = text.encode("utf-8")
        write_atomic(stem.with_suffix(suffix), data)
        write_atomic(stem.with_suffix(suffix + ".gz"), gzip_bytes(data))


def _href(filename: str) -> str:
    return f"../../{PACKAGES}/{urllib.parse.quote(filename)}"


_HEAD = """<!DOCTYPE html>
<html>
  <head>
    <meta name="pypi:repository-version" content="{api}">
    <title>{title}</title>
  </head>
  <body>
    <h1>{title}</h1>
"""
_STATUS = """    <meta name="pypi:project-status" content="{status}">
"""
_STATUS_REASON = """    <meta name="pypi:project-status-reason" content="{reason}">
"""
_TAIL = """  </body>
</html>
"""


def render_root_html(projects: list[Project]) -> str:
    lines = [_HEAD.format(api=API_VERSION, title="Simple index")]
    for p in projects:
        lines.append(f'    <a href="{html.escape(p.name)}/">{html.escape(p.name)}</a><br>\n')
    return "".join(lines) + _TAIL


def render_root_json(projects: list[Project]) -> str:
    return _json({"meta": {"api-version": API_VERSION}, "projects": [{"name": p.name} for p in projects]})


def render_project_html(project: Project) -> str:
    head = _HEAD.format(api=API_VERSION, title=f"Links for {html.escape(project.name)}")
    if project.status:
        meta = _STATUS.format(status=html.escape(project.status.status))
        if project.status.reason:
            meta += _STATUS_REASON.format(reason=html.escape(project.status.reason))
        head = head.replace("    <title>", meta + "    <title>", 1)
    lines = [head]
    for f in project.files:
        attrs = [f'href="{html.escape(_href(f.filename))}#sha256={f.sha256}"']
        if f.requires_python:
            attrs.append(f'data-requires-python="{html.escape(f.requires_python)}"')
        if f.yanked is not False:
            reason = f.yanked if isinstance(f.yanked, str) else ""
            attrs.append(f'data-yanked="{html.escape(reason)}"')
        if f.metadata_sha256:
            attrs.append(f'data-core-metadata="sha256={f.metadata_sha256}"')
        if f.provenance:
            attrs.append(f'data-provenance="{html.escape(_href(f.filename) + PROVENANCE_SUFFIX)}"')
        lines.append(f'    <a {" ".join(attrs)}>{html.escape(f.filename)}</a><br>\n')
    return "".join(lines) + _TAIL


def render_project_json(project: Project) -> str:
    files = []
    for f in project.files:
        entry: dict = {
            "filename": f.filename,
            "url": _href(f.filename),
            "hashes": {"sha256": f.sha256},
            "core-metadata": {"sha256": f.metadata_sha256} if f.metadata_sha256 else False,
            "yanked": f.yanked,
            "size": f.size,
            "provenance": _href(f.filename) + PROVENANCE_SUFFIX if f.provenance else None,
        }
        if f.requires_python:
            entry["requires-python"] = f.requires_python
        if f.upload_time:
            entry["upload-time"] = f.upload_time
        files.append(entry)
    document = {
        "meta": {"api-version": API_VERSION},
        "name": project.name,
        "versions": list(project.versions),
        "files": files,
    }
    if project.status:
        document["project-status"] = {"status": project.status.status,
                                      **({"reason": project.status.reason} if project.status.reason else {})}
    return _json(document)


def _json(document: dict) -> str:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
