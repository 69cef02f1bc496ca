#!/bin/bash
# peerbench peer "qingwang-scan": the full rule-pack analysis (qingwang
# scan -i --json with the default pack: page model, normalisation,
# matching, rules, one clue per page; no evidence written). Its output is
# clues, not the SPEC's counts, so this script writes fetch.log ("<status>
# <url>" per page, from each clue's fetch facts) and marks its run
# directory as a fetch run: the table then shows its pages/s, CPU and RSS,
# and "n/a" for the matches column.
# usage: qingwang-scan.sh URLS TERMS REGNO OUT_JSONL STATS_JSON CONC
set -euo pipefail
URLS=$1 OUT=$4 CONC=$6
dir=$(dirname "$OUT")
echo fetch >"$dir/kind"
rc=0
"${QW_BIN:?QW_BIN is not set}" scan --no-progress --json --no-evidence \
  --set fetch.concurrency="$CONC" --set fetch.host_concurrency="$CONC" \
  --set fetch.host_delay_ms=0 --set fetch.obey_robots=no \
  -i "$URLS" >"$dir/clues.jsonl" || rc=$?
# exit 1 means "findings", which is what a scan of these pages should say
[ "$rc" -le 1 ] || exit "$rc"
# "<status> <url>" per clue, by position (the clue serializer writes
# source.url and then fetch.status; awk takes 0.03 s where a JSON parse of
# the 20 MB of clues took 0.3 s of the run's wall time). Should a line not
# have that shape, every line is parsed as JSON instead.
if ! LC_ALL=C awk '
  { k = "\"source\":{\"kind\":\"url\",\"path\":null,\"url\":\""
    s = index($0, k); f = index($0, "\"fetch\":{")
    if (s == 0 || f == 0) exit 1
    r = substr($0, s + length(k)); q = index(r, "\"")
    t = substr($0, f); n = index(t, "\"status\":")
    if (q == 0 || n == 0) exit 1
    print substr(t, n + 9) + 0, substr(r, 1, q - 1) }' \
    "$dir/clues.jsonl" >"$dir/fetch.log"; then
  python3 - "$dir/clues.jsonl" >"$dir/fetch.log" <<'PY'
import json, sys
for line in open(sys.argv[1], encoding="utf-8"):
    c = json.loads(line)
    f, s = c.get("fetch", {}), c.get("source", {})
    print(f.get("status", 0), s.get("url", ""))
PY
fi
