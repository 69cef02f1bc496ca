#!/bin/sh
# run.sh — installs what is missing, builds qingwang (release build in
# build-release/) and runs it. With no arguments it runs the main job of
# this version: a scan of the sample pages in examples/ with the default
# rule pack; otherwise the arguments are passed to qingwang, e.g.
#   scripts/run.sh scan --json page.html
#   scripts/run.sh check-config -c config/qingwang.conf
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
sh "$top/scripts/deps.sh" build
if [ ! -f "$top/build-release/build.ninja" ]; then
  meson setup "$top/build-release" "$top" -Dbuildtype=release -Dtests=false \
    >/dev/null
fi
ninja -C "$top/build-release" >/dev/null
bin="$top/build-release/daemon/qingwang"
if [ $# -eq 0 ]; then
  set -- scan "$top"/examples/*.html
fi
exec "$bin" "$@"
