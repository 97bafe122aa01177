#!/bin/sh
# Puts every path except /healthz behind HTTP basic auth (both servers), with
# the hash checked once per credential and cache period (auth/*.template).
#
#   MIRROR_BASIC_AUTH          "user:pass[,user2:pass2]": hashed (SHA-512 crypt)
#                              into /tmp/pypi-mirror/auth/htpasswd; wins over a
#                              mounted file
#   MIRROR_HTPASSWD            mounted htpasswd, default
#                              /etc/pypi-mirror/auth/htpasswd (used when it
#                              exists; an explicit path must exist)
#   MIRROR_AUTH_CACHE_SECONDS  how long a successful check is reused, 0-60,
#                              default 30 (0: check the hash on every request)
#   MIRROR_AUTH_RATE           hash checks per second per client address, default 20
#   MIRROR_AUTH_BURST          checks above that rate that wait their turn,
#                              default 100; more get a delayed 429
set -eu

ME=${0##*/}
info() { printf '%s: info: %s\n' "$ME" "$*" >&2; }
fail() { printf '%s: error: %s\n' "$ME" "$*" >&2; exit 1; }

out=/tmp/pypi-mirror
templates=/etc/pypi-mirror/nginx/auth
snippet=$out/conf.d/30-basic-auth.conf
server_snippet=$out/conf.d/server/30-basic-auth.conf
generated=$out/auth/htpasswd
cache=$out/auth-cache

mkdir -p "$out/conf.d/server"
rm -f "$snippet" "$server_snippet" "$generated"
# Successes cached by an earlier start: keyed under that start's secret, so
# unreachable anyway; removed so that nothing outlives its nginx.
rm -rf "$cache"

# A whole number in [min, max], or the default when unset.
number() { # name default min max
    eval "value=\${$1:-$2}"
    case "$value" in "" | *[!0-9]*) fail "$1 must be a whole number (got '$value')" ;; esac
    # Leading zeros would make the shell read it as octal.
    value=${value#"${value%%[!0]*}"}
    value=${value:-0}
    # More digits than any limit here has would overflow the shell's test.
    [ ${#value} -le 6 ] && [ "$value" -ge "$3" ] && [ "$value" -le "$4" ] || fail "$1 must be between $3 and $4 (got $value)"
    printf '%s' "$((value))"
}
cache_seconds=$(number MIRROR_AUTH_CACHE_SECONDS 30 0 60)
rate=$(number MIRROR_AUTH_RATE 20 1 100000)
burst=$(number MIRROR_AUTH_BURST 100 0 100000)

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
    case "$htpasswd" in
    /*) ;;
    *) fail "MIRROR_HTPASSWD must be an absolute path (got '$htpasswd')" ;;
    esac
    case "$htpasswd" in
    *[!A-Za-z0-9._/+-]*) fail "MIRROR_HTPASSWD may only hold letters, digits and ._/+- (got '$htpasswd')" ;;
    esac
    [ -r "$htpasswd" ] || fail "htpasswd file $htpasswd is missing or not readable by uid $(id -u)"
    grep -q '^[^#:][^:]*:.' "$htpasswd" || fail "htpasswd file $htpasswd has no user:hash line"
    info "basic auth on with $htpasswd"
else
    info "no MIRROR_BASIC_AUTH and no htpasswd file, basic auth off"
    exit 0
fi

# With the cache off the templates still need a period (unused).
if [ "$cache_seconds" = 0 ]; then proxy_cache=off period=1; else proxy_cache=pm_auth period=$cache_seconds; fi

# njs >= 0.8 has shared dictionaries (js_shared_dict_zone): the key's HMAC
# secret is then made by njs and kept in shared memory only, and a request
# whose credential passed a check this period needs neither the cache nor
# the check server (basic-auth.js). Asked of the njs this image loads
# (15-njs.sh) with a throw-away config, so the answer is the module's own.
njs_shared_dict() {
    probe=$out/auth-probe.conf
    printf '%s\n' "include $out/modules.d/*.conf;" "pid $out/auth-probe.pid;" "events {}" \
        "http { client_body_temp_path $out/client_body; proxy_temp_path $out/proxy; fastcgi_temp_path $out/fastcgi;" \
        "uwsgi_temp_path $out/uwsgi; scgi_temp_path $out/scgi; js_shared_dict_zone zone=pm_auth_probe:64k; }" >"$probe"
    /usr/sbin/nginx -t -q -c "$probe" -e /dev/null >/dev/null 2>&1
    status=$?
    rm -f "$probe"
    return $status
}
seen_zone="# no dictionary of seen credentials (MIRROR_AUTH_CACHE_SECONDS=0)"
# Without the dictionary every request makes the check's subrequest; with it
# only requests whose credential it does not know yet (auth/gate.conf).
access=every-request.conf
if njs_shared_dict; then
    secret_line="js_shared_dict_zone zone=pm_auth_secret:32k;"
    if [ "$cache_seconds" != 0 ]; then
        seen_zone="js_shared_dict_zone zone=pm_auth_seen:3m timeout=${period}s evict;"
        access=gate.conf
        info "credentials that passed a check are known in shared memory for a period: their requests make no subrequest"
    fi
else
    # The cache key's HMAC secret: new at every start, only in this 0600 snippet.
    secret=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
    [ ${#secret} -eq 64 ] || fail "could not read 32 random bytes from /dev/urandom"
    secret_line="js_var \$pm_auth_secret $secret;"
    seen_zone="# no dictionary of seen credentials (njs < 0.8)"
    info "this njs has no shared dictionaries (njs < 0.8): every request asks the auth cache (slower)"
fi
check_timeout=$((burst / rate + 10))
# nginx refuses "burst=0"; without the option the burst is 0.
if [ "$burst" = 0 ]; then burst_option=""; else burst_option=" burst=$burst"; fi

render() { # output template...
    out_file=$1
    shift
    (umask 077 && sed -e "s|@SECRET@|$secret_line|g" -e "s|@HTPASSWD@|$htpasswd|g" \
        -e "s|@CACHE@|$proxy_cache|g" -e "s|@CACHE_SECONDS@|$cache_seconds|g" -e "s|@CACHE_PERIOD@|$period|g" \
        -e "s|@RATE@|$rate|g" -e "s|@BURST@|$burst|g" -e "s|@CHECK_TIMEOUT@|$check_timeout|g" \
        -e "s|@SEEN_ZONE@|$seen_zone|g" -e "s|@BURST_OPTION@|$burst_option|g" \
        "$@" >"$out_file.tmp") \
        || fail "cannot write $out_file"
    ! grep -q '@[A-Z_]*@' "$out_file.tmp" || fail "$* has a placeholder this hook does not fill in"
    mv "$out_file.tmp" "$out_file"
}
render "$snippet" "$templates/http.conf.template"
render "$server_snippet" "$templates/server.conf.template" "$templates/$access"
info "successful checks cached for ${cache_seconds} s; at most $rate checks/s per client address, $burst more queued"
