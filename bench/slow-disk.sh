#!/usr/bin/env bash
# bench/slow-disk.sh -- cold walks of a disk with a real read latency (issue 14, item 4).
#
# Usage: bench/slow-disk.sh [medium|large|usr|DIR] [LATENCY_US] [ROUNDS] [THREADS...]
#   default: medium, 200 us (a SATA SSD's random 4 KiB read), 3 rounds, threads default 8 16 32 64
#
# Why: this VM's disk is a file on the host, whose page cache keeps what the guest read, so a
# "cold" walk here reads at ~55 us and is CPU-bound in the guest's kernel (bench/README.md,
# "Cold walks and the host's page cache"). This script puts the tree on a block device whose
# every read costs LATENCY_US, whatever the host caches:
#   1. an ext4 image of the tree (`mkfs.ext4 -d`, no mount needed), in $DARLINGS_BENCH_DIR;
#   2. bench/latencyfs (FUSE, built here) serves it as a file and answers each read after
#      LATENCY_US from 64 threads (64 reads in flight at most, a disk's queue);
#   3. a read-only loop device with direct I/O over that file, mounted read-only, noatime;
#   4. bench/cold-threads.sh on the mount point (drop_caches before every run);
#   5. everything unmounted, detached and deleted again, also on failure or Ctrl-C.
# Needs root, fusermount3 (Debian: fuse3), mkfs.ext4, losetup; installs fuse3 if missing.
BENCH_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# slowdisk_up TREE LATENCY_US DIR: mounts an ext4 copy of TREE at $SLOW_MNT (inside DIR, which it
# creates), every read of it taking LATENCY_US; slowdisk_down undoes all of it and removes DIR.
# Also used by run.sh (its slowdisk group): source this file to get the two functions.
slowdisk_up() {
    local tree=$1 latency=$2
    SLOW_DIR=$3 SLOW_LOOP="" SLOW_FUSE=$3/fuse SLOW_MNT=$3/$(basename "$1")
    command -v fusermount3 >/dev/null || { apt-get update -qq; apt-get install -y -qq fuse3; }
    (cd "$BENCH_SRC/latencyfs" && cargo build --release --quiet)
    mkdir -p "$SLOW_FUSE" "$SLOW_MNT"
    # Room for the tree's bytes and inodes, plus a quarter, in whole MiB.
    local entries bytes img=$SLOW_DIR/disk.ext4
    entries=$(find "$tree" -xdev | wc -l)
    bytes=$(du -sxb "$tree" | cut -f1)
    truncate -s $((((bytes + entries * 4096) * 5 / 4 >> 20) + 64))M "$img"
    echo "slow-disk: ext4 image of $tree ($entries entries) ..." >&2
    mkfs.ext4 -q -F -N $((entries + entries / 4 + 1000)) -d "$tree" "$img"
    "$BENCH_SRC/latencyfs/target/release/latencyfs" "$img" "$SLOW_FUSE" "$latency" 64 &
    local _
    for _ in $(seq 50); do [[ -e $SLOW_FUSE/disk.img ]] && break; sleep 0.1; done
    SLOW_LOOP=$(losetup -f --show -r --direct-io=on "$SLOW_FUSE/disk.img")
    mount -o ro,noatime "$SLOW_LOOP" "$SLOW_MNT"
    echo "slow-disk: $SLOW_MNT on $SLOW_LOOP (direct I/O $(cat /sys/block/"${SLOW_LOOP#/dev/}"/loop/dio)), ${latency} us a read" >&2
}

slowdisk_down() {
    [[ -n ${SLOW_DIR:-} ]] || return 0
    if mountpoint -q "$SLOW_MNT"; then umount "$SLOW_MNT"; fi
    if [[ -n $SLOW_LOOP ]]; then losetup -d "$SLOW_LOOP"; fi
    if mountpoint -q "$SLOW_FUSE"; then fusermount3 -u "$SLOW_FUSE"; fi
    rm -rf "$SLOW_DIR"
    SLOW_DIR=""
}

# Reads so far of the loop device under $SLOW_MNT: "COUNT SECTORS".
slowdisk_reads() {
    awk -v d="${SLOW_LOOP#/dev/}" '$3 == d {print $4, $6}' /proc/diskstats
}

[[ ${BASH_SOURCE[0]} == "$0" ]] || return 0

WORK=${DARLINGS_BENCH_DIR:-/var/tmp/darlings-bench}
target=${1:-medium}; shift || true
latency=${1:-200}; shift || true
rounds=${1:-3}; shift || true
case $target in
    small|medium|large) tree=$WORK/corpus/$target ;;
    usr) tree=/usr ;;
    *) tree=$target; target=$(basename "$target") ;;
esac
[[ -d $tree ]] || { echo "slow-disk.sh: no tree at $tree (run bench/run.sh $target first)" >&2; exit 1; }
((EUID == 0)) || { echo "slow-disk.sh: needs root (mount, losetup, drop_caches)" >&2; exit 1; }

trap slowdisk_down EXIT
slowdisk_up "$tree" "$latency" "$WORK/slow-disk-$target"
read -r r0 s0 <<<"$(slowdisk_reads)"
"$BENCH_SRC/cold-threads.sh" "$SLOW_MNT" "$rounds" "$@"
read -r r1 s1 <<<"$(slowdisk_reads)"
echo "# slow disk: latency ${latency} us; reads during the runs: $((r1 - r0)) ($(((s1 - s0) / 2048)) MiB)"
