#!/bin/sh
# Dispatcher in the style of the official nginx image: when the command is
# nginx, run the numbered hooks in /docker-entrypoint.d first; any other
# command (e.g. /bin/sh) runs as given.
set -eu

ME=${0##*/}
# Hooks log to stderr so stdout carries nothing but access log lines.
log() { printf '%s: %s\n' "$ME" "$*" >&2; }

case "${1:-}" in
nginx | /usr/sbin/nginx)
    # Everything writable; /tmp is a tmpfs (or at least writable) at runtime.
    mkdir -p /tmp/pypi-mirror/conf.d/plain /tmp/pypi-mirror/conf.d/server
    # Hooks are named NN-name.sh with a zero-padded number, so the shell's
    # sorted glob is the run order (no need for `sort -V`).
    for hook in /docker-entrypoint.d/*.sh; do
        [ -e "$hook" ] || continue
        case "${hook##*/}" in
        # The official nginx image's own hooks: they edit /etc/nginx, which
        # this image does not use. Deleting them would take a RUN in the
        # image, whose layer carries the wall clock (no reproducible ID).
        10-listen-on-ipv6-by-default.sh | 20-envsubst-on-templates.sh | 30-tune-worker-processes.sh)
            log "info: skipping $hook, the base image's hook, not the appliance's"
            continue
            ;;
        esac
        if [ -x "$hook" ]; then
            log "info: launching $hook"
            # A failing hook has printed its own one-line error; stop here.
            "$hook" || exit $?
        else
            log "info: ignoring $hook, not executable"
        fi
    done
    log "info: configuration complete; ready for start up"
    ;;
esac

exec "$@"
