# docker buildx bake                      -> pypi-mirror:latest (the appliance)
# docker buildx bake wheelhouse           -> pypi-mirror-wheelhouse:latest (the tree alone)
# Every variable can be set from the environment: TAG=2026-11 docker buildx bake
# `docker buildx bake --list=variables` lists them with their descriptions.
# Needs buildx >= 0.20 (variable descriptions) and Docker engine >= 23.
#
# File inputs (REQUIREMENTS, LOCK, VULN_DB, AUDIT_IGNORE, PREVIOUS_*) are host
# paths, absolute or relative to where bake runs. Each reaches the build
# through the named context `inputs` (target "inputs" below), so its content
# is part of the cache key and none of it lands in a layer. buildx asks for
# `--allow fs.read=DIR` for a path outside the current folder;
# scripts/build passes it for the paths it was given.

# The build.py knobs: mirror/settings.py defines each one (name, default,
# description); this block is generated from it.
# BEGIN generated from mirror/settings.py (python3 -m mirror.knobs --write)
variable "REQUIREMENTS" {
  default     = "requirements/pip-audit.txt"
  description = "requirement sets, space-separated, each resolved on its own: requirements files (with their -r / -c includes), pyproject.toml, pylock.toml, uv.lock"
}

variable "LOCK" {
  default     = ""
  description = "a lock.json from an earlier build, used instead of REQUIREMENTS: no resolving, the same tree"
}

variable "INDEX_URL" {
  default     = "https://pypi.org/simple/"
  description = "upstream Simple API; credentials do not belong here (INDEX_URL_FILE, NETRC_FILE)"
}

variable "PYTHON_VERSIONS" {
  default     = "3.10 3.11 3.12 3.13 3.14"
  description = "Python versions to mirror for, e.g. '3.9 3.13'"
}

variable "PLATFORMS" {
  default     = "manylinux_x86_64 manylinux_aarch64"
  description = "platforms to mirror for (docs/targets.md)"
}

variable "INCLUDE_SDISTS" {
  default     = "0"
  description = "mirror each pin's sdist too"
}

variable "BUILD_SDIST_METADATA" {
  default     = "0"
  description = "let the resolver run an sdist's build backend (package code) for metadata no wheel or PEP 658 file gives, with no network and the build's own pinned backends; refused beside any secret: index credentials, a netrc (docs/inputs.md)"
}

variable "SKIP_MISSING_WHEELS" {
  default     = "0"
  description = "leave out (with a warning) a target that lacks a wheel, instead of failing"
}

variable "AUDIT" {
  default     = "warn"
  description = "known vulnerabilities: report them and build (warn), fail the build on one that is not ignored or when there is no data (fail), or skip the audit (off)"
}

variable "VULN_DB" {
  default     = ""
  description = "OSV database export: the zip of OSV records OSV publishes per ecosystem (PyPI/all.zip)"
}

variable "VULN_DB_URL" {
  default     = "https://osv-vulnerabilities.storage.googleapis.com/PyPI/all.zip"
  description = "without VULN_DB, download the OSV export served under /osv/ (and audited with) from here when it answers; off: never"
}

variable "AUDIT_IGNORE" {
  default     = ""
  description = "vulnerability ids to ignore, one `ID  reason` per line (# comments)"
}

variable "PROVENANCE" {
  default     = "verify"
  description = "PEP 740 provenance: verify each file's provenance where the index publishes one and fail the build on one that does not verify (verify), also fail on a file without one (require), or neither fetch nor serve it (off)"
}

variable "PREVIOUS_MANIFEST" {
  default     = ""
  description = "the previous build's mirror.json or lock.json: the build writes changes.json against it"
}

variable "PREVIOUS_AUDIT" {
  default     = ""
  description = "the previous build's audit.json, for the advisories that appeared or went away"
}

variable "KEEP_PREVIOUS_PINS" {
  default     = "0"
  description = "keep PREVIOUS_MANIFEST's pins where they still fit; only what is new resolves afresh"
}

variable "EXTRAS" {
  default     = ""
  description = "optional dependencies of pyproject.toml / uv.lock / pylock.toml sets, space-separated ('all': every one)"
}

variable "GROUPS" {
  default     = ""
  description = "PEP 735 dependency groups of those sets, space-separated ('all': every one)"
}

variable "EXTRA_INDEX_URLS" {
  default     = ""
  description = "more upstream indexes, space-separated, asked before INDEX_URL: a project comes from the first index that has it; credentials do not belong here (EXTRA_INDEX_URLS_FILE)"
}

variable "SOURCE_DATE_EPOCH" {
  default     = ""
  description = "the tree's build time in seconds since 1970 (empty: the newest upload time of the mirrored files); also the images' creation time"
}
# END generated from mirror/settings.py

# The image's own knobs: mirror/settings.py (IMAGE_KNOBS) defines each one.
# BEGIN image knobs generated from mirror/settings.py (python3 -m mirror.knobs --write)
variable "TAG" {
  default     = "latest"
  description = "tag of the images built (pypi-mirror:TAG, pypi-mirror-wheelhouse:TAG)"
}

variable "CA_BUNDLE" {
  default     = ""
  description = "path of a CA bundle for upstream TLS (a BuildKit secret); scripts/build passes the host's"
}

variable "INDEX_URL_FILE" {
  default     = ""
  description = "path of a file holding the upstream URL with credentials (a BuildKit secret; replaces INDEX_URL)"
}

variable "NETRC_FILE" {
  default     = ""
  description = "path of a netrc file with upstream credentials (a BuildKit secret)"
}

variable "EXTRA_INDEX_URLS_FILE" {
  default     = ""
  description = "path of a file of index URLs with credentials, one per line, each for the index of the same URL (a BuildKit secret)"
}

variable "BUILDER_IMAGE" {
  default     = "python:3.13-slim"
  description = "base of the build stage: python3 >= 3.10 with pip and venv"
}

variable "RUNTIME_IMAGE" {
  default     = "nginx:1.28"
  description = "base of the appliance: nginx >= 1.22 with njs, and /bin/sh"
}

variable "REVISION" {
  default     = ""
  description = "source revision recorded in the org.opencontainers.image.revision label (scripts/build: git)"
}

variable "SOURCE_URL" {
  default     = ""
  description = "source URL recorded in the org.opencontainers.image.source label (scripts/build: git remote)"
}

variable "IMAGE_EPOCH" {
  default     = ""
  description = "the images' creation time and file times in seconds since 1970 (empty: SOURCE_DATE_EPOCH); scripts/build sets it to the tree's build time, which makes the image IDs reproducible"
}

variable "LOCK_SHA256" {
  default     = ""
  description = "sha256 of the tree's lock.json, for the io.pypi-mirror.lock.sha256 label (scripts/build sets it)"
}

variable "MANIFEST_SHA256" {
  default     = ""
  description = "sha256 of the tree's mirror.json, for the io.pypi-mirror.manifest.sha256 label (scripts/build sets it)"
}

variable "FILE_INPUTS_SHA256" {
  default     = ""
  description = "no longer used (file inputs are content-addressed through the inputs context); accepted so old scripts keep working"
}
# END image knobs generated from mirror/settings.py

# The epoch of the images: BuildKit's SOURCE_DATE_EPOCH (config and history
# times). File times in the layers do not come from it: the Dockerfile sets
# each from content (docs/operating.md, "Reproducible image IDs").
function "epoch" {
  params = []
  result = IMAGE_EPOCH != "" ? IMAGE_EPOCH : SOURCE_DATE_EPOCH
}

# A host path as a build context: absolute as is, relative from where bake runs.
function "host_dir" {
  params = [path]
  result = substr(path, 0, 1) == "/" ? path : "cwd://${path}"
}

# The folder of a file input; the current folder (nothing copied) when unset.
function "input_dir" {
  params = [path]
  result = path == "" ? "cwd://." : host_dir(dirname(path))
}

# A COPY source that matches the file, or nothing when it is missing (a
# one-character glob), so build.py names the missing input instead of BuildKit.
function "input_glob" {
  params = [path]
  result = path == "" ? "no-such-input-[x]" : regex_replace(basename(path), "(.)$", "[$1]")
}

# Where a file input sits inside the build, or "" when unset.
function "inside" {
  params = [name, path]
  result = path == "" ? "" : "/inputs/${name}/${basename(path)}"
}

# REQUIREMENTS: one or more paths (one set each); the deepest folder that
# holds them all goes in whole, so each set's -r / -c includes (at any depth
# below it) come along, and two teams' sets in sibling folders both arrive.
# Never "/" (the whole host): sets that share no folder but the root keep the
# first one's folder, and build.py names the set that did not come along.
function "requirements_root" {
  params = []
  result = LOCK != "" ? "" : (
    common_folder(requirement_dirs()) == "/" ? requirement_dirs()[0] : common_folder(requirement_dirs()))
}

function "requirement_dirs" {
  params = []
  result = [for p in compact(split(" ", trimspace(REQUIREMENTS))) : dirname(p)]
}

# The longest leading run of path segments every folder shares ("." if none, "/" for the root).
function "common_folder" {
  params = [dirs]
  result = length(dirs) == 0 ? "" : (shared_segments(dirs) == 0 ? "." : (
    join("/", slice(split("/", dirs[0]), 0, shared_segments(dirs))) == "" ? "/" :
    join("/", slice(split("/", dirs[0]), 0, shared_segments(dirs)))))
}

function "shared_segments" {
  params = [dirs]
  result = length([
    for i, part in split("/", dirs[0]) : i
    if length([for d in dirs : d if length(split("/", d)) > i && join("/", slice(split("/", d), 0, i + 1)) == join("/", slice(split("/", dirs[0]), 0, i + 1))]) == length(dirs)
  ])
}

function "requirements_inside" {
  params = []
  result = LOCK != "" ? "" : join(" ", [
    for p in compact(split(" ", trimspace(REQUIREMENTS))) :
    "/inputs/requirements/${trimprefix(trimprefix(p, "${requirements_root()}/"), "./")}"
  ])
}

# One small target per file input: its folder is the context, the COPY names
# the file alone, so BuildKit sends nothing else from that folder.
target "_input_requirements" {
  context           = requirements_root() == "" ? "cwd://." : host_dir(requirements_root())
  dockerfile-inline = "FROM scratch\nCOPY ${requirements_root() == "" ? input_glob("") : "."} /requirements/\n"
}

target "_input_file" {
  name              = "_input_${item}"
  matrix            = { item = keys(input_paths()) }
  context           = input_dir(lookup(input_paths(), item, ""))
  dockerfile-inline = "FROM scratch\nCOPY ${input_glob(lookup(input_paths(), item, ""))} /${item}/\n"
}

# The file inputs (mirror/settings.py: the knobs with file_input).
# BEGIN file inputs generated from mirror/settings.py (python3 -m mirror.knobs --write)
function "input_names" {
  params = []
  result = ["requirements", "lock", "vuln_db", "audit_ignore", "previous_manifest", "previous_audit"]
}

function "input_paths" {
  params = []
  result = {
    lock              = LOCK
    vuln_db           = VULN_DB
    audit_ignore      = AUDIT_IGNORE
    previous_manifest = PREVIOUS_MANIFEST
    previous_audit    = PREVIOUS_AUDIT
  }
}
# END file inputs generated from mirror/settings.py

# The named context the build step mounts at /inputs.
target "inputs" {
  contexts          = { for name in input_names() : name => "target:_input_${name}" }
  dockerfile-inline = "FROM scratch\n${join("", [for name in input_names() : "COPY --from=${name} / /\n"])}"
}

group "default" {
  targets = ["mirror"]
}

target "_common" {
  context    = "."
  dockerfile = "Dockerfile"
  contexts   = { inputs = "target:inputs" }
  args = merge({
    # BEGIN build args generated from mirror/settings.py (python3 -m mirror.knobs --write)
    BUILDER_IMAGE                    = BUILDER_IMAGE
    RUNTIME_IMAGE                    = RUNTIME_IMAGE
    PYPI_MIRROR_REQUIREMENTS         = requirements_inside()
    PYPI_MIRROR_LOCK                 = inside("lock", LOCK)
    INDEX_URL                        = INDEX_URL
    PYPI_MIRROR_PYTHON_VERSIONS      = PYTHON_VERSIONS
    PYPI_MIRROR_PLATFORMS            = PLATFORMS
    PYPI_MIRROR_INCLUDE_SDISTS       = INCLUDE_SDISTS
    PYPI_MIRROR_BUILD_SDIST_METADATA = BUILD_SDIST_METADATA
    PYPI_MIRROR_SKIP_MISSING_WHEELS  = SKIP_MISSING_WHEELS
    PYPI_MIRROR_AUDIT                = AUDIT
    PYPI_MIRROR_VULN_DB              = inside("vuln_db", VULN_DB)
    PYPI_MIRROR_VULN_DB_URL          = VULN_DB_URL
    PYPI_MIRROR_AUDIT_IGNORE         = inside("audit_ignore", AUDIT_IGNORE)
    PYPI_MIRROR_PROVENANCE           = PROVENANCE
    PYPI_MIRROR_PREVIOUS_MANIFEST    = inside("previous_manifest", PREVIOUS_MANIFEST)
    PYPI_MIRROR_PREVIOUS_AUDIT       = inside("previous_audit", PREVIOUS_AUDIT)
    PYPI_MIRROR_KEEP_PREVIOUS_PINS   = KEEP_PREVIOUS_PINS
    PYPI_MIRROR_EXTRAS               = EXTRAS
    PYPI_MIRROR_GROUPS               = GROUPS
    PYPI_MIRROR_EXTRA_INDEX_URLS     = EXTRA_INDEX_URLS
    PYPI_MIRROR_SOURCE_DATE_EPOCH    = SOURCE_DATE_EPOCH
    # END build args generated from mirror/settings.py
    }, epoch() == "" ? {} : {
    # BuildKit's own: the images' creation time and file times.
    SOURCE_DATE_EPOCH = epoch()
  })
  labels = merge({
    "org.opencontainers.image.title"       = "pypi-mirror"
    "org.opencontainers.image.description" = "Offline PyPI mirror (Simple API: PEP 503, 691, 658, 740, 792) built from ${LOCK != "" ? "the lock ${LOCK}" : REQUIREMENTS}"
    "org.opencontainers.image.version"     = TAG
    "org.opencontainers.image.revision"    = REVISION
    "org.opencontainers.image.source"      = SOURCE_URL
    }, epoch() == "" ? {} : {
    "org.opencontainers.image.created" = formatdate("YYYY-MM-DD'T'hh:mm:ssZ", timeadd("1970-01-01T00:00:00Z", "${epoch()}s"))
    }, LOCK_SHA256 == "" ? {} : {
    "io.pypi-mirror.lock.sha256" = LOCK_SHA256
    }, MANIFEST_SHA256 == "" ? {} : {
    "io.pypi-mirror.manifest.sha256" = MANIFEST_SHA256
  })
  # rewrite-timestamp clamps file times to the epoch where the exporter honours
  # it; Docker's own image store does not (and --load replaces this output),
  # so the image ID does not rely on it: every time is set from content.
  output = ["type=docker,rewrite-timestamp=true"]
  secret = concat(
    # BEGIN secrets generated from mirror/settings.py (python3 -m mirror.knobs --write)
    CA_BUNDLE == "" ? [] : ["id=ca_bundle,src=${CA_BUNDLE}"],
    INDEX_URL_FILE == "" ? [] : ["id=index_url,src=${INDEX_URL_FILE}"],
    NETRC_FILE == "" ? [] : ["id=netrc,src=${NETRC_FILE}"],
    EXTRA_INDEX_URLS_FILE == "" ? [] : ["id=index_urls,src=${EXTRA_INDEX_URLS_FILE}"],
    # END secrets generated from mirror/settings.py
  )
}

target "mirror" {
  inherits = ["_common"]
  target   = "mirror"
  tags     = ["pypi-mirror:${TAG}"]
}

# The tree's mirror.json and lock.json alone: scripts/build reads the epoch
# and the content labels off them before it builds the images.
target "build-info" {
  inherits = ["_common"]
  target   = "build-info"
  output   = ["type=local,dest=build-info"]
}

target "wheelhouse" {
  inherits = ["_common"]
  target   = "wheelhouse"
  tags     = ["pypi-mirror-wheelhouse:${TAG}"]
}
