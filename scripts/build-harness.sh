#!/usr/bin/env bash
# Builds the Go test harness (test/harness/go/{vcsim,vctool}) into test/harness/bin/
# against Debian's govmomi (golang-github-vmware-govmomi-dev) in GOPATH mode,
# without network access for Go modules. Idempotent: skips the build when the
# binaries are newer than their sources. Installs the Debian packages when they
# are missing and we run as root.
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

mkdir -p "$BIN"

# up to date: both binaries exist and are newer than every source file
uptodate=1
for tool in vcsim vctool reffollower; do
  if [ ! -x "$BIN/$tool" ] || [ -n "$(find "$SRC/$tool" "$0" -newer "$BIN/$tool" -print -quit)" ]; then
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
log "built $BIN/vcsim $BIN/vctool $BIN/reffollower"
