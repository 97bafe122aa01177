# Sourced by scripts/build and scripts/test: choose the base images.
#
# BUILDER_IMAGE / RUNTIME_IMAGE from the environment win. Otherwise the
# defaults in docker-bake.hcl are used when they are local or can be pulled;
# when they cannot (no registry: CI here, air-gapped build hosts), stand-ins
# are made from Debian packages by scripts/base-images, and this says so.

bake_default() {
  sed -n "/^variable \"$1\"/,/^}/s/^ *default *= *\"\(.*\)\"/\1/p" "$(dirname "${BASH_SOURCE[0]}")/../../docker-bake.hcl"
}

image_available() {
  docker image inspect "$1" >/dev/null 2>&1 || timeout 120 docker pull -q "$1" >/dev/null 2>&1
}

choose_bases() {
  if [ -n "${BUILDER_IMAGE:-}" ] && [ -n "${RUNTIME_IMAGE:-}" ]; then
    export BUILDER_IMAGE RUNTIME_IMAGE
    return
  fi
  local builder=${BUILDER_IMAGE:-$(bake_default BUILDER_IMAGE)}
  local runtime=${RUNTIME_IMAGE:-$(bake_default RUNTIME_IMAGE)}
  if image_available "$builder" && image_available "$runtime"; then
    export BUILDER_IMAGE=$builder RUNTIME_IMAGE=$runtime
    return
  fi
  echo "$ME: cannot pull $builder and $runtime; using stand-in bases made from Debian packages (scripts/base-images)" >&2
  eval "$("$(dirname "${BASH_SOURCE[0]}")/../base-images")"
  export BUILDER_IMAGE RUNTIME_IMAGE
}
