#!/bin/sh
# Loads nginx's JavaScript module (njs), which answers the OSV queries under
# /osv/v1/ (nginx/osv.js). Its file is where the runtime base put it: Debian's
# libnginx-mod-http-js and the official image's nginx-module-njs both use
# /usr/lib/nginx/modules; other builds keep it beside nginx's prefix.
# Writes /tmp/pypi-mirror/modules.d/njs.conf (main context, see nginx.conf).
set -eu

ME=${0##*/}
out=/tmp/pypi-mirror/modules.d
mkdir -p "$out"
rm -f "$out/njs.conf"

for module in ${MIRROR_NJS_MODULE:-} /usr/lib/nginx/modules/ngx_http_js_module.so \
    /etc/nginx/modules/ngx_http_js_module.so /usr/lib64/nginx/modules/ngx_http_js_module.so \
    /usr/local/nginx/modules/ngx_http_js_module.so /usr/share/nginx/modules/ngx_http_js_module.so; do
    if [ -f "$module" ]; then
        printf 'load_module %s;\n' "$module" >"$out/njs.conf.tmp"
        mv "$out/njs.conf.tmp" "$out/njs.conf"
        printf '%s: info: njs module %s\n' "$ME" "$module" >&2
        exit 0
    fi
done
printf '%s: error: nginx'"'"'s njs module (ngx_http_js_module.so) is not in this image; the OSV endpoint needs it: install nginx-module-njs or libnginx-mod-http-js in the runtime base, or set MIRROR_NJS_MODULE to its path\n' "$ME" >&2
exit 1
