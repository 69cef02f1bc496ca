#!/bin/sh
# run.sh — the analysis benchmark in one command: installs what the build
# needs (scripts/deps.sh build), generates the corpus into bench/out/ when it
# is missing or was made with other parameters, builds bench-analyze in a
# release build (build-bench/) and runs it. See bench/README.md.
#
# usage: bench/run.sh [--pages N] [--seed S] [bench-analyze options…]
#   --pages N   corpus size (default 200)      --seed S   corpus seed (1)
# Anything else goes to bench-analyze, e.g.
#   bench/run.sh --stage gumbo,whole --rounds 5
# Exit status is bench-analyze's: 0 all targets pass, 1 a target failed,
# 2 a stage could not run.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
pages=200
seed=1
while [ $# -gt 0 ]; do
  case "$1" in
    --pages) [ $# -ge 2 ] || { echo "run.sh: --pages needs N" >&2; exit 2; }
             pages=$2; shift 2 ;;
    --seed)  [ $# -ge 2 ] || { echo "run.sh: --seed needs S" >&2; exit 2; }
             seed=$2; shift 2 ;;
    *) break ;;
  esac
done

sh "$top/scripts/deps.sh" build
if ! command -v python3 >/dev/null 2>&1; then
  echo "run.sh: python3 is needed to generate the corpus" \
       "(apt-get install python3)" >&2
  exit 2
fi

out="$top/bench/out"
if ! python3 - "$out/manifest.json" "$pages" "$seed" <<'EOF'
import json, sys
try:
    m = json.load(open(sys.argv[1]))
    ok = m["pages"] == int(sys.argv[2]) and m["seed"] == int(sys.argv[3])
except (OSError, ValueError, KeyError):
    ok = False
sys.exit(0 if ok else 1)
EOF
then
  python3 "$top/bench/gen_corpus.py" --pages "$pages" --seed "$seed" \
    --out "$out"
fi

build="$top/build-bench"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if [ ! -f "$build/build.ninja" ]; then
  if ! meson setup "$build" "$top" -Dbuildtype=release -Dtests=false \
       >"$log" 2>&1; then
    cat "$log" >&2
    exit 2
  fi
fi
if ! ninja -C "$build" bench/bench-analyze >"$log" 2>&1; then
  cat "$log" >&2
  exit 2
fi
rm -f "$log"
trap - EXIT
exec "$build/bench/bench-analyze" --rules "$top/keywords/pack" "$@" \
  "$out/pages"
