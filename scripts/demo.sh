#!/usr/bin/env bash
# The local demo: installs (npm ci, when node_modules is missing) and builds
# what is missing, starts the govmomi vCenter simulator, runs the router with
# the stdout processor (config-examples/simulator.json with the demo's ports)
# and posts a few events, which the router prints as CloudEvents, one per line
# on stdout. Logs go to stderr.
#
# Ports: free ones are picked on 127.0.0.1, unless DEMO_VCSIM_PORT and/or
# DEMO_METRICS_PORT name them; a named port that is taken stops the demo at
# once. Ctrl-C stops the router (which logs out of the simulator), then the
# simulator, and exits 0. DEMO_SECONDS=N stops it all after N seconds.
# Below the supported Node.js it stops at once with one line saying which versions work.
set -euo pipefail
cd "$(dirname "$0")/.."

node scripts/require-node.js demo || exit 1

say() { echo "demo: $*" >&2; }
die() {
  say "$*"
  exit 1
}

# A port given in the environment must be free; otherwise pick one.
port() { # port VAR
  node -e '
    const net = require("node:net");
    const [name, wanted] = process.argv.slice(1);
    const s = net.createServer();
    s.once("error", (e) => {
      console.error(`demo: ${name}=${wanted}: 127.0.0.1:${wanted} is ${e.code === "EADDRINUSE" ? "already in use" : e.message}; choose another port, or unset ${name} to let the demo pick a free one`);
      process.exit(1);
    });
    s.listen(Number(wanted || 0), "127.0.0.1", () => { console.log(s.address().port); s.close(); });
  ' "$1" "${!1:-}"
}
for var in DEMO_VCSIM_PORT DEMO_METRICS_PORT; do
  if [ -n "${!var:-}" ] && ! [[ "${!var}" =~ ^[0-9]+$ ]]; then die "$var=${!var} is not a port number"; fi
done
SIM_PORT=$(port DEMO_VCSIM_PORT) || exit 1
METRICS_PORT=$(port DEMO_METRICS_PORT) || exit 1
[ "$SIM_PORT" != "$METRICS_PORT" ] || die "DEMO_VCSIM_PORT and DEMO_METRICS_PORT must differ"

if [ ! -d node_modules ]; then
  say "installing the locked dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error >&2 || die "npm ci failed (see above)"
fi
# Build when dist/ is missing or older than a source.
if [ ! -f dist/version.json ] ||
  [ -n "$(find src scripts tsconfig.json package.json -newer dist/version.json \( -name '*.ts' -o -name '*.js' -o -name '*.json' \) -print -quit)" ]; then
  say "building (npm run build)"
  npm run --silent build
fi
[ -x test/harness/bin/vcsim ] || say "building the vCenter simulator (the first time: apt-get installs golang-go and golang-github-vmware-govmomi-dev, a few minutes)"
# Only the two tools the demo runs: the simulator and the client that posts events.
harness_log=$(bash scripts/build-harness.sh vcsim vctool 2>&1) || {
  echo "$harness_log" >&2
  die "could not build the vCenter simulator (scripts/build-harness.sh)"
}

tmp=$(mktemp -d)
sim=
router=
poster=
cleanup() {
  # A second Ctrl-C (npm forwards the terminal's SIGINT once more) must not cut the cleanup short.
  trap - EXIT
  trap '' INT TERM
  # The router first: it destroys its collector and logs out of the simulator.
  if [ -n "$router" ]; then
    kill -TERM "$router" 2>/dev/null || true
    wait "$router" 2>/dev/null || true
  fi
  if [ -n "$poster" ]; then
    kill -TERM "$poster" 2>/dev/null || true
    wait "$poster" 2>/dev/null || true
  fi
  exec 3>&-
  if [ -n "$sim" ]; then
    kill -TERM "$sim" 2>/dev/null || true
    wait "$sim" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 0' INT TERM

# In its own session: a Ctrl-C (SIGINT to the terminal's process group) must not
# stop the simulator before the router has logged out of it. Its stdin is a pipe
# that only this script holds open: should the script be killed, it exits too.
mkfifo "$tmp/vcsim.stdin"
setsid test/harness/bin/vcsim -listen "127.0.0.1:$SIM_PORT" -username user -password pass \
  -exit-on-stdin-eof <"$tmp/vcsim.stdin" >"$tmp/vcsim.json" &
sim=$!
exec 3>"$tmp/vcsim.stdin"
for _ in $(seq 1 100); do [ -s "$tmp/vcsim.json" ] && break; sleep 0.1; done
[ -s "$tmp/vcsim.json" ] || die "the vCenter simulator did not start on 127.0.0.1:$SIM_PORT"
URL=http://127.0.0.1:$SIM_PORT/sdk

node -e '
  const [file, out, url, metrics] = process.argv.slice(1);
  const config = JSON.parse(require("node:fs").readFileSync(file, "utf8"));
  for (const e of config) {
    if (e.type === "stream") e.address = url;
    if (e.type === "metrics" || e.type === "internal") e.address = metrics;
  }
  require("node:fs").writeFileSync(out, JSON.stringify(config, null, 2));
' config-examples/simulator.json "$tmp/config.json" "$URL" "127.0.0.1:$METRICS_PORT"

say "vCenter simulator: $URL (user \"user\", password \"pass\")"
say "metrics: http://127.0.0.1:$METRICS_PORT/stats and http://127.0.0.1:$METRICS_PORT/metrics"

# node's flags are src/cli/node-flags.ts's, as in the image.
node --max-semi-space-size=4 dist/src/cli/main.js -config "$tmp/config.json" 3>&- &
router=$!

post() { test/harness/bin/vctool -url "$URL" -username user -password pass -session-file "$tmp/session" "$@" >/dev/null; }
(
  # Wait for the router's metrics server (it starts before the stream).
  for _ in $(seq 1 100); do
    node -e 'require("node:http").get(process.argv[1], (r) => process.exit(r.statusCode === 200 ? 0 : 1)).on("error", () => process.exit(1))' \
      "http://127.0.0.1:$METRICS_PORT/readyz" 2>/dev/null && break
    sleep 0.2
  done
  say "posting events: a VM power-on, an EventEx, then a VM created, powered on and reconfigured by the simulator"
  printf '%s\n' '{"class":"VmPoweredOnEvent","entities":"vm:DC0_H0_VM0"}' \
    '{"class":"EventEx","fields":{"EventTypeId":"com.vmware.applmgmt.backup.job.failed.event","Severity":"error","Arguments":[{"Key":"jobs","Value":3}]}}' | post post
  post vm -op create -name demo-vm
  post vm -op poweron -name demo-vm
  post vm -op reconfigure -name demo-vm
  say "try: curl http://127.0.0.1:$METRICS_PORT/stats   (Ctrl-C to stop)"
) 3>&- &
poster=$!

if [ -n "${DEMO_SECONDS:-}" ]; then
  sleep "$DEMO_SECONDS" &
  wait $! || true
  exit 0
fi
set +e
wait "$router"
code=$?
router=
exit $code
