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
python3 - "$dir/clues.jsonl" >"$dir/fetch.log" <<'PY'
import json, sys
for line in open(sys.argv[1], encoding="utf-8"):
    c = json.loads(line)
    f, s = c.get("fetch", {}), c.get("source", {})
    print(f.get("status", 0), s.get("url", ""))
PY
