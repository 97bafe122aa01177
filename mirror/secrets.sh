# Sourced by the builder's RUN steps in the Dockerfile: upstream secrets become
# environment for this one step only, never a layer, build arg or history entry.
# BuildKit mounts each secret under /run/secrets when bake was given it.
ME=pypi-mirror
case "$INDEX_URL" in
  *://*@*)
    echo "$ME: error: INDEX_URL carries credentials, which would stay in the image history;" \
      "give the URL as INDEX_URL_FILE or the credentials as NETRC_FILE instead" >&2
    exit 1 ;;
esac
# RUN lines use $UPSTREAM, never $INDEX_URL: BuildKit prints each RUN line with
# its build args filled in, and this value may come with credentials.
UPSTREAM=$INDEX_URL
if [ -s /run/secrets/index_url ]; then UPSTREAM=$(cat /run/secrets/index_url); fi
export PYPI_MIRROR_INDEX_URL="$UPSTREAM"
UPSTREAM_MASKED=$(printf '%s' "$UPSTREAM" | sed 's#//[^/]*@#//***@#')
if [ -s /run/secrets/netrc ]; then export NETRC=/run/secrets/netrc; fi
# EXTRA_INDEX_URLS_FILE: index URLs with credentials, one per line (mirror/upstream/indexes.py).
if [ -s /run/secrets/index_urls ]; then export PYPI_MIRROR_INDEX_CREDENTIALS=/run/secrets/index_urls; fi
CA_BUNDLE=
if [ -s /run/secrets/ca_bundle ]; then
  CA_BUNDLE=/run/secrets/ca_bundle
  # pip, requests and uv each read their own variable.
  export PIP_CERT=$CA_BUNDLE REQUESTS_CA_BUNDLE=$CA_BUNDLE SSL_CERT_FILE=$CA_BUNDLE PYPI_MIRROR_CA_BUNDLE=$CA_BUNDLE
fi
