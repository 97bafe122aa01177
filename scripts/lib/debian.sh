# Sourced by scripts that need a tool this host's Debian release lacks or has
# too old: fetch_debs SUITE DIR PACKAGE... downloads those packages from
# another Debian release with a throw-away apt state (nothing is added to the
# system's sources, nothing is installed through dpkg) and unpacks them under
# DIR. The archive URI is the host's own, so a local Debian mirror works.

debian_archive_uri() {
  local uri=""
  if [ -r /etc/apt/sources.list.d/debian.sources ]; then
    uri=$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/debian.sources | grep -v security | head -n1)
  fi
  if [ -z "$uri" ] && [ -r /etc/apt/sources.list ]; then
    uri=$(sed -n 's/^deb \(\[[^]]*\] \)\{0,1\}\([^ ]*\) .*/\2/p' /etc/apt/sources.list | grep -v security | head -n1)
  fi
  echo "${uri:-http://deb.debian.org/debian}"
}

fetch_debs() {
  local suite=$1 dir=$2; shift 2
  local work; work=$(mktemp -d)
  mkdir -p "$work/lists/partial" "$work/archives/partial" "$work/cache" "$work/etc/preferences.d" "$work/etc/sources.list.d"
  echo "deb $(debian_archive_uri) $suite main" >"$work/etc/sources.list"
  # Every apt path that could carry the host's own state points under $work:
  # the host's package cache or pins would otherwise pick other versions.
  local opts=(-o "Dir::Etc::SourceList=$work/etc/sources.list" -o "Dir::Etc::SourceParts=$work/etc/sources.list.d"
              -o "Dir::Etc::Preferences=$work/etc/preferences" -o "Dir::Etc::PreferencesParts=$work/etc/preferences.d"
              -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o "Dir::Cache::Archives=$work/archives"
              -o "Dir::State::Status=/dev/null" -o "Debug::NoLocking=1" -o "APT::Sandbox::User=root")
  apt-get "${opts[@]}" update -qq >/dev/null || { rm -rf "$work"; return 1; }
  (cd "$work" && apt-get "${opts[@]}" download "$@" >/dev/null) || { rm -rf "$work"; return 1; }
  mkdir -p "$dir"
  local deb
  for deb in "$work"/*.deb; do dpkg -x "$deb" "$dir"; done
  rm -rf "$work"
}

# apt_install PACKAGE...: from the host's own release, when a command is missing.
apt_install() {
  [ "$(id -u)" = 0 ] || { echo "$ME: error: $* missing and installing needs root" >&2; return 1; }
  if [ -z "${_APT_UPDATED:-}" ]; then apt-get update -qq >/dev/null; _APT_UPDATED=1; fi
  local err; err=$(mktemp)
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>"$err" \
    || { grep -v '^debconf:' "$err" >&2; rm -f "$err"; return 1; }
  rm -f "$err"
}
