#!/usr/bin/env bash
# Runs the libFuzzer targets of a build configured with -DTILLIT_FUZZ=ON
# (tests/fuzz/README.md says what each one feeds).
#
#   scripts/fuzz.sh BUILD_DIR SECONDS [TARGET...]
#
# Each TARGET (default: all) runs for SECONDS from a scratch corpus,
# BUILD_DIR/fuzz/<target>/corpus, made afresh from the committed seeds
# (tests/fuzz/corpus/<target>/), the target's regression inputs
# (tests/fuzz/regressions/<target>/) and, for fhir_document, the Synthea
# bundles of TILLIT_FIXTURES_DIR (default ../shared/fixtures/synthea beside
# the checkout) with small seeds cut out of them. Fixture content is only
# ever copied into the build directory, never into the repository.
#
# Prints one line per target: executions and crashes. A crash (a sanitizer
# report, a broken invariant, a timeout, running out of memory or a leak)
# leaves its input in BUILD_DIR/fuzz/<target>/ under the name printed, and
# the run's log beside it; the script then exits 1. Usage errors exit 2.
set -euo pipefail

usage() {
  echo "usage: scripts/fuzz.sh BUILD_DIR SECONDS [TARGET...]" >&2
  exit 2
}

ALL_TARGETS=(fhir_document grant_json fhir_consent checkpoint signature_input
             sealed_release records_cursor bridge_json)

[ $# -ge 2 ] || usage
root="$(cd "$(dirname "$0")/.." && pwd)"
[ -d "$1" ] || { echo "fuzz.sh: no build directory $1" >&2; usage; }
build="$(cd "$1" && pwd)"
seconds="$2"
[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || { echo "fuzz.sh: SECONDS must be a positive integer" >&2; usage; }
shift 2
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${ALL_TARGETS[@]}")
for t in "${targets[@]}"; do
  [[ " ${ALL_TARGETS[*]} " == *" $t "* ]] ||
    { echo "fuzz.sh: unknown target $t (${ALL_TARGETS[*]})" >&2; usage; }
done
fixtures="${TILLIT_FIXTURES_DIR:-$root/../shared/fixtures/synthea}"

# Leaks count as crashes; UBSan stops at the first report (the build also
# passes -fno-sanitize-recover=all).
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

# copy_files SRC_DIR DEST_DIR: the regular files of SRC_DIR, if any.
copy_files() {
  [ -d "$1" ] || return 0
  find "$1" -maxdepth 1 -type f ! -name '.*' -exec cp {} "$2"/ \;
}

failed=0
for t in "${targets[@]}"; do
  bin="$build/tests/fuzz/${t}_fuzzer"
  if [ ! -x "$bin" ]; then
    echo "fuzz.sh: $bin is missing (configure with -DTILLIT_FUZZ=ON and build)" >&2
    exit 2
  fi
  work="$build/fuzz/$t"
  corpus="$work/corpus"
  rm -rf "$corpus"
  mkdir -p "$corpus"
  copy_files "$root/tests/fuzz/corpus/$t" "$corpus"
  copy_files "$root/tests/fuzz/regressions/$t" "$corpus"
  extra=()
  if [ "$t" = fhir_document ]; then
    if [ -d "$fixtures" ]; then
      find "$fixtures" -maxdepth 1 -type f -name '*.json' \
        -exec cp {} "$corpus"/ \;
      python3 "$root/tests/fuzz/fhir_seeds.py" "$fixtures" "$corpus" >/dev/null
      # Whole bundles are up to ~1.5 MB: let them load untruncated (libFuzzer
      # would otherwise cut inputs at 1 MiB). Mutants start small anyway.
      largest=$(find "$corpus" -type f -printf '%s\n' | sort -n | tail -1)
      if [ "${largest:-0}" -gt 1048576 ]; then
        extra+=(-max_len="$largest")
      fi
    else
      echo "fuzz.sh: no fixtures at $fixtures: $t runs from its seeds only" >&2
    fi
  fi

  log="$work/fuzz.log"
  set +e
  "$bin" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
    -print_final_stats=1 -artifact_prefix="$work/" "${extra[@]}" \
    "$corpus" >"$log" 2>&1
  rc=$?
  set -e
  execs="$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' \
    "$log" | tail -1)"
  artifact="$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)"
  if [ "$rc" -eq 0 ] && [ -z "$artifact" ]; then
    printf '%-16s %12s executions in %ss, 0 crashes\n' "$t" "${execs:-?}" \
      "$seconds"
  else
    failed=1
    printf '%-16s %12s executions, CRASHED (exit %s): %s (log %s)\n' "$t" \
      "${execs:-?}" "$rc" "${artifact:-no input written}" "$log"
    # The report itself: the sanitizer's or libFuzzer's lines.
    grep -E '^(==[0-9]+==|SUMMARY|.*runtime error|#[0-9]+ |.*deadly signal)' \
      "$log" | head -40 >&2 || true
  fi
done
exit "$failed"
