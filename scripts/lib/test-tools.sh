# Sourced by scripts/test: the tools the tests drive that a bare Debian host
# lacks, installed the same way on every new machine. Each ensure_* is a
# no-op where a good enough version is already on PATH.
. "$(dirname "${BASH_SOURCE[0]}")/debian.sh"
TOOLS_SUITE=${TOOLS_SUITE:-trixie}
TOOLS_DIR=${TOOLS_DIR:-/opt/pypi-mirror/tools-$TOOLS_SUITE}

# kubectl >= 1.21 renders kustomize components (deploy/kubernetes); Debian
# 12's kubernetes-client is 1.20, Debian 13's kubectl 1.32.
ensure_kubectl() {
  local version
  version=$(kubectl version --client 2>/dev/null | sed -n 's/^Client Version: v1\.\([0-9][0-9]*\).*/\1/p')
  if [ -n "$version" ] && [ "$version" -ge 21 ]; then return; fi
  if [ ! -x "$TOOLS_DIR/usr/bin/kubectl" ]; then
    echo "$ME: installing kubectl from Debian $TOOLS_SUITE into $TOOLS_DIR" >&2
    fetch_debs "$TOOLS_SUITE" "$TOOLS_DIR" kubectl || { echo "$ME: error: cannot download kubectl" >&2; return 1; }
  fi
  export PATH="$TOOLS_DIR/usr/bin:$PATH"
}

# The CNCF distribution registry, for the push/pull tests (Debian 12 has 2.8).
ensure_registry() {
  command -v docker-registry >/dev/null 2>&1 && return
  echo "$ME: installing docker-registry" >&2
  apt_install docker-registry
}

ensure_test_tools() {
  ensure_kubectl
  ensure_registry
}
