"""One immutable record of what to build, made once by the CLI and passed down."""

from __future__ import annotations

import dataclasses
from pathlib import Path

# OSV's public PyPI export (mirror/vulndb.py downloads it when no VULN_DB is given).
OSV_EXPORT_URL = "https://osv-vulnerabilities.storage.googleapis.com/PyPI/all.zip"
DEFAULT_INDEX_URL = "https://pypi.org/simple/"
# The Linux machines a team most likely runs; README lists every platform name.
DEFAULT_PYTHON_VERSIONS = "3.10 3.11 3.12 3.13 3.14"
DEFAULT_PLATFORMS = "manylinux_x86_64 manylinux_aarch64"


@dataclasses.dataclass(frozen=True)
class Settings:
    out: Path
    requirements: Path | None = None
    lock: Path | None = None  # given instead of requirements: no resolving at all
    index_url: str = DEFAULT_INDEX_URL
    python_versions: str = DEFAULT_PYTHON_VERSIONS
    platforms: str = DEFAULT_PLATFORMS
    include_sdists: bool = False
    skip_missing_wheels: bool = False
    ca_bundle: str | None = None
    cache_dir: Path | None = None
    nginx_map: Path | None = None
    jobs: int = 8
    # The build-time audit (mirror/audit.py): warn, fail or off; an OSV export and/or OSV's API.
    audit: str = "warn"
    vuln_db: Path | None = None
    # Without vuln_db, the export served under /osv/ (and audited with) is downloaded from here; "" = never.
    vuln_db_url: str = OSV_EXPORT_URL
    vuln_service: str | None = None
    audit_ignore: Path | None = None
    # A refresh: the previous build's mirror.json (or lock.json) and audit.json, for changes.json.
    previous_manifest: Path | None = None
    previous_audit: Path | None = None
    keep_previous_pins: bool = False  # prefer the previous lock's pins: only what is new resolves afresh
