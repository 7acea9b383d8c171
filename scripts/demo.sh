#!/usr/bin/env bash
# The local demo: builds everything, starts the govmomi vCenter simulator on
# 127.0.0.1:8989, runs the router with config-examples/simulator.json (stdout
# processor, metrics on 127.0.0.1:8080) and posts a few events, which the
# router prints as CloudEvents. Ctrl-C stops it all; DEMO_SECONDS=N stops it
# after N seconds (used by the tests of this script).
set -euo pipefail
cd "$(dirname "$0")/.."

[ -d node_modules ] || npm ci --no-audit --no-fund || npm install --no-audit --no-fund
npm run --silent build
bash scripts/build-harness.sh

SIM_ADDR=127.0.0.1:8989
URL=http://$SIM_ADDR/sdk
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

test/harness/bin/vcsim -listen "$SIM_ADDR" -username user -password pass >"$tmp/vcsim.json" &
pids+=($!)
for _ in $(seq 1 100); do [ -s "$tmp/vcsim.json" ] && break; sleep 0.1; done
echo "vCenter simulator: $(cat "$tmp/vcsim.json")" >&2

node dist/src/cli/main.js -config config-examples/simulator.json &
router=$!
pids+=("$router")

post() { test/harness/bin/vctool -url "$URL" -username user -password pass -session-file "$tmp/session" "$@" >/dev/null; }
(
  sleep 2
  echo "posting events: a VM power-on, an EventEx, then a VM created, powered on and reconfigured by the simulator" >&2
  printf '%s\n' '{"class":"VmPoweredOnEvent","entities":"vm:DC0_H0_VM0"}' \
    '{"class":"EventEx","fields":{"EventTypeId":"com.vmware.applmgmt.backup.job.failed.event","Severity":"error","Arguments":[{"Key":"jobs","Value":3}]}}' | post post
  post vm -op create -name demo-vm
  post vm -op poweron -name demo-vm
  post vm -op reconfigure -name demo-vm
  echo "metrics: curl http://127.0.0.1:8080/stats  (Ctrl-C to stop)" >&2
) &
pids+=($!)

if [ -n "${DEMO_SECONDS:-}" ]; then
  sleep "$DEMO_SECONDS"
  kill -TERM "$router"
fi
wait "$router"
