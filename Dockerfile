# pypi-mirror: a requirements file in, an offline PyPI mirror appliance out.
# Build it with `docker buildx bake` (docker-bake.hcl holds the knobs).
#
# Base image contracts: the comments on the ARGs below (any image meeting them
# works, Debian or Alpine, any registry). Nothing here uses a distro package
# manager or relies on a base image's ENV, USER, CMD or nginx config (stand-in
# bases imported from a tarball have none).
# BEGIN base images generated from mirror/settings.py (python3 -m mirror.knobs --write)
# BUILDER_IMAGE: base of the build stage: python3 >= 3.10 with pip and venv
ARG BUILDER_IMAGE=python:3.13-slim
# RUNTIME_IMAGE: base of the appliance: nginx >= 1.22 with njs, and /bin/sh
ARG RUNTIME_IMAGE=nginx:1.28
# END base images generated from mirror/settings.py

FROM ${BUILDER_IMAGE} AS builder
ENV PATH=/opt/mirror/bin:/usr/local/bin:/usr/bin:/bin \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
# BEGIN upstream arg generated from mirror/settings.py (python3 -m mirror.knobs --write)
ARG INDEX_URL=https://pypi.org/simple/
# END upstream arg generated from mirror/settings.py
# Secrets (CA bundle, upstream URL with credentials, netrc) are mounted, never
# copied: mirror/secrets.sh turns them into environment for one step. Wheels
# only: no package's build code runs beside them (issue 21).
COPY mirror/requirements.txt mirror/secrets.sh /src/mirror/
RUN --mount=type=secret,id=ca_bundle --mount=type=secret,id=index_url --mount=type=secret,id=netrc \
    set -eu; . /src/mirror/secrets.sh; \
    python3 -m venv /opt/mirror; \
    /opt/mirror/bin/pip install --quiet --require-hashes --only-binary :all: --index-url "$UPSTREAM" \
      -r /src/mirror/requirements.txt \
    || { echo "$ME: error: cannot install the build's own tools (mirror/requirements.txt) from $UPSTREAM_MASKED: pip's reason is above" >&2; exit 1; }

COPY build.py /src/
COPY mirror/ /src/mirror/
# Every build.py knob arrives as a PYPI_MIRROR_* build arg (docker-bake.hcl
# maps its variables onto them) and build.py reads them as its defaults: no
# argument building here. Build args are environment variables in RUN.
# BEGIN build args generated from mirror/settings.py (python3 -m mirror.knobs --write)
ARG PYPI_MIRROR_REQUIREMENTS \
    PYPI_MIRROR_LOCK \
    PYPI_MIRROR_PYTHON_VERSIONS \
    PYPI_MIRROR_PLATFORMS \
    PYPI_MIRROR_INCLUDE_SDISTS \
    PYPI_MIRROR_BUILD_SDIST_METADATA \
    PYPI_MIRROR_SKIP_MISSING_WHEELS \
    PYPI_MIRROR_AUDIT \
    PYPI_MIRROR_VULN_DB \
    PYPI_MIRROR_VULN_DB_URL \
    PYPI_MIRROR_AUDIT_IGNORE \
    PYPI_MIRROR_PROVENANCE \
    PYPI_MIRROR_PREVIOUS_MANIFEST \
    PYPI_MIRROR_PREVIOUS_AUDIT \
    PYPI_MIRROR_KEEP_PREVIOUS_PINS \
    PYPI_MIRROR_EXTRAS \
    PYPI_MIRROR_GROUPS \
    PYPI_MIRROR_EXTRA_INDEX_URLS \
    PYPI_MIRROR_SOURCE_DATE_EPOCH
# END build args generated from mirror/settings.py
# File inputs (requirement trees, lock, OSV export, ignore list, previous
# documents) come from the named context `inputs` (docker-bake.hcl assembles
# it): their content is in the cache key, any size works, and a bind mount
# keeps them out of every layer. Secrets are for secrets only. The cache
# mount keeps verified files and uv's metadata between builds; the tree is
# written fresh to /out every time.
RUN --mount=type=secret,id=ca_bundle --mount=type=secret,id=index_url --mount=type=secret,id=netrc \
    --mount=type=secret,id=index_urls \
    --mount=type=bind,from=inputs,target=/inputs \
    --mount=type=cache,id=pypi-mirror-cache,target=/cache \
    set -eu; . /src/mirror/secrets.sh; cd /src; \
    python3 build.py build --out /out/pypi --nginx-map /out/map/etc/pypi-mirror/nginx/projects.map --cache-dir /cache; \
    python3 -m mirror.core.stamp /out/map; \
    env -u PYPI_MIRROR_INDEX_URL -u NETRC -u PYPI_MIRROR_INDEX_CREDENTIALS python3 -m mirror.tree.layers /out/pypi /out/layers

# The tree's build time and identity, for scripts/build (the images' epoch
# and content labels are known only once the tree is).
FROM scratch AS build-info
COPY --from=builder /out/pypi/mirror.json /out/pypi/lock.json /

# The tree alone, for `COPY --from=pypi-mirror-wheelhouse /srv/pypi /srv/pypi`.
FROM scratch AS wheelhouse
# The tree in layers that stay the same when unrelated projects change
# (mirror/tree/layers.py): the large projects one a layer, the others in buckets
# by project name, then the index pages, the vulnerability data and the documents. Put new top-level tree entries
# in the tree, not here: mirror/tree/layers.py routes them.
# BEGIN layers generated from mirror/tree/layers.py (python3 -m mirror.tree.layers --write)
COPY --from=builder /out/layers/o00/ /
COPY --from=builder /out/layers/o01/ /
COPY --from=builder /out/layers/o02/ /
COPY --from=builder /out/layers/o03/ /
COPY --from=builder /out/layers/o04/ /
COPY --from=builder /out/layers/o05/ /
COPY --from=builder /out/layers/o06/ /
COPY --from=builder /out/layers/o07/ /
COPY --from=builder /out/layers/o08/ /
COPY --from=builder /out/layers/o09/ /
COPY --from=builder /out/layers/o10/ /
COPY --from=builder /out/layers/o11/ /
COPY --from=builder /out/layers/o12/ /
COPY --from=builder /out/layers/o13/ /
COPY --from=builder /out/layers/o14/ /
COPY --from=builder /out/layers/o15/ /
COPY --from=builder /out/layers/o16/ /
COPY --from=builder /out/layers/o17/ /
COPY --from=builder /out/layers/p00/ /
COPY --from=builder /out/layers/p01/ /
COPY --from=builder /out/layers/p02/ /
COPY --from=builder /out/layers/p03/ /
COPY --from=builder /out/layers/p04/ /
COPY --from=builder /out/layers/p05/ /
COPY --from=builder /out/layers/p06/ /
COPY --from=builder /out/layers/p07/ /
COPY --from=builder /out/layers/p08/ /
COPY --from=builder /out/layers/p09/ /
COPY --from=builder /out/layers/simple/ /
COPY --from=builder /out/layers/osv/ /
COPY --from=builder /out/layers/docs/ /
# END layers generated from mirror/tree/layers.py

# The appliance's own files (nginx config, the entry point and its hooks),
# laid out as they sit in the image, every file and folder with one fixed time
# and a content-derived mode (mirror/core/stamp.py). COPYed straight from the
# context they would carry the clone's checkout times, and the folders a COPY
# makes the wall clock: the image ID would differ between clones.
FROM ${BUILDER_IMAGE} AS appliance-files
ENV PATH=/usr/local/bin:/usr/bin:/bin
COPY nginx/*.conf nginx/osv.js /files/etc/pypi-mirror/nginx/
COPY nginx/auth/ /files/etc/pypi-mirror/nginx/auth/
COPY nginx/docker-entrypoint.sh /files/
COPY nginx/entrypoint.d/ /files/docker-entrypoint.d/
COPY mirror/core/stamp.py /stamp.py
RUN ["python3", "/stamp.py", "/files"]

FROM ${RUNTIME_IMAGE} AS mirror
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# No RUN in this stage: its layer would hold /etc with the wall clock (the
# build's own mounts touch it) and, on the official nginx image, a whiteout
# timed by the wall clock. The official image's hooks in /docker-entrypoint.d
# stay; the entry point skips them (nginx/docker-entrypoint.sh).
# Each COPY to / brings its folders with their fixed times.
COPY --from=appliance-files /files/ /
COPY --from=builder /out/map/ /
# The tree in layers that stay the same when unrelated projects change
# (mirror/tree/layers.py): the large projects one a layer, the others in buckets
# by project name, then the index pages, the vulnerability data and the documents. Put new top-level tree entries
# in the tree, not here: mirror/tree/layers.py routes them.
# BEGIN layers generated from mirror/tree/layers.py (python3 -m mirror.tree.layers --write)
COPY --from=builder /out/layers/o00/ /
COPY --from=builder /out/layers/o01/ /
COPY --from=builder /out/layers/o02/ /
COPY --from=builder /out/layers/o03/ /
COPY --from=builder /out/layers/o04/ /
COPY --from=builder /out/layers/o05/ /
COPY --from=builder /out/layers/o06/ /
COPY --from=builder /out/layers/o07/ /
COPY --from=builder /out/layers/o08/ /
COPY --from=builder /out/layers/o09/ /
COPY --from=builder /out/layers/o10/ /
COPY --from=builder /out/layers/o11/ /
COPY --from=builder /out/layers/o12/ /
COPY --from=builder /out/layers/o13/ /
COPY --from=builder /out/layers/o14/ /
COPY --from=builder /out/layers/o15/ /
COPY --from=builder /out/layers/o16/ /
COPY --from=builder /out/layers/o17/ /
COPY --from=builder /out/layers/p00/ /
COPY --from=builder /out/layers/p01/ /
COPY --from=builder /out/layers/p02/ /
COPY --from=builder /out/layers/p03/ /
COPY --from=builder /out/layers/p04/ /
COPY --from=builder /out/layers/p05/ /
COPY --from=builder /out/layers/p06/ /
COPY --from=builder /out/layers/p07/ /
COPY --from=builder /out/layers/p08/ /
COPY --from=builder /out/layers/p09/ /
COPY --from=builder /out/layers/simple/ /
COPY --from=builder /out/layers/osv/ /
COPY --from=builder /out/layers/docs/ /
# END layers generated from mirror/tree/layers.py
USER 101:101
EXPOSE 8080 8443
STOPSIGNAL SIGQUIT
ENTRYPOINT ["/docker-entrypoint.sh"]
CMD ["/usr/sbin/nginx", "-c", "/etc/pypi-mirror/nginx/nginx.conf", "-e", "/dev/stderr", "-g", "daemon off;"]
