#!/usr/bin/env bash
# Installs Debian's prometheus package (the server and promtool: the monitoring tests check the
# alert rules and the dashboard with them and scrape a running router) when it is missing and we
# run as root with apt-get; otherwise says how.
set -euo pipefail
if command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "install-prometheus: installing prometheus" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q --no-install-recommends prometheus </dev/null >&2 ||
    { apt-get update -q </dev/null >&2 && apt-get install -y -q --no-install-recommends prometheus </dev/null >&2; }
  # The package enables a system service; the tests start their own servers.
  if command -v systemctl >/dev/null 2>&1; then systemctl disable --now prometheus >/dev/null 2>&1 || true; fi
  exit 0
fi
echo "install-prometheus: prometheus or promtool is missing; install it: apt-get install prometheus" >&2
exit 1
