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
# No V8 tuning by default: flags tuned to one benchmark keep memory resident in every idle pod, and
# a flag a newer Node no longer knows would stop the container. PROMGATE_NODE_ARGS passes Node
# options as an opt-in (docs/operations.md, "Node flags"); it is unset so the CLI never sees it.
node_args=${PROMGATE_NODE_ARGS:-}
unset PROMGATE_NODE_ARGS
# shellcheck disable=SC2086 # word splitting of the opt-in flags is intended
exec node $node_args /app/dist/src/cli.js "$@"
