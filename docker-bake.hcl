# docker buildx bake                      -> pypi-mirror:latest (the appliance)
# docker buildx bake wheelhouse           -> pypi-mirror-wheelhouse:latest (the tree alone)
# Every variable can be set from the environment: TAG=2026-11 docker buildx bake

variable "TAG" {
  default = "latest"
}

# Path in the repo of the requirements file to mirror.
variable "REQUIREMENTS" {
  default = "requirements/pip-audit.txt"
}

# A lock.json from an earlier build, used instead of REQUIREMENTS: no
# resolving, and the same lock always gives the same tree.
variable "LOCK" {
  default = ""
}

# Upstream Simple API. Credentials do not belong here (build args are in the
# image history, and the build refuses them): use INDEX_URL_FILE or NETRC_FILE.
variable "INDEX_URL" {
  default = "https://pypi.org/simple/"
}

# Path of a file holding the upstream URL with credentials (a BuildKit secret;
# it replaces INDEX_URL). Empty: none.
variable "INDEX_URL_FILE" {
  default = ""
}

# Path of a netrc file with upstream credentials (a BuildKit secret). Empty: none.
variable "NETRC_FILE" {
  default = ""
}

# Path of a CA bundle for upstream TLS, passed as a BuildKit secret. Empty: none.
variable "CA_BUNDLE" {
  default = ""
}

# Empty: build.py's defaults (README, "Targets").
variable "PYTHON_VERSIONS" {
  default = ""
}

variable "PLATFORMS" {
  default = ""
}

variable "INCLUDE_SDISTS" {
  default = ""
}

variable "SKIP_MISSING_WHEELS" {
  default = ""
}

# Path (in the repo, or absolute) of an OSV database export: the zip of OSV
# JSON records OSV publishes per ecosystem (PyPI/all.zip). It goes in as a
# BuildKit secret, so any path works and it stays out of the layers. Empty:
# none, and /audit.json says the audit did not run.
variable "VULN_DB" {
  default = ""
}

# warn: report known vulnerabilities and build; fail: a known vulnerability
# that is not ignored, or no data to audit with, fails the build; off: no audit.
variable "AUDIT" {
  default = "warn"
}

# Path of the audit's ignore list, one `ID  reason` per line (# comments), a
# BuildKit secret like VULN_DB. Empty: none.
variable "AUDIT_IGNORE" {
  default = ""
}

# A refresh (README, "Refresh"): the previous build's mirror.json (or
# lock.json) and audit.json, as secrets like VULN_DB; the build then writes
# /changes.json. Empty: none.
variable "PREVIOUS_MANIFEST" {
  default = ""
}

variable "PREVIOUS_AUDIT" {
  default = ""
}

# "1": keep PREVIOUS_MANIFEST's pins where they still satisfy the
# requirements, so only what is new resolves afresh.
variable "KEEP_PREVIOUS_PINS" {
  default = ""
}

# sha256 of the file inputs above (VULN_DB, AUDIT_IGNORE, PREVIOUS_*);
# scripts/build sets it. Secrets are not part of BuildKit's cache key: without
# this, a new database would reuse the previous build's audit.
variable "FILE_INPUTS_SHA256" {
  default = ""
}

variable "BUILDER_IMAGE" {
  default = "python:3.13-slim"
}

variable "RUNTIME_IMAGE" {
  default = "nginx:1.28"
}

# Recorded in the image labels; scripts/build fills them in from git.
variable "REVISION" {
  default = ""
}

variable "SOURCE_URL" {
  default = ""
}

group "default" {
  targets = ["mirror"]
}

target "_common" {
  context    = "."
  dockerfile = "Dockerfile"
  args = {
    BUILDER_IMAGE       = BUILDER_IMAGE
    RUNTIME_IMAGE       = RUNTIME_IMAGE
    INDEX_URL           = INDEX_URL
    REQUIREMENTS        = LOCK != "" ? LOCK : REQUIREMENTS
    INPUT_IS_LOCK       = LOCK != "" ? "1" : ""
    PYTHON_VERSIONS     = PYTHON_VERSIONS
    PLATFORMS           = PLATFORMS
    INCLUDE_SDISTS      = INCLUDE_SDISTS
    SKIP_MISSING_WHEELS = SKIP_MISSING_WHEELS
    AUDIT               = AUDIT
    KEEP_PREVIOUS_PINS  = KEEP_PREVIOUS_PINS
    FILE_INPUTS_SHA256  = FILE_INPUTS_SHA256
  }
  labels = {
    "org.opencontainers.image.title"       = "pypi-mirror"
    "org.opencontainers.image.description" = "Offline PyPI mirror (Simple API: PEP 503, 691, 658) built from ${REQUIREMENTS}"
    "org.opencontainers.image.version"     = TAG
    "org.opencontainers.image.revision"    = REVISION
    "org.opencontainers.image.source"      = SOURCE_URL
  }
  secret = concat(
    CA_BUNDLE == "" ? [] : ["id=ca_bundle,src=${CA_BUNDLE}"],
    INDEX_URL_FILE == "" ? [] : ["id=index_url,src=${INDEX_URL_FILE}"],
    NETRC_FILE == "" ? [] : ["id=netrc,src=${NETRC_FILE}"],
    VULN_DB == "" ? [] : ["id=vuln_db,src=${VULN_DB}"],
    AUDIT_IGNORE == "" ? [] : ["id=audit_ignore,src=${AUDIT_IGNORE}"],
    PREVIOUS_MANIFEST == "" ? [] : ["id=previous_manifest,src=${PREVIOUS_MANIFEST}"],
    PREVIOUS_AUDIT == "" ? [] : ["id=previous_audit,src=${PREVIOUS_AUDIT}"],
  )
}

target "mirror" {
  inherits = ["_common"]
  target   = "mirror"
  tags     = ["pypi-mirror:${TAG}"]
}

target "wheelhouse" {
  inherits = ["_common"]
  target   = "wheelhouse"
  tags     = ["pypi-mirror-wheelhouse:${TAG}"]
}
