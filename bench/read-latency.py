#!/usr/bin/env python3
"""bench/read-latency.py -- 4 KiB random reads with O_DIRECT, twice over the same blocks.

Usage: bench/read-latency.py LABEL FILE...   (read-only; run as root for files you do not own)

O_DIRECT goes past the guest's page cache, so the first pass costs what the "disk" costs; the
second pass reads the same blocks again. On a VM whose disk is a file on the host, a second
pass several times faster than the first is the host's page cache: that is what a cold run
after `drop_caches` in the guest still enjoys (see "Cold walks and the host's page cache" in
bench/README.md). Prints the median, mean and 90th percentile of each pass, in microseconds.
"""
import mmap
import os
import random
import sys
import time

READS = 1000


def timed(reads, buf):
    ts = []
    for fd, off in reads:
        t = time.perf_counter_ns()
        os.preadv(fd, [buf], off)
        ts.append((time.perf_counter_ns() - t) / 1000)
    ts.sort()
    return ts[len(ts) // 2], sum(ts) / len(ts), ts[int(len(ts) * 0.9)]


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    label, paths = sys.argv[1], sys.argv[2:]
    files = []
    for p in paths:
        try:
            fd = os.open(p, os.O_RDONLY | os.O_DIRECT | os.O_NOATIME)
        except OSError:
            continue
        size = os.fstat(fd).st_size
        if size >= 4096:
            files.append((fd, size))
    if not files:
        sys.exit("read-latency.py: no readable file of at least 4 KiB")
    rng = random.Random(7)
    reads = []
    for _ in range(READS):
        fd, size = rng.choice(files)
        reads.append((fd, rng.randrange(size // 4096) * 4096))
    buf = mmap.mmap(-1, 4096)  # page-aligned, as O_DIRECT needs
    for name in ("first pass", "same blocks again"):
        med, mean, p90 = timed(reads, buf)
        print(f"{label}, {name}: {READS} reads, median {med:.0f} us, mean {mean:.0f} us, p90 {p90:.0f} us")


if __name__ == "__main__":
    main()
