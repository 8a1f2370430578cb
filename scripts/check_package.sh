#!/usr/bin/env bash
# scripts/check_package.sh BUILD_DIR
#
# Builds the Debian package in BUILD_DIR (configured with
# -DTILLIT_PACKAGE=ON and built) and checks it, in this order:
#   1. cpack -G DEB makes tillit_<version>_<arch>.deb;
#   2. its control fields: dependencies from dpkg-shlibdeps plus adduser,
#      the conffile, the maintainer scripts' modes;
#   3. lintian --fail-on error;
#   4. its files and links are exactly packaging/expected-files.txt;
#   5. systemd-analyze verify accepts the unit it ships;
#   6. unpacked into a temporary root (dpkg-deb -x), its tillit runs:
#      --version, init, and serve --config answering /healthz;
#   7. systemd-analyze security --offline: the unit's exposure score, at
#      most 2.0 (when this systemd can score a unit file offline).
# Exit status 0 when all pass; otherwise 1, naming the first failure.
# Needs cpack, dpkg-dev, lintian, systemd (systemd-analyze) and python3.
set -euo pipefail

if [ $# -ne 1 ] || [ ! -d "$1" ]; then
  echo "usage: scripts/check_package.sh BUILD_DIR" >&2
  exit 2
fi
BUILD="$(cd "$1" && pwd)"
SRC="$(cd "$(dirname "$0")/.." && pwd)"
HELPER="$SRC/scripts/check_package.py"
MAX_EXPOSURE=2.0

STEP="setup"
step() {
  STEP="$1"
  echo "== check_package: $STEP"
}
fail() {
  echo "check_package: FAILED: $STEP${1:+: $1}" >&2
  exit 1
}
trap 'echo "check_package: FAILED: $STEP" >&2' ERR

TMP="$(mktemp -d "${TMPDIR:-/tmp}/tillit-package.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT

for tool in cpack dpkg-deb dpkg-architecture lintian systemd-analyze python3; do
  command -v "$tool" >/dev/null || fail "$tool is not installed"
done
[ -f "$BUILD/CPackConfig.cmake" ] ||
  fail "$BUILD has no CPackConfig.cmake: configure it with -DTILLIT_PACKAGE=ON"

# ------------------------------------------------------------------ cpack
step "cpack -G DEB"
rm -f "$BUILD"/tillit_*.deb "$BUILD"/tillit-dbgsym_*.ddeb
if ! (cd "$BUILD" && cpack -G DEB) >"$TMP/cpack.log" 2>&1; then
  tail -n 40 "$TMP/cpack.log" >&2
  fail "cpack exited non-zero"
fi
ARCH="$(dpkg --print-architecture)"
shopt -s nullglob
debs=("$BUILD"/tillit_*_"$ARCH".deb)
shopt -u nullglob
[ ${#debs[@]} -eq 1 ] || fail "expected one tillit_*_$ARCH.deb in $BUILD"
DEB="${debs[0]}"
VERSION="$(dpkg-deb -f "$DEB" Version)"
[ "$(basename "$DEB")" = "tillit_${VERSION}_${ARCH}.deb" ] ||
  fail "$(basename "$DEB") is not named tillit_${VERSION}_${ARCH}.deb"
echo "$DEB"

# ---------------------------------------------------------------- control
step "control fields"
python3 "$HELPER" control --deb "$DEB" || fail

# ---------------------------------------------------------------- lintian
step "lintian --fail-on error"
status=0
lintian --fail-on error --display-info "$DEB" >"$TMP/lintian.log" 2>&1 ||
  status=$?
grep -v '^running with root privileges' "$TMP/lintian.log" || true
errors=$(grep -c '^E: ' "$TMP/lintian.log" || true)
warnings=$(grep -c '^W: ' "$TMP/lintian.log" || true)
echo "lintian: $errors errors, $warnings warnings"
[ "$status" -eq 0 ] || fail "lintian exited $status"

# -------------------------------------------------------------- contents
step "files match packaging/expected-files.txt"
python3 "$HELPER" files --deb "$DEB" \
  --expected "$SRC/packaging/expected-files.txt" \
  --actual-out "$BUILD/package-files.txt" || fail

# ------------------------------------------------------------------ unit
step "systemd-analyze verify"
ROOT="$TMP/root"
dpkg-deb -x "$DEB" "$ROOT"
UNIT="$ROOT/usr/lib/systemd/system/tillit.service"
[ -f "$UNIT" ] || fail "the package ships no usr/lib/systemd/system/tillit.service"
# The unit runs /bin/sh, which the host has; its man page reference is
# checked by lintian, not here (the host has no tillit(1)).
if ! systemd-analyze verify --man=no "$UNIT" >"$TMP/verify.log" 2>&1; then
  cat "$TMP/verify.log" >&2
  fail "systemd-analyze verify rejected the unit"
fi
cat "$TMP/verify.log"

# ----------------------------------------------------------------- smoke
step "smoke test of the unpacked tillit"
python3 "$HELPER" smoke --root "$ROOT" --version "$VERSION" || fail

# -------------------------------------------------------------- security
step "systemd-analyze security --offline"
if systemd-analyze security --offline=true --no-pager "$UNIT" \
    >"$TMP/security.log" 2>&1; then
  line="$(grep 'Overall exposure level' "$TMP/security.log" || true)"
  [ -n "$line" ] || fail "no exposure level in systemd-analyze's output"
  echo "$line"
  score="$(echo "$line" | grep -o '[0-9]\+\.[0-9]' | head -n 1)"
  python3 -c "import sys; sys.exit(0 if float('$score') <= $MAX_EXPOSURE else 1)" ||
    fail "exposure $score is above $MAX_EXPOSURE: a change weakened the unit's hardening"
else
  echo "systemd-analyze security --offline is not available here" \
    "($(systemd-analyze --version | head -n 1)); exposure not scored"
fi

echo "check_package: all checks passed ($(basename "$DEB"))"
