#!/usr/bin/env bash
# tillit beside two peers on this machine, in one run, with ratios: see
# bench/peers/README.md. Run by hand after ./dev build; never in CI.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: bench/peers/run.sh [options]

In one run, on this machine: tillit's read-one (build/bench/http_bench),
Community Solid Server 7 with its memory and its file backend driven by the
same load generator (http_bench --target), tillit's consent decision
(consent_bench BM_DecideResearch/10) and cedar-wasm deciding the same
grants in Node; then a table of the ratios.

  --seconds S        seconds counted per HTTP run (default 8)
  --connections C    keep-alive connections per HTTP run (default 64)
  --rate R           a fixed offered rate for the HTTP runs (default: none,
                     closed loop)
  --resources N      Observations seeded into CSS (default 200)
  --repetitions R    repetitions of the decision benchmarks; the median
                     is reported (default 5)
  --cedar-seconds S  seconds per cedar-wasm repetition (default 2)
  --build DIR        tillit's build directory (default: build in the
                     checkout)
  --npm-dir DIR      where the pinned npm packages are installed (default
                     ${TMPDIR:-/tmp}/tillit-peers-npm; reinstalled only
                     when package-lock.json changes)
  --help             this text

Needs Node 18 or later and npm (the npm registry is reached only to
install the packages package-lock.json pins), and tillit built
(./dev build) with http_bench and consent_bench. Takes about two minutes
after the first install; nothing else should run on the machine meanwhile.
EOF
}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
seconds=8
connections=64
rate=
resources=200
repetitions=5
cedar_seconds=2
build="$repo/build"
npm_dir="${TMPDIR:-/tmp}/tillit-peers-npm"

die() {
  echo "run.sh: $*" >&2
  exit 2
}
number() {  # number FLAG VALUE: VALUE must be a positive integer
  [[ $2 =~ ^[1-9][0-9]*$ ]] || die "$1 takes a positive whole number"
}
while (($#)); do
  case $1 in
    --help | -h) usage; exit 0 ;;
    --seconds | --connections | --rate | --resources | --repetitions | \
      --cedar-seconds | --build | --npm-dir)
      (($# >= 2)) || die "$1 takes a value"
      case $1 in
        --seconds) number "$1" "$2"; seconds=$2 ;;
        --connections) number "$1" "$2"; connections=$2 ;;
        --rate) number "$1" "$2"; rate=$2 ;;
        --resources) number "$1" "$2"; resources=$2 ;;
        --repetitions) number "$1" "$2"; repetitions=$2 ;;
        --cedar-seconds) number "$1" "$2"; cedar_seconds=$2 ;;
        --build) build=$(cd "$2" && pwd) ;;
        --npm-dir) npm_dir=$2 ;;
      esac
      shift 2
      ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done

http_bench="$build/bench/http_bench"
consent_bench="$build/bench/consent_bench"
for b in "$http_bench" "$consent_bench"; do
  [[ -x $b ]] || die "$b is missing: build tillit first (./dev build)"
done
command -v node > /dev/null || die "node is missing"
command -v npm > /dev/null || die "npm is missing"
node_major=$(node -p 'process.versions.node.split(".")[0]')
((node_major >= 18)) || die "Node 18 or later is needed, not $(node --version)"

# Everything this run starts or writes is ended or removed on exit. Each
# process it starts leads a process group of its own (setsid), so that
# ending the group also ends what that process forked.
work=$(mktemp -d "${TMPDIR:-/tmp}/tillit-peers-run.XXXXXX")
step_group=    # the step running now (in_group)
server_group=  # the CSS server running now
stop_group() {  # stop_group PID: SIGTERM, up to 10 s, then SIGKILL
  local pid=$1
  [[ -n $pid ]] || return 0
  if kill -TERM -- "-$pid" 2> /dev/null; then
    for _ in $(seq 1 50); do
      kill -0 -- "-$pid" 2> /dev/null || break
      sleep 0.2
    done
    kill -KILL -- "-$pid" 2> /dev/null || true
  fi
  wait "$pid" 2> /dev/null || true
}
stop_server() {
  local pid=$server_group
  server_group=
  stop_group "$pid"
}
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
  local step=$step_group
  step_group=
  stop_group "$step"
  stop_server
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# in_group COMMAND...: runs COMMAND in a process group of its own, in the
# background, and waits for it, so that an interrupt reaches the traps at
# once and cleanup ends COMMAND and whatever it forked. Returns its status.
in_group() {
  local rc=0
  setsid "$@" &
  step_group=$!
  wait "$step_group" || rc=$?
  step_group=
  return "$rc"
}

# run_step LOG COMMAND...: in_group, the output kept in LOG and shown once
# COMMAND ends.
run_step() {
  local log=$1 rc=0
  shift
  in_group "$@" > "$log" 2>&1 || rc=$?
  cat "$log"
  return "$rc"
}

step() { printf '\n==> %s\n' "$*"; }

# The pinned packages, installed again only when the lock changes.
step "npm packages (package-lock.json) in $npm_dir"
stamp=$(cat "$here/package.json" "$here/package-lock.json" "$here/.npmrc" |
  sha256sum | cut -d' ' -f1)
mkdir -p "$npm_dir"
installed=$(cat "$npm_dir/.stamp" 2> /dev/null || true)
if [[ ! -d $npm_dir/node_modules || $installed != "$stamp" ]]; then
  rm -rf "$npm_dir/node_modules" "$npm_dir/.stamp"
  cp "$here/package.json" "$here/package-lock.json" "$here/.npmrc" "$npm_dir/"
  (cd "$npm_dir" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$stamp" > "$npm_dir/.stamp"
else
  echo "up to date"
fi
cp "$here/cedar_bench.mjs" "$npm_dir/"
css_dir="$npm_dir/node_modules/@solid/community-server"
css_server="$css_dir/bin/server.js"
version() { node -p 'require(process.argv[1]).version' "$1/package.json"; }
css_version=$(version "$css_dir")
cedar_wasm_version=$(version "$npm_dir/node_modules/@cedar-policy/cedar-wasm")

load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)
http_flags=(--connections "$connections" --seconds "$seconds")
[[ -z $rate ]] || http_flags+=(--rate "$rate")

# The "scenario" line of an http_bench output: req/s p50 p99 p99.9 errors
# (0 and dashes when the run did not get that far).
http_line() {
  if [[ -f $1 ]]; then
    awk -v s="$2" '$1 == s { print $3, $4, $5, $6, $7; found = 1 }
      END { if (!found) print "0 - - - -" }' "$1"
  else
    echo "0 - - - -"
  fi
}

status=0
step "tillit: http_bench --only read-one ${http_flags[*]}"
run_step "$work/tillit-http.txt" "$http_bench" --only read-one \
  "${http_flags[@]}" || status=1
read -r tillit_rps tillit_p50 tillit_p99 tillit_p999 tillit_errors \
  < <(http_line "$work/tillit-http.txt" read-one)

step "tillit: consent_bench BM_DecideResearch/10, $repetitions repetitions"
# The console format, for the person; JSON in a file, for the median.
run_step "$work/consent.txt" "$consent_bench" \
  '--benchmark_filter=^BM_DecideResearch/10$' \
  "--benchmark_repetitions=$repetitions" \
  --benchmark_report_aggregates_only=true \
  "--benchmark_out=$work/consent.json" --benchmark_out_format=json ||
  status=1
tillit_decisions=$(node -e '
  const json = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const m = json.benchmarks.find((b) => b.aggregate_name === "median");
  console.log(m ? Math.round(m.items_per_second) : 0);
' "$work/consent.json" 2> /dev/null || echo 0)

free_port() {
  node -e 'const s = require("net").createServer();
    s.listen(0, "127.0.0.1", () => {
      console.log(s.address().port);
      s.close();
    });'
}

# css BACKEND: starts CSS with css-BACKEND.json on a free loopback port,
# seeds it, drives it with http_bench --target, and stops it.
css() {
  local backend=$1 port rc=0
  local data=()
  port=$(free_port)
  if [[ $backend == file ]]; then
    mkdir "$work/css-data"
    data=(-f "$work/css-data")
  fi
  step "CSS $css_version, $backend backend, on 127.0.0.1:$port"
  setsid node "$css_server" -c "$here/css-$backend.json" "${data[@]}" \
    -p "$port" -b "http://127.0.0.1:$port/" -l warn \
    > "$work/css-$backend.log" 2>&1 &
  server_group=$!
  if ! in_group node "$here/seed.mjs" --base "http://127.0.0.1:$port" \
    --resources "$resources" --paths "$work/paths-$backend.txt" \
    --pid "$server_group"; then
    echo "CSS ($backend) log:" >&2
    tail -n 30 "$work/css-$backend.log" >&2
    stop_server
    return 1
  fi
  echo "http_bench --target http://127.0.0.1:$port ${http_flags[*]}"
  run_step "$work/css-$backend-http.txt" "$http_bench" \
    --target "http://127.0.0.1:$port" --paths "$work/paths-$backend.txt" \
    "${http_flags[@]}" || rc=1
  if ! kill -0 "$server_group" 2> /dev/null; then
    echo "CSS ($backend) exited during the run" >&2
    rc=1
  fi
  if [[ -s $work/css-$backend.log ]]; then
    echo "CSS ($backend) logged (warnings and errors, the last lines):"
    tail -n 5 "$work/css-$backend.log"
  fi
  stop_server
  return "$rc"
}

css memory || status=1
read -r memory_rps memory_p50 memory_p99 memory_p999 memory_errors \
  < <(http_line "$work/css-memory-http.txt" get)
css file || status=1
read -r file_rps file_p50 file_p99 file_p999 file_errors \
  < <(http_line "$work/css-file-http.txt" get)

step "cedar-wasm $cedar_wasm_version: the same decision in Node"
run_step "$work/cedar.txt" node "$npm_dir/cedar_bench.mjs" \
  --seconds "$cedar_seconds" --repetitions "$repetitions" \
  --json "$work/cedar.json" || status=1
read -r cedar_stateful cedar_stateless < <(node -e '
  try {
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    console.log(Math.round(r.stateful.median), Math.round(r.stateless.median));
  } catch { console.log(0, 0); }
' "$work/cedar.json")

ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN {
    if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else printf "n/a" }'
}

mode="closed loop"
[[ -z $rate ]] || mode="$rate/s offered"
step "Summary: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, Node" \
  "$(node --version), load average before the first benchmark $load_at_start"
printf '\nHTTP GET of one FHIR resource, %s connections, %s, %s s:\n' \
  "$connections" "$mode" "$seconds"
printf '%-40s %9s %8s %8s %9s %7s\n' server 'req/s' 'p50 ms' 'p99 ms' \
  'p99.9 ms' errors
printf '%-40s %9s %8s %8s %9s %7s\n' \
  "tillit read-one (authenticated, audited)" "$tillit_rps" "$tillit_p50" \
  "$tillit_p99" "$tillit_p999" "$tillit_errors" \
  "CSS $css_version memory (public read)" "$memory_rps" "$memory_p50" \
  "$memory_p99" "$memory_p999" "$memory_errors" \
  "CSS $css_version file (public read)" "$file_rps" "$file_p50" \
  "$file_p99" "$file_p999" "$file_errors"
printf '\nOne research decision, citizen with 10 grants, one thread:\n'
printf '%-40s %12s\n' engine 'decisions/s' \
  "tillit DecideResearch (median)" "$tillit_decisions" \
  "cedar-wasm $cedar_wasm_version stateful (median)" "$cedar_stateful" \
  "cedar-wasm $cedar_wasm_version stateless (median)" "$cedar_stateless"
printf '\nRatios (tillit / peer):\n'
printf '%-52s %8s\n' \
  "audited reads/s / CSS memory GET/s" "$(ratio "$tillit_rps" "$memory_rps")" \
  "audited reads/s / CSS file GET/s" "$(ratio "$tillit_rps" "$file_rps")" \
  "decisions/s / cedar-wasm stateful decisions/s" \
  "$(ratio "$tillit_decisions" "$cedar_stateful")" \
  "decisions/s / cedar-wasm stateless decisions/s" \
  "$(ratio "$tillit_decisions" "$cedar_stateless")"
if ((status != 0)); then
  echo "run.sh: a step failed or counted errors (see above)" >&2
fi
exit "$status"
