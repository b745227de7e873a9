#!/usr/bin/env bash
# Container smoke test for the promgate image, with podman (no Docker engine needed).
#
#   test/container/run.sh            # as root; prints PASS/FAIL lines, exits non-zero on failure
#
# 1. builds the local node:24-slim stand-in (NODE_BASE_IMAGE_SCRIPT, default
#    /work/shared/tools/node-base-image.sh; idempotent), tags it as the Dockerfile's pinned base,
#    and builds the promgate image from the repo root;
# 2. starts a real Prometheus (`prometheus` on PATH) on a free loopback port, scraping itself;
# 3. generates a certificate with the image's own `promgate gen-cert` and a bcrypt .htpasswd with
#    the real Apache `htpasswd` into a temp dir;
# 4. runs the container with --network host and a read-only root filesystem, configured by
#    PROMGATE_* env vars only, the certificate folder mounted read-only at /certs;
# 5. checks: the Prometheus API answers through the gateway (curl --cacert, certificate verified)
#    only with the .htpasswd user's password (the file alone turns auth on), the image's
#    HEALTHCHECK (`promgate healthcheck`) passes, a plugin mounted at /plugins runs, the gateway
#    process is not root, Node runs with only --max-semi-space-size=4 --expose-gc unless
#    PROMGATE_NODE_ARGS says, and
#    `podman stop` (SIGTERM) ends it promptly with exit 0.
# Everything it starts (container, Prometheus, temp dir) is removed on exit.
#
# Environment: PROMGATE_IMAGE (default localhost/promgate), NODE_BASE_IMAGE_SCRIPT,
# STOP_LIMIT_SECONDS (default 10).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
image=${PROMGATE_IMAGE:-localhost/promgate}
base_script=${NODE_BASE_IMAGE_SCRIPT:-/work/shared/tools/node-base-image.sh}
stop_limit=${STOP_LIMIT_SECONDS:-10}
job=promgate-container-test
ctr=promgate-container-test-$$
started=$SECONDS
checks=0
failures=0

# chroot isolation for builds and the runc runtime with explicit ulimits are what this sandbox
# allows (see the header of the base image script).
pm() { podman --runtime runc "$@"; }

step() { printf '\n==> %s (t=%ss)\n' "$*" "$((SECONDS - started))"; }
pass() { checks=$((checks + 1)); echo "PASS: $*"; }
fail() { checks=$((checks + 1)); failures=$((failures + 1)); echo "FAIL: $*"; }
# A failure the remaining checks cannot run without.
abort() {
  echo "FAIL: $*"
  [ "${ctr_started:-}" = 1 ] && { echo '--- container log ---'; pm logs "$ctr" 2>&1 | tail -30 || true; }
  echo "FAIL: container test aborted after $((SECONDS - started))s"
  exit 1
}

work=$(mktemp -d /tmp/promgate-container.XXXXXX)
prom_pid=
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  pm rm -f --time 0 "$ctr" >/dev/null 2>&1 || true
  if [ -n "$prom_pid" ]; then
    kill "$prom_pid" 2>/dev/null || true
    wait "$prom_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A loopback TCP port no socket uses (random, so parallel runs rarely collide). Below the kernel's
# ephemeral range: a port in it can become an outgoing connection's local port before the server
# binds it (Prometheus once failed with "address already in use" in CI).
free_port() {
  local port ephemeral
  ephemeral=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  [ "$ephemeral" -gt 21000 ] 2>/dev/null || ephemeral=32768
  for _ in $(seq 100); do
    port=$((20000 + RANDOM % (ephemeral - 20000)))
    [ "$port" = "${1:-}" ] && continue
    if [ -z "$(ss -Htan "sport = :$port")" ]; then
      echo "$port"
      return 0
    fi
  done
  return 1
}

# podman and runc are installed by the base image script if missing.
for tool in curl ss prometheus htpasswd; do
  command -v "$tool" >/dev/null || abort "$tool is not installed"
done

step "base image (node:24-slim stand-in)"
bash "$base_script" >"$work/base.log" 2>&1 || { tail -20 "$work/base.log"; abort "building the base image failed ($base_script)"; }
echo "node:24-slim: $(tail -1 "$work/base.log")"
# The Dockerfile pins an exact Node image, which Docker Hub serves and this machine cannot reach:
# the stand-in takes that tag too when its Node has the same major version.
pinned=$(sed -n 's/^ARG NODE_IMAGE=//p' "$root/Dockerfile")
stand_in_node=$(pm run --rm --network host --ulimit nofile=1024:1024 --ulimit nproc=1000:1000 docker.io/library/node:24-slim node --version 2>&1 || true)
[ "${stand_in_node%%.*}" = "v$(sed 's/^node:\([0-9]*\).*/\1/' <<<"$pinned")" ] || abort "the stand-in's Node $stand_in_node is not the major version of the pinned $pinned"
podman tag docker.io/library/node:24-slim "docker.io/library/$pinned"
echo "tagged the stand-in (Node $stand_in_node) as $pinned, the Dockerfile's pinned base"

step "podman build -t $image $root"
# --format docker: the OCI image format has no HEALTHCHECK, podman would drop it.
if podman build --format docker --isolation chroot --network host -t "$image" "$root" >"$work/build.log" 2>&1; then
  pass "image builds ($(podman image inspect --format '{{.Id}}' "$image" | cut -c1-12), $(podman image inspect --format '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1/1e6}'))"
else
  # From the failing step on, without npm's usage text (npm ci prints it after a lock file error).
  awk '/STEP [0-9]+\/[0-9]+:/ { buf = "" } { buf = buf $0 "\n" } END { printf "%s", buf }' "$work/build.log" \
    | grep -Ev '^npm error( {2,}|$)|^npm error \[|^npm notice' | tail -40
  abort "podman build failed (the image is built from $root)"
fi

step "Prometheus on a free loopback port"
prom_port=$(free_port) || abort "no free port"
cat >"$work/prometheus.yml" <<EOF
global: {scrape_interval: 1s}
scrape_configs: [{job_name: $job, static_configs: [{targets: ["127.0.0.1:$prom_port"]}]}]
EOF
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/prometheus-data" \
  --web.listen-address="127.0.0.1:$prom_port" >"$work/prometheus.log" 2>&1 &
prom_pid=$!
prom_ok=
for _ in $(seq 60); do
  kill -0 "$prom_pid" 2>/dev/null || { tail -20 "$work/prometheus.log"; abort "Prometheus exited"; }
  if curl -fsS "http://127.0.0.1:$prom_port/api/v1/label/job/values" 2>/dev/null | grep -q "\"$job\""; then
    prom_ok=1
    break
  fi
  sleep 0.5
done
[ -n "$prom_ok" ] || { tail -20 "$work/prometheus.log"; abort "Prometheus on 127.0.0.1:$prom_port has no job=\"$job\" series after 30s"; }
echo "Prometheus pid $prom_pid on 127.0.0.1:$prom_port, scraping itself as job \"$job\""

step "certificate (promgate gen-cert, from the image)"
mkdir -p "$work/certs"
pm run --rm --network host --no-healthcheck --ulimit nofile=1024:1024 --ulimit nproc=1000:1000 --user 0 \
  -v "$work/certs:/out" "$image" gen-cert --cn localhost --san 127.0.0.1 --out /out \
  || abort "promgate gen-cert in the image failed"
password="container-test-$RANDOM$RANDOM"
htpasswd -bBc -C 10 "$work/certs/.htpasswd" alice "$password" 2>/dev/null || abort "htpasswd failed"
# gen-cert writes the key 0600 (here owned by root). The container runs as uid 1000 (node) and the
# bind mount keeps host ownership, so hand the folder and files to uid 1000 and keep the key 0600;
# rootless podman maps container uid 1000 elsewhere, so there make the (temporary) key 0644.
if [ "$(id -u)" = 0 ]; then
  chown -R 1000:1000 "$work/certs"
else
  chmod 0755 "$work/certs" && chmod 0644 "$work/certs/tls.key" "$work/certs/.htpasswd"
fi
ls -ln "$work/certs"

step "run the container (env-only configuration, /certs and the root filesystem read-only)"
gate_port=$(free_port "$prom_port") || abort "no free port"
# No systemd here to schedule the HEALTHCHECK: its timer is off and `podman healthcheck run` runs it below.
# A plugin of the user's own, mounted at /plugins with the config file that names it.
mkdir -p "$work/plugins"
cat >"$work/plugins/stamp.mjs" <<'PLUGIN'
export default { name: 'stamp', create: () => (req, res, next) => { res.setHeader('x-stamp', `user=${req.promgate?.user}`); next(); } };
PLUGIN
printf 'plugins:\n  - module: ./stamp.mjs\n    stage: afterAuth\n' >"$work/plugins/promgate.yml"
chmod -R a+rX "$work/plugins"
pm run -d --name "$ctr" --network host --read-only --health-interval=disable --ulimit nofile=1024:1024 --ulimit nproc=1000:1000 \
  -v "$work/certs:/certs:ro" \
  -v "$work/plugins:/plugins:ro" \
  -e PROMGATE_CONFIG_FILE=/plugins/promgate.yml \
  -e PROMGATE_UPSTREAM_URL="http://127.0.0.1:$prom_port" \
  -e PROMGATE_WEB_LISTEN_ADDRESS="127.0.0.1:$gate_port" \
  "$image" >/dev/null || abort "podman run failed"
ctr_started=1
url="https://127.0.0.1:$gate_port/prometheus/api/v1/label/job/values"
up=
for _ in $(seq 60); do
  [ "$(podman inspect --format '{{.State.Running}}' "$ctr" 2>/dev/null)" = true ] \
    || abort "container exited during start-up (exit code $(podman inspect --format '{{.State.ExitCode}}' "$ctr" 2>/dev/null))"
  if curl -sS -o /dev/null --cacert "$work/certs/tls.crt" "$url" 2>/dev/null; then
    up=1
    break
  fi
  sleep 0.5
done
[ -n "$up" ] || abort "gateway not answering on 127.0.0.1:$gate_port after 30s"
echo "container $ctr listening on 127.0.0.1:$gate_port"

step "checks"
code=$(curl -sS --cacert "$work/certs/tls.crt" -o /dev/null -w '%{http_code}' "$url") || code="curl failed ($?)"
if [ "$code" = 401 ]; then
  pass "GET $url without credentials: 401 (/certs/.htpasswd turned basic auth on)"
else
  fail "GET $url without credentials: expected 401, got $code"
fi
code=$(curl -sS --cacert "$work/certs/tls.crt" -u "alice:$password" -o "$work/body.json" -w '%{http_code}' "$url") || code="curl failed ($?)"
body=$(cat "$work/body.json" 2>/dev/null || true)
if [ "$code" = 200 ] && grep -q '"status":"success"' <<<"$body" && grep -q "\"$job\"" <<<"$body"; then
  pass "GET $url as alice (certificate verified with --cacert): 200 $body"
else
  fail "GET $url as alice: expected 200 with status success and job \"$job\", got $code ${body:0:300}"
fi
if grep -qi '^x-stamp: user=alice' <(curl -sS -D - -o /dev/null --cacert "$work/certs/tls.crt" -u "alice:$password" "$url" | tr -d '\r'); then
  pass "the plugin mounted at /plugins (named in /plugins/promgate.yml) ran after auth: x-stamp: user=alice"
else
  fail "no x-stamp header from the plugin mounted at /plugins"
fi

healthcheck=$(podman inspect --format '{{json .Config.Healthcheck}}' "$ctr" 2>&1 || true)
if health_out=$(pm healthcheck run "$ctr" 2>&1); then
  pass "HEALTHCHECK passes (podman healthcheck run: ${health_out:-healthy}); defined as $healthcheck"
else
  fail "HEALTHCHECK failed: ${health_out}; defined as $healthcheck"
fi

exec_uid=$(pm exec "$ctr" id -u 2>&1) || exec_uid="podman exec failed: $exec_uid"
pid1_uid=$(pm exec "$ctr" sh -c 'awk "/^Uid:/ {print \$2}" /proc/1/status' 2>&1) || pid1_uid="podman exec failed: $pid1_uid"
pid1_cmd=$(pm exec "$ctr" sh -c 'tr "\0" " " </proc/1/cmdline' 2>&1 || true)
config_user=$(podman inspect --format '{{.Config.User}}' "$ctr")
if [[ "$exec_uid" =~ ^[0-9]+$ && "$exec_uid" != 0 && "$pid1_uid" =~ ^[0-9]+$ && "$pid1_uid" != 0 ]]; then
  pass "runs as non-root: image user \"$config_user\", podman exec id -u = $exec_uid, PID 1 ($pid1_cmd) uid = $pid1_uid"
else
  fail "runs as root or unknown: image user \"$config_user\", exec id -u = $exec_uid, PID 1 uid = $pid1_uid"
fi

if [[ "$pid1_cmd" == "node --max-semi-space-size=4 --expose-gc /app/dist/src/cli.js "* ]]; then
  pass "Node runs with the documented young-generation cap and --expose-gc only: PID 1 is \"$pid1_cmd\""
else
  fail "PID 1 is \"$pid1_cmd\", expected node --max-semi-space-size=4 --expose-gc /app/dist/src/cli.js"
fi
opt_in=$(pm run --rm --network host --no-healthcheck --ulimit nofile=1024:1024 --ulimit nproc=1000:1000 \
  -e PROMGATE_NODE_ARGS=--max-old-space-size=64 "$image" --version 2>&1) || opt_in="failed: $opt_in"
bad_flag=$(pm run --rm --network host --no-healthcheck --ulimit nofile=1024:1024 --ulimit nproc=1000:1000 \
  -e PROMGATE_NODE_ARGS=--no-such-node-flag "$image" --version 2>&1) && bad_flag="started anyway: $bad_flag"
if [[ "$opt_in" == promgate* && "$bad_flag" == *no-such-node-flag* ]]; then
  pass "PROMGATE_NODE_ARGS reaches Node: --max-old-space-size=64 starts ($opt_in), an unknown flag is Node's error"
else
  fail "PROMGATE_NODE_ARGS: with --max-old-space-size=64: $opt_in; with an unknown flag: $bad_flag"
fi

t0=$(date +%s%N)
stop_out=$(pm stop --time "$stop_limit" "$ctr" 2>&1) || fail "podman stop: $stop_out"
elapsed_ms=$((($(date +%s%N) - t0) / 1000000))
exit_code=$(podman inspect --format '{{.State.ExitCode}}' "$ctr")
logs=$(pm logs "$ctr" 2>&1 || true)
if [ "$exit_code" = 0 ] && [ "$elapsed_ms" -lt $((stop_limit * 1000)) ]; then
  pass "podman stop (SIGTERM): exited with code 0 after ${elapsed_ms} ms"
else
  fail "podman stop (SIGTERM): exit code $exit_code after ${elapsed_ms} ms (want 0 within ${stop_limit}s; 137 means it was killed)"
fi
if grep -q 'shutting down' <<<"$logs"; then
  pass "logged the shutdown: $(grep 'shutting down' <<<"$logs" | head -1)"
else
  fail "no \"shutting down\" line in the container log"
fi

if [ "$failures" -gt 0 ]; then
  echo '--- container log ---'
  tail -30 <<<"$logs"
  echo "FAIL: $failures of $checks container checks failed ($((SECONDS - started))s)"
  exit 1
fi
echo "PASS: all $checks container checks passed ($((SECONDS - started))s)"
