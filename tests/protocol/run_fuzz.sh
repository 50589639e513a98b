#!/bin/sh
# run_fuzz.sh: runs the libFuzzer frame-reader harness for CTest: bounded fuzzing or a seed replay; 77 when it could not be built.
# usage: run_fuzz.sh FUZZER|- fuzz|replay SEED_DIR WORK_DIR [RUNS]
# RUNS: inputs to try (-runs, from a fixed -seed): the coverage does not depend on the
# machine's speed
set -eu
fuzzer=$1 mode=$2 seeds=$3 work=$4 runs=${5:-100000}
if [ "$fuzzer" = - ] || [ ! -x "$fuzzer" ]; then
    echo "SKIP: no libFuzzer harness: clang with -fsanitize=fuzzer could not link at configure time" \
         "(install clang and libclang-rt-14-dev, then re-run cmake)"
    exit 77
fi
if [ ! -d "$seeds" ] || [ -z "$(ls -A "$seeds")" ]; then
    echo "run_fuzz.sh: no seed corpus in $seeds" >&2
    exit 1
fi
rm -rf "$work"
mkdir -p "$work/corpus" "$work/artifacts"
case $mode in
fuzz)
    # new inputs go to $work/corpus; crashes to $work/artifacts
    # slow inputs are no failure on a loaded machine: only crashes, leaks, timeouts
    "$fuzzer" -seed=1 -runs="$runs" -max_len=40000 -timeout=300 -report_slow_units=100000 \
        -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$work/artifacts/" \
        "$work/corpus" "$seeds"
    if ls "$work/artifacts" | grep -qv '^slow-unit-'; then
        echo "run_fuzz.sh: artifacts in $work/artifacts" >&2
        exit 1
    fi ;;
replay)
    # -runs=0: execute every seed once, no mutations
    exec "$fuzzer" -runs=0 -artifact_prefix="$work/artifacts/" "$seeds" ;;
*)
    echo "run_fuzz.sh: unknown mode $mode" >&2
    exit 2 ;;
esac
