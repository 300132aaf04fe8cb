#!/usr/bin/env bash
# Benchmark of `cspmove apply` against `cspmove sandbox` (issue 10 "Performance"; not a
# test: run it on purpose). Figures go to docs/benchmarks.md `## Apply`.
#
#   bench/apply.sh                 # every scenario
#   bench/apply.sh same            # one of: same moves throttled dryrun first1m
#   SAME=5000 MOVES=200 USERS=40 THROTTLED=1000 RATE=100 CONCURRENCY=16 \
#   THROTTLED_CONCURRENCY=32 bench/apply.sh
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
THROTTLED_CONCURRENCY=${THROTTLED_CONCURRENCY:-32}
LATENCY=${LATENCY:-50}
OUT=${OUT:-bench-data/apply}
# Where the 1M-line plan and its csv are (bench/plan.sh makes them); read, never written.
DATA=${DATA:-bench-data}
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

# scenario NAME "GENERATOR ARGS" "SANDBOX FLAGS" CONCURRENCY -> prints one Markdown block
scenario() {
    local name=$1 gen=$2 sbflags=$3 conc=$4
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
        --rate "$RATE" --concurrency "$conc" --journal "$dir/journal.jsonl" \
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
    # "orders placed N, users moved M, API requests R (X retried, Y throttled) in …";
    # the summary groups digits ("8,000"): the commas are dropped.
    apply_requests=$(sed -n 's/.*API requests \([0-9,]*\) .*/\1/p' "$dir/apply.out" | tr -d ,)
    apply_retried=$(sed -n 's/.*API requests [0-9,]* (\([0-9,]*\) retried.*/\1/p' "$dir/apply.out" | tr -d ,)
    apply_throttled=$(sed -n 's/.* retried, \([0-9,]*\) throttled.*/\1/p' "$dir/apply.out" | tr -d ,)
    moved=$(sed -n 's/.*users moved \([0-9,]*\),.*/\1/p' "$dir/apply.out" | tr -d ,)
    # Requests by route from the sandbox's request log (IDs replaced by {id}).
    sed -n 's/.*DEBUG \([A-Z]*\) \(\/[^ ]*\) -> \([0-9]*\).*/\1 \2 \3/p' "$dir/sandbox.log" |
        sed -E 's/[0-9a-fA-F]{8}-[0-9a-fA-F-]{27}/{id}/g; s/\/[0-9a-f]{12}(\/|$)/\/{id}\1/g; s/CFQ7[A-Z0-9]*/{product}/g; s/\/skus\/[0-9]{4}/\/skus\/{sku}/' |
        sort | uniq -c | sort -rn >"$dir/routes.txt"
    local logged
    logged=$(awk '$3 !~ /^\/sandbox\// {n+=$1} END {print n+0}' "$dir/routes.txt")
    # Never twice: each planned line (one per customer here) holds exactly one subscription.
    local twice
    twice=$(jq '[.customers[] | select((.subscriptions | length) > 1)] | length' "$dir/state.json")
    local none
    none=$(jq '[.customers[] | select((.subscriptions | length) == 0)] | length' "$dir/state.json")
    local secs=$wall
    echo "### $name ($(date -u +'%Y-%m-%d %H:%M UTC'), cspmove $(git rev-parse --short HEAD))"
    echo
    echo "- plan: \`apply_bench_plan $gen\` ($customers customers); sandbox: \`--latency-ms $LATENCY $sbflags\`"
    echo "- apply: \`--rate $RATE --concurrency $conc --now --yes\`, fresh journal; exit $rc"
    echo "- load average before $load_before, after $load_after"
    echo "- calls: sandbox stats $sb_requests ($sb_throttled answered 429), sandbox request log $logged, apply's summary $apply_requests ($apply_retried retried, $apply_throttled throttled)"
    # The licence step's calls: subscribedskus, users pages, licence reads, licenseupdates.
    local licence_calls
    licence_calls=$(awk '$3 ~ /\/(subscribedskus|users)/ {n+=$1} END {print n+0}' "$dir/routes.txt")
    echo "- per customer: $(awk -v r="$sb_requests" -v c="$customers" 'BEGIN {printf "%.3f", r/c}') calls (all calls of the run / customers); users moved: ${moved:-0}"
    if [ "${moved:-0}" -gt 0 ]; then
        echo "- per moved user: $(awk -v r="$licence_calls" -v m="$moved" 'BEGIN {printf "%.3f", r/m}') licence-step calls ($licence_calls: subscribedskus, users pages, licence reads, licenseupdates), $(awk -v r="$sb_requests" -v m="$moved" 'BEGIN {printf "%.3f", r/m}') counting every call of the run"
    fi
    echo "- wall $wall s, CPU $cpu s (user $user + sys $sys), peak RSS $((rss / 1024)) MB"
    echo "- requests/s $(awk -v r="$sb_requests" -v w="$secs" 'BEGIN {printf "%.1f", r/w}') = $(awk -v r="$sb_requests" -v w="$secs" -v q="$RATE" 'BEGIN {printf "%.0f%%", 100*r/w/q}') of --rate; goodput (answered, not 429) $(awk -v r="$sb_requests" -v t="$sb_throttled" -v w="$secs" -v q="$RATE" 'BEGIN {printf "%.1f/s = %.0f%%", (r-t)/w, 100*(r-t)/w/q}') of --rate"
    echo "- never twice: $twice customers with more than one subscription, $none with none"
    if [ "${moved:-0}" -gt 0 ]; then
        # Licence moves: Office 365 E3 (old) -> Microsoft 365 E3 (new) for every seeded user.
        local old new both
        old=$(jq '[.customers[].users[] | select(.licenses | index("6fd2c87f-b296-42f0-b197-1e91e994b900"))] | length' "$dir/state.json")
        new=$(jq '[.customers[].users[] | select(.licenses | index("05e9a617-0261-4cee-bb44-138d3ef5d965"))] | length' "$dir/state.json")
        both=$(jq '[.customers[].users[] | select((.licenses | length) > 1)] | length' "$dir/state.json")
        echo "- licences afterwards: $new users on the new SKU, $old still on the old one, $both holding more than one"
    fi
    echo "- apply's summary: $(head -2 "$dir/apply.out" | tr '\n' ' ')"
    echo
    echo '```'
    head -20 "$dir/routes.txt"
    echo '```'
    echo
}

# `apply --dry-run` on the 1M-line plan (issue 12): RUNS runs, each after a different
# process (a bare csv parse of the input), with wall, CPU (user + sys), peak RSS and the
# load average of each run, then the medians.
dry_run_1m() {
    local plan=$DATA/plan-1m.json csv=$DATA/plan-1m.csv runs=${RUNS:-3}
    [ -s "$plan" ] || { echo "bench: $plan missing (cspmove plan $csv --as-of 2026-11-21 -o $plan --quiet)" >&2; exit 2; }
    cargo build --release --quiet --example bare_csv_parse
    echo "### apply --dry-run on $plan ($(du -h "$plan" | cut -f1)), $(date -u +'%Y-%m-%d %H:%M UTC'), cspmove $(git rev-parse --short HEAD)"
    echo
    echo "| run | flags | wall | CPU user + sys | peak RSS | stdout | load before |"
    echo "| --- | --- | ---: | ---: | ---: | ---: | --- |"
    for flags in "" "--now"; do
        : >"$OUT/dry-runs.txt"
        for i in $(seq "$runs"); do
            target/release/examples/bare_csv_parse "$csv" >/dev/null
            local load
            load=$(cut -d' ' -f1-3 /proc/loadavg)
            rm -f "$OUT/dry.jsonl"
            # shellcheck disable=SC2086
            /usr/bin/time -f "%e %U %S %M" -o "$OUT/dry-time.txt" "$BIN" apply "$plan" --dry-run $flags \
                --endpoint http://127.0.0.1:9 --journal "$OUT/dry.jsonl" >"$OUT/dry.out"
            read -r w u s m <"$OUT/dry-time.txt"
            echo "$w $u $s $m" >>"$OUT/dry-runs.txt"
            echo "| $i | \`--dry-run $flags\` | $w s | $(awk -v u="$u" -v s="$s" 'BEGIN {printf "%.2f", u+s}') s | $((m / 1024)) MB | $(wc -l <"$OUT/dry.out") lines | $load |"
        done
        med() { cut -d' ' -f"$1" "$OUT/dry-runs.txt" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
        echo "| median | \`--dry-run $flags\` | $(med 1) s | $(awk '{print $2+$3}' "$OUT/dry-runs.txt" | sort -g | awk '{a[NR]=$1} END {printf "%.2f", a[int((NR+1)/2)]}') s | $(( $(med 4) / 1024 )) MB | | |"
    done
    echo
}

# The first real `apply` of the 1M-line plan against an empty sandbox (nobody has
# accepted: every customer is streamed, journaled as waiting and invited), without and
# with a `.json` execution report: wall, CPU, peak RSS (what the end of a run holds for
# its summary and report), the calls, and the load average around each run.
first_run_1m() {
    local plan=$DATA/plan-1m.json csv=$DATA/plan-1m.csv dir=$OUT/first-1m
    [ -s "$plan" ] || { echo "bench: $plan missing" >&2; exit 2; }
    cargo build --release --quiet --example bare_csv_parse
    mkdir -p "$dir"
    echo "### first apply of $plan against an empty sandbox ($(date -u +'%Y-%m-%d %H:%M UTC'), cspmove $(git rev-parse --short HEAD))"
    echo
    echo "| run | flags | wall | CPU user + sys | peak RSS | calls | journal | load before / after |"
    echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |"
    local i=0
    # The third run is the second run of the same journal (569,540 earlier events).
    for flags in "" "--report $dir/report.json" "again"; do
        i=$((i + 1))
        if [ "$flags" = again ]; then
            flags=
        else
            rm -f "$dir"/journal.jsonl* "$dir"/invitations.csv "$dir"/report.json
        fi
        NO_COLOR=1 "$BIN" sandbox --token "$TOKEN" --listen 127.0.0.1:0 >"$dir/sandbox.out" 2>"$dir/sandbox.log" &
        SANDBOX_PID=$!
        local url=
        for _ in $(seq 100); do
            url=$(sed -n 's/^cspmove sandbox listening on //p' "$dir/sandbox.out" | head -1)
            [ -n "$url" ] && break
            sleep 0.1
        done
        [ -n "$url" ] || { echo "bench: the sandbox printed no URL" >&2; exit 1; }
        target/release/examples/bare_csv_parse "$csv" >/dev/null
        local before after rc=0
        before=$(cut -d' ' -f1-3 /proc/loadavg)
        # shellcheck disable=SC2086
        CSPMOVE_TOKEN=$TOKEN NO_COLOR=1 /usr/bin/time -f "%e %U %S %M" -o "$dir/time.txt" \
            "$BIN" apply "$plan" --endpoint "$url" --yes --rate 1000 \
            --journal "$dir/journal.jsonl" $flags >"$dir/apply.out" 2>"$dir/apply.err" || rc=$?
        after=$(cut -d' ' -f1-3 /proc/loadavg)
        local requests
        requests=$(curl -s -H "Authorization: Bearer $TOKEN" "$url/sandbox/state" | jq '.stats.requests')
        stop_sandbox
        read -r w u s m <"$dir/time.txt"
        local label="(none)"
        [ -n "$flags" ] && label="\`--report .json\`"
        [ "$i" = 3 ] && label="(none), second run of the same journal"
        echo "| $i | $label (exit $rc) | $w s | $(awk -v u="$u" -v s="$s" 'BEGIN {printf "%.1f", u+s}') s ($u + $s) | $((m / 1024)) MB | $requests | $(wc -l <"$dir/journal.jsonl") events, $(du -h "$dir/journal.jsonl" | cut -f1) | $before / $after |"
    done
    echo
}

want=${1:-all}
if [ "$want" = dryrun ]; then
    dry_run_1m
    exit 0
fi
if [ "$want" = first1m ]; then
    first_run_1m
    exit 0
fi
echo "## Apply benchmark, $(date -u +'%Y-%m-%d %H:%M UTC'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo
if [ "$want" = all ] || [ "$want" = same ]; then
    scenario "same-$SAME" "$SAME 0" "" "$CONCURRENCY"
fi
if [ "$want" = all ] || [ "$want" = moves ]; then
    scenario "moves-$MOVES-x$USERS" "0 $MOVES $USERS" "" "$CONCURRENCY"
fi
if [ "$want" = all ] || [ "$want" = throttled ]; then
    # A throttled worker sleeps its Retry-After (1 s), so more workers keep --rate busy.
    scenario "throttled-$THROTTLED" "$THROTTLED 0" "--throttle-rate 0.1 --fault-seed 7" "$THROTTLED_CONCURRENCY"
fi
