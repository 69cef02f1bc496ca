#!/bin/sh
# deps.sh — installs the Debian packages qingwang needs to build, test and run,
# but only those that are missing. Used by scripts/run.sh and scripts/test.sh.
# Usage: scripts/deps.sh [build|test]
set -eu
want="meson ninja-build pkg-config gcc libc6-dev \
  libuv1-dev libcurl4-openssl-dev libgumbo-dev libxml2-dev libpcre2-dev \
  libhiredis-dev libjansson-dev libssl-dev libzstd-dev libbrotli-dev libdeflate-dev libuchardet-dev libhyperscan-dev \
  libopencc-dev zlib1g-dev python3"
if [ "${1:-build}" = test ]; then
  want="$want check libsubunit-dev redis-server python3 clang libclang-rt-14-dev \
    nginx openssl"
fi
missing=""
for p in $want; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done
[ -z "$missing" ] && exit 0
echo "deps: installing:$missing" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
