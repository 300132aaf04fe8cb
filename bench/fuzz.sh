#!/usr/bin/env bash
# Long random-input runs of every reader (CSV, .xlsx .xls .xlsb .ods, dates, headers, the
# plan-file reader, the journal reader): FUZZ_CASES cases each from FUZZ_SEED.
# Memory is capped so that an allocation bomb fails the run instead of the machine.
# Usage: bench/fuzz.sh [CASES] [SEED]; results go to stderr (see docs/fuzzing.md).
set -euo pipefail
cd "$(dirname "$0")/.."
export FUZZ_CASES="${1:-2000}" FUZZ_SEED="${2:-1}"
ulimit -v 4000000
cargo test --release --lib fuzz_every_reader -- --ignored --nocapture
