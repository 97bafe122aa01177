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
# Every build.py knob arrives as a PYPI_MIRROR_* build arg (docker-bake.hcl
# maps its variables onto them) and build.py reads them as its defaults: no
# argument building here. Build args are environment variables in RUN.
ARG PYPI_MIRROR_REQUIREMENTS \
    PYPI_MIRROR_LOCK \
    PYPI_MIRROR_PYTHON_VERSIONS \
    PYPI_MIRROR_PLATFORMS \
    PYPI_MIRROR_INCLUDE_SDISTS \
    PYPI_MIRROR_SKIP_MISSING_WHEELS \
    PYPI_MIRROR_AUDIT \
    PYPI_MIRROR_VULN_DB \
    PYPI_MIRROR_VULN_DB_URL \
    PYPI_MIRROR_AUDIT_IGNORE \
    PYPI_MIRROR_PREVIOUS_MANIFEST \
    PYPI_MIRROR_PREVIOUS_AUDIT \
    PYPI_MIRROR_KEEP_PREVIOUS_PINS \
    PYPI_MIRROR_SOURCE_DATE_EPOCH
# File inputs (requirement trees, lock, OSV export, ignore list, previous
# documents) come from the named context `inputs` (docker-bake.hcl assembles
# it): their content is in the cache key, any size works, and a bind mount
# keeps them out of every layer. Secrets are for secrets only. The cache
# mount keeps verified files and uv's metadata between builds; the tree is
# written fresh to /out every time.
RUN --mount=type=secret,id=ca_bundle --mount=type=secret,id=index_url --mount=type=secret,id=netrc \
    --mount=type=bind,from=inputs,target=/inputs \
    --mount=type=cache,id=pypi-mirror-cache,target=/cache \
    set -eu; . /src/mirror/secrets.sh; cd /src; \
    python3 build.py build --out /out/pypi --nginx-map /out/nginx/projects.map --cache-dir /cache
# Three layers, each changing only with its own input: the files and pages (the
# lock), the advisories (the OSV export: an advisory-only refresh ships just
# that layer), and the documents describing both. mirror/pipeline.py gave the
# first two reproducible mtimes; the folders above them take theirs from them
# (they are copied to /, so no folder of the layer gets the time of the build).
RUN set -eu; mkdir -p /out/layers/content/srv/pypi /out/layers/osv/srv/pypi; \
    mv /out/pypi/packages /out/pypi/simple /out/layers/content/srv/pypi/; mv /out/pypi/osv /out/layers/osv/srv/pypi/; \
    for layer in content/srv/pypi/simple osv/srv/pypi/osv; do \
        for folder in srv/pypi srv .; do touch -r "/out/layers/$layer" "/out/layers/${layer%%/*}/$folder"; done; \
    done; touch -r /out/layers/content/srv/pypi/simple /out/nginx/projects.map

# The tree alone, for `COPY --from=pypi-mirror-wheelhouse /srv/pypi /srv/pypi`.
FROM scratch AS wheelhouse
COPY --from=builder /out/layers/content /
COPY --from=builder /out/layers/osv /
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
COPY --from=builder /out/layers/content /
COPY --from=builder /out/layers/osv /
COPY --from=builder /out/pypi /srv/pypi
USER 101:101
EXPOSE 8080 8443
STOPSIGNAL SIGQUIT
ENTRYPOINT ["/docker-entrypoint.sh"]
CMD ["/usr/sbin/nginx", "-c", "/etc/pypi-mirror/nginx/nginx.conf", "-e", "/dev/stderr", "-g", "daemon off;"]
