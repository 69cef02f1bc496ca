#!/bin/bash
# peerbench.sh — qingwang side by side with the peers of a peerbench harness
# (a directory with run_all.sh, gen_site.py, check.py, peers/): the harness
# is copied into $WORK, qingwang's two peers (bench/peerbench/*.sh) are added
# to the copy, a release build of qingwang is made (build-bench/), and
# run_all.sh runs every peer on the same loopback site. See bench/README.md.
#
# usage: bench/peerbench.sh HARNESS_DIR
# env:   PEERS="wget2 curl qingwang-fetch qingwang qingwang-scan" RUNS=3 CONC=64
#        WORK=/tmp/qw-peerbench (site, runs, table) and run_all.sh's own
#        variables (PAGES, SEED, PORT, …).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
harness=${1:?usage: bench/peerbench.sh HARNESS_DIR (e.g. a peerbench checkout)}
[ -x "$harness/run_all.sh" ] || { echo "peerbench.sh: no run_all.sh in $harness" >&2; exit 2; }
export WORK=${WORK:-/tmp/qw-peerbench}
export PEERS=${PEERS:-"wget2 curl qingwang-fetch qingwang qingwang-scan"}
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
"$copy/run_all.sh"

# The targets of the fetcher issue, from the same machine and site:
# fetch-only >= 90 % of wget2's pages/s; full scan >= 85 % of cores x the
# bare Gumbo parse rate of the site's pages (bench-analyze, one thread).
ninja -C "$build" bench/bench-analyze >/dev/null
gumbo=$("$build/bench/bench-analyze" --stage gumbo --rounds 3 --min-time 2 \
          "$WORK/site/p" "$WORK/site/gbk" | awk '/^  bare Gumbo \(ref/ {print $(NF-3)}')
python3 - "$WORK/results.json" "$gumbo" "$(nproc)" <<'PY'
import json, sys
rows = {r["peer"]: r for r in json.load(open(sys.argv[1]))["rows"]}
gumbo, cores = float(sys.argv[2]), int(sys.argv[3])
def pps(p):
    return rows[p]["pps"] if p in rows and rows[p].get("pps") else None
print(f"\nbare Gumbo on the site's pages, one thread: {gumbo:.1f} pages/s; {cores} cores")
w, f = pps("wget2"), pps("qingwang-fetch")
if w and f:
    r = f / w
    print(f"fetch-only: qingwang {f:,.0f} vs wget2 {w:,.0f} pages/s = {r:.1%} (target >= 90%) "
          f"{'PASS' if r >= 0.9 else 'FAIL'}")
goal = 0.85 * cores * gumbo
for peer, what in (("qingwang", "the SPEC's counts, scan --count"),
                   ("qingwang-scan", "full rule-pack analysis, scan -i --json")):
    q = pps(peer)
    if q:
        print(f"{what}: {q:,.0f} pages/s vs 85% x {cores} x {gumbo:.1f} = {goal:,.0f} "
              f"({q / (cores * gumbo):.1%} of cores x bare Gumbo) {'PASS' if q >= goal else 'FAIL'}")
PY
