#!/usr/bin/env bash
# Installs Debian's nats-server (the JetStream tests start real servers) when
# it is missing and we run as root with apt-get; otherwise says how.
set -euo pipefail
if command -v nats-server >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "install-nats-server: installing nats-server" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q --no-install-recommends nats-server </dev/null >&2 ||
    { apt-get update -q </dev/null >&2 && apt-get install -y -q --no-install-recommends nats-server </dev/null >&2; }
  # The package enables a system service; the tests start their own servers.
  if command -v systemctl >/dev/null 2>&1; then systemctl disable --now nats-server >/dev/null 2>&1 || true; fi
  exit 0
fi
echo "install-nats-server: nats-server is missing; install it: apt-get install nats-server" >&2
exit 1
