#!/usr/bin/env bash
# CTest format_fixture: a data directory that scripts/make_format_fixture.sh
# makes opens with the tillit under test (every citizen store and the audit
# log verify; the privacy ledger opens; all three citizens are listed), and the script refuses what it
# must (no argument, an existing OUT_DIR, no tillit) without leaving
# anything behind. When a data format changes, the migration is proved on a
# directory the previous tillit made with the same script
# (docs/OPERATIONS.md, "Upgrades and data formats").
#
# With MAKER, a previous release's tillit, the fixture is made by it and
# opened by TILLIT: what proves that release's data directories upgrade.
#
# Usage: format_fixture_test.sh TILLIT MAKE_FORMAT_FIXTURE_SH [MAKER]
set -euo pipefail

tillit="$1"
make="$2"
maker="${3:-$tillit}"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/tillit-format-XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

fail() {
  echo "format_fixture: $*" >&2
  exit 1
}

# expect_status N CMD...: CMD exits with status N.
expect_status() {
  local want="$1" got=0
  shift
  "$@" >"$tmp/out" 2>"$tmp/err" || got=$?
  [ "$got" = "$want" ] ||
    fail "$* exited $got, not $want: $(cat "$tmp/err")"
}

# The refusals.
expect_status 2 bash "$make"
mkdir "$tmp/taken"
expect_status 1 env TILLIT_BIN="$tillit" bash "$make" "$tmp/taken"
grep -q "already exists" "$tmp/err" || fail "no reason for an existing OUT_DIR"
[ -d "$tmp/taken" ] || fail "a refused run removed an existing OUT_DIR"
expect_status 1 env TILLIT_BIN="$tmp/no-such-tillit" bash "$make" "$tmp/none"
[ ! -e "$tmp/none" ] || fail "a refused run left $tmp/none behind"
expect_status 1 env TILLIT_BIN="$tillit" bash "$make" "$tmp/no-parent/data"

# A tillit command that fails mid-way leaves nothing behind.
# shellcheck disable=SC2016  # $1 and $@ belong to the stand-in script
printf '#!/bin/sh\n[ "$1" = init ] && exec "%s" "$@"\nexit 1\n' "$tillit" \
  >"$tmp/half-tillit"
chmod +x "$tmp/half-tillit"
expect_status 1 env TILLIT_BIN="$tmp/half-tillit" bash "$make" "$tmp/half"
grep -q "tillit demo failed" "$tmp/err" || fail "no reason for a failed step"
[ ! -e "$tmp/half" ] || fail "a failed run left $tmp/half behind"

# The fixture, made by MAKER and opened by this tillit.
data="$tmp/data"
TILLIT_BIN="$maker" bash "$make" "$data"
"$tillit" citizen verify --data "$data" >/dev/null ||
  fail "tillit citizen verify refused the fixture"
"$tillit" audit verify --data "$data" >/dev/null ||
  fail "tillit audit verify refused the fixture"
[ -f "$data/privacy.db" ] || fail "the fixture has no privacy ledger"
"$tillit" study budget --data "$data" --default-citizen-cap >/dev/null ||
  fail "tillit study budget refused the fixture's privacy ledger"
listed="$("$tillit" citizen list --data "$data" | tail -n 1)"
[ "$listed" = "3 citizen(s)" ] || fail "expected 3 citizens, got: $listed"
