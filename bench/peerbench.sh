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
ninja -C "$build" bench/bench-analyze >/dev/null
gumbo_rate() {
  "$build/bench/bench-analyze" --stage gumbo --rounds 3 --min-time 2 \
    "$WORK/site/p" "$WORK/site/gbk" | awk '/^  bare Gumbo \(ref/ {print $(NF-3)}'
}
gumbo_before=""
[ -d "$WORK/site/p" ] && gumbo_before=$(gumbo_rate)
"$copy/run_all.sh"

# The targets of the fetcher issue, from the same machine and site:
# fetch-only >= 90 % of wget2's pages/s; full scan >= 85 % of cores x the
# bare Gumbo parse rate of the site's pages (bench-analyze, one thread).
# The reference is measured before and after the peers (the site exists
# once run_all.sh has made it): on a shared machine the two differ, and
# the target is judged against their mean.
gumbo_after=$(gumbo_rate)
python3 - "$WORK/results.json" "$gumbo_before" "$gumbo_after" "$(nproc)" <<'PY'
import json, sys
rows = {r["peer"]: r for r in json.load(open(sys.argv[1]))["rows"]}
before = float(sys.argv[2]) if sys.argv[2] else None
after, cores = float(sys.argv[3]), int(sys.argv[4])
gumbo = (before + after) / 2 if before else after
def pps(p):
    return rows[p]["pps"] if p in rows and rows[p].get("pps") else None
seen = f"before the peers {before:.1f}, after {after:.1f}, mean" if before else "after the peers"
print(f"\nbare Gumbo on the site's pages, one thread ({seen}): {gumbo:.1f} pages/s; {cores} cores")
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

# Interleaved pairs (PAIRS, default 3; 0 skips): run_all.sh runs all runs of
# one peer, then the next, so a slow minute of a shared machine lands on
# one peer only. Here each pair runs the reference and qingwang back to
# back: wget2 then qingwang-fetch, and a one-thread bare-Gumbo measurement
# then qingwang-scan. The ratios are the medians over the pairs.
PAIRS=${PAIRS:-3}
if [ "$PAIRS" -gt 0 ]; then
  port=${PORT:-18088}
  urls="$WORK/urls.$port.txt"
  export RUN_DIR="$WORK/nginx"
  "$copy/serve.sh" start "$port" "$WORK/site" >/dev/null
  trap '"$copy/serve.sh" stop >/dev/null 2>&1 || true' EXIT
  secs() {  # wall nanoseconds of a command (exit 1, "findings", is fine)
    local t0 t1
    t0=$(date +%s%N)
    "$@" >/dev/null 2>&1 || [ $? -le 1 ]
    t1=$(date +%s%N)
    echo $((t1 - t0))
  }
  pol=(--set fetch.concurrency="$CONC" --set fetch.host_concurrency="$CONC" --set fetch.host_delay_ms=0 --set fetch.obey_robots=no)
  pairs=""
  for k in $(seq 1 "$PAIRS"); do
    w=$(secs wget2 --quiet --max-threads="$CONC" --robots=off --compression=gzip --timeout=30 --tries=1 --no-config -i "$urls" -O /dev/null)
    f=$(secs "$QW_BIN" scan --no-progress --fetch-only --json "${pol[@]}" -i "$urls")
    g=$(gumbo_rate)
    s=$(secs "$QW_BIN" scan --no-progress --json --no-evidence "${pol[@]}" -i "$urls")
    pairs="$pairs $w $f $g $s"
  done
  "$copy/serve.sh" stop >/dev/null 2>&1 || true
  python3 - "$(wc -l <"$urls")" "$(nproc)" $pairs <<'PY'
import statistics, sys
n, cores = int(sys.argv[1]), int(sys.argv[2])
v = [float(x) for x in sys.argv[3:]]
# wget2, qingwang-fetch and qingwang-scan in ns; bare Gumbo in pages/s
rows = [(v[i] / 1e9, v[i + 1] / 1e9, v[i + 2], v[i + 3] / 1e9)
        for i in range(0, len(v), 4)]
print(f"\ninterleaved pairs ({len(rows)}; {n} URLs each run):")
fr, sr = [], []
for w, f, g, s in rows:
    fr.append(w / f)
    sr.append((n / s) / (cores * g))
    print(f"  wget2 {n / w:,.0f} vs qingwang-fetch {n / f:,.0f} pages/s ({w / f:.1%});"
          f" bare Gumbo {g:.1f} x {cores} vs qingwang-scan {n / s:,.0f} pages/s ({(n / s) / (cores * g):.1%})")
fm, sm = statistics.median(fr), statistics.median(sr)
print(f"fetch-only vs wget2, median of pairs: {fm:.1%} (target >= 90%) {'PASS' if fm >= 0.9 else 'FAIL'}")
print(f"full rule-pack analysis vs cores x bare Gumbo, median of pairs: {sm:.1%} (target >= 85%) {'PASS' if sm >= 0.85 else 'FAIL'}")
PY
fi
