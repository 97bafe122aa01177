"""The pages around the index: a landing page for people, client config for tools.

The mirror cannot know the address clients will use, so these are templates:
nginx replaces @MIRROR_URL@ (scheme://host:port), @MIRROR_HOST@ and
@PIP_TRUSTED_HOST@ (a pip.conf line on plain HTTP, empty on HTTPS) per request.
"""

from __future__ import annotations

import html
from pathlib import Path

from mirror.files import write_atomic
from mirror.index import Project
from mirror.lock import Lock

PIP_CONF = """[global]
index-url = @MIRROR_URL@/simple/
@PIP_TRUSTED_HOST@
"""

UV_TOML = """[[index]]
name = "pypi-mirror"
url = "@MIRROR_URL@/simple/"
default = true
"""


def write_landing(projects: list[Project], lock: Lock, root: Path) -> None:
    write_atomic(root / "index.html", render_landing(projects, lock).encode("utf-8"))
    write_atomic(root / "pip.conf", PIP_CONF.encode("utf-8"))
    write_atomic(root / "uv.toml", UV_TOML.encode("utf-8"))


def render_landing(projects: list[Project], lock: Lock) -> str:
    files = sum(len(p.files) for p in projects)
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
    <h2>Use it</h2>
    <p>pip:</p>
    <pre>pip install --index-url @MIRROR_URL@/simple/ @PIP_TRUSTED_HOST_FLAG@PACKAGE</pre>
    <p>uv:</p>
    <pre>uv pip install --index-url @MIRROR_URL@/simple/ PACKAGE</pre>
    <p>Or configure the client once: <a href="pip.conf">pip.conf</a> (save as <code>~/.config/pip/pip.conf</code>
      or point <code>PIP_CONFIG_FILE</code> at it), <a href="uv.toml">uv.toml</a>
      (save as <code>~/.config/uv/uv.toml</code>), or set <code>PIP_INDEX_URL=@MIRROR_URL@/simple/</code> and
      <code>UV_DEFAULT_INDEX=@MIRROR_URL@/simple/</code>.</p>
    <p>Machine-readable: <a href="simple/">simple/</a> (PEP 503 HTML and PEP 691 JSON), <a href="lock.json">lock.json</a>.</p>
    <h2>Projects</h2>
    <table>
      <tr><th>project</th><th>versions</th><th>files</th></tr>
{rows}    </table>
  </body>
</html>
"""


def write_projects_map(projects: list[Project], path: Path) -> None:
    """nginx map lines, normalized name to itself: nginx matches map keys
    case-insensitively, so this is how it lowercases a requested name."""
    write_atomic(path, "".join(f"{p.name} {p.name};\n" for p in projects).encode("utf-8"))
