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
         bake_default: str | None = None, required: bool = False, also_env: str | None = None,
         file_input: bool = False, build_arg: str | None = None, aliases: tuple[str, ...] = ()):
    """A Settings field with what the edges need to expose it.

    flag: the build.py option (default: --field-name); variable: the bake
    variable (None: not a bake knob, e.g. a path inside the build); kind:
    text, path, int or bool; bake_default: the bake variable's default when
    it differs from the Python one (file inputs are host paths there);
    also_env: a standard variable read too (SOURCE_DATE_EPOCH); file_input:
    a host file that reaches an image build through bake's `inputs` context;
    build_arg: the Dockerfile ARG bake passes it as (default PYPI_MIRROR_<VARIABLE>);
    aliases: earlier spellings of the option, still accepted, not shown in --help.
    """
    return dataclasses.field(default=default, metadata={
        "description": description, "flag": flag, "variable": variable, "short": short,
        "choices": choices, "kind": kind, "bake_default": bake_default, "required": required,
        "also_env": also_env, "file_input": file_input, "build_arg": build_arg, "aliases": aliases,
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
        variable="REQUIREMENTS", bake_default="requirements/pip-audit.txt", file_input=True)
    lock: Path | None = knob(
        None, "a lock.json from an earlier build, used instead of REQUIREMENTS: no resolving, the same tree",
        kind="path", variable="LOCK", bake_default="", file_input=True)
    index_url: str = knob(
        DEFAULT_INDEX_URL, "upstream Simple API; credentials do not belong here (INDEX_URL_FILE, NETRC_FILE)",
        # mirror/secrets.sh hands it to build.py: INDEX_URL_FILE may replace it with a secret.
        variable="INDEX_URL", build_arg="INDEX_URL")
    # The Linux machines a team most likely runs; docs/targets.md lists every platform name.
    python_versions: str = knob("3.10 3.11 3.12 3.13 3.14", "Python versions to mirror for, e.g. '3.9 3.13'",
                                variable="PYTHON_VERSIONS")
    platforms: str = knob("manylinux_x86_64 manylinux_aarch64", "platforms to mirror for (docs/targets.md)",
                          variable="PLATFORMS")
    include_sdists: bool = knob(False, "mirror each pin's sdist too", kind="bool", variable="INCLUDE_SDISTS")
    build_sdist_metadata: bool = knob(
        False, "let the resolver run an sdist's build backend (package code) for metadata no wheel or PEP 658 "
        "file gives, with no network and the build's own pinned backends; refused beside any secret: index "
        "credentials, a netrc (docs/inputs.md)", kind="bool",
        variable="BUILD_SDIST_METADATA")
    skip_missing_wheels: bool = knob(
        False, "leave out (with a warning) a target that lacks a wheel, instead of failing", kind="bool",
        variable="SKIP_MISSING_WHEELS")
    # verify and publish take the same option for the server they talk to (their --ca-file before).
    ca_bundle: str | None = knob(None, "CA bundle for upstream TLS", aliases=("--ca-file",))
    cache_dir: Path | None = knob(None, "keeps verified files and resolver data across builds", kind="path")
    nginx_map: Path | None = knob(None, "also write nginx's project-name map here", kind="path")
    # publish uploads this many at a time too.
    jobs: int = knob(8, "parallel downloads", kind="int")
    # The build-time audit (mirror/advisories/audit.py).
    audit: str = knob(
        "warn", "known vulnerabilities: report them and build (warn), fail the build on one that is not "
        "ignored or when there is no data (fail), or skip the audit (off)", choices=("warn", "fail", "off"),
        variable="AUDIT")
    vuln_db: Path | None = knob(
        None, "OSV database export: the zip of OSV records OSV publishes per ecosystem (PyPI/all.zip)",
        kind="path", variable="VULN_DB", bake_default="", file_input=True)
    vuln_db_url: str = knob(
        OSV_EXPORT_URL, "without VULN_DB, download the OSV export served under /osv/ (and audited with) from "
        "here when it answers; off: never", variable="VULN_DB_URL")
    vuln_service: str | None = knob(None, "ask this online service too (needs network to it)", choices=("osv",))
    audit_ignore: Path | None = knob(
        None, "vulnerability ids to ignore, one `ID  reason` per line (# comments)", kind="path",
        variable="AUDIT_IGNORE", bake_default="", file_input=True)
    # PEP 740 provenance (mirror/fetch/provenance.py).
    provenance: str = knob(
        "verify", "PEP 740 provenance: verify each file's provenance where the index publishes one and fail "
        "the build on one that does not verify (verify), also fail on a file without one (require), or "
        "neither fetch nor serve it (off)", choices=("verify", "require", "off"), variable="PROVENANCE")
    # A refresh: the previous build's documents, for changes.json.
    previous_manifest: Path | None = knob(
        None, "the previous build's mirror.json or lock.json: the build writes changes.json against it",
        kind="path", variable="PREVIOUS_MANIFEST", bake_default="", file_input=True)
    previous_audit: Path | None = knob(
        None, "the previous build's audit.json, for the advisories that appeared or went away", kind="path",
        variable="PREVIOUS_AUDIT", bake_default="", file_input=True)
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
# The knobs that name a file the build reads (through the `inputs` context in an image build),
# in the order bake assembles that context.
FILE_INPUTS = tuple(name for name, f in FIELDS.items() if f.metadata["file_input"])


@dataclasses.dataclass(frozen=True)
class ImageKnob:
    """A docker-bake.hcl variable of the image build itself, not a build.py option.

    description: bake's (`--list=variables`) and the docs table's; details:
    the docs table's only, what does not fit bake's one line; build_arg: bake
    passes it to the Dockerfile as the ARG of the same name (base images);
    secret: the variable names a file that bake mounts as the BuildKit secret
    of this id (mirror/secrets.sh reads it under /run/secrets).
    """

    variable: str
    default: str
    description: str
    details: str = ""
    build_arg: bool = False
    secret: str | None = None


# In bake's order; the secrets in the order bake hands them to BuildKit.
IMAGE_KNOBS = (
    ImageKnob("TAG", "latest", "tag of the images built (pypi-mirror:TAG, pypi-mirror-wheelhouse:TAG)"),
    ImageKnob("CA_BUNDLE", "", "path of a CA bundle for upstream TLS (a BuildKit secret); scripts/build passes the "
              "host's", details="`CA_BUNDLE=` turns that off", secret="ca_bundle"),
    ImageKnob("INDEX_URL_FILE", "", "path of a file holding the upstream URL with credentials (a BuildKit secret; "
              "replaces INDEX_URL)", secret="index_url"),
    ImageKnob("NETRC_FILE", "", "path of a netrc file with upstream credentials (a BuildKit secret)", secret="netrc"),
    ImageKnob("EXTRA_INDEX_URLS_FILE", "", "path of a file of index URLs with credentials, one per line, each for "
              "the index of the same URL (a BuildKit secret)",
              details="`#` comments; a URL no other knob or requirements file names (`EXTRA_INDEX_URLS`, "
              "`INDEX_URL`) adds that index", secret="index_urls"),
    ImageKnob("BUILDER_IMAGE", "python:3.13-slim", "base of the build stage: python3 >= 3.10 with pip and venv",
              details="any image meeting that works, Debian or Alpine, any registry (pypi-attestations needs "
              "3.10)", build_arg=True),
    ImageKnob("RUNTIME_IMAGE", "nginx:1.28", "base of the appliance: nginx >= 1.22 with njs, and /bin/sh",
              details="nginx with `auth_request` and `realip`, as both Debian's and nginx.org's packages have; "
              "its njs module at `/usr/lib/nginx/modules/ngx_http_js_module.so` (the official image's "
              "`nginx-module-njs`, Debian's `libnginx-mod-http-js`; it answers `/osv/`); TLS and "
              "`MIRROR_BASIC_AUTH` also need the `openssl` CLI. Basic auth's fast path (a known credential makes no "
              "subrequest) needs njs >= 0.8 (shared dictionaries): the official `nginx:1.28` image and Debian 13 "
              "(nginx 1.26, njs 0.8.9, the stand-in) have it; with Debian 12's njs 0.7.9 auth stays correct but "
              "every request makes the auth subrequest to the cache (nginx/README.md)", build_arg=True),
    ImageKnob("REVISION", "", "source revision recorded in the org.opencontainers.image.revision label "
              "(scripts/build: git)"),
    ImageKnob("SOURCE_URL", "", "source URL recorded in the org.opencontainers.image.source label (scripts/build: "
              "git remote)"),
    ImageKnob("IMAGE_EPOCH", "", "the images' creation time and file times in seconds since 1970 (empty: "
              "SOURCE_DATE_EPOCH); scripts/build sets it to the tree's build time, which makes the image IDs "
              "reproducible"),
    ImageKnob("LOCK_SHA256", "", "sha256 of the tree's lock.json, for the io.pypi-mirror.lock.sha256 label "
              "(scripts/build sets it)"),
    ImageKnob("MANIFEST_SHA256", "", "sha256 of the tree's mirror.json, for the io.pypi-mirror.manifest.sha256 "
              "label (scripts/build sets it)"),
    ImageKnob("FILE_INPUTS_SHA256", "", "no longer used (file inputs are content-addressed through the inputs "
              "context); accepted so old scripts keep working"),
)
TRUE = ("1", "true", "yes", "on")
FALSE = ("", "0", "false", "no", "off")


def env_name(field: dataclasses.Field) -> str:
    return ENV_PREFIX + (field.metadata["variable"] or field.name.upper())


def flag_of(field: dataclasses.Field) -> str:
    return field.metadata["flag"] or "--" + field.name.replace("_", "-")


def build_arg_of(field: dataclasses.Field) -> str:
    """The Dockerfile ARG that carries a bake knob into the build."""
    return field.metadata["build_arg"] or ENV_PREFIX + field.metadata["variable"]


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
