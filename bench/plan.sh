#!/usr/bin/env bash
# Benchmark of `cspmove plan` on large synthetic exports (not a test: run it on purpose).
#
#   bench/plan.sh            # RUNS=5 by default
#   RUNS=3 bench/plan.sh     # fewer runs
#
# Builds release, generates bench-data/plan-1m.csv (1,000,000 rows) and
# bench-data/plan-100k.xlsx (100,000 rows) with examples/generate.rs if they are missing,
# then measures for each input:
#   - median wall time of `cspmove plan` over RUNS runs (hyperfine if installed, else a
#     loop), once writing a new plan file and once replacing the previous run's (which on
#     ext4 costs the writeback the kernel starts for a file renamed over another),
#   - peak memory (maximum resident set size from /usr/bin/time -v),
#   - the read / plan / write split the plan command logs at -v,
#   - the planning stage with --threads 1 versus --threads 2,
#   - the ratio to a bare parse of the same file (examples/bare_csv_parse.rs,
#     examples/bare_xlsx_parse.rs).
# Prints a Markdown summary on stdout; raw outputs stay in bench-data/.
# Figures taken while other builds run on the same cores are noisy: the load average is
# printed before and after.
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
BIN=target/release/cspmove
EX=target/release/examples

log() { echo "bench: $*" >&2; }

if [ ! -x /usr/bin/time ]; then
    log "/usr/bin/time is missing: install the 'time' package (apt-get install -y time)"
    exit 2
fi

log "load before: $(uptime)"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

log "building release"
cargo build --release --quiet --bin cspmove \
    --example generate --example bare_csv_parse --example bare_xlsx_parse

if [ ! -s "$CSV" ]; then
    log "generating $CSV"
    "$EX/generate" --rows "$CSV_ROWS" --format csv --out "$CSV" --as-of "$AS_OF"
fi
if [ ! -s "$XLSX" ]; then
    log "generating $XLSX"
    "$EX/generate" --rows "$XLSX_ROWS" --format xlsx --out "$XLSX" --as-of "$AS_OF"
fi

# median of numbers on stdin
median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) {print "nan"} else if (NR%2) {print a[(NR+1)/2]} else {print (a[NR/2]+a[NR/2+1])/2}}'; }

# Median wall time in seconds of a command (exit codes 0 and 3 count as success:
# 3 = plan written, some rows rejected, which the synthetic inputs have on purpose).
# With PREPARE set, that shell command runs before each run, outside the timing.
wall_median() {
    local name=$1; shift
    if command -v hyperfine >/dev/null; then
        hyperfine --style none --warmup 1 --runs "$RUNS" -i \
            --prepare "${PREPARE:-true}" \
            --export-json "$DATA/hyperfine-$name.json" "$*" >&2
        python3 -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["results"][0]["median"], 3))' \
            "$DATA/hyperfine-$name.json"
    else
        local i
        for i in $(seq "$RUNS"); do
            local t0 t1
            sh -c "${PREPARE:-true}"
            t0=$(date +%s.%N)
            "$@" >/dev/null 2>&1 || [ $? -eq 3 ]
            t1=$(date +%s.%N)
            awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}'
        done | median
    fi
}

# Peak RSS in MB and CPU seconds (user + sys) of one run, as "MB CPU".
# CPU time hardly moves when other processes compete for the cores; wall time does.
peak_and_cpu() {
    local name=$1; shift
    /usr/bin/time -v "$@" >/dev/null 2>"$DATA/time-$name.txt" || true
    awk -F': ' '/Maximum resident set size/ {mb = $2 / 1024}
        /User time/ {cpu += $2} /System time/ {cpu += $2}
        END {printf "%.0f %.2f\n", mb, cpu}' "$DATA/time-$name.txt"
}

# Median of each stage (read, plan, write) over RUNS runs of `plan -v`, as "r p w".
stages() {
    local name=$1; shift
    : >"$DATA/stages-$name.txt"
    local i
    for i in $(seq "$RUNS"); do
        "$@" -v 2>&1 >/dev/null | grep -o 'stages: read [0-9.]*s, plan [0-9.]*s, write [0-9.]*s' \
            >>"$DATA/stages-$name.txt" || true
    done
    if [ ! -s "$DATA/stages-$name.txt" ]; then
        echo "n/a n/a n/a"
        return
    fi
    local r p w
    r=$(sed 's/.*read \([0-9.]*\)s.*/\1/' "$DATA/stages-$name.txt" | median)
    p=$(sed 's/.*plan \([0-9.]*\)s.*/\1/' "$DATA/stages-$name.txt" | median)
    w=$(sed 's/.*write \([0-9.]*\)s.*/\1/' "$DATA/stages-$name.txt" | median)
    echo "$r $p $w"
}

ratio() { python3 -c 'import sys; a,b=sys.argv[1:]; print("n/a" if "n" in a+b else f"{float(a)/float(b):.2f}")' "$1" "$2"; }

bench_input() {
    local name=$1 input=$2 bare=$3
    local out="$DATA/plan-$name.json"
    local cmd=("$BIN" plan "$input" --catalog samples/catalog.csv --offer-map samples/offer-map.csv
        --as-of "$AS_OF" -o "$out" --quiet)
    local rows mb
    rows=$(($(wc -l <"$input") - 1))
    [ "${input##*.}" = xlsx ] && rows=$XLSX_ROWS
    mb=$(du -m "$input" | cut -f1)
    log "$name: wall time, replacing the plan of the previous run"
    local wall
    wall=$(wall_median "$name" "${cmd[@]}")
    log "$name: wall time, no plan file there before"
    local wall_new
    wall_new=$(PREPARE="rm -f $out" wall_median "$name-new" "${cmd[@]}")
    log "$name: peak memory"
    local peak cpu pc
    pc=$(peak_and_cpu "$name" "${cmd[@]}")
    peak=${pc% *}
    cpu=${pc#* }
    log "$name: stages, default threads"
    local s
    s=$(stages "$name" "${cmd[@]}")
    log "$name: stages, --threads 1 and 2"
    local s1 s2
    s1=$(stages "$name-t1" "${cmd[@]}" --threads 1)
    s2=$(stages "$name-t2" "${cmd[@]}" --threads 2)
    log "$name: plan sub-stages (-vv)"
    local sub
    sub=$("${cmd[@]}" -vv 2>&1 >/dev/null | grep -o 'plan stage [^:]*: [0-9.]*s' \
        | sed 's/plan stage //' | paste -sd ';' | sed 's/;/; /g' || true)
    log "$name: bare parse"
    local bare_wall
    bare_wall=$(wall_median "$name-bare" "$EX/$bare" "$input")
    local p1 p2
    p1=$(echo "$s1" | cut -d' ' -f2)
    p2=$(echo "$s2" | cut -d' ' -f2)
    cat <<EOF

### $name: \`$(basename "$input")\` ($rows rows, $mb MB)

\`${cmd[*]}\`

| measure | value |
| --- | --- |
| median wall time ($RUNS runs), no plan file at \`-o\` before | ${wall_new} s |
| median wall time ($RUNS runs), replacing the previous run's plan | ${wall} s |
| peak memory (max RSS) | ${peak} MB |
| CPU time of one run (user + sys) | ${cpu} s |
| plan file written | $(du -m "$out" | cut -f1) MB |
| stages read / plan / write (median, default threads) | $(echo "$s" | awk '{print $1 " s / " $2 " s / " $3 " s"}') |
| plan stage, --threads 1 / --threads 2 | ${p1} s / ${p2} s (speed-up $(ratio "$p1" "$p2")×) |
| stages with --threads 1 | $(echo "$s1" | awk '{print $1 " / " $2 " / " $3 " s"}') |
| stages with --threads 2 | $(echo "$s2" | awk '{print $1 " / " $2 " / " $3 " s"}') |
| plan sub-stages (one \`-vv\` run) | ${sub:-n/a} |
| bare parse (\`$bare\`), median | ${bare_wall} s |
| plan wall time (no plan before) / bare parse | $(ratio "$wall_new" "$bare_wall")× |
EOF
}

echo "## Plan benchmark, $(date -u +'%Y-%m-%d %H:%M UTC')"
echo
echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'),"\
     "$(free -h | awk '/^Mem:/ {print $2}') RAM; $(rustc --version)."
echo "cspmove at $(git rev-parse --short HEAD). Load average before: $LOAD_BEFORE."
bench_input csv "$CSV" bare_csv_parse
bench_input xlsx "$XLSX" bare_xlsx_parse
echo
echo "Load average after: $(cut -d' ' -f1-3 /proc/loadavg)."
log "load after: $(uptime)"
