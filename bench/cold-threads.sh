#!/usr/bin/env bash
# bench/cold-threads.sh -- cold-cache walks at several thread counts: which concurrency wins
# when the metadata has to come from the disk (issue 14, item 4).
#
# Usage: bench/cold-threads.sh [medium|large|usr|DIR] [ROUNDS] [THREADS...]
#   default: medium, 3 rounds, threads default 8 16 32 64
#   e.g.     bench/cold-threads.sh usr 5 8 32
#   `default` runs darlings without --threads (4 per core, and the reserve it wakes when the
#   walk waits on the disk; src/scan/walk.rs, `Reserve`); the walker has no such run.
#
# Every run is preceded by `sync; echo 3 > /proc/sys/vm/drop_caches; sleep 1` (root only; it
# empties the page cache of the WHOLE machine, so others' builds notice). One round runs
# `darlings scan --hash none --threads N` for each N, the bare statx walker (walkbench raw) for
# each N and `fd -HI --one-file-system` once; the order rotates from round to round so a slow
# drift of the machine does not land on one command. Prints, per command, the median, min and
# max wall time and the ratio of its median to fd's; raw times go to
# bench/results/<UTC date-time>-cold-threads-<target>/times.tsv, with the load average and
# /proc/vmstat's drop_pagecache count before and after.
# Same DARLINGS_BIN / DARLINGS_BENCH_DIR / WALKBENCH / FD defaults as run.sh.
set -euo pipefail

BENCH_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(git -C "$BENCH_SRC" rev-parse --show-toplevel 2>/dev/null || dirname "$BENCH_SRC")
WORK=${DARLINGS_BENCH_DIR:-/var/tmp/darlings-bench}
DARLINGS=${DARLINGS_BIN:-$REPO/target/release/darlings}
WALKBENCH=${WALKBENCH:-$WORK/walkbench/target/release/walkbench}
FD=${FD:-$(command -v fdfind || command -v fd || true)}

target=${1:-medium}; shift || true
rounds=${1:-3}; shift || true
threads=("$@"); ((${#threads[@]})) || threads=(default 8 16 32 64)
case $target in
    small|medium|large) root=$WORK/corpus/$target ;;
    usr) root=/usr ;;
    *) root=$target; target=$(basename "$target") ;;
esac
[[ -d $root ]] || { echo "cold-threads.sh: no tree at $root (run bench/run.sh $target first)" >&2; exit 1; }
[[ -x $DARLINGS ]] || { echo "cold-threads.sh: no darlings binary at $DARLINGS" >&2; exit 1; }
[[ -w /proc/sys/vm/drop_caches ]] || { echo "cold-threads.sh: needs root (drop_caches)" >&2; exit 1; }

RES=$REPO/bench/results/$(date -u +%Y-%m-%dT%H%MZ)-cold-threads-$target
mkdir -p "$RES" "$WORK/out"
out=$WORK/out/cold-threads.scan
cmds=() names=()
for n in "${threads[@]}"; do
    if [[ $n == default ]]; then
        names+=(darlings-default); cmds+=("$DARLINGS scan --hash none $root -o $out")
    else
        names+=("darlings-t$n"); cmds+=("$DARLINGS scan --hash none --threads $n $root -o $out")
    fi
done
if [[ -x $WALKBENCH ]]; then
    for n in "${threads[@]}"; do
        [[ $n == default ]] || { names+=("walker-t$n"); cmds+=("$WALKBENCH raw $root $n"); }
    done
fi
[[ -n $FD ]] && { names+=(fd); cmds+=("$FD -HI --one-file-system . $root"); }

{
    echo "# $(date -u +%FT%TZ) root=$root rounds=$rounds darlings=$DARLINGS"
    echo "# load before: $(cut -d' ' -f1-3 /proc/loadavg); drop_pagecache before: $(awk '/drop_pagecache/ {print $2}' /proc/vmstat)"
} >"$RES/meta.txt"
printf 'round\tcommand\tseconds\n' >"$RES/times.tsv"
k=${#cmds[@]}
for ((r = 0; r < rounds; r++)); do
    for ((j = 0; j < k; j++)); do
        i=$(((j + r) % k))
        sync; echo 3 >/proc/sys/vm/drop_caches; sleep 1
        t0=$(date +%s%N)
        ${cmds[i]} >/dev/null 2>&1 || echo "cold-threads.sh: ${names[i]} failed" >&2
        t1=$(date +%s%N)
        printf '%d\t%s\t%.3f\n' "$r" "${names[i]}" "$(echo "($t1 - $t0) / 1000000000" | bc -l)" >>"$RES/times.tsv"
    done
done
rm -f "$out"
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg); drop_pagecache after: $(awk '/drop_pagecache/ {print $2}' /proc/vmstat)" >>"$RES/meta.txt"

python3 - "$RES/times.tsv" <<'EOF' | tee "$RES/summary.md"
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
by = {}
for r in rows:
    by.setdefault(r["command"], []).append(float(r["seconds"]))
fd = statistics.median(by["fd"]) if "fd" in by else None
print("| command | runs | median s | min–max s | / fd |")
print("|---|---:|---:|---|---:|")
for name, t in by.items():
    m = statistics.median(t)
    ratio = f"{m / fd:.2f}" if fd else ""
    print(f"| {name} | {len(t)} | {m:.3f} | {min(t):.3f}–{max(t):.3f} | {ratio} |")
EOF
cat "$RES/meta.txt"
