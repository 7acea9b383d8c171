#!/usr/bin/env bash
# Builds the Go test harness (test/harness/go/{vcsim,vctool,reffollower}) into test/harness/bin/
# against Debian's govmomi (golang-github-vmware-govmomi-dev) in GOPATH mode,
# without network access for Go modules.
# Also builds the TEST VARIANT test/harness/bin/vcsim-tick20ms: the same vcsim source against a
# copy of Debian's govmomi tree in which ONLY the WaitForUpdates tick of
# simulator/property_collector.go is changed from 250 ms to 20 ms (newer govmomi simulators use
# 20 ms, closer to a vCenter's prompt updates). The copy lives in the build dir, first on GOPATH. Idempotent: skips the build when the
# binaries are newer than their sources. Installs the Debian packages when they
# are missing and we run as root, and Debian's nats-server (scripts/install-nats-server.sh).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SRC="$ROOT/test/harness/go"
BIN="$ROOT/test/harness/bin"
GOCODE=/usr/share/gocode
GOVMOMI="$GOCODE/src/github.com/vmware/govmomi"

log() { echo "build-harness: $*" >&2; }

if ! command -v go >/dev/null 2>&1 && [ -x /usr/lib/go/bin/go ]; then
  export PATH="/usr/lib/go/bin:$PATH"
fi

if ! command -v go >/dev/null 2>&1 || [ ! -d "$GOVMOMI/simulator" ] || [ ! -d "$GOCODE/src/github.com/google/uuid" ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    log "installing golang-go golang-github-vmware-govmomi-dev"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q </dev/null >&2
    apt-get install -y -q --no-install-recommends golang-go golang-github-vmware-govmomi-dev </dev/null >&2
    hash -r
    if ! command -v go >/dev/null 2>&1 && [ -x /usr/lib/go/bin/go ]; then
      export PATH="/usr/lib/go/bin:$PATH"
    fi
  else
    log "missing go and/or govmomi sources ($GOVMOMI); install: apt-get install golang-go golang-github-vmware-govmomi-dev"
    exit 1
  fi
fi

# The NATS JetStream tests start Debian's nats-server (not fatal here: those tests say what is missing).
bash "$ROOT/scripts/install-nats-server.sh" || log "nats-server missing: the NATS JetStream tests will fail"

mkdir -p "$BIN"

# up to date: both binaries exist and are newer than every source file
uptodate=1
for tool in vcsim vctool reffollower vcsim-tick20ms; do
  if [ ! -x "$BIN/$tool" ] || [ -n "$(find "$SRC/${tool%-tick20ms}" "$0" -newer "$BIN/$tool" -print -quit)" ]; then
    uptodate=0
  fi
done
if [ "$uptodate" = 1 ]; then
  log "up to date ($BIN)"
  exit 0
fi

BUILD_DIR="${HARNESS_BUILD_DIR:-${TMPDIR:-/tmp}/vmware-event-router-harness-gopath}"
mkdir -p "$BUILD_DIR/cache"
export GOPATH="$GOCODE:$BUILD_DIR" GO111MODULE=off GOFLAGS= GOPROXY=off GOTOOLCHAIN=local
export GOCACHE="${GOCACHE:-$BUILD_DIR/cache}"
export CGO_ENABLED=0

for tool in vcsim vctool reffollower; do
  log "building $tool ($(go version))"
  # build in a temp file then rename, so concurrent runs never see a half-written binary
  (cd "$SRC/$tool" && go build -o "$BIN/.$tool.$$" .)
  mv -f "$BIN/.$tool.$$" "$BIN/$tool"
done

# --- test variant: vcsim-tick20ms (govmomi copy with the 250 ms WaitForUpdates tick set to 20 ms)
TICK_GOPATH="$BUILD_DIR/tick20ms"
TICK_GOVMOMI="$TICK_GOPATH/src/github.com/vmware/govmomi"
TICK_FILE="simulator/property_collector.go"
TICK_FROM='ticker := time.NewTicker(250 * time.Millisecond)'
if [ "$(grep -cF "$TICK_FROM" "$GOVMOMI/$TICK_FILE")" != 1 ]; then
  log "expected exactly one '$TICK_FROM' in $GOVMOMI/$TICK_FILE; Debian's govmomi changed?"
  exit 1
fi
rm -rf "$TICK_GOPATH.$$"
trap 'rm -rf "$TICK_GOPATH.$$"' EXIT
mkdir -p "$TICK_GOPATH.$$/src/github.com/vmware"
cp -a "$GOVMOMI" "$TICK_GOPATH.$$/src/github.com/vmware/govmomi"
sed -i 's/NewTicker(250 \* time\.Millisecond)/NewTicker(20 * time.Millisecond)/' "$TICK_GOPATH.$$/src/github.com/vmware/govmomi/$TICK_FILE"
# the copy differs from Debian's tree in that one line only
if [ "$(diff -r "$GOVMOMI" "$TICK_GOPATH.$$/src/github.com/vmware/govmomi" | grep -c '^[<>]')" != 2 ]; then
  log "the tick20ms patch changed more than one line"
  exit 1
fi
rm -rf "$TICK_GOPATH"
mv "$TICK_GOPATH.$$" "$TICK_GOPATH"
log "building vcsim-tick20ms (TEST VARIANT: WaitForUpdates tick 20 ms instead of 250 ms)"
(cd "$SRC/vcsim" && GOPATH="$TICK_GOPATH:$GOCODE:$BUILD_DIR" go build -o "$BIN/.vcsim-tick20ms.$$" .)
mv -f "$BIN/.vcsim-tick20ms.$$" "$BIN/vcsim-tick20ms"
log "built $BIN/vcsim $BIN/vctool $BIN/reffollower $BIN/vcsim-tick20ms"
