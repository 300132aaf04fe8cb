#!/usr/bin/env bash
# Benchmark of `cspmove plan` on a large synthetic export, measured as a user meets it:
# every run is a first run, following another process rather than a run of itself (not a test: run it on purpose).
#
#   bench/plan.sh                                  # RUNS=5 runs of the current build
#   BEFORE=/path/to/old/cspmove bench/plan.sh      # old and new binary alternated
#   RUNS=3 WITH_XLSX=1 bench/plan.sh               # fewer runs, also the 100k-row XLSX
#   CSV_ROWS=20000 RUNS=1 bench/plan.sh            # a quick check of the script itself
#   NO_BUILD=1 AFTER=/path/to/new/cspmove ...      # binaries built elsewhere
#
# Builds release, generates bench-data/plan-1m.csv (1,000,000 rows; with WITH_XLSX=1 also
# bench-data/plan-100k.xlsx) with examples/generate.rs if missing, then for each run:
# a bare parse of the input (examples/bare_csv_parse.rs, itself timed: the floor), then
# `cspmove plan INPUT --as-of 2026-11-21 -o bench-data/plan-NAME.json --quiet -v`
# (built-in catalog, no --catalog; exit 3 is expected, the input has bad rows on purpose)
# under /usr/bin/time: wall, peak RSS, CPU user + sys, and the read / plan / write split
# the command logs at -v. With BEFORE, the old binary runs in each round too, first in
# odd rounds and second in even ones, each of its runs also after a bare parse. Why after another process: on the VM of
# docs/benchmarks.md memory freed for a few seconds goes back to the hypervisor, and a run
# right after a run of itself reuses its pages and is up to 1.5 s faster than a first run.
#
# Prints a Markdown table of every run and the medians, the load average (`uptime`)
# before each run, and checks that --threads 1 writes the same plan bytes as the
# default. When other processes load the cores, wall times are inflated: CPU time
# (user + sys) is the steadier figure then.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-5}
CSV_ROWS=${CSV_ROWS:-1000000}
XLSX_ROWS=${XLSX_ROWS:-100000}
AS_OF=2026-11-21
DATA=bench-data
mkdir -p "$DATA"
CSV="$DATA/plan-1m.csv"
XLSX="$DATA/plan-100k.xlsx"
[ "$CSV_ROWS" = 1000000 ] || CSV="$DATA/plan-$CSV_ROWS.csv"
[ "$XLSX_ROWS" = 100000 ] || XLSX="$DATA/plan-$XLSX_ROWS.xlsx"
AFTER=${AFTER:-target/release/cspmove}
BEFORE=${BEFORE:-}
EX=target/release/examples

log() { echo "bench: $*" >&2; }

if [ ! -x /usr/bin/time ]; then
    log "/usr/bin/time is missing: install the 'time' package (apt-get install -y time)"
    exit 2
fi
if [ -n "$BEFORE" ] && [ ! -x "$BEFORE" ]; then
    log "BEFORE=$BEFORE is not an executable"
    exit 2
fi

if [ -z "${NO_BUILD:-}" ]; then
    log "building release (NO_BUILD=1 to use what target/release holds)"
    cargo build --release --quiet --bin cspmove \
        --example generate --example bare_csv_parse --example bare_xlsx_parse
fi

if [ ! -s "$CSV" ]; then
    log "generating $CSV"
    "$EX/generate" --rows "$CSV_ROWS" --format csv --out "$CSV" --as-of "$AS_OF"
fi
if [ -n "${WITH_XLSX:-}" ] && [ ! -s "$XLSX" ]; then
    log "generating $XLSX"
    "$EX/generate" --rows "$XLSX_ROWS" --format xlsx --out "$XLSX" --as-of "$AS_OF"
fi

# median of numbers on stdin
median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) {print "n/a"} else if (NR%2) {print a[(NR+1)/2]} else {print (a[NR/2]+a[NR/2+1])/2}}'; }

# One run of `$@` after a bare parse of $input: appends "label wall peakMB user sys
# read plan write bare load1" to $results.
one_run() {
    local label=$1 input=$2 bare=$3 results=$4
    shift 4
    local load
    load=$(cut -d' ' -f1 /proc/loadavg)
    local t0 t1 bare_wall
    t0=$(date +%s.%N)
    "$EX/$bare" "$input" >/dev/null
    t1=$(date +%s.%N)
    bare_wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}')
    local err="$DATA/run-$label.err"
    /usr/bin/time -o "$DATA/run-$label.time" -f "%e %M %U %S" "$@" -v >/dev/null 2>"$err" || {
        local code=$?
        [ "$code" -eq 3 ] || { log "$label: exit $code"; cat "$err" >&2; exit 1; }
    }
    local wall mb user sys
    # GNU time writes "Command exited with non-zero status 3" first for exit 3.
    read -r wall mb user sys < <(tail -n 1 "$DATA/run-$label.time")
    mb=$((mb / 1024))
    local stages r="n/a" p="n/a" w="n/a"
    stages=$(grep -o 'stages: read [0-9.]*s, plan [0-9.]*s, write [0-9.]*s' "$err" || true)
    if [ -n "$stages" ]; then
        r=$(echo "$stages" | sed 's/.*read \([0-9.]*\)s.*/\1/')
        p=$(echo "$stages" | sed 's/.*plan \([0-9.]*\)s.*/\1/')
        w=$(echo "$stages" | sed 's/.*write \([0-9.]*\)s.*/\1/')
    fi
    echo "$label $wall $mb $user $sys $r $p $w $bare_wall $load" >>"$results"
    log "$label: ${wall} s, ${mb} MB, ${user} + ${sys} s CPU (load $load)"
}

# Median of column $2 (1-based) of the rows of $1 whose label starts with $3.
col_median() { awk -v c="$2" -v l="$3" 'index($1, l) == 1 {print $c}' "$1" | median; }
cpu_median() { awk -v l="$2" 'index($1, l) == 1 {print $4 + $5}' "$1" | median; }

before_run() {
    local i=$1 name=$2 input=$3 bare=$4 results=$5
    one_run "before-$i" "$input" "$bare" "$results" \
        "$BEFORE" plan "$input" --as-of "$AS_OF" -o "$DATA/plan-$name-before.json" --quiet
}

bench_input() {
    local name=$1 input=$2 bare=$3
    local results="$DATA/results-$name.txt"
    : >"$results"
    local rows mb
    rows=$(($(wc -l <"$input") - 1))
    [ "${input##*.}" = xlsx ] && rows=$XLSX_ROWS
    mb=$(du -m "$input" | cut -f1)
    local i
    for i in $(seq "$RUNS"); do
        # With BEFORE, the binaries take turns going first: on the VM the first run of
        # a round meets more reclaimed memory (higher system time) than the second.
        if [ -n "$BEFORE" ] && [ $((i % 2)) -eq 1 ]; then
            before_run "$i" "$name" "$input" "$bare" "$results"
        fi
        one_run "after-$i" "$input" "$bare" "$results" \
            "$AFTER" plan "$input" --as-of "$AS_OF" -o "$DATA/plan-$name.json" --quiet
        if [ -n "$BEFORE" ] && [ $((i % 2)) -eq 0 ]; then
            before_run "$i" "$name" "$input" "$bare" "$results"
        fi
    done
    local same="n/a"
    if [ -z "${NO_CHECK:-}" ]; then
        log "$name: --threads 1 against the default threads"
        "$AFTER" plan "$input" --as-of "$AS_OF" -o "$DATA/plan-$name-t1.json" --quiet --threads 1 \
            2>/dev/null || [ $? -eq 3 ]
        if cmp -s "$DATA/plan-$name.json" "$DATA/plan-$name-t1.json"; then same="yes"; else same="NO"; fi
    fi
    local same_before="n/a"
    if [ -n "$BEFORE" ]; then
        if cmp -s "$DATA/plan-$name.json" "$DATA/plan-$name-before.json"; then
            same_before="yes"
        else
            same_before="NO"
        fi
    fi

    echo
    echo "### $name: \`$(basename "$input")\` ($rows rows, $mb MB), $RUNS runs each after a bare parse"
    echo
    echo "\`$AFTER plan $input --as-of $AS_OF -o $DATA/plan-$name.json --quiet\`${BEFORE:+ (before: \`$BEFORE\`)}"
    echo
    echo "| run | wall | peak RSS | CPU user + sys | read / plan / write | bare parse before it | load (1 min) |"
    echo "| --- | --- | --- | --- | --- | --- | --- |"
    awk '{printf "| %s | %.2f s | %d MB | %.2f + %.2f s | %s / %s / %s s | %s s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10}' "$results"
    echo
    echo "| median | wall | peak RSS | CPU user + sys | read / plan / write | wall / bare parse |"
    echo "| --- | --- | --- | --- | --- | --- |"
    local bare_med
    bare_med=$(col_median "$results" 9 "")
    local label
    for label in ${BEFORE:+before} after; do
        local wall
        wall=$(col_median "$results" 2 "$label")
        echo "| $label | $wall s | $(col_median "$results" 3 "$label") MB | $(cpu_median "$results" "$label") s |" \
            "$(col_median "$results" 6 "$label") / $(col_median "$results" 7 "$label") / $(col_median "$results" 8 "$label") s |" \
            "$(awk -v a="$wall" -v b="$bare_med" 'BEGIN {if (b > 0) printf "%.1f×", a / b; else print "n/a"}') |"
    done
    echo
    echo "Bare parse, median of all: ${bare_med} s. Plan file: $(du -m "$DATA/plan-$name.json" | cut -f1) MB;" \
        "--threads 1 writes the same bytes as the default: $same;" \
        "the same bytes as BEFORE's plan: $same_before."
    if [ -n "$BEFORE" ]; then
        local b a
        b=$(col_median "$results" 2 before)
        a=$(col_median "$results" 2 after)
        echo "After / before, median wall: $(awk -v a="$a" -v b="$b" 'BEGIN {printf "%+.1f%%", (a / b - 1) * 100}');" \
            "median CPU: $(awk -v a="$(cpu_median "$results" after)" -v b="$(cpu_median "$results" before)" 'BEGIN {printf "%+.1f%%", (a / b - 1) * 100}')."
    fi
}

echo "## Plan benchmark, $(date -u +'%Y-%m-%d %H:%M UTC')"
echo
echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'),"\
     "$(free -h | awk '/^Mem:/ {print $2}') RAM; $(rustc --version)."
echo "cspmove at $(git rev-parse --short HEAD). Load before: $(uptime | sed 's/.*load average/load average/')."
bench_input csv "$CSV" bare_csv_parse
if [ -n "${WITH_XLSX:-}" ]; then
    bench_input xlsx "$XLSX" bare_xlsx_parse
fi
echo
echo "Load after: $(uptime | sed 's/.*load average/load average/')."
