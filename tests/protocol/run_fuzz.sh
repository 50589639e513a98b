#!/bin/sh
# run_fuzz.sh: runs the libFuzzer frame-reader harness for CTest: bounded fuzzing or a seed replay; 77 when it could not be built.
# usage: run_fuzz.sh FUZZER|- fuzz|replay SEED_DIR WORK_DIR [SECONDS]
set -eu
fuzzer=$1 mode=$2 seeds=$3 work=$4 seconds=${5:-30}
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
    exec "$fuzzer" -max_total_time="$seconds" -max_len=40000 -timeout=20 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$work/artifacts/" "$work/corpus" "$seeds" ;;
replay)
    # -runs=0: execute every seed once, no mutations
    exec "$fuzzer" -runs=0 -artifact_prefix="$work/artifacts/" "$seeds" ;;
*)
    echo "run_fuzz.sh: unknown mode $mode" >&2
    exit 2 ;;
esac
