"""One immutable record of what to build, made once by the CLI and passed down.

Every knob is defined here once: its name, default and description. The
command line (mirror/cli.py), the PYPI_MIRROR_* environment variables that
the Dockerfile passes through from bake, the bake variables
(docker-bake.hcl, generated part) and docs/knobs.md's table are all read off
these fields; tests/unit/test_knobs.py keeps the generated copies in step.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from mirror.errors import SettingError

ENV_PREFIX = "PYPI_MIRROR_"


def knob(default, description: str, *, flag: str | None = None, variable: str | None = None,
         short: str | None = None, choices: tuple[str, ...] | None = None, kind: str = "text",
         bake_default: str | None = None, required: bool = False, also_env: str | None = None):
    """A Settings field with what the edges need to expose it.

    flag: the build.py option (default: --field-name); variable: the bake
    variable (None: not a bake knob, e.g. a path inside the build); kind:
    text, path, int or bool; bake_default: the bake variable's default when
    it differs from the Python one (file inputs are host paths there);
    also_env: a standard variable read too (SOURCE_DATE_EPOCH).
    """
    return dataclasses.field(default=default, metadata={
        "description": description, "flag": flag, "variable": variable, "short": short,
        "choices": choices, "kind": kind, "bake_default": bake_default, "required": required,
        "also_env": also_env,
    })


DEFAULT_INDEX_URL = "https://pypi.org/simple/"
# OSV's public PyPI export (mirror/advisories/vulndb.py downloads it when no VULN_DB is given).
OSV_EXPORT_URL = "https://osv-vulnerabilities.storage.googleapis.com/PyPI/all.zip"


@dataclasses.dataclass(frozen=True)
class Settings:
    out: Path = knob(None, "folder for the tree (replaced)", short="-o", kind="path", required=True)
    requirements: Path | None = knob(
        None, "requirement sets, space-separated, each resolved on its own: requirements files (with their "
        "-r / -c includes), pyproject.toml, pylock.toml, uv.lock", short="-r", kind="path",
        variable="REQUIREMENTS", bake_default="requirements/pip-audit.txt")
    lock: Path | None = knob(
        None, "a lock.json from an earlier build, used instead of REQUIREMENTS: no resolving, the same tree",
        kind="path", variable="LOCK", bake_default="")
    index_url: str = knob(
        DEFAULT_INDEX_URL, "upstream Simple API; credentials do not belong here (INDEX_URL_FILE, NETRC_FILE)",
        variable="INDEX_URL")
    # The Linux machines a team most likely runs; docs/targets.md lists every platform name.
    python_versions: str = knob("3.10 3.11 3.12 3.13 3.14", "Python versions to mirror for, e.g. '3.9 3.13'",
                                variable="PYTHON_VERSIONS")
    platforms: str = knob("manylinux_x86_64 manylinux_aarch64", "platforms to mirror for (docs/targets.md)",
                          variable="PLATFORMS")
    include_sdists: bool = knob(False, "mirror each pin's sdist too", kind="bool", variable="INCLUDE_SDISTS")
    build_sdist_metadata: bool = knob(
        False, "let the resolver run an sdist's build backend (package code) for metadata no wheel or PEP 658 "
        "file gives; refused beside any secret: index credentials, a netrc (docs/threat-model.md)", kind="bool",
        variable="BUILD_SDIST_METADATA")
    skip_missing_wheels: bool = knob(
        False, "leave out (with a warning) a target that lacks a wheel, instead of failing", kind="bool",
        variable="SKIP_MISSING_WHEELS")
    ca_bundle: str | None = knob(None, "CA bundle for upstream TLS")
    cache_dir: Path | None = knob(None, "keeps verified files and resolver data across builds", kind="path")
    nginx_map: Path | None = knob(None, "also write nginx's project-name map here", kind="path")
    jobs: int = knob(8, "parallel downloads", kind="int")
    # The build-time audit (mirror/advisories/audit.py).
    audit: str = knob(
        "warn", "known vulnerabilities: report them and build (warn), fail the build on one that is not "
        "ignored or when there is no data (fail), or skip the audit (off)", choices=("warn", "fail", "off"),
        variable="AUDIT")
    vuln_db: Path | None = knob(
        None, "OSV database export: the zip of OSV records OSV publishes per ecosystem (PyPI/all.zip)",
        kind="path", variable="VULN_DB", bake_default="")
    vuln_db_url: str = knob(
        OSV_EXPORT_URL, "without VULN_DB, download the OSV export served under /osv/ (and audited with) from "
        "here when it answers; off: never", variable="VULN_DB_URL")
    vuln_service: str | None = knob(None, "ask this online service too (needs network to it)", choices=("osv",))
    audit_ignore: Path | None = knob(
        None, "vulnerability ids to ignore, one `ID  reason` per line (# comments)", kind="path",
        variable="AUDIT_IGNORE", bake_default="")
    # PEP 740 provenance (mirror/fetch/provenance.py).
    provenance: str = knob(
        "verify", "PEP 740 provenance: verify each file's provenance where the index publishes one and fail "
        "the build on one that does not verify (verify), also fail on a file without one (require), or "
        "neither fetch nor serve it (off)", choices=("verify", "require", "off"), variable="PROVENANCE")
    # A refresh: the previous build's documents, for changes.json.
    previous_manifest: Path | None = knob(
        None, "the previous build's mirror.json or lock.json: the build writes changes.json against it",
        kind="path", variable="PREVIOUS_MANIFEST", bake_default="")
    previous_audit: Path | None = knob(
        None, "the previous build's audit.json, for the advisories that appeared or went away", kind="path",
        variable="PREVIOUS_AUDIT", bake_default="")
    keep_previous_pins: bool = knob(
        False, "keep PREVIOUS_MANIFEST's pins where they still fit; only what is new resolves afresh",
        kind="bool", variable="KEEP_PREVIOUS_PINS")
    # Inputs (issue 14).
    extras: str = knob(
        "", "optional dependencies of pyproject.toml / uv.lock / pylock.toml sets, space-separated "
        "('all': every one)", variable="EXTRAS")
    groups: str = knob("", "PEP 735 dependency groups of those sets, space-separated ('all': every one)",
                       variable="GROUPS")
    extra_index_urls: str = knob(
        "", "more upstream indexes, space-separated, asked before INDEX_URL: a project comes from the first "
        "index that has it; credentials do not belong here (EXTRA_INDEX_URLS_FILE)",
        variable="EXTRA_INDEX_URLS")
    index_credentials: Path | None = knob(
        None, "file of index URLs with credentials, one per line: each lends its credentials to the index of "
        "the same URL, or adds that index (in a build: the EXTRA_INDEX_URLS_FILE secret)", kind="path")
    resolution: str = knob(
        "universal", "universal: one resolution per set, its markers evaluated per target (a target it lacks "
        "a file for resolves on its own); per-target: one resolution per target", choices=("universal",
                                                                                           "per-target"))
    source_date_epoch: str | None = knob(
        None, "the tree's build time in seconds since 1970 (empty: the newest upload time of the mirrored "
        "files); also the images' creation time", variable="SOURCE_DATE_EPOCH", bake_default="",
        also_env="SOURCE_DATE_EPOCH")


FIELDS = {f.name: f for f in dataclasses.fields(Settings)}
TRUE = ("1", "true", "yes", "on")
FALSE = ("", "0", "false", "no", "off")


def env_name(field: dataclasses.Field) -> str:
    return ENV_PREFIX + (field.metadata["variable"] or field.name.upper())


def flag_of(field: dataclasses.Field) -> str:
    return field.metadata["flag"] or "--" + field.name.replace("_", "-")


def spell(name: str) -> str:
    """How the user sets this knob where the build runs: the bake variable inside the image build
    (the Dockerfile passes every PYPI_MIRROR_* through), the option on the command line."""
    field = FIELDS[name]
    if env_name(field) in os.environ and field.metadata["variable"]:
        return field.metadata["variable"]
    return flag_of(field)


def env_default(field: dataclasses.Field):
    """The field's default with PYPI_MIRROR_<NAME> applied (empty means unset, as bake passes it)."""
    raw = os.environ.get(env_name(field), "") or os.environ.get(field.metadata["also_env"] or "", "")
    if raw == "":
        return field.default
    kind = field.metadata["kind"]
    if kind == "bool":
        value = raw.strip().lower()
        if value not in TRUE + FALSE:
            raise SettingError(field.name, raw, "expected 1/true/yes or 0/false/no")
        return value in TRUE
    if kind == "int":
        try:
            return int(raw)
        except ValueError:
            raise SettingError(field.name, raw, "expected a whole number") from None
    if kind == "path":
        return Path(raw)
    return raw
