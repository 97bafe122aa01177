#!/bin/sh
# Takes the client's address from X-Forwarded-For when, and only when, the
# request comes from a proxy named in MIRROR_TRUSTED_PROXIES (nginx's realip
# module). Behind an ingress or load balancer every request otherwise comes
# from the proxy, so the auth rate limit would key every client as one
# address and the access log would name only the proxy.
#
#   MIRROR_TRUSTED_PROXIES  addresses or CIDR ranges (comma/space separated)
#                           of the proxies in front; unset or empty: no
#                           client's header is trusted
#
# With several proxies in a chain the address is the right-most one in the
# header that is not itself a trusted proxy (real_ip_recursive): a client
# can prepend what it likes, but not past the proxy that appended its address.
# Writes /tmp/pypi-mirror/conf.d/server/25-trusted-proxies.conf (both servers).
set -eu

ME=${0##*/}
info() { printf '%s: info: %s\n' "$ME" "$*" >&2; }
fail() { printf '%s: error: %s\n' "$ME" "$*" >&2; exit 1; }

snippet=/tmp/pypi-mirror/conf.d/server/25-trusted-proxies.conf
mkdir -p "${snippet%/*}"
rm -f "$snippet"

# One space between entries, none around them.
proxies=$(printf '%s' "${MIRROR_TRUSTED_PROXIES:-}" | tr ',\t\n' '   ' | tr -s ' ' | sed 's/^ //; s/ $//')
if [ -z "$proxies" ]; then
    info "no MIRROR_TRUSTED_PROXIES: X-Forwarded-For is not trusted, clients are their peer address"
    exit 0
fi

# An IPv4 address (four numbers 0-255) with an optional /0-32, or an IPv6
# address (hex groups and colons, an embedded IPv4 tail allowed) with /0-128.
valid() {
    entry=$1
    addr=${entry%/*}
    case "$addr" in
    *:*)
        case "$addr" in *[!0-9A-Fa-f:.]* | *:::*) return 1 ;; esac
        max=128
        ;;
    *.*.*.*)
        case "$addr" in *[!0-9.]* | *..* | .* | *.) return 1 ;; esac
        old_ifs=$IFS
        IFS=.
        set -- $addr
        IFS=$old_ifs
        [ $# -eq 4 ] || return 1
        for part in "$@"; do
            [ ${#part} -le 3 ] && [ "$part" -le 255 ] || return 1
        done
        max=32
        ;;
    *) return 1 ;;
    esac
    [ "$addr" = "$entry" ] && return 0
    prefix=${entry#*/}
    case "$prefix" in "" | *[!0-9]*) return 1 ;; esac
    [ ${#prefix} -le 3 ] && [ "$prefix" -le "$max" ]
}

tmp=$snippet.tmp
{
    printf '# Written by %s; regenerated on every start.\n' "$ME"
    set -f
    for proxy in $proxies; do
        valid "$proxy" || { rm -f "$tmp"; fail "MIRROR_TRUSTED_PROXIES: '$proxy' is not an IP address or CIDR range"; }
        printf 'set_real_ip_from %s;\n' "$proxy"
    done
    set +f
    printf 'real_ip_header X-Forwarded-For;\nreal_ip_recursive on;\n'
} >"$tmp"
mv "$tmp" "$snippet"
info "X-Forwarded-For trusted from: $proxies"
