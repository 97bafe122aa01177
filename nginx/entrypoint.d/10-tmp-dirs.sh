#!/bin/sh
# Writable state lives under /tmp/pypi-mirror (pid, temp paths, snippets,
# generated certs and htpasswd): the root filesystem may be read-only.
set -eu

ME=${0##*/}

base=/tmp/pypi-mirror
mkdir -p "$base/conf.d/plain" "$base/conf.d/server"
printf '%s: info: writable state in %s\n' "$ME" "$base" >&2
