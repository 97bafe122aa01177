# pypi-mirror: a requirements file in, an offline PyPI mirror appliance out.
# Build it with `docker buildx bake` (docker-bake.hcl holds the knobs).
#
# Base image contracts (any image meeting them works, Debian or Alpine, any registry):
#   BUILDER_IMAGE  python3 >= 3.9 with pip and venv
#   RUNTIME_IMAGE  nginx >= 1.22 with its njs module (ngx_http_js_module.so, njs >= 0.7.9) and /bin/sh
# Nothing here uses a distro package manager or relies on a base image's
# ENV, USER, CMD or nginx config (stand-in bases imported from a tarball have none).
ARG BUILDER_IMAGE=python:3.13-slim
ARG RUNTIME_IMAGE=nginx:1.28

FROM ${BUILDER_IMAGE} AS builder
ENV PATH=/opt/mirror/bin:/usr/local/bin:/usr/bin:/bin \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
ARG INDEX_URL=https://pypi.org/simple/
# Secrets (CA bundle, upstream URL with credentials, netrc) are mounted, never
# copied: mirror/secrets.sh turns them into environment for one step.
COPY mirror/requirements.txt mirror/secrets.sh /src/mirror/
RUN --mount=type=secret,id=ca_bundle --mount=type=secret,id=index_url --mount=type=secret,id=netrc \
    set -eu; . /src/mirror/secrets.sh; \
    python3 -m venv /opt/mirror; \
    /opt/mirror/bin/pip install --quiet --require-hashes --index-url "$UPSTREAM" -r /src/mirror/requirements.txt \
    || { echo "$ME: error: cannot install the build's own tools (mirror/requirements.txt) from $UPSTREAM_MASKED: pip's reason is above" >&2; exit 1; }

COPY build.py /src/
COPY mirror/ /src/mirror/
# REQUIREMENTS is a requirements file, or a lock.json from an earlier build
# when INPUT_IS_LOCK is set (bake sets both from its LOCK variable).
ARG REQUIREMENTS=requirements/pip-audit.txt
ARG INPUT_IS_LOCK=
ARG PYTHON_VERSIONS=
ARG PLATFORMS=
ARG INCLUDE_SDISTS=
ARG SKIP_MISSING_WHEELS=
# File inputs (the audit's OSV export and ignore list, a previous build's
# manifest and audit for changes.json) come in as secrets so that any host
# path works and none lands in a layer. Secrets are not in the cache key:
# FILE_INPUTS_SHA256 (their hashes, set by scripts/build) re-runs the step
# when one changes.
ARG AUDIT=warn
ARG KEEP_PREVIOUS_PINS=
ARG FILE_INPUTS_SHA256=
# Empty: the build time is the newest mirrored file's upload time (mirror/manifest.py).
ARG SOURCE_DATE_EPOCH=
COPY ${REQUIREMENTS} /src/input/requirements
# The cache mount keeps verified files and uv's metadata between builds; the
# tree itself is written fresh to /out every time.
RUN --mount=type=secret,id=ca_bundle --mount=type=secret,id=index_url --mount=type=secret,id=netrc \
    --mount=type=secret,id=vuln_db --mount=type=secret,id=audit_ignore \
    --mount=type=secret,id=previous_manifest --mount=type=secret,id=previous_audit \
    --mount=type=cache,id=pypi-mirror-cache,target=/cache \
    set -eu; . /src/mirror/secrets.sh; \
    set -- --out /out/pypi --nginx-map /out/nginx/projects.map --index-url "$UPSTREAM" --cache-dir /cache; \
    if [ -n "$INPUT_IS_LOCK" ]; then set -- "$@" --lock /src/input/requirements; \
    else set -- "$@" --requirements /src/input/requirements; fi; \
    if [ -n "$CA_BUNDLE" ]; then set -- "$@" --ca-bundle "$CA_BUNDLE"; fi; \
    if [ -n "$PYTHON_VERSIONS" ]; then set -- "$@" --python-versions "$PYTHON_VERSIONS"; fi; \
    if [ -n "$PLATFORMS" ]; then set -- "$@" --platforms "$PLATFORMS"; fi; \
    case "$INCLUDE_SDISTS" in 1|true|yes) set -- "$@" --include-sdists;; esac; \
    case "$SKIP_MISSING_WHEELS" in 1|true|yes) set -- "$@" --skip-missing-wheels;; esac; \
    set -- "$@" --audit "${AUDIT:-warn}"; \
    if [ -s /run/secrets/vuln_db ]; then set -- "$@" --vuln-db /run/secrets/vuln_db; fi; \
    if [ -s /run/secrets/audit_ignore ]; then set -- "$@" --audit-ignore /run/secrets/audit_ignore; fi; \
    if [ -s /run/secrets/previous_manifest ]; then set -- "$@" --previous-manifest /run/secrets/previous_manifest; fi; \
    if [ -s /run/secrets/previous_audit ]; then set -- "$@" --previous-audit /run/secrets/previous_audit; fi; \
    case "$KEEP_PREVIOUS_PINS" in 1|true|yes) set -- "$@" --keep-previous-pins;; esac; \
    cd /src && python3 build.py build "$@"
# Three layers, each changing only with its own input: the files and pages (the
# lock), the advisories (the OSV export: an advisory-only refresh ships just
# that layer), and the documents describing both. mirror/pipeline.py gave the
# first two reproducible mtimes; the layer roots take theirs from them.
RUN set -eu; mkdir -p /out/layers/content /out/layers/osv; \
    mv /out/pypi/packages /out/pypi/simple /out/layers/content/; mv /out/pypi/osv /out/layers/osv/; \
    touch -r /out/layers/content/simple /out/layers/content; touch -r /out/layers/osv/osv /out/layers/osv

# The tree alone, for `COPY --from=pypi-mirror-wheelhouse /srv/pypi /srv/pypi`.
FROM scratch AS wheelhouse
COPY --from=builder /out/layers/content /srv/pypi
COPY --from=builder /out/layers/osv /srv/pypi
COPY --from=builder /out/pypi /srv/pypi

FROM ${RUNTIME_IMAGE} AS mirror
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# The official nginx image's own hooks edit /etc/nginx, which this image does
# not use; only ours run.
RUN ["/bin/rm", "-rf", "/docker-entrypoint.d"]
COPY nginx/*.conf nginx/osv.js /etc/pypi-mirror/nginx/
COPY nginx/docker-entrypoint.sh /docker-entrypoint.sh
COPY nginx/entrypoint.d/ /docker-entrypoint.d/
COPY --from=builder /out/nginx/projects.map /etc/pypi-mirror/nginx/projects.map
COPY --from=builder /out/layers/content /srv/pypi
COPY --from=builder /out/layers/osv /srv/pypi
COPY --from=builder /out/pypi /srv/pypi
USER 101:101
EXPOSE 8080 8443
STOPSIGNAL SIGQUIT
ENTRYPOINT ["/docker-entrypoint.sh"]
CMD ["/usr/sbin/nginx", "-c", "/etc/pypi-mirror/nginx/nginx.conf", "-e", "/dev/stderr", "-g", "daemon off;"]
