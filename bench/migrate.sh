#!/usr/bin/env bash
# bench/migrate.sh -- `darlings migrate --yes` next to `cp -a` and `rsync -aHAX` copying the same
# tree into the same storage, wall time and bytes.
#
# Usage (from anywhere inside a checkout, as root: loop devices, many owners, a device node):
#   bench/migrate.sh [small|medium|large] [--runs N] [--fs ext4|btrfs]
#
#   small|medium|large   the synthetic root of ../shared/bench/make-corpus.sh (seed 42):
#                        20k / 200k / 1M entries (default medium: 200k entries, ~1.1 GB)
#   --runs N             timed runs per command (default 3)
#   --fs TYPE            the storage file system (default ext4)
#
# Environment:
#   DARLINGS_BIN         the darlings binary (default: `cargo build --release` of this checkout)
#   DARLINGS_SHARED      the team's shared dir (default <checkout>/../shared), for make-corpus.sh
#   MIGRATE_BENCH_DIR    scratch space for two sparse image files (default
#                        /var/tmp/darlings-migrate-bench; needs ~2x the corpus while it runs).
#                        Everything in it is deleted at the end (unmount, remove the images).
#
# Layout. The corpus, a fake root, is generated once on an ext4 image mounted at WORK/root.
# Every top-level directory of it (etc, home, nix, usr, var, ...) is whitelisted for the
# storage root /persist. Before every timed run a fresh storage file system (a second image,
# formatted anew, untimed) is mounted at WORK/root/persist: each command copies the same tree
# into the same empty storage, and nothing is ever deleted file by file (deleting 200k entries
# on a shared disk takes minutes and leaves ext4 slower to allocate inodes, which would skew
# whichever command runs next).
#   darlings            darlings migrate ROOT --persistence wl.json --yes: plans, copies into a
#                       staging directory, verifies (walks the copy, compares every entry's
#                       metadata, BLAKE3 of every byte of the copy against the bytes read from
#                       ROOT, walks ROOT again), syncs the file system, renames into place
#   cp -a               cp -a ROOT/<dir>... STORAGE/        (no verification, no sync)
#   rsync -aHAX         rsync -aHAX ROOT/<dir>... STORAGE/  (checksums each transfer, no sync)
#   ... + sync          the same followed by `sync -f STORAGE`: darlings makes its copies durable
#                       before it shows them, so these are the like-for-like figures
# ROOT is in the page cache (hyperfine's warmup run): the figures are the cost of copying and
# writing, not of the cold read of ROOT. Bytes: apparent size and disk use of each copy.
set -euo pipefail

BENCH_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(git -C "$BENCH_SRC" rev-parse --show-toplevel 2>/dev/null || dirname "$BENCH_SRC")
SHARED=${DARLINGS_SHARED:-$REPO/../shared}
MAKE_CORPUS=$SHARED/bench/make-corpus.sh
WORK=${MIGRATE_BENCH_DIR:-/var/tmp/darlings-migrate-bench}
SCALE=medium
RUNS=3
FS=ext4
while (($#)); do
    case $1 in
        small | medium | large) SCALE=$1 ;;
        --runs) RUNS=$2; shift ;;
        --fs) FS=$2; shift ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
    shift
done
case $SCALE in small) IMG=2G ;; medium) IMG=6G ;; large) IMG=24G ;; esac

log() { echo "== $*" >&2; }
[[ $(id -u) == 0 ]] || { echo "run as root (loop devices, many owners, a device node)" >&2; exit 2; }
[[ -x $MAKE_CORPUS ]] || { echo "corpus generator not found: $MAKE_CORPUS" >&2; exit 2; }
for t in hyperfine rsync mkfs.ext4 "mkfs.$FS"; do
    command -v "$t" >/dev/null || { echo "$t is required" >&2; exit 2; }
done

if [[ -n ${DARLINGS_BIN:-} ]]; then
    DARLINGS=$DARLINGS_BIN
else
    log "cargo build --release"
    (cd "$REPO" && cargo build --release >&2)
    DARLINGS=$REPO/target/release/darlings
fi

ROOT=$WORK/root
PERSIST=$ROOT/persist
RES=$REPO/bench/results/$(date -u +%Y%m%dT%H%M%SZ)-migrate-$SCALE-$FS
mkdir -p "$RES" "$WORK"
cleanup() {
    log "cleaning up $WORK"
    umount "$PERSIST" 2>/dev/null || true
    umount "$ROOT" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

truncate -s "$IMG" "$WORK/root.img"
mkfs.ext4 -q "$WORK/root.img"
mkdir -p "$ROOT"
mount -o loop "$WORK/root.img" "$ROOT"
log "generating the $SCALE corpus in $ROOT"
"$MAKE_CORPUS" gen "$ROOT/fake" --scale "$SCALE" --seed 42 >&2
# make-corpus wants a fresh directory: move its tree up to be the root itself.
(cd "$ROOT/fake" && shopt -s dotglob && mv -- * "$ROOT/")
rmdir "$ROOT/fake"
mkdir -p "$PERSIST"

# Every top-level directory of the fake root is whitelisted.
mapfile -t DIRS < <(find "$ROOT" -mindepth 1 -maxdepth 1 -type d \
    ! -name persist ! -name lost+found -printf '%f\n' | sort)
python3 - "$WORK/wl.json" "${DIRS[@]}" <<'EOF'
import json, sys
out, dirs = sys.argv[1], sys.argv[2:]
json.dump({"/persist": {"persistentStoragePath": "/persist",
                        "directories": ["/" + d for d in dirs], "files": []}}, open(out, "w"))
EOF
SRCS=$(printf '%q ' "${DIRS[@]/#/$ROOT/}")
log "whitelisted: ${DIRS[*]}"

q() { printf '%q' "$1"; }
# A fresh, empty storage file system before every run (not timed).
fresh="umount $(q "$PERSIST") 2>/dev/null; truncate -s 0 $(q "$WORK/persist.img") && truncate -s $IMG $(q "$WORK/persist.img") && mkfs.$FS -q $(q "$WORK/persist.img") && mount -o loop $(q "$WORK/persist.img") $(q "$PERSIST") && sync -f $(q "$ROOT")"
touch "$WORK/persist.img"
bash -c "$fresh"

log "plan (no --yes), for the record"
"$DARLINGS" migrate "$ROOT" --persistence "$WORK/wl.json" >"$RES/plan.txt" || true
tail -3 "$RES/plan.txt" >&2

# The machine may be shared: like bench/run.sh, run the timed commands at nice -10 in their own
# session, whose autogroup gets nice -10 too (nice alone only ranks tasks inside one autogroup).
prio() {
    if [[ -w /proc/self/autogroup ]] && setsid --help 2>&1 | grep -q -- --wait; then
        setsid --wait bash -c 'echo -10 >/proc/self/autogroup 2>/dev/null; exec nice -n -10 "$@"' prio "$@"
    else
        nice -n -10 "$@"
    fi
}
prio hyperfine --runs "$RUNS" --warmup 1 --prepare "$fresh" \
    --export-json "$RES/hyperfine.json" --export-markdown "$RES/hyperfine.md" \
    -n "darlings migrate --yes" "DARLINGS_TIMING=1 $(q "$DARLINGS") migrate $(q "$ROOT") --persistence $(q "$WORK/wl.json") --yes >/dev/null 2>>$(q "$RES/darlings.timing")" \
    -n "cp -a" "cp -a $SRCS $(q "$PERSIST")/" \
    -n "rsync -aHAX" "rsync -aHAX $SRCS $(q "$PERSIST")/" \
    -n "cp -a + sync" "cp -a $SRCS $(q "$PERSIST")/ && sync -f $(q "$PERSIST")" \
    -n "rsync -aHAX + sync" "rsync -aHAX $SRCS $(q "$PERSIST")/ && sync -f $(q "$PERSIST")" >&2

# What each wrote, and whether the copies agree with ROOT.
measure() {   # NAME: the storage's entries and bytes
    local entries apparent disk
    entries=$(find "$PERSIST" -mindepth 1 ! -path "$PERSIST/lost+found*" | wc -l)
    apparent=$(du -sb --apparent-size --exclude=lost+found "$PERSIST" | cut -f1)
    disk=$(du -sB1 --exclude=lost+found "$PERSIST" | cut -f1)
    echo "| $1 | $entries | $apparent | $disk |"
}
{
    echo "| copy | entries | apparent bytes | disk bytes |"
    echo "|---|---:|---:|---:|"
    entries=$(find "${DIRS[@]/#/$ROOT/}" | wc -l)
    apparent=$(du -scb --apparent-size "${DIRS[@]/#/$ROOT/}" | tail -1 | cut -f1)
    disk=$(du -scB1 "${DIRS[@]/#/$ROOT/}" | tail -1 | cut -f1)
    echo "| ROOT (the whitelisted directories) | $entries | $apparent | $disk |"
    bash -c "$fresh"
    "$DARLINGS" migrate "$ROOT" --persistence "$WORK/wl.json" --yes >"$RES/yes.txt"
    measure "darlings migrate"
    # Differences from ROOT (rsync's own comparison, with checksums): sockets only.
    rsync -aHAXn --checksum --itemize-changes "${DIRS[@]/#/$ROOT/}" "$PERSIST/" >"$RES/darlings-vs-root.txt" || true
    bash -c "$fresh"
    cp -a "${DIRS[@]/#/$ROOT/}" "$PERSIST/"
    measure "cp -a"
    bash -c "$fresh"
    rsync -aHAX "${DIRS[@]/#/$ROOT/}" "$PERSIST/"
    measure "rsync -aHAX"
} >"$RES/bytes.md"
{
    echo
    echo "rsync -aHAXn --checksum from ROOT to the darlings copy lists $(wc -l <"$RES/darlings-vs-root.txt") entries:"
    sed 's/^/    /' "$RES/darlings-vs-root.txt" | head -20
} >"$RES/agree.txt"

cat "$RES/hyperfine.md" "$RES/bytes.md" "$RES/agree.txt" | tee "$RES/summary.md"
log "results in $RES"
