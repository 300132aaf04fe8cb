#!/usr/bin/env bash
# Benchmark of everything that reads a large plan (issue 12; not a test: run it on purpose).
#
#   bench/reports.sh          # RUNS=3 by default
#
# Needs bench-data/plan-1m.csv (bench/plan.sh generates it). For each row of the issue's
# table -- `plan`, `report -o x.csv|.xlsx|.html|.md`, `status`, `apply --dry-run`
# start-up -- it takes RUNS runs, each preceded by a *different* process (a bare csv
# parse of the input, so no run follows a run of itself), and prints the median wall
# time and peak RSS (/usr/bin/time -v) and the ratio to the bare parse, as Markdown.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
DATA=bench-data
CSV=${CSV:-$DATA/plan-1m.csv}
PLAN=$DATA/plan-1m.json
BIN=target/release/cspmove
BARE=target/release/examples/bare_csv_parse
[ -s "$CSV" ] || { echo "bench: $CSV missing: run bench/plan.sh first" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "bench: install the 'time' package" >&2; exit 2; }
cargo build --release --quiet --bin cspmove --example bare_csv_parse

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# "wall_s peak_MB" medians of RUNS runs of the command, each after a bare parse.
measure() {
    local name=$1; shift
    : >"$DATA/runs-$name.txt"
    for _ in $(seq "$RUNS"); do
        "$BARE" "$CSV" >/dev/null
        /usr/bin/time -f "%e %M" -o "$DATA/time-$name.txt" "$@" >/dev/null 2>"$DATA/stderr-$name.txt" || true
        tail -1 "$DATA/time-$name.txt" >>"$DATA/runs-$name.txt"
    done
    echo "$(cut -d' ' -f1 "$DATA/runs-$name.txt" | median) $(cut -d' ' -f2 "$DATA/runs-$name.txt" | median | awk '{printf "%.0f", $1/1024}')"
}

echo "## Large-plan benchmark, $(date -u +'%Y-%m-%d %H:%M UTC'), cspmove $(git rev-parse --short HEAD)"
echo
echo "Load before: $(cut -d' ' -f1-3 /proc/loadavg). $RUNS runs each, medians; every run follows a bare parse."
echo
# The bare parse itself, each run after a `cat` of the input (another process).
: >"$DATA/runs-bare.txt"
for _ in $(seq "$RUNS"); do
    cat "$CSV" >/dev/null
    /usr/bin/time -f "%e %M" -o "$DATA/time-bare.txt" "$BARE" "$CSV" >/dev/null
    tail -1 "$DATA/time-bare.txt" >>"$DATA/runs-bare.txt"
done
bare=$(cut -d' ' -f1 "$DATA/runs-bare.txt" | median)
echo "| command | wall (median) | peak RSS | output | ratio to bare parse (${bare} s) |"
echo "| --- | ---: | ---: | ---: | ---: |"
row() {
    local label=$1 name=$2 out=$3; shift 3
    local r w m size
    r=$(measure "$name" "$@")
    w=${r% *}; m=${r#* }
    size=$([ -e "$out" ] && du -h "$out" | cut -f1 || echo "-")
    echo "| \`$label\` | ${w} s | ${m} MB | ${size} | $(awk -v a="$w" -v b="$bare" 'BEGIN {printf "%.1f", a/b}')x |"
}
row "plan 1M rows" plan "$PLAN" "$BIN" plan "$CSV" --catalog samples/catalog.csv \
    --offer-map samples/offer-map.csv --as-of 2026-11-21 -o "$PLAN" --quiet
row "report -o x.csv" csv "$DATA/r.csv" "$BIN" report "$PLAN" -o "$DATA/r.csv"
row "report -o x.md" md "$DATA/r.md" "$BIN" report "$PLAN" -o "$DATA/r.md"
row "report -o x.html" html "$DATA/r.html" "$BIN" report "$PLAN" -o "$DATA/r.html"
row "status (no journal)" status - "$BIN" status "$PLAN" --journal "$DATA/none.jsonl"
# --dry-run makes no call; the endpoint only has to parse (port 9: discard).
row "apply --dry-run start-up" apply - env CSPMOVE_TOKEN=bench "$BIN" apply "$PLAN" --dry-run --now \
    --endpoint http://127.0.0.1:9 --journal "$DATA/dry.jsonl"
row "report -o x.xlsx" xlsx "$DATA/r.xlsx" "$BIN" report "$PLAN" -o "$DATA/r.xlsx"
echo
echo "Load after: $(cut -d' ' -f1-3 /proc/loadavg)."
