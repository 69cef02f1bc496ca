#!/bin/bash
# peerbench peer "qingwang-fetch": the fetch-only baseline of qingwang
# (scan --fetch-only: fetch and decode every body, analyse nothing), counted
# like peerbench's curl and wget2 baselines: this script writes fetch.log
# ("<status> <url>" per transfer) and marks its run directory as a fetch
# run, so the table counts pages from fetch.log instead of a JSONL.
# usage: qingwang-fetch.sh URLS TERMS REGNO OUT_JSONL STATS_JSON CONC
set -euo pipefail
URLS=$1 OUT=$4 CONC=$6
dir=$(dirname "$OUT")
echo fetch >"$dir/kind"
"${QW_BIN:?QW_BIN is not set}" scan --no-progress --fetch-only --json \
  --set fetch.concurrency="$CONC" --set fetch.host_concurrency="$CONC" \
  --set fetch.host_delay_ms=0 --set fetch.obey_robots=no \
  -i "$URLS" >"$dir/fetch.jsonl"
# one "<status> <url>" line per transfer, as fetch_curl.sh writes
sed -E 's/^\{"url":"([^"]*)".*"status":([0-9]+).*$/\2 \1/' \
  "$dir/fetch.jsonl" >"$dir/fetch.log"
