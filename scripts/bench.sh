#!/usr/bin/env bash
# npm run bench: builds the router (dist/) and the Go harness (vcsim, vctool,
# reffollower), then runs the benchmark driver, which writes docs/benchmarks.md,
# then bench/failover.mjs (two replicas sharing three vCenters through NATS and
# Kubernetes leases: SIGKILL / SIGTERM of a holder, the cost of coordination),
# which writes its own section of docs/benchmarks.md, then bench/sinks.mjs
# (each sink in turn), which prints the sinks' figures as JSON.
# The router runs on Node.js 24, the line the image ships, taken from the npm
# package node@24 as scripts/test.sh takes it, whatever `node` runs the drivers.
# Non-interactive, 127.0.0.1 only, bounded (the driver stops itself after 14 min
# and kills every process it started). Extra arguments go to bench/run.mjs and bench/failover.mjs
# (--quick: short smoke run, does not write the report; --no-write).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
echo "bench: building the router (tsc)" >&2
npx tsc -p tsconfig.json
node scripts/write-version.js
echo "bench: building the Go harness" >&2
bash scripts/build-harness.sh
timeout -k 10 900 node bench/run.mjs "$@"
# Fail-over and the cost of coordination, both providers (stops itself after 15 min).
timeout -k 10 960 node bench/failover.mjs "$@"
# The sinks side by side (OpenFaaS, Knative, NATS JetStream): events/s, latency p50/p99, RSS.
exec timeout -k 10 300 node bench/sinks.mjs "$@"
