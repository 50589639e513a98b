#!/bin/bash
# scaling_example.sh: the example of docs/scaling.md: one pupa scan split into N shards by GNU parallel, no coordinator.
#
# usage: scaling_example.sh IMAGE_DIR OUT_DIR [N]
#   PUPA       the pupa binary (default: pupa on PATH)
#   PUPA_ARGS  more options for every shard, e.g. "-j2 --require-safe"
#   HOSTS      GNU parallel --sshlogin list (default "N/:": N job slots on this machine;
#              on a cluster "1/node1,1/node2,1/node3" with pupa, the images and OUT_DIR at
#              the same paths on every node)
# Writes OUT_DIR/list, OUT_DIR/shard-K.jsonl, OUT_DIR/joblog and OUT_DIR/all.jsonl (every
# image's JSON line in list order); exits like one pupa run over the whole list would.
set -eu

if ! command -v parallel >/dev/null 2>&1; then
    echo "SKIP: GNU parallel is not installed (Debian: apt-get install parallel)"
    exit 77
fi
dir=$1
out=$2
n=${3:-3}
export PUPA=${PUPA:-pupa} PUPA_ARGS=${PUPA_ARGS:-} N=$n OUT=$out
mkdir -p "$out"

# 1. One list, the same for every shard: every file, NUL-separated, sorted bytewise
#    (find's order depends on the directory; shards must agree on positions).
find "$dir" -type f -print0 | LC_ALL=C sort -z > "$out/list"

# 2. N shards at once. Shard K inspects list entry i (0-based) when i mod N = K-1.
#    A shard's own exit status goes to the joblog; parallel's is checked below.
parallel --will-cite -S "${HOSTS:-$n/:}" --env PUPA --env PUPA_ARGS --env N --env OUT \
    --joblog "$out/joblog" \
    '"$PUPA" info --output=json -0 --files-from="$OUT/list" --shard={}/"$N" $PUPA_ARGS \
         > "$OUT/shard-{}.jsonl"' \
    ::: $(seq 1 "$n") || true

# 3. Merge into list order: line j of shard K is list entry (K-1) + j*N, so taking one
#    line from each shard in turn restores the order (shorter shards leave empty lines).
shards=()
for k in $(seq 1 "$n"); do
    shards+=("$out/shard-$k.jsonl")
done
paste -d '\n' "${shards[@]}" | { grep -v '^$' || true; } > "$out/all.jsonl"

# 4. One exit status for the scan, with pupa's precedence: a shard that did not finish
#    (usage error 2, interrupted 130, a lost host) > 1 (an image failed) > 3 (an image is
#    unsafe and --require-safe was given) > 0.
status=0 done=0
while IFS=$'\t' read -r _seq host _start _time _send _recv exitval sig _cmd; do
    done=$((done + 1))
    if [ "$sig" != 0 ] || { [ "$exitval" != 0 ] && [ "$exitval" != 1 ] && [ "$exitval" != 3 ]; }; then
        echo "shard job $_seq on '$host' did not finish: exit $exitval, signal $sig" >&2
        [ "$exitval" != 0 ] && status=$exitval || status=130
    elif [ "$exitval" = 1 ] && [ "$status" = 0 -o "$status" = 3 ]; then
        status=1
    elif [ "$exitval" = 3 ] && [ "$status" = 0 ]; then
        status=3
    fi
done < <(tail -n +2 "$out/joblog")
if [ "$done" != "$n" ]; then
    echo "only $done of $n shards ran" >&2
    [ "$status" = 0 -o "$status" = 3 ] && status=1
fi
echo "$n shards, $(wc -l < "$out/all.jsonl") results in $out/all.jsonl, exit $status"
exit "$status"
