#!/usr/bin/env bash
# Installs what tinyml needs on a Debian machine with Node 20: the Arm compiler, newlib, QEMU and
# the Mono runtime that Renode runs on (../shared/tools/renode, docs/renode.md) from Debian's
# packages (skipped when already present), then the npm dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(gcc gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm)
# Mono for Renode, headless: the runtime and the class libraries Renode loads (a tenth of
# mono-complete). src/emulate/renode.ts MONO_PACKAGES lists the same.
packages+=(mono-runtime libmono-microsoft-csharp4.0-cil libmono-posix4.0-cil libmono-system-drawing4.0-cil
  libmono-system-dynamic4.0-cil libmono-system-io-compression4.0-cil libmono-system-net4.0-cil
  libmono-system-runtime-serialization4.0-cil libmono-system-xml-linq4.0-cil libmono-system-xml-serialization4.0-cil)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${missing[*]} (Debian packages)"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm dependencies"
  # `npm install`, not `npm ci`: npm 11's `ci` rejects a lock file that leaves out other
  # platforms' optional packages (rollup's), which `install` reads as it is.
  npm install --no-audit --no-fund --loglevel=error
fi
