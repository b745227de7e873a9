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
# Node flags (docs/operations.md, "Node flags"); not in the CLI's shebang: busybox env (Alpine) has no -S.
# Workers inherit them.
#   --no-memory-reducer: V8 otherwise shrinks its young generation while the gateway is idle, and
#     the next burst of requests runs ~15% slower with a worse p99 until it has grown back.
#   --heap-growing-percent=100: the old generation may grow to twice its live size before the next
#     mark-compact, as Go's default GOGC=100 (Prometheus's own) lets its heap. V8's own factor let
#     it grow by ~30%: a mark-compact every few seconds under load, and the p99 with them.
#   --semi-space-growth-factor=8: after an idle spell of about a minute V8 still shrinks the young
#     generation at its first scavenge (low allocation rate; not the memory reducer), and grows it
#     back x2 at a time over ~20 s of load; x8 halves the scavenges of that first burst.
exec node --no-memory-reducer --heap-growing-percent=100 --semi-space-growth-factor=8 /app/dist/src/cli.js "$@"
