#!/usr/bin/env bash
# Installs everything berth needs on Debian and builds it: the real components
# (runc, crun, conmon, CNI plugins, iptables, iproute2, busybox-static, skopeo,
# the reference registry), the npm dependencies, and the TypeScript build.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(runc crun conmon containernetworking-plugins iptables iproute2 busybox-static skopeo docker-registry hyperfine ca-certificates curl socat tini gcc libc6-dev attr isal openssl docker-compose tmux zstd)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || { echo "setup: run as root to install: ${missing[*]}" >&2; exit 1; }
  echo "setup: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

npm ci --no-audit --no-fund --loglevel=error
npm run build --silent
