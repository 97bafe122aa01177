#!/bin/sh
# Puts every path except /healthz behind HTTP basic auth (both servers).
#
#   MIRROR_BASIC_AUTH  "user:pass[,user2:pass2]": hashed (SHA-512 crypt) into
#                      /tmp/pypi-mirror/auth/htpasswd; wins over a mounted file
#   MIRROR_HTPASSWD    mounted htpasswd, default /etc/pypi-mirror/auth/htpasswd
#                      (used when it exists; an explicit path must exist)
set -eu

ME=${0##*/}
info() { printf '%s: info: %s\n' "$ME" "$*" >&2; }
fail() { printf '%s: error: %s\n' "$ME" "$*" >&2; exit 1; }

out=/tmp/pypi-mirror
snippet=$out/conf.d/30-basic-auth.conf
generated=$out/auth/htpasswd

mkdir -p "$out/conf.d"
rm -f "$snippet" "$generated"

if [ -n "${MIRROR_BASIC_AUTH:-}" ]; then
    command -v openssl >/dev/null 2>&1 \
        || fail "MIRROR_BASIC_AUTH is set but openssl is not installed in this image"
    mkdir -p "$out/auth"
    chmod 700 "$out/auth"
    tmp=$generated.tmp
    (umask 077 && : >"$tmp")
    users=""
    # Split on commas without letting the shell glob the credentials.
    set -f
    old_ifs=$IFS
    IFS=,
    for pair in $MIRROR_BASIC_AUTH; do
        IFS=$old_ifs
        user=${pair%%:*}
        pass=${pair#*:}
        case "$pair" in *:*) ;; *) rm -f "$tmp"; fail "MIRROR_BASIC_AUTH entries must be user:password" ;; esac
        [ -n "$user" ] && [ -n "$pass" ] || { rm -f "$tmp"; fail "MIRROR_BASIC_AUTH has an empty user or password"; }
        # printf is a shell builtin, so the password never appears in ps.
        hash=$(printf '%s' "$pass" | openssl passwd -6 -stdin) \
            || { rm -f "$tmp"; fail "openssl could not hash the password for user '$user'"; }
        printf '%s:%s\n' "$user" "$hash" >>"$tmp"
        users="$users $user"
    done
    IFS=$old_ifs
    set +f
    mv "$tmp" "$generated"
    if [ "$(id -u)" = 0 ]; then
        # As root, nginx workers run as "nobody" and read this file per request.
        { chown nobody "$generated" && chmod 711 "$out/auth"; } 2>/dev/null \
            || info "warning: could not hand $generated to user nobody"
    fi
    htpasswd=$generated
    info "basic auth on for:$users"
elif [ -n "${MIRROR_HTPASSWD:-}" ] || [ -e /etc/pypi-mirror/auth/htpasswd ]; then
    htpasswd=${MIRROR_HTPASSWD:-/etc/pypi-mirror/auth/htpasswd}
    [ -r "$htpasswd" ] || fail "htpasswd file $htpasswd is missing or not readable by uid $(id -u)"
    grep -q '^[^#:][^:]*:.' "$htpasswd" || fail "htpasswd file $htpasswd has no user:hash line"
    info "basic auth on with $htpasswd"
else
    info "no MIRROR_BASIC_AUTH and no htpasswd file, basic auth off"
    exit 0
fi

cat >"$snippet.tmp" <<CONF
# Written by $ME. http level: inherited by every location; /healthz opts out.
auth_basic "pypi-mirror";
auth_basic_user_file $htpasswd;
CONF
mv "$snippet.tmp" "$snippet"
