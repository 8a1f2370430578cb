#!/usr/bin/env bash
# make_format_fixture.sh OUT_DIR
#
# Makes a small tillit data directory in the current data format with a
# built `tillit`: `tillit init`; `tillit demo --no-serve --citizens 2` (two
# synthetic citizens with records and consent documents, principals,
# tokens, audit entries and checkpoints, a study with a privacy budget in
# privacy.db); `tillit citizen add` (a citizen
# store without records). Generated, never committed. The CTest
# format_fixture (tests/format_fixture_test.sh) makes one and opens it with
# the tillit under test; when a data format changes, one made with the
# previous tillit is what the migration is proved on (docs/OPERATIONS.md,
# "Upgrades and data formats").
#
# The tillit run is $TILLIT_BIN, else build/cli/tillit of this checkout.
# OUT_DIR must not exist; its parent must. The tokens and codes the
# commands print are discarded.
#
# Exit status: 0 made; 1 failed (nothing is left at OUT_DIR); 2 usage.
set -euo pipefail

if [ $# -ne 1 ] || [ -z "$1" ]; then
  echo "usage: $0 OUT_DIR" >&2
  exit 2
fi
out="$1"
here="$(cd "$(dirname "$0")" && pwd)"
tillit="${TILLIT_BIN:-$here/../build/cli/tillit}"

fail() {
  echo "make_format_fixture: $*" >&2
  exit 1
}
[ -x "$tillit" ] || fail "no tillit at $tillit (build it, or set TILLIT_BIN)"
[ ! -e "$out" ] || fail "$out already exists"
[ -d "$(dirname "$out")" ] || fail "the parent of $out does not exist"

made=0
cleanup() {
  if [ "$made" != 1 ]; then rm -rf "$out"; fi
}
trap cleanup EXIT

run() {  # run WHAT ARGS...: the tillit command, its output discarded
  local what="$1"
  shift
  "$tillit" "$@" --data "$out" </dev/null >/dev/null || fail "$what failed"
}
run "tillit init" init
run "tillit demo" demo --no-serve --citizens 2 --seed 2026
run "tillit citizen add" citizen add
made=1
