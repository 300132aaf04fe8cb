#!/usr/bin/env bash
# Benchmark of `cspmove apply` against `cspmove sandbox` (issue 10 "Performance"; not a
# test: run it on purpose). Figures go to docs/benchmarks.md `## Apply`.
#
#   bench/apply.sh                 # every scenario
#   bench/apply.sh same            # one of: same moves throttled
#   SAME=5000 MOVES=200 USERS=40 RATE=100 CONCURRENCY=16 bench/apply.sh
#
# For each scenario it writes a plan (examples/apply_bench_plan.rs: new-commerce targets),
# starts `cspmove sandbox --seed PLAN --latency-ms 50` on 127.0.0.1 (port 0, its URL read
# from its first stdout line) with a request log (RUST_LOG debug of the sandbox's
# request layer), runs `cspmove apply --now --yes` with a fresh journal under
# /usr/bin/time, and prints: the calls counted by the sandbox (`/sandbox/state` stats and
# its request log, by route) and by apply's own summary, calls per customer / per moved
# user, wall and CPU time, requests/s and goodput as a share of --rate, peak RSS, and a
# check that no planned line was bought twice (one subscription per customer and line).
set -euo pipefail
cd "$(dirname "$0")/.."
SAME=${SAME:-5000}
MOVES=${MOVES:-200}
USERS=${USERS:-40}
THROTTLED=${THROTTLED:-1000}
RATE=${RATE:-100}
CONCURRENCY=${CONCURRENCY:-16}
LATENCY=${LATENCY:-50}
OUT=${OUT:-bench-data/apply}
BIN=target/release/cspmove
GEN=target/release/examples/apply_bench_plan
TOKEN=bench-token
mkdir -p "$OUT"
[ -x /usr/bin/time ] || { echo "bench: install the 'time' package" >&2; exit 2; }
command -v jq >/dev/null || { echo "bench: needs jq" >&2; exit 2; }
cargo build --release --quiet --bin cspmove --example apply_bench_plan

SANDBOX_PID=
stop_sandbox() {
    if [ -n "$SANDBOX_PID" ]; then
        kill "$SANDBOX_PID" 2>/dev/null || true
        wait "$SANDBOX_PID" 2>/dev/null || true
        SANDBOX_PID=
    fi
}
trap stop_sandbox EXIT

# scenario NAME "GENERATOR ARGS" "SANDBOX FLAGS" -> prints one Markdown block
scenario() {
    local name=$1 gen=$2 sbflags=$3
    local dir=$OUT/$name
    rm -rf "$dir" && mkdir -p "$dir"
    # shellcheck disable=SC2086
    "$GEN" $gen >"$dir/plan.json"
    # shellcheck disable=SC2086
    RUST_LOG=cspmove::sandbox::layers=debug NO_COLOR=1 "$BIN" sandbox --seed "$dir/plan.json" \
        --latency-ms "$LATENCY" --token "$TOKEN" --listen 127.0.0.1:0 $sbflags \
        >"$dir/sandbox.out" 2>"$dir/sandbox.log" &
    SANDBOX_PID=$!
    local url=
    for _ in $(seq 600); do
        url=$(sed -n 's/^cspmove sandbox listening on //p' "$dir/sandbox.out" | head -1)
        [ -n "$url" ] && break
        kill -0 "$SANDBOX_PID" 2>/dev/null || { cat "$dir/sandbox.log" >&2; exit 1; }
        sleep 0.1
    done
    [ -n "$url" ] || { echo "bench: the sandbox printed no URL" >&2; exit 1; }
    local load_before cpu
    load_before=$(cut -d' ' -f1-3 /proc/loadavg)
    local rc=0
    CSPMOVE_TOKEN=$TOKEN NO_COLOR=1 /usr/bin/time -f "%e %U %S %M" -o "$dir/time.txt" \
        "$BIN" apply "$dir/plan.json" --endpoint "$url" --yes --now \
        --rate "$RATE" --concurrency "$CONCURRENCY" --journal "$dir/journal.jsonl" \
        --report "$dir/report.json" >"$dir/apply.out" 2>"$dir/apply.err" || rc=$?
    local load_after
    load_after=$(cut -d' ' -f1-3 /proc/loadavg)
    curl -s -H "Authorization: Bearer $TOKEN" "$url/sandbox/state" >"$dir/state.json"
    stop_sandbox

    read -r wall user sys rss <"$dir/time.txt" || true
    cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN {printf "%.1f", u+s}')
    local customers moved sb_requests sb_throttled apply_requests apply_throttled apply_retried
    customers=$(jq '.customers | length' "$dir/state.json")
    sb_requests=$(jq '.stats.requests' "$dir/state.json")
    sb_throttled=$(jq '.stats.throttled' "$dir/state.json")
    # "orders placed N, users moved M, API requests R (X retried, Y throttled) in …"
    apply_requests=$(sed -n 's/.*API requests \([0-9]*\) .*/\1/p' "$dir/apply.out")
    apply_retried=$(sed -n 's/.*API requests [0-9]* (\([0-9]*\) retried.*/\1/p' "$dir/apply.out")
    apply_throttled=$(sed -n 's/.* retried, \([0-9]*\) throttled.*/\1/p' "$dir/apply.out")
    moved=$(sed -n 's/.*users moved \([0-9]*\),.*/\1/p' "$dir/apply.out")
    # Requests by route from the sandbox's request log (IDs replaced by {id}).
    sed -n 's/.*DEBUG \([A-Z]*\) \(\/[^ ]*\) -> \([0-9]*\).*/\1 \2 \3/p' "$dir/sandbox.log" |
        sed -E 's/[0-9a-fA-F]{8}-[0-9a-fA-F-]{27}/{id}/g; s/\/[0-9a-f]{12}(\/|$)/\/{id}\1/g; s/CFQ7[A-Z0-9]*/{product}/g; s/\/skus\/[0-9]{4}/\/skus\/{sku}/' |
        sort | uniq -c | sort -rn >"$dir/routes.txt"
    local logged
    logged=$(awk '{n+=$1} END {print n+0}' "$dir/routes.txt")
    # Never twice: each planned line (one per customer here) holds exactly one subscription.
    local twice
    twice=$(jq '[.customers[] | select((.subscriptions | length) > 1)] | length' "$dir/state.json")
    local none
    none=$(jq '[.customers[] | select((.subscriptions | length) == 0)] | length' "$dir/state.json")
    local secs=$wall
    echo "### $name ($(date -u +'%Y-%m-%d %H:%M UTC'), cspmove $(git rev-parse --short HEAD))"
    echo
    echo "- plan: \`apply_bench_plan $gen\` ($customers customers); sandbox: \`--latency-ms $LATENCY $sbflags\`"
    echo "- apply: \`--rate $RATE --concurrency $CONCURRENCY --now --yes\`, fresh journal; exit $rc"
    echo "- load average before $load_before, after $load_after"
    echo "- calls: sandbox stats $sb_requests ($sb_throttled answered 429), sandbox request log $logged, apply's summary $apply_requests ($apply_retried retried, $apply_throttled throttled)"
    echo "- per customer: $(awk -v r="$sb_requests" -v c="$customers" 'BEGIN {printf "%.3f", r/c}') calls; users moved: ${moved:-0}$( [ "${moved:-0}" -gt 0 ] && awk -v r="$sb_requests" -v m="$moved" -v s="$SAME_IN" 'BEGIN {printf ", %.3f calls per moved user (all calls of the run)", r/m}')"
    echo "- wall $wall s, CPU $cpu s (user $user + sys $sys), peak RSS $((rss / 1024)) MB"
    echo "- requests/s $(awk -v r="$sb_requests" -v w="$secs" 'BEGIN {printf "%.1f", r/w}') = $(awk -v r="$sb_requests" -v w="$secs" -v q="$RATE" 'BEGIN {printf "%.0f%%", 100*r/w/q}') of --rate; goodput (answered, not 429) $(awk -v r="$sb_requests" -v t="$sb_throttled" -v w="$secs" -v q="$RATE" 'BEGIN {printf "%.1f/s = %.0f%%", (r-t)/w, 100*(r-t)/w/q}') of --rate"
    echo "- never twice: $twice customers with more than one subscription, $none with none"
    echo "- apply's summary: $(head -2 "$dir/apply.out" | tr '\n' ' ')"
    echo
    echo '```'
    head -20 "$dir/routes.txt"
    echo '```'
    echo
}

SAME_IN=0
want=${1:-all}
echo "## Apply benchmark, $(date -u +'%Y-%m-%d %H:%M UTC'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo
if [ "$want" = all ] || [ "$want" = same ]; then
    scenario "same-$SAME" "$SAME 0" ""
fi
if [ "$want" = all ] || [ "$want" = moves ]; then
    scenario "moves-$MOVES-x$USERS" "0 $MOVES $USERS" ""
fi
if [ "$want" = all ] || [ "$want" = throttled ]; then
    scenario "throttled-$THROTTLED" "$THROTTLED 0" "--throttle-rate 0.1 --fault-seed 7"
fi
