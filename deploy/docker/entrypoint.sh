#!/bin/sh
# The image's entry point: optional files in /certs switch their feature on when present, unless
# the matching PROMGATE_* variable is set (an explicit setting always wins). A mounted .htpasswd
# that was silently ignored would leave Prometheus open, so presence means "use it".
#   /certs/tls.crt, /certs/tls.key   the certificate (promgate's default certs/… from WORKDIR /)
#   /certs/.htpasswd                 basic auth users        -> PROMGATE_AUTH_HTPASSWD_FILE
#   /certs/web-config.yml            Prometheus web config   -> PROMGATE_WEB_CONFIG_FILE
set -eu
if [ -z "${PROMGATE_AUTH_HTPASSWD_FILE+set}" ] && [ -f /certs/.htpasswd ]; then
  export PROMGATE_AUTH_HTPASSWD_FILE=/certs/.htpasswd
fi
if [ -z "${PROMGATE_WEB_CONFIG_FILE+set}" ] && [ -f /certs/web-config.yml ]; then
  export PROMGATE_WEB_CONFIG_FILE=/certs/web-config.yml
fi
# glibc's malloc (docs/operations.md, "Node flags"): two arenas instead of up to 8 per core. Each thread that
# allocates (V8's GC helpers, libuv's pool) otherwise keeps an arena of its own, and their free
# pages stay resident: 64 clients downloading 10 MiB peaked 13 MB lower (175 vs 188 MB, rig).
export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}"
# Node's documented options only, no V8 tuning: a capped young generation keeps the peak under
# load inside a sidecar's limit, and --expose-gc lets promgate scavenge while large bodies stream
# (docs/decisions.md). PROMGATE_NODE_ARGS replaces them ("" for Node's defaults); it is unset so
# the CLI never sees it.
node_args=${PROMGATE_NODE_ARGS-"--max-semi-space-size=4 --expose-gc"}
unset PROMGATE_NODE_ARGS
# shellcheck disable=SC2086 # word splitting of the flags is intended
exec node $node_args /app/dist/src/cli.js "$@"
