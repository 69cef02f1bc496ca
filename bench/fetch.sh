#!/bin/bash
# fetch.sh — the fetcher benchmark, self-contained (no peerbench needed):
# the generated corpus (bench/gen_corpus.py) served by the project's own
# loopback test server (tests/httpd; bodies uncompressed: the test server
# compresses on every request, which would measure the server), then
#   1. fetch-only of the URLs (the pages over and over) at concurrency 64;
#   2. 1,000 transfers in flight at once (1,000 URLs that each answer after
#      2 s, concurrency 1,000): peak RSS;
#   3. 1,000 transfers of the real pages at concurrency 1,000;
#   4. full scan (default rule pack) of the N pages at concurrency 64.
# Each line: wall s, pages/s, user+sys CPU s, peak RSS (/usr/bin/time -v).
#
# usage: bench/fetch.sh [--pages N] [--urls U]   (defaults 200 pages, 2000 URLs)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
pages=200
nurls=2000
while [ $# -gt 0 ]; do
  case "$1" in
    --pages) pages=$2; shift 2 ;;
    --urls) nurls=$2; shift 2 ;;
    *) echo "usage: bench/fetch.sh [--pages N] [--urls U]" >&2; exit 2 ;;
  esac
done
sh "$top/scripts/deps.sh" test
command -v /usr/bin/time >/dev/null 2>&1 || {
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get install -y --no-install-recommends time; }

build="$top/build-bench-fetch"   # release, with the test server
[ -f "$build/build.ninja" ] || meson setup "$build" "$top" -Dbuildtype=release >/dev/null
ninja -C "$build" daemon/qingwang tests/httpd/qw-test-httpd >/dev/null
qw="$build/daemon/qingwang"
out="$top/bench/out"
python3 "$top/bench/gen_corpus.py" --pages "$pages" --seed 1 --out "$out" >/dev/null

work=$(mktemp -d /tmp/qw-fetch-bench.XXXXXX)
ulimit -n 8192
"$build/tests/httpd/qw-test-httpd" --root "$out/pages" --port 0 --max-conns 4096 \
  --max-seconds 900 >"$work/port" 2>"$work/httpd.log" &
srv=$!
trap 'kill $srv 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 50); do grep -q PORT "$work/port" && break; sleep 0.1; done
port=$(awk '/PORT/{print $2}' "$work/port")
base="http://127.0.0.1:$port"
files=$(cd "$out/pages" && ls | sort)
i=0
: >"$work/pages.txt"
while [ "$i" -lt "$nurls" ]; do
  for f in $files; do
    [ "$i" -lt "$nurls" ] || break
    echo "$base/$f?n=$i" >>"$work/pages.txt"; i=$((i + 1))
  done
done
seq 1000 | sed "s#^#$base/slow?ms=2000\&n=#" >"$work/slow.txt"
head -1000 "$work/pages.txt" >"$work/pages1000.txt"

fast=(--set fetch.host_delay_ms=0 --set fetch.obey_robots=no --no-progress)
run() {  # label, urls, concurrency, extra args…
  local label=$1 urls=$2 conc=$3; shift 3
  /usr/bin/time -v -o "$work/time" "$qw" scan "$@" "${fast[@]}" \
    --set fetch.concurrency="$conc" --set fetch.host_concurrency="$conc" \
    -i "$urls" >"$work/out" 2>"$work/err" || true
  local n; n=$(wc -l <"$urls")
  awk -v l="$label" -v n="$n" -F': ' '
    /Elapsed/ { split($2, t, ":"); w = (length(t) == 3) ? t[1]*3600+t[2]*60+t[3] : t[1]*60+t[2] }
    /User time/ { u = $2 } /System time/ { s = $2 } /Maximum resident/ { r = $2 }
    END { printf "%-44s %6.2f s  %7.0f pages/s  CPU %5.2f s  RSS %6.1f MB\n", l, w, n / w, u + s, r / 1024 }' "$work/time"
}
echo "corpus: $pages pages (bench/gen_corpus.py, seed 1), $nurls URLs, uncompressed, tests/httpd on 127.0.0.1; $(nproc) cores"
run "fetch-only, concurrency 64" "$work/pages.txt" 64 --fetch-only
run "1,000 in flight (2 s each), concurrency 1000" "$work/slow.txt" 1000 --fetch-only
run "1,000 pages, concurrency 1000" "$work/pages1000.txt" 1000 --fetch-only
run "full scan (default pack), concurrency 64" "$work/pages.txt" 64 --json --no-evidence
echo "full scan: $(grep -c '"outcome":"ok"' "$work/out") of $nurls clues with fetch outcome ok"
