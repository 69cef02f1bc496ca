#!/bin/sh
# ab.sh — the matcher of the working tree timed against another revision's,
# alternately, round by round, in one process (bench-ab): a few percent is
# visible even on a machine whose speed swings from minute to minute.
#
# usage: bench/ab.sh REV [N [ROUNDS]]
#   REV     a git revision (a worktree of it is built under $TMPDIR/qw-ab)
#   N       extra generated terms in the pack: 0, 2000 (default) or 10000
#   ROUNDS  passes per build (default 30)
# The corpus is bench/out (made by bench/run.sh, which ab.sh runs once when
# it is missing). Both builds are release builds; their keyword, config,
# parser and daemon libraries are linked into shared objects. See
# bench/README.md. Exit status: bench-ab's, 2 when a step fails.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
if [ $# -lt 1 ] || [ $# -gt 3 ]; then
  echo "usage: bench/ab.sh REV [N [ROUNDS]]" >&2
  exit 2
fi
# the revision as the main tree names it (HEAD there, not in the worktree)
rev=$(git -C "$top" rev-parse --verify --quiet "$1^{commit}") ||
  { echo "ab.sh: no such revision: $1" >&2; exit 2; }
n=${2:-2000}
rounds=${3:-30}
case "$n" in 0|2000|10000) ;; *)
  echo "ab.sh: N is 0, 2000 or 10000" >&2; exit 2 ;; esac

work=${TMPDIR:-/tmp}/qw-ab
mkdir -p "$work"
log="$work/log"

[ -d "$top/bench/out/pages" ] ||
  sh "$top/bench/run.sh" --stage decode --rounds 1 --min-time 0 >/dev/null

# build DIR SRC: a release build of SRC in DIR
build() {
  if [ ! -f "$1/build.ninja" ]; then
    meson setup "$1" "$2" -Dbuildtype=release -Dtests=false >"$log" 2>&1 ||
      { cat "$log" >&2; exit 2; }
  fi
  ninja -C "$1" keywords/libqw-keywords.a config/libqw-config.a \
    parsers/libqw-parsers.a daemon/libqw-daemon.a >"$log" 2>&1 ||
    { cat "$log" >&2; exit 2; }
}

# shared OUT BUILD: the build's libraries as one shared object
shared() {
  b=$2
  libs=$(pkg-config --libs libpcre2-8 libhs gumbo jansson uchardet \
         libcurl libxml-2.0 zlib libcrypto libuv)
  # shellcheck disable=SC2086
  cc -shared -o "$1" -Wl,-Bsymbolic \
    -Wl,--whole-archive "$b/keywords/libqw-keywords.a" \
    -Wl,--no-whole-archive "$b/config/libqw-config.a" \
    "$b/parsers/libqw-parsers.a" "$b/daemon/libqw-daemon.a" \
    "$b/keywords/libqw-keywords.a" $libs -lm >"$log" 2>&1 ||
    { cat "$log" >&2; exit 2; }
}

old="$work/src"
if [ ! -d "$old/.git" ] && [ ! -f "$old/.git" ]; then
  git -C "$top" worktree add --detach "$old" "$rev" >"$log" 2>&1 ||
    { cat "$log" >&2; exit 2; }
else
  git -C "$old" checkout --detach --quiet "$rev" ||
    { echo "ab.sh: cannot check out $rev in $old" >&2; exit 2; }
fi

build "$top/build-bench" "$top"
ninja -C "$top/build-bench" bench/bench-analyze bench/bench-ab >"$log" \
  2>&1 || { cat "$log" >&2; exit 2; }
build "$work/build" "$old"
shared "$work/old.so" "$work/build"
shared "$work/new.so" "$top/build-bench"

dump="$work/dump"
rm -rf "$dump"
"$top/build-bench/bench/bench-analyze" --rules "$top/keywords/pack" \
  --extra-terms "$n" --dump "$dump" "$top/bench/out/pages" ||
  { echo "ab.sh: bench-analyze --dump failed" >&2; exit 2; }

echo "old: $1 ($(git -C "$old" rev-parse --short HEAD)); new: the working tree"
exec "$top/build-bench/bench/bench-ab" "$dump" "$n" "$rounds" \
  "$work/old.so" "$work/new.so"
