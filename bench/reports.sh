#!/usr/bin/env bash
# Benchmark of the commands that read a large plan (issue 12; not a test: run it on purpose).
#
#   bench/reports.sh          # RUNS=3 by default
#
# Needs bench-data/plan-1m.csv (bench/plan.sh generates it). The plan of it,
# bench-data/plan-1m.json, is made once with this build if missing (`plan` itself is
# measured by bench/plan.sh, `apply --dry-run` by bench/apply.sh). For each row of the
# issue's table -- `status`, `report -o x.csv|.md|.html|.xlsx` -- it takes RUNS runs, each
# preceded by a *different* process (a bare csv parse of the input, so no run follows a
# run of itself), and prints as Markdown the medians of wall time, CPU time (user + sys)
# and peak RSS (/usr/bin/time), the output's size, the ratio of the wall time to the
# bare parse's and the load average before and after the row. On a shared machine the
# CPU time is the steadier figure: wall time grows with the load, CPU time hardly.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
DATA=bench-data
CSV=${CSV:-$DATA/plan-1m.csv}
PLAN=${PLAN:-$DATA/plan-1m.json}
BIN=${BIN:-target/release/cspmove}
BARE=${BARE:-target/release/examples/bare_csv_parse}
[ -s "$CSV" ] || { echo "bench: $CSV missing: run bench/plan.sh first" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "bench: install the 'time' package" >&2; exit 2; }
# BUILD=0 measures the binaries as they are (BIN, BARE).
[ "${BUILD:-1}" = 0 ] || cargo build --release --quiet --bin cspmove --example bare_csv_parse
if [ ! -s "$PLAN" ]; then
    # Exit 3: the input has rejected rows on purpose.
    "$BIN" plan "$CSV" --as-of 2026-11-21 -o "$PLAN" --quiet 2>/dev/null || [ $? -eq 3 ]
fi

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
load() { cut -d' ' -f1 /proc/loadavg; }

# "wall_s cpu_s peak_MB" medians of RUNS runs of the command, each after a bare parse.
measure() {
    local name=$1; shift
    : >"$DATA/runs-$name.txt"
    for _ in $(seq "$RUNS"); do
        "$BARE" "$CSV" >/dev/null
        /usr/bin/time -f "%e %U %S %M" -o "$DATA/time-$name.txt" "$@" >/dev/null 2>"$DATA/stderr-$name.txt" || true
        tail -1 "$DATA/time-$name.txt" | awk '{printf "%s %.2f %s\n", $1, $2 + $3, $4}' >>"$DATA/runs-$name.txt"
    done
    echo "$(cut -d' ' -f1 "$DATA/runs-$name.txt" | median)" \
        "$(cut -d' ' -f2 "$DATA/runs-$name.txt" | median)" \
        "$(cut -d' ' -f3 "$DATA/runs-$name.txt" | median | awk '{printf "%.0f", $1/1024}')"
}

size() {
    if [ -e "$1" ]; then
        stat -c %s "$1" | awk '{ if ($1 >= 1e6) printf "%.1f MB", $1/1e6; else printf "%.1f KB", $1/1e3 }'
    else
        echo "-"
    fi
}

echo "## Large-plan benchmark, $(date -u +'%Y-%m-%d %H:%M UTC'), cspmove $(git rev-parse --short HEAD)"
echo
echo "Input $CSV ($(size "$CSV")), plan $PLAN ($(size "$PLAN")); $(nproc) cores. $RUNS runs each, medians; every run follows a bare parse."
echo
# The bare parse itself, each run after a `cat` of the input (another process).
: >"$DATA/runs-bare.txt"
for _ in $(seq "$RUNS"); do
    cat "$CSV" >/dev/null
    /usr/bin/time -f "%e %U %S %M" -o "$DATA/time-bare.txt" "$BARE" "$CSV" >/dev/null
    tail -1 "$DATA/time-bare.txt" | awk '{printf "%s %.2f %s\n", $1, $2 + $3, $4}' >>"$DATA/runs-bare.txt"
done
bare=$(cut -d' ' -f1 "$DATA/runs-bare.txt" | median)
bare_cpu=$(cut -d' ' -f2 "$DATA/runs-bare.txt" | median)
echo "| command | wall | CPU (user+sys) | peak RSS | output | wall / bare parse | load before → after |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | --- |"
echo "| bare parse of the CSV | ${bare} s | ${bare_cpu} s | – | – | 1.0× | – |"
row() {
    local label=$1 name=$2 out=$3; shift 3
    local before r w c m
    before=$(load)
    rm -f "$out"
    r=$(measure "$name" "$@")
    read -r w c m <<<"$r"
    echo "| \`$label\` | ${w} s | ${c} s | ${m} MB | $(size "$out") | $(awk -v a="$w" -v b="$bare" 'BEGIN {printf "%.1f", a/b}')× | ${before} → $(load) |"
}
# status prints its table on stdout: keep it as the row's output.
row "status PLAN (no journal)" status "$DATA/status.txt" \
    sh -c "\"$BIN\" status \"$PLAN\" --journal \"$DATA/none.jsonl\" >\"$DATA/status.txt\""
row "report PLAN -o x.csv" csv "$DATA/r.csv" "$BIN" report "$PLAN" -o "$DATA/r.csv"
row "report PLAN -o x.md" md "$DATA/r.md" "$BIN" report "$PLAN" -o "$DATA/r.md"
row "report PLAN -o x.html" html "$DATA/r.html" "$BIN" report "$PLAN" -o "$DATA/r.html"
row "report PLAN -o x.xlsx" xlsx "$DATA/r.xlsx" "$BIN" report "$PLAN" -o "$DATA/r.xlsx"
echo
echo "Load after: $(cut -d' ' -f1-3 /proc/loadavg)."
