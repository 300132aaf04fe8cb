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
# BEFORE=/path/to/cspmove adds, for each row, the same command with that binary, run
# alternately with BIN (before, after, before, ...), so both see the same load.
# DATA=dir puts the outputs elsewhere (the plan is still read from PLAN); ROWS="status csv"
# measures only those rows (of status csv md html xlsx).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
DATA=${DATA:-bench-data}
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

# One run of the command (after a bare parse), appended to runs-NAME.txt as
# "wall_s cpu_s peak_KB".
once() {
    local name=$1; shift
    "$BARE" "$CSV" >/dev/null
    /usr/bin/time -f "%e %U %S %M" -o "$DATA/time-$name.txt" "$@" >/dev/null 2>"$DATA/stderr-$name.txt" || true
    tail -1 "$DATA/time-$name.txt" | awk '{printf "%s %.2f %s\n", $1, $2 + $3, $4}' >>"$DATA/runs-$name.txt"
}

# "wall_s cpu_s peak_MB" medians of the runs in runs-NAME.txt.
medians() {
    local name=$1
    echo "$(cut -d' ' -f1 "$DATA/runs-$name.txt" | median)" \
        "$(cut -d' ' -f2 "$DATA/runs-$name.txt" | median)" \
        "$(cut -d' ' -f3 "$DATA/runs-$name.txt" | median | awk '{printf "%.0f", $1/1024}')"
}

# RUNS runs of the command, each after a bare parse; with BEFORE set, the same command
# with the BEFORE binary alternates with it (before, after, before, ...) in runs-NAME-before.txt.
# The command names the binary as "$B" (exported per run).
measure() {
    local name=$1; shift
    : >"$DATA/runs-$name.txt"
    : >"$DATA/runs-$name-before.txt"
    for _ in $(seq "$RUNS"); do
        if [ -n "${BEFORE:-}" ]; then
            export B=$BEFORE
            once "$name-before" "$@"
        fi
        export B=$BIN
        once "$name" "$@"
    done
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
    case " ${ROWS:-status csv md html xlsx} " in *" $name "*) ;; *) return 0 ;; esac
    local before w c m
    before=$(load)
    rm -f "$out"
    measure "$name" "$@"
    local size_after
    size_after=$(size "$out")
    for which in "" "-before"; do
        [ -s "$DATA/runs-$name$which.txt" ] || continue
        read -r w c m <<<"$(medians "$name$which")"
        local tag=""
        [ -n "${BEFORE:-}" ] && tag=$([ -z "$which" ] && echo " (after)" || echo " (before)")
        echo "| \`$label\`$tag | ${w} s | ${c} s | ${m} MB | $size_after | $(awk -v a="$w" -v b="$bare" 'BEGIN {printf "%.1f", a/b}')× | ${before} → $(load) |"
    done
}
# status prints its table on stdout: keep it as the row's output. "$B" is the binary of
# the run (BIN, or BEFORE in the alternating runs).
row "status PLAN (no journal)" status "$DATA/status.txt" \
    sh -c '"$B" status "$0" --journal "$1" >"$2"' "$PLAN" "$DATA/none.jsonl" "$DATA/status.txt"
row "report PLAN -o x.csv" csv "$DATA/r.csv" sh -c '"$B" report "$0" -o "$1"' "$PLAN" "$DATA/r.csv"
row "report PLAN -o x.md" md "$DATA/r.md" sh -c '"$B" report "$0" -o "$1"' "$PLAN" "$DATA/r.md"
row "report PLAN -o x.html" html "$DATA/r.html" sh -c '"$B" report "$0" -o "$1"' "$PLAN" "$DATA/r.html"
row "report PLAN -o x.xlsx" xlsx "$DATA/r.xlsx" sh -c '"$B" report "$0" -o "$1"' "$PLAN" "$DATA/r.xlsx"
echo
echo "Load after: $(cut -d' ' -f1-3 /proc/loadavg)."
