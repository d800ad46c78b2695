#!/usr/bin/env bash
# The newcomer's one command: set up, make a busybox image offline, start
# berthd if it is not running, and run a container.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "quickstart: run as root (berthd manages mounts, namespaces and cgroups)" >&2; exit 1; }
scripts/setup.sh

berth=bin/berth
sock=/run/berth/berth.sock
if ! curl -fsS --unix-socket "$sock" http://berth/_ping >/dev/null 2>&1; then
  # berthd's log can hold container names and errors: private, as berthd keeps its own state.
  mkdir -p -m 700 /var/log/berth
  (umask 077 && touch /var/log/berth/berthd.log)
  nohup bin/berthd >>/var/log/berth/berthd.log 2>&1 &
  echo "quickstart: started berthd (pid $!, log /var/log/berth/berthd.log)"
  for _ in $(seq 1 100); do
    curl -fsS --unix-socket "$sock" http://berth/_ping >/dev/null 2>&1 && break
    sleep 0.1
  done
fi

if ! $berth image inspect busybox >/dev/null 2>&1; then
  tar=$(mktemp --suffix=.tar)
  scripts/busybox-rootfs.sh "$tar"
  $berth import -c 'CMD ["sh"]' -m 'busybox from Debian busybox-static' "$tar" busybox:latest
  rm -f "$tar"
fi

$berth run --rm busybox echo hello from berth
