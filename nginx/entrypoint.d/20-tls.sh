#!/bin/sh
# Adds an HTTPS server on 8443 (same locations as 8080) when a certificate is
# mounted or MIRROR_TLS=self-signed; optionally redirects 8080 to it.
#
#   MIRROR_TLS           unset: TLS if the pair exists; "self-signed": make a
#                        fresh pair; "on": require the pair; "off": never
#   MIRROR_TLS_CERT      default /etc/pypi-mirror/tls/tls.crt
#   MIRROR_TLS_KEY       default /etc/pypi-mirror/tls/tls.key
#   MIRROR_TLS_HOSTNAMES extra SAN names for self-signed (comma/space separated)
#   MIRROR_TLS_REDIRECT  1: plain HTTP answers 301 to https (except /healthz)
#   MIRROR_HTTPS_PORT    port put in that redirect, default 8443
set -eu

ME=${0##*/}
info() { printf '%s: info: %s\n' "$ME" "$*" >&2; }
fail() { printf '%s: error: %s\n' "$ME" "$*" >&2; exit 1; }

nginx_bin=/usr/sbin/nginx
out=/tmp/pypi-mirror
snippet=$out/conf.d/20-tls.conf
redirect_snippet=$out/conf.d/plain/20-tls-redirect.conf

mode=${MIRROR_TLS:-}
cert=${MIRROR_TLS_CERT:-/etc/pypi-mirror/tls/tls.crt}
key=${MIRROR_TLS_KEY:-/etc/pypi-mirror/tls/tls.key}
redirect=${MIRROR_TLS_REDIRECT:-0}
https_port=${MIRROR_HTTPS_PORT:-8443}

mkdir -p "$out/conf.d/plain"
rm -f "$snippet" "$redirect_snippet"

case "$mode" in
off)
    [ "$redirect" = 1 ] && fail "MIRROR_TLS_REDIRECT=1 but MIRROR_TLS=off"
    info "MIRROR_TLS=off, TLS disabled"
    exit 0
    ;;
self-signed | on | "") ;;
*) fail "MIRROR_TLS must be one of: self-signed, on, off (got '$mode')" ;;
esac

# An explicitly given path means TLS is wanted: a missing file is an error.
if [ "$mode" = "" ] && { [ -n "${MIRROR_TLS_CERT:-}" ] || [ -n "${MIRROR_TLS_KEY:-}" ]; }; then
    mode=on
fi
if [ "$mode" = "" ]; then
    if [ ! -e "$cert" ] && [ ! -e "$key" ]; then
        [ "$redirect" = 1 ] && fail "MIRROR_TLS_REDIRECT=1 but TLS is not enabled (no $cert)"
        info "no certificate at $cert, TLS disabled"
        exit 0
    fi
    mode=on
fi

command -v openssl >/dev/null 2>&1 || fail "TLS requested but openssl is not installed in this image"

if [ "$mode" = self-signed ]; then
    cert=$out/tls/tls.crt
    key=$out/tls/tls.key
    mkdir -p "$out/tls"
    chmod 700 "$out/tls"
    san="DNS:localhost,IP:127.0.0.1,IP:::1"
    for name in $(printf '%s' "${MIRROR_TLS_HOSTNAMES:-}" | tr ',' ' '); do
        case "$name" in
        *[!0-9.]*) case "$name" in *:*) san="$san,IP:$name" ;; *) san="$san,DNS:$name" ;; esac ;;
        *) san="$san,IP:$name" ;;
        esac
    done
    rm -f "$cert" "$key"
    (umask 077 && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
        -nodes -days 365 -subj "/CN=pypi-mirror" \
        -addext "subjectAltName=$san" \
        -addext "basicConstraints=critical,CA:FALSE" \
        -addext "keyUsage=critical,digitalSignature" \
        -addext "extendedKeyUsage=serverAuth" \
        -keyout "$key" -out "$cert" 2>/dev/null) \
        || fail "openssl could not generate a self-signed certificate"
    info "generated self-signed certificate for $san"
    info "$(openssl x509 -in "$cert" -noout -fingerprint -sha256)"
fi

# Check the pair now: nginx's own message for a bad pair is far less clear.
[ -r "$cert" ] || fail "certificate $cert is missing or not readable by uid $(id -u)"
[ -r "$key" ] || fail "private key $key is missing or not readable by uid $(id -u)"
cert_pub=$(openssl x509 -in "$cert" -noout -pubkey 2>/dev/null) \
    || fail "$cert is not a PEM certificate"
key_pub=$(openssl pkey -in "$key" -passin pass: -pubout 2>/dev/null) \
    || fail "$key is not an unencrypted PEM private key"
[ "$cert_pub" = "$key_pub" ] || fail "private key $key does not match certificate $cert"
openssl x509 -in "$cert" -noout -checkend 0 >/dev/null 2>&1 \
    || info "warning: certificate $cert has expired"

# "listen ... http2" is deprecated from 1.25.1 on ("http2 on;" replaces it).
version=$("$nginx_bin" -v 2>&1 | sed -n 's|.*nginx/\([0-9][0-9]*\)\.\([0-9][0-9]*\)\.\([0-9][0-9]*\).*|\1 \2 \3|p')
set -- $version 0 0 0
if [ "$1" -gt 1 ] || { [ "$1" -eq 1 ] && { [ "$2" -gt 25 ] || { [ "$2" -eq 25 ] && [ "$3" -ge 1 ]; }; }; }; then
    listen="listen 8443 ssl backlog=4096 reuseport;
    http2 on;"
else
    listen="listen 8443 ssl http2 backlog=4096 reuseport;"
fi

tmp=$snippet.tmp
cat >"$tmp" <<CONF
# Written by $ME; regenerated on every start.
server {
    $listen
    server_name _;

    ssl_certificate     $cert;
    ssl_certificate_key $key;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305;
    ssl_prefer_server_ciphers off;
    ssl_session_cache shared:pypi_mirror_tls:10m;
    ssl_session_timeout 1d;
    ssl_session_tickets off;

    include /etc/pypi-mirror/nginx/locations.conf;
}
CONF
mv "$tmp" "$snippet"
info "HTTPS on 8443 with $cert"

case "$redirect" in
0 | "") ;;
1)
    case "$https_port" in
    443) authority='$host' ;;
    *[!0-9]* | "") fail "MIRROR_HTTPS_PORT must be a port number (got '$https_port')" ;;
    *) authority="\$host:$https_port" ;;
    esac
    cat >"$redirect_snippet.tmp" <<CONF
# Written by $ME: plain HTTP only redirects, except for health checks.
if (\$uri != /healthz) {
    return 301 https://$authority\$request_uri;
}
CONF
    mv "$redirect_snippet.tmp" "$redirect_snippet"
    info "plain HTTP redirects to https://$authority"
    ;;
*) fail "MIRROR_TLS_REDIRECT must be 0 or 1 (got '$redirect')" ;;
esac
