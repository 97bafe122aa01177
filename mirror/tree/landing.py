"""The pages around the index: pages for people, client config for tools.

Index -> site: the front page (`index.html`), one page per project
(`projects/<name>/index.html`), their stylesheet and script (`assets/`),
and `pip.conf` / `uv.toml`. All of it comes from one model
(mirror/tree/pages/model.py) and template files (mirror/tree/pages/templates/,
rendered by Jinja2 with autoescaping: advisory text from OSV data never
becomes markup), drawn at build time: charts are inline SVG, and the
script only filters the table and copies commands.

The mirror cannot know the address clients will use, so these are templates
for nginx too: it replaces @MIRROR_URL@ (scheme://host:port), @MIRROR_HOST@,
@PIP_TRUSTED_HOST@ (a pip.conf line on plain HTTP, empty on HTTPS) and
@PIP_TRUSTED_HOST_FLAG@ per request (nginx/locations.conf).
"""

from __future__ import annotations

from pathlib import Path

import jinja2

from mirror.advisories.audit import AuditReport
from mirror.core.files import write_atomic
from mirror.resolve.lock import Lock
from mirror.tree.index import Project
from mirror.tree.pages.model import PROJECTS, ProjectPage, Site, build_site, human_bytes

PAGES = Path(__file__).parent / "pages"
ASSETS = "assets"
CLIENT_FILES = ("activate", "pip.conf", "uv.toml")


def write_landing(projects: list[Project], lock: Lock, root: Path, audit: AuditReport | None = None,
                  changes: dict | None = None, built: str | None = None, osv: dict | None = None) -> Site:
    """Every page for people into `root`; the site model they were drawn from.

    `osv`: the facts of osv/meta.json when the build serves a vulnerability endpoint."""
    site = build_site(projects, lock, audit, changes, built, osv=osv)
    pages = Pages()
    write_atomic(root / "index.html", pages.front(site).encode("utf-8"))
    for page in site.projects:
        write_atomic(root / PROJECTS / page.name / "index.html", pages.project(site, page).encode("utf-8"))
    for asset in sorted((PAGES / ASSETS).iterdir()):
        write_atomic(root / ASSETS / asset.name, asset.read_bytes())
    for name in CLIENT_FILES:
        write_atomic(root / name, (PAGES / "clients" / name).read_bytes())
    return site


class Pages:
    """The templates, loaded and compiled once per build."""

    def __init__(self):
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(PAGES / "templates"), autoescape=True,
            undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
        )
        self.env.filters["bytes"] = human_bytes
        self._front = self.env.get_template("index.html")
        self._project = self.env.get_template("project.html")

    def front(self, site: Site) -> str:
        return self._front.render(site=site, root="")

    def project(self, site: Site, page: ProjectPage) -> str:
        return self._project.render(site=site, p=page, root="../../")


def write_projects_map(projects: list[Project], path: Path) -> None:
    """nginx map lines, normalized name to itself: nginx matches map keys
    case-insensitively, so this is how it lowercases a requested name."""
    write_atomic(path, "".join(f"{p.name} {p.name};\n" for p in projects).encode("utf-8"))
