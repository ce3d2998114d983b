#!/usr/bin/env bash
# The long fuzz run (issue 19): every target, one at a time, for a number of executions
# (default: 10 million for the robot-mode parser, the task validator and the control-line
# decoder, 1 million for the rest), then each on the 1 MiB inputs of large-inputs.sh.
# Prints, per target: executions, coverage (libFuzzer's cov and ft), seconds, and the
# crash, timeout or out-of-memory inputs found (fuzz/artifacts/<target>/).
#
#   fuzz/run-long.sh [TARGET...]          FUZZ_RUNS=N overrides every target's count
set -euo pipefail
FUZZ_DIR="$(cd "$(dirname "$0")" && pwd)"
source "$FUZZ_DIR/common.sh"
cd "$FUZZ_DIR"
[ "$#" -gt 0 ] && TARGETS=("$@")

runs_of() {
    if [ -n "${FUZZ_RUNS:-}" ]; then echo "$FUZZ_RUNS"; return; fi
    case "$1" in robot_line|task_file|control_line) echo 10000000 ;; *) echo 1000000 ;; esac
}

./seed-corpus.sh
cargo fuzz build "${FUZZ_FLAGS[@]}"
mkdir -p logs
printf '%-16s %12s %8s %8s %8s  %s\n' target executions cov ft seconds found > logs/summary.txt
for t in "${TARGETS[@]}"; do
    mkdir -p "artifacts/$t"
    start=$SECONDS
    "$(fuzz_bin "$t")" "corpus/$t" -runs="$(runs_of "$t")" -max_len="$(max_len "$t")" \
        -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="artifacts/$t/" > "logs/$t.log" 2>&1 || true
    secs=$((SECONDS - start))
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "logs/$t.log")
    last=$(grep -E '^#[0-9]+' "logs/$t.log" | tail -1)
    cov=$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' <<< "$last")
    ft=$(sed -n 's/.*ft: \([0-9]*\).*/\1/p' <<< "$last")
    found=$(ls "artifacts/$t" | tr '\n' ' ')
    printf '%-16s %12s %8s %8s %8s  %s\n' "$t" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$secs" "${found:-none}" |
        tee -a logs/summary.txt
done
check_large 1 | tee logs/large.txt
cat logs/summary.txt
