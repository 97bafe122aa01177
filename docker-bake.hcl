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

variable "BUILDER_IMAGE" {
  default = "python:3.13-slim"
}

variable "RUNTIME_IMAGE" {
  default = "nginx:1.28"
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
  }
  secret = concat(
    CA_BUNDLE == "" ? [] : ["id=ca_bundle,src=${CA_BUNDLE}"],
    INDEX_URL_FILE == "" ? [] : ["id=index_url,src=${INDEX_URL_FILE}"],
    NETRC_FILE == "" ? [] : ["id=netrc,src=${NETRC_FILE}"],
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
