#!/bin/sh
# test.sh — installs what is missing, builds qingwang twice (a normal build
# and an AddressSanitizer + UndefinedBehaviorSanitizer build, warnings as
# errors in both) and runs the whole test suite in each. Ends with the line
# "N passed, N failed" summed over both builds; exits non-zero on any failure.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
sh scripts/deps.sh test

jobs=$(nproc 2>/dev/null || echo 2)
status=0

build() { # dir, extra meson options…
  dir=$1; shift
  if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" --werror "$@" >/dev/null
  else
    meson configure "$dir" --werror "$@" >/dev/null
  fi
  ninja -C "$dir" -j "$jobs"
}

build build
build build-asan -Db_sanitize=address,undefined -Db_lundef=false \
  -Dc_args=-fno-sanitize-recover=all -Dc_link_args=-fno-sanitize-recover=all

# ASan/UBSan: abort on the first report so a report can never pass unseen.
ASAN_OPTIONS=abort_on_error=1:detect_leaks=1:strict_string_checks=1
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export ASAN_OPTIONS UBSAN_OPTIONS

meson test -C build --print-errorlogs --num-processes "$jobs" || status=1
meson test -C build-asan --print-errorlogs --num-processes "$jobs" \
  --timeout-multiplier 3 || status=1

python3 - build/meson-logs/testlog.json build-asan/meson-logs/testlog.json <<'PY'
import json, sys
ok = bad = skip = 0
for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            res = r.get("result")
            if res in ("OK", "EXPECTEDFAIL"):
                ok += 1
            elif res == "SKIP":
                skip += 1
            else:
                bad += 1
print(f"{ok} passed, {bad} failed" + (f", {skip} skipped" if skip else ""))
sys.exit(1 if bad or ok == 0 else 0)
PY
[ $? -eq 0 ] || status=1
exit $status
