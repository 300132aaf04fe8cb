#!/usr/bin/env bash
# Benchmark of the sandbox's durable state (not a test: run it on purpose).
#
#   bench/sandbox_state.sh CUSTOMERS USERS_PER_CUSTOMER REASSIGN_CUSTOMERS
#   bench/sandbox_state.sh 150 107 150      # ~16,000 users, every user's licence swapped
#   bench/sandbox_state.sh 5000 100 100     # 500,000 users, 10,000 swapped
#
# Builds release, writes a plan with examples/sandbox_state_bench_plan.rs, then runs the
# same fault-free `cspmove apply --rate 5000 --concurrency 16` against a fresh
# `cspmove sandbox` seeded from it, once in memory and once with `--state FILE`, and
# prints: wall time of each apply, the ratio, the changes logged (entities in the change
# log's batches) per second, the sandbox's start-up time on the resulting state file
# (load + replay + compaction, to its first stdout line) after the kill and again after
# a clean stop (a compacted file is not rewritten), and the file's size after compaction. The load average is printed: figures taken while other builds run on the
# same cores are noisy.
set -euo pipefail
cd "$(dirname "$0")/.."
C=$1 U=$2 R=${3:-0}
cargo build --release --quiet --bin cspmove --example sandbox_state_bench_plan
BIN=target/release/cspmove
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
target/release/examples/sandbox_state_bench_plan "$C" "$U" "$R" > "$W/plan.json"
echo "load before: $(uptime)"

now() { date +%s.%N; }

# start_sandbox OUT ERR FLAGS...: starts a sandbox, waits for its first line, sets PID/URL.
start_sandbox() {
  local out=$1 err=$2; shift 2
  : > "$out"
  "$BIN" sandbox --token T "$@" > "$out" 2> "$err" &
  PID=$!
  until [ -s "$out" ]; do
    kill -0 "$PID" 2>/dev/null || { cat "$err"; exit 1; }
    sleep 0.05
  done
  URL=$(head -1 "$out" | sed 's/.*listening on //')
}

run_apply() { # label
  local t0 t1
  t0=$(now)
  CSPMOVE_TOKEN=T "$BIN" apply "$W/plan.json" --endpoint "$URL" --yes --now \
    --rate 5000 --concurrency 16 --journal "$W/$1.journal.jsonl" > "$W/$1.apply.out" 2>&1 || {
      echo "apply ($1) failed:"; tail -5 "$W/$1.apply.out"; }
  t1=$(now)
  echo "$t1 - $t0" | bc
}

t0=$(now)
start_sandbox "$W/mem.out" "$W/mem.err" --seed "$W/plan.json"
seed_mem=$(echo "$(now) - $t0" | bc)
mem=$(run_apply mem)
requests=$(curl -s -H 'Authorization: Bearer T' "$URL/sandbox/state" | python3 -c 'import json,sys; print(json.load(sys.stdin)["stats"]["requests"])')
kill -TERM "$PID"; wait "$PID" || true

t0=$(now)
start_sandbox "$W/st.out" "$W/st.err" --seed "$W/plan.json" --state "$W/state"
seed_state=$(echo "$(now) - $t0" | bc)
size_seeded=$(stat -c %s "$W/state")
disk=$(run_apply state)
kill -KILL "$PID"; wait "$PID" 2>/dev/null || true    # the log as the run left it
read -r batches entities < <(python3 - "$W/state" <<'PY'
import json, sys
lines = open(sys.argv[1], "rb").read().split(b"\n")
batches = [json.loads(l[17:]) for l in lines[1:] if l]
print(len(batches), sum(len(b["batch"]) for b in batches))
PY
)
size_log=$(stat -c %s "$W/state")
t0=$(now)
start_sandbox "$W/re.out" "$W/re.err" --state "$W/state"
startup=$(echo "$(now) - $t0" | bc)
kill -TERM "$PID"; wait "$PID" || true
size_compacted=$(stat -c %s "$W/state")
t0=$(now)
start_sandbox "$W/re2.out" "$W/re2.err" --state "$W/state"
startup_clean=$(echo "$(now) - $t0" | bc)
kill -TERM "$PID"; wait "$PID" || true

echo "load after: $(uptime)"
cat <<MD
| customers | users | licence swaps | API requests | apply in memory | apply with --state | ratio | batches (fsyncs) | changes logged | changes/s | seed + first snapshot | start-up on the state (after the kill / after a clean stop) | file after seeding | file before compaction | file after compaction |
|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|
| $C | $((C * U)) | $((R * U)) | $requests | ${mem} s | ${disk} s | $(echo "scale=2; $disk / $mem" | bc) | $batches | $entities | $(echo "$entities / $disk" | bc) | ${seed_state} s (in memory ${seed_mem} s) | ${startup} s / ${startup_clean} s | $((size_seeded / 1000000)) MB | $((size_log / 1000000)) MB | $((size_compacted / 1000000)) MB |
MD
