#!/bin/bash
# peerbench peer "qingwang": fetch every URL, decode, parse, and count the
# terms and the registration-number pattern in each page's visible text
# (qingwang scan --count), one JSON line per page as peerbench's SPEC asks.
# usage (called by peerbench's run_all.sh):
#   qingwang.sh URLS TERMS REGNO OUT_JSONL STATS_JSON CONC
# QW_BIN: the qingwang binary (bench/peerbench.sh sets it).
set -euo pipefail
URLS=$1 TERMS=$2 REGNO=$3 OUT=$4 CONC=$6
# No politeness towards the benchmark's own server (the peers have none):
# one host, CONC transfers to it, no delay, robots.txt not fetched.
exec "${QW_BIN:?QW_BIN is not set}" scan --no-progress \
  --count "$TERMS" --count-pattern "reg=$(cat "$REGNO")" \
  --set fetch.concurrency="$CONC" --set fetch.host_concurrency="$CONC" \
  --set fetch.host_delay_ms=0 --set fetch.obey_robots=no \
  -i "$URLS" >"$OUT"
