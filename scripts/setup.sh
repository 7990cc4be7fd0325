#!/usr/bin/env bash
# Installs what tinyml needs on a Debian machine with Node 20: the Debian packages below (the Arm
# compiler, newlib, QEMU and the Mono runtime that Renode runs on: ../shared/tools/renode,
# docs/renode.md; skipped when already present), then exactly the npm packages of the committed
# package-lock.json.
#
# - apt: when another package manager (unattended-upgrades, another apt-get) holds the apt/dpkg
#   locks, waits for it up to TINYML_APT_LOCK_TIMEOUT seconds (default 300), saying who holds
#   them, instead of failing at once; then fails with a clear message.
# - npm: `npm ci`, which installs the lock file as it is and never rewrites it (it stops if
#   package.json and the lock disagree). The lock holds every platform's optional packages, as
#   npm 10 and 11 both need for `ci`.
#
# Functions only run when the script is executed; `source scripts/setup.sh` defines them (tests).
set -euo pipefail

# Debian packages: one list, extended by whoever needs more (one name per entry).
DEBIAN_PACKAGES=(gcc gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib qemu-system-arm)
# Mono for Renode, headless: the runtime and the class libraries Renode loads (a tenth of
# mono-complete). src/emulate/renode.ts MONO_PACKAGES lists the same.
DEBIAN_PACKAGES+=(mono-runtime libmono-microsoft-csharp4.0-cil libmono-posix4.0-cil libmono-system-drawing4.0-cil
  libmono-system-dynamic4.0-cil libmono-system-io-compression4.0-cil libmono-system-net4.0-cil
  libmono-system-runtime-serialization4.0-cil libmono-system-xml-linq4.0-cil libmono-system-xml-serialization4.0-cil)

# The locks apt-get and dpkg take (fcntl locks, listed in /proc/locks).
APT_LOCK_FILES=(/var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/lib/apt/lists/lock /var/cache/apt/archives/lock)
APT_LOCK_TIMEOUT="${TINYML_APT_LOCK_TIMEOUT:-300}"

# Prints "<name> (pid <pid>)" of a process holding one of APT_LOCK_FILES, or nothing.
apt_lock_holder() {
  local file inode pid
  for file in "${APT_LOCK_FILES[@]}"; do
    [ -e "$file" ] || continue
    inode=$(stat -c %i "$file")
    # /proc/locks: "1: POSIX ADVISORY WRITE <pid> <maj>:<min>:<inode> <start> <end>"; waiters have "->".
    pid=$(awk -v inode="$inode" '{ o = ($2 == "->") ? 1 : 0; split($(6 + o), id, ":"); if (id[3] == inode) { print $(5 + o); exit } }' /proc/locks 2>/dev/null || true)
    if [ -n "$pid" ] && [ "$pid" != "$$" ]; then
      echo "$(cat "/proc/$pid/comm" 2>/dev/null || echo '?') (pid $pid)"
      return 0
    fi
  done
}

# Waits until no process holds the apt/dpkg locks, at most APT_LOCK_TIMEOUT seconds.
wait_for_apt() {
  local waited=0 holder
  while holder=$(apt_lock_holder) && [ -n "$holder" ]; do
    if [ "$waited" -ge "$APT_LOCK_TIMEOUT" ]; then
      echo "setup: error: $holder still holds the apt/dpkg lock after ${APT_LOCK_TIMEOUT} s: let it finish (or stop it), then run scripts/setup.sh again; TINYML_APT_LOCK_TIMEOUT=<seconds> waits longer" >&2
      return 1
    fi
    [ "$waited" -eq 0 ] && echo "setup: waiting for $holder to release the apt/dpkg lock (up to ${APT_LOCK_TIMEOUT} s)"
    sleep 2
    waited=$((waited + 2))
  done
}

# apt-get with the lock wait; apt's own DPkg::Lock::Timeout covers the moment between the check
# and the command (it waits for dpkg's locks, not for the package lists' lock: hence the retry).
apt_get() {
  local attempt
  for attempt in 1 2 3; do
    wait_for_apt || return 1
    if DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o "DPkg::Lock::Timeout=$APT_LOCK_TIMEOUT" "$@"; then return 0; fi
    [ -n "$(apt_lock_holder)" ] || return 1 # failed for another reason
    echo "setup: apt-get lost the race for the lock; retrying ($attempt/3)"
  done
  return 1
}

install_debian_packages() {
  local missing=() p
  for p in "${DEBIAN_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup: installing ${missing[*]} (Debian packages)"
  apt_get update -qq
  apt_get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

install_npm_packages() {
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "setup: installing npm dependencies (npm ci: exactly package-lock.json)"
    npm ci --no-audit --no-fund --loglevel=error
  fi
}

# The compiled JavaScript bin/tinyml.js runs (npm's `prepare` builds it on install; this covers
# a checkout whose node_modules were already there, or dist/ older than src/).
build_dist() {
  echo "setup: compiling dist/"
  node scripts/build-dist.js >/dev/null
}

main() {
  cd "$(dirname "${BASH_SOURCE[0]}")/.."
  install_debian_packages
  install_npm_packages
  build_dist
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  main "$@"
fi
