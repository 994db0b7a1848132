#!/usr/bin/env bash
# bench/profile.sh -- where does a darlings command spend its time?
#
# Usage: bench/profile.sh [small|medium|large|usr|DIR] [-- DARLINGS ARGS...]
#   default command: darlings scan --hash none ROOT -o <scratch>/p.scan
#   e.g.  bench/profile.sh medium -- scan --hash all ROOT -o /var/tmp/darlings-bench/out/p.scan
#         (the word ROOT in the arguments is replaced by the tree)
#
# Runs the command (after one warm-up run) under
#   1. `strace -c -f`: syscall counts and kernel time per syscall, all threads;
#   2. `perf record -e cpu-clock -g` (a software clock: this KVM guest exposes no hardware
#      counters, `perf stat -e instructions` says <not supported>), then `perf report` top
#      symbols, self time, user + kernel;
#   3. `/usr/bin/time -v`: wall, user, sys, peak RSS, context switches, page faults, with
#      DARLINGS_TIMING=1 so darlings prints its own phase times (phases.txt).
# Output: bench/results/<UTC date-time>-profile-<target>/ (strace.txt, perf.txt, perf-dso.txt,
# time.txt, phases.txt).
# Uses the same DARLINGS_BIN / DARLINGS_BENCH_DIR defaults as run.sh; the corpus must exist
# (run `bench/run.sh TARGET` once). Installs strace and linux-perf via apt if missing.
set -euo pipefail

BENCH_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(git -C "$BENCH_SRC" rev-parse --show-toplevel 2>/dev/null || dirname "$BENCH_SRC")
WORK=${DARLINGS_BENCH_DIR:-/var/tmp/darlings-bench}
DARLINGS=${DARLINGS_BIN:-$REPO/target/release/darlings}

target=${1:-medium}; shift || true
case $target in
    small|medium|large) root=$WORK/corpus/$target ;;
    usr) root=/usr ;;
    *) root=$target; target=$(basename "$target") ;;
esac
[[ ${1:-} == -- ]] && shift
mkdir -p "$WORK/out"
if (($#)); then args=("$@"); else args=(scan --hash none ROOT -o "$WORK/out/p.scan"); fi
for i in "${!args[@]}"; do [[ ${args[i]} == ROOT ]] && args[i]=$root; done

[[ -x $DARLINGS ]] || { echo "profile.sh: no darlings binary at $DARLINGS (set DARLINGS_BIN)" >&2; exit 1; }
[[ -e $root ]] || { echo "profile.sh: $root does not exist (run bench/run.sh $target first)" >&2; exit 1; }
command -v strace >/dev/null || { apt-get update -qq; apt-get install -y -qq strace; }
command -v perf >/dev/null || { apt-get update -qq; apt-get install -y -qq linux-perf; }

RES=$REPO/bench/results/$(date -u +%Y-%m-%dT%H%MZ)-profile-$target
mkdir -p "$RES"
echo "$DARLINGS ${args[*]}" >"$RES/command.txt"
echo "profiling: $DARLINGS ${args[*]} -> $RES" >&2

"$DARLINGS" "${args[@]}" >/dev/null                                  # warm the page cache
DARLINGS_TIMING=1 /usr/bin/time -v -o "$RES/time.txt" "$DARLINGS" "${args[@]}" >/dev/null \
    2>"$RES/phases.txt"
strace -c -f -o "$RES/strace.txt" "$DARLINGS" "${args[@]}" >/dev/null
perf record -q -e cpu-clock -F 2000 -g -o "$RES/perf.data" "$DARLINGS" "${args[@]}" >/dev/null 2>&1
perf report -i "$RES/perf.data" --stdio --no-children --sort dso,symbol -g none --percent-limit 0.7 \
    2>/dev/null | grep -v '^$' >"$RES/perf.txt" || true
perf report -i "$RES/perf.data" --stdio --no-children --sort dso -g none 2>/dev/null |
    grep -v '^$' >"$RES/perf-dso.txt" || true
rm -f "$RES/perf.data" "$WORK/out/p.scan"

grep -E 'Elapsed|User time|System time|Maximum resident|context switches' "$RES/time.txt"
grep 'timing' "$RES/phases.txt" || true
echo; head -25 "$RES/strace.txt"
echo; grep -v '^#' "$RES/perf-dso.txt" | head -8
echo; grep -v '^#' "$RES/perf.txt" | head -30
