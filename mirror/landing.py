"""The pages around the index: a landing page for people, client config for tools.

The mirror cannot know the address clients will use, so these are templates:
nginx replaces @MIRROR_URL@ (scheme://host:port), @MIRROR_HOST@ and
@PIP_TRUSTED_HOST@ (a pip.conf line on plain HTTP, empty on HTTPS) per request.
"""

from __future__ import annotations

import html
from pathlib import Path

from mirror.audit import AuditReport
from mirror.files import write_atomic
from mirror.index import Project
from mirror.lock import Lock

PIP_CONF = """# pip configuration for the mirror at @MIRROR_URL@
# PIP_CONFIG_FILE=/path/to/this/file pip install PACKAGE, or save it as
# ~/.config/pip/pip.conf (one user) or /etc/pip.conf (everyone).
[global]
index-url = @MIRROR_URL@/simple/
@PIP_TRUSTED_HOST@
# pip-audit reads no pip.conf: give it the mirror's OSV endpoint in the environment
# (all of this, ready to source: @MIRROR_URL@/activate):
#   PIP_AUDIT_VULNERABILITY_SERVICE=osv PIP_AUDIT_OSV_URL=@MIRROR_URL@/osv/v1/query
"""

# A POSIX sh file to source: the index and pip-audit's OSV endpoint in the environment.
ACTIVATE = Path(__file__).with_name("templates") / "activate"

UV_TOML = """# uv configuration for the mirror at @MIRROR_URL@
# uv pip install --config-file /path/to/this/file PACKAGE (or UV_CONFIG_FILE=...),
# or save it as ~/.config/uv/uv.toml (one user) or /etc/uv/uv.toml (everyone).
# Credentials: UV_INDEX_PYPI_MIRROR_USERNAME / UV_INDEX_PYPI_MIRROR_PASSWORD or ~/.netrc.
[[index]]
name = "pypi-mirror"
url = "@MIRROR_URL@/simple/"
default = true
"""


def write_landing(projects: list[Project], lock: Lock, root: Path, audit: AuditReport | None = None,
                  changes: dict | None = None, built: str | None = None, osv: dict | None = None) -> None:
    page = render_landing(projects, lock, audit, changes, built, osv)
    write_atomic(root / "index.html", page.encode("utf-8"))
    write_atomic(root / "pip.conf", PIP_CONF.encode("utf-8"))
    write_atomic(root / "uv.toml", UV_TOML.encode("utf-8"))
    write_atomic(root / "activate", ACTIVATE.read_bytes())


def render_landing(projects: list[Project], lock: Lock, audit: AuditReport | None = None,
                   changes: dict | None = None, built: str | None = None, osv: dict | None = None) -> str:
    files = sum(len(p.files) for p in projects)
    lock_sha256 = lock.sha256
    size = sum(f.size for p in projects for f in p.files)
    targets = ", ".join(html.escape(str(t)) for t in lock.targets)
    rows = "".join(
        f'      <tr><td><a href="simple/{p.name}/">{html.escape(p.name)}</a></td>'
        f"<td>{html.escape(', '.join(p.versions))}</td><td>{len(p.files)}</td></tr>\n"
        for p in projects
    )
    return f"""<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <title>pypi-mirror</title>
    <style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}pre{{background:#eee;padding:.7em}}td{{padding:0 1em 0 0}}</style>
  </head>
  <body>
    <h1>pypi-mirror</h1>
    <p>An offline Python package index: {len(projects)} projects, {files} files ({size / 1e6:.1f} MB),
      for {targets}. Upstream at build time: <code>{html.escape(lock.index_url)}</code>.</p>
    <p>Identity (the same in <a href="mirror.json">mirror.json</a> and the image labels):
      lock sha256 <code>{lock_sha256}</code>, built {html.escape(built or "at an unknown time")}.</p>
    <h2>Use it</h2>
    <p>pip:</p>
    <pre>pip install --index-url @MIRROR_URL@/simple/ @PIP_TRUSTED_HOST_FLAG@PACKAGE</pre>
    <p>uv:</p>
    <pre>uv pip install --index-url @MIRROR_URL@/simple/ PACKAGE</pre>
    <p>Or configure the client once: save <a href="pip.conf">pip.conf</a> as <code>~/.config/pip/pip.conf</code>
      (or point <code>PIP_CONFIG_FILE</code> at it) and <a href="uv.toml">uv.toml</a> as <code>~/.config/uv/uv.toml</code>
      (or point <code>UV_CONFIG_FILE</code> at it):</p>
    <pre>curl -fsSo pip.conf @MIRROR_URL@/pip.conf &amp;&amp; PIP_CONFIG_FILE=$PWD/pip.conf pip install PACKAGE
curl -fsSo uv.toml @MIRROR_URL@/uv.toml &amp;&amp; UV_CONFIG_FILE=$PWD/uv.toml uv pip install PACKAGE</pre>
    <p>The same as environment variables (<code>PIP_TRUSTED_HOST</code> only over plain HTTP, where pip
      refuses any host but localhost without it):</p>
    <pre>export PIP_INDEX_URL=@MIRROR_URL@/simple/ PIP_TRUSTED_HOST=@MIRROR_HOST@
export UV_DEFAULT_INDEX=@MIRROR_URL@/simple/</pre>
    <p>HTTPS with a certificate from a private CA: pip takes <code>PIP_CERT=/path/to/ca.pem</code>
      (<code>cert = ...</code> in pip.conf). uv does not read the system store by default:
      <code>SSL_CERT_FILE=/path/to/ca.pem</code> <em>replaces</em> uv's built-in roots (the file must hold every CA uv
      needs), or <code>UV_SYSTEM_CERTS=1</code> (older uv: <code>UV_NATIVE_TLS=1</code>) makes uv use the system store.
      Never use <code>--trusted-host</code> or <code>--allow-insecure-host</code> on HTTPS: they switch verification off.</p>
    <p>Basic auth: pip takes the credentials in the URL (<code>@MIRROR_URL@/simple/</code> with
      <code>USER:PASSWORD@</code> after the scheme) or from <code>~/.netrc</code>
      (<code>machine @MIRROR_HOST@ login USER password PASSWORD</code>); uv reads <code>~/.netrc</code> too, or
      <code>UV_INDEX_PYPI_MIRROR_USERNAME</code> and <code>UV_INDEX_PYPI_MIRROR_PASSWORD</code> for the index
      named <code>pypi-mirror</code> in uv.toml.</p>
    <p>Machine-readable: <a href="simple/">simple/</a> (PEP 503 HTML and PEP 691 JSON), <a href="lock.json">lock.json</a>,
      <a href="mirror.json">mirror.json</a> (manifest), <a href="sbom.cdx.json">sbom.cdx.json</a> (CycloneDX SBOM),
      <a href="audit.json">audit.json</a>.</p>
{render_osv(osv) if osv else ""}{render_audit_summary(audit) if audit else ""}{render_changes(changes) if changes else ""}    <h2>Projects</h2>
    <table>
      <tr><th>project</th><th>versions</th><th>files</th></tr>
{rows}    </table>
  </body>
</html>
"""


def render_osv(osv: dict) -> str:
    """The advisories served at /osv/ (the facts of osv/meta.json) and how pip-audit uses them."""
    if osv.get("records"):
        facts = (f"{osv['records']} OSV records for PyPI (export sha256 <code>{html.escape(osv['sha256'])}</code>, "
                 f"newest modified {html.escape(str(osv.get('newest-modified')))}, taken "
                 f"{html.escape(str(osv.get('taken-at')))}): <a href=\"osv/meta.json\">osv/meta.json</a>, "
                 "<a href=\"osv/PyPI/all.zip\">osv/PyPI/all.zip</a> (osv-scanner's offline database).")
    else:
        facts = (f"No advisory data: {html.escape(osv.get('reason') or 'none')}. The endpoint answers, "
                 "but knows no vulnerabilities.")
    return f"""    <h2>Audit with pip-audit</h2>
    <p>{facts}</p>
    <p>This mirror answers OSV's API at <code>@MIRROR_URL@/osv/v1/query</code>. Source <a href="activate">activate</a>
      (pip, uv and pip-audit in the environment), then audit; <code>--strict</code> makes a dependency that
      could not be audited an error instead of a skip:</p>
    <pre>curl -fsSo activate @MIRROR_URL@/activate &amp;&amp; . ./activate
pip-audit --strict -r requirements.txt</pre>
"""


def render_audit_summary(audit: AuditReport) -> str:
    """The landing page's account of the build-time audit, for people; audit.json has it all."""
    if not audit.ran:
        body = f"<p>Not audited: {html.escape(audit.reason or '')}.</p>\n"
    elif not audit.vulnerabilities:
        body = f"<p>No known vulnerabilities in the {len(audit.audited)} mirrored releases.</p>\n"
    else:
        rows = "".join(
            f"      <tr><td>{html.escape(f.name)} {html.escape(f.version)}</td><td>{html.escape(f.id)}</td>"
            f"<td>{html.escape(', '.join(f.aliases))}</td><td>{html.escape(', '.join(f.fixed))}</td></tr>\n"
            for f in audit.vulnerabilities)
        body = (f"<p>{len(audit.vulnerabilities)} known vulnerabilities in the {len(audit.audited)} "
                "mirrored releases:</p>\n"
                "    <table>\n      <tr><th>release</th><th>id</th><th>aliases</th><th>fixed in</th></tr>\n"
                f"{rows}    </table>\n")
    if audit.ran and audit.ignored:
        body += "    <p>Ignored: " + "; ".join(
            html.escape(f"{f.name} {f.version} {f.id}: {f.ignored}") for f in audit.ignored) + ".</p>\n"
    where = "".join(f" ({html.escape(s['type'])}, data as of {html.escape(str(s.get('newest-modified')))})"
                    for s in audit.sources)
    return f"    <h2>Known vulnerabilities at build time{where}</h2>\n    {body}"


def render_changes(changes: dict) -> str:
    """The landing page's account of changes.json: what this refresh changed."""
    projects = changes["projects"]
    lines = [f"{html.escape(p['name'])} {html.escape(', '.join(p['versions']))}" for p in projects["added"]]
    items = [("added", lines), ("removed", [f"{html.escape(p['name'])} {html.escape(', '.join(p['versions']))}"
                                            for p in projects["removed"]])]
    for kind in ("upgraded", "downgraded", "changed"):
        items.append((kind, [f"{html.escape(p['name'])} {html.escape(', '.join(p['from']))} &rarr; "
                             f"{html.escape(', '.join(p['to']))}" for p in projects[kind]]))
    advisories = changes["advisories"]
    if advisories["compared"]:
        for kind in ("appeared", "gone"):
            items.append((f"advisories {kind}", [html.escape(f"{a['name']} {a['version']} {a['id']}")
                                                 for a in advisories[kind]]))
    body = "".join(f"      <li>{kind}: {'; '.join(found)}</li>\n" for kind, found in items if found)
    return ("    <h2>Changes since the previous build</h2>\n"
            f"    <ul>\n{body or '      <li>none</li>' + chr(10)}    </ul>\n")


def write_projects_map(projects: list[Project], path: Path) -> None:
    """nginx map lines, normalized name to itself: nginx matches map keys
    case-insensitively, so this is how it lowercases a requested name."""
    write_atomic(path, "".join(f"{p.name} {p.name};\n" for p in projects).encode("utf-8"))
