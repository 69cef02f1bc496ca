#!/bin/bash
# peerbench.sh — qingwang side by side with the peers of a peerbench harness
# (a directory with run_all.sh, gen_site.py, check.py, peers/): the harness
# is copied into $WORK, qingwang's two peers (bench/peerbench/*.sh) are added
# to the copy, a release build of qingwang is made (build-bench/), and
# run_all.sh runs every peer on the same loopback site. See bench/README.md.
#
# usage: bench/peerbench.sh HARNESS_DIR
# env:   PEERS="wget2 curl qingwang-fetch qingwang" RUNS=3 CONC=64
#        WORK=/tmp/qw-peerbench (site, runs, table) and run_all.sh's own
#        variables (PAGES, SEED, PORT, …).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
harness=${1:?usage: bench/peerbench.sh HARNESS_DIR (e.g. a peerbench checkout)}
[ -x "$harness/run_all.sh" ] || { echo "peerbench.sh: no run_all.sh in $harness" >&2; exit 2; }
export WORK=${WORK:-/tmp/qw-peerbench}
export PEERS=${PEERS:-"wget2 curl qingwang-fetch qingwang"}
export RUNS=${RUNS:-3}
export CONC=${CONC:-64}

sh "$top/scripts/deps.sh" build
missing=""
for p in nginx:nginx wget2:wget2 curl:curl /usr/bin/time:time; do
  command -v "${p%%:*}" >/dev/null 2>&1 || missing="$missing ${p#*:}"
done
if [ -n "$missing" ]; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get install -y --no-install-recommends $missing
fi

build="$top/build-bench"
[ -f "$build/build.ninja" ] || meson setup "$build" "$top" -Dbuildtype=release -Dtests=false >/dev/null
ninja -C "$build" daemon/qingwang >/dev/null
export QW_BIN="$build/daemon/qingwang"

copy="$WORK/harness"
mkdir -p "$copy"
# the harness without its node_modules (only the crawlee peer needs them)
tar -C "$harness" --exclude=node_modules -cf - . | tar -C "$copy" -xf -
[ -d "$harness/crawlee/node_modules" ] && ln -sfn "$harness/crawlee/node_modules" "$copy/crawlee/node_modules"
install -m 755 "$top"/bench/peerbench/*.sh "$copy/peers/"
echo "qingwang: $("$QW_BIN" --version)  ($QW_BIN)"
exec "$copy/run_all.sh"
