#!/usr/bin/env bash
# bench/run.sh -- benchmark darlings against its peers (fd, find, b3sum, rsync) with hyperfine.
#
# Usage (from anywhere inside a checkout):
#   bench/run.sh [small|medium|large|usr|all]... [--cold] [--rounds K] [--groups LIST]
#
#   small|medium|large   synthetic roots from ../shared/bench/make-corpus.sh (seed 42):
#                        20k / 200k / 1M entries, plus a drifted copy for the diff group
#   usr                  the real /usr of this machine (no generation, no diff group)
#   all                  small medium large usr (large + its drifted copy: ~13 GB of disk, ~8 min to build)
#   --cold               also run the cold-cache group (drop_caches before every run; needs root;
#                        it empties the page cache of the WHOLE machine, so others' runs notice)
#   --rounds K           repeat every group K times (default 2; see "Method" below)
#   --groups LIST        comma-separated subset of walk,hash,rescan,diff,cold,slowdisk,rss
#                        (default: all of them except cold and slowdisk, which need --cold)
#                        slowdisk: cold runs on a copy of the tree on a disk whose every read
#                        takes SLOW_LATENCY_US (default 200, a SATA SSD), see slow-disk.sh
#
# Environment:
#   DARLINGS_BIN         darlings binary to measure (default: the release build of this checkout,
#                        built here with `cargo build --release`; set it to skip the build)
#   DARLINGS_SHARED      the team's shared dir (default: <checkout>/../shared); make-corpus.sh
#                        is taken from $DARLINGS_SHARED/bench/make-corpus.sh
#   DARLINGS_BENCH_DIR   scratch space for corpora and scan files (default /var/tmp/darlings-bench);
#                        corpora are cached there across runs and regenerated only when missing.
#                        Remove that directory when you are done: medium is ~2.5 GB with its
#                        drifted copy, large ~15 GB.
#   FD, B3SUM, HYPERFINE override the peer binaries.
#   WALKBENCH            the bare statx walker (`walkbench raw TREE NPROC`: openat + getdents64 +
#                        one statx(dirfd, name) per entry on rayon, nothing kept), the reference
#                        the scan is held to; default: built once from
#                        $DARLINGS_SHARED/bench/make-walkbench.sh into $DARLINGS_BENCH_DIR/walkbench
#   SLOW_LATENCY_US      the slowdisk group's read latency in microseconds (default 200)
#   BENCH_NICE           nice value for the timed runs (default -10 as root, else 0); see Method
#   BENCH_QUIET_WAIT     before each round, wait up to this many seconds (default 30) for the
#                        rest of the machine to use < 25% of the CPUs; 0 disables the wait
#
# Output: bench/results/<UTC date-time>-<target>/ (layout in bench/results/README.md), and a
# markdown summary (medians + the ratios the project targets, by bench/ratios.py) on stdout and
# in summary.md there.
#
# Method (why it looks like this):
#   * Every group compares commands inside ONE hyperfine invocation (--warmup 1, 10 runs for walks,
#     5 for the rest, --export-json). This VM drifts by 10-30% over minutes (the same command
#     timed again later), so only numbers from the same invocation are compared, and every
#     target is a ratio.
#   * hyperfine does not alternate: it runs all runs of command A, then all runs of B. A slow
#     drift (another job compiling on this 2-core box, page-cache state) can therefore land on
#     one command only. We repeat each group --rounds times (default 2) and reverse the command
#     order in every other round (A,B then B,A), so the drift and first-position effects hit both
#     sides. ratios.py pools the runs of all rounds for the medians and also prints the ratio of
#     each round on its own: if the rounds disagree much, the figure is noise, not a result.
#     We chose this over a custom alternating runner to keep hyperfine's statistics, warmup
#     handling and JSON format, which the peers' first measurements were also made with.
#   * darlings is still being written. Each darlings command is first run once outside hyperfine
#     (a "probe", also a second warmup). If it fails, its stderr is printed and it is left out of
#     the hyperfine invocation, so the peers are still timed (hyperfine aborts a whole invocation
#     when one command fails, and --ignore-failure would time a crash as if it were a result).
#   * Reports are written to stdout, which hyperfine sends to /dev/null, instead of
#     `-o /dev/null`: -o files are written atomically (README, 'Development': temp file + rename in
#     the same directory), which as root could replace /dev/null itself with a regular file.
#     The harness also checks /dev/null after every darlings probe.
#   * The machine is shared (other sessions compile Rust on the same 2 cores). Each round first
#     waits (BENCH_QUIET_WAIT) for a quiet moment, and hyperfine runs at nice -10 (as root) in
#     its own session, so that a background `cargo build` at nice 0 gets ~1/10 of our CPU
#     share instead of half. The own session matters: with kernel.sched_autogroup_enabled=1
#     (the default) nice only ranks tasks inside one session's autogroup, and the groups share
#     the CPUs equally; so we `setsid` and set the new autogroup's nice in
#     /proc/self/autogroup. (Measured here with 4 compiler jobs running: fd on medium 0.77 s
#     plain, 0.38 s this way.) That does not remove contention for caches, memory bandwidth and kernel locks:
#     GROUP.vmstat records the machine's busy CPU time around every round and ratios.py warns
#     when other processes used more than 10% of the machine during one.
#   * Peak RSS is measured separately (one run each under /usr/bin/time -f %M), not inside the
#     timed runs, and reported in bytes per entry of the scanned tree. The target is the
#     *marginal* cost of an entry: the scan of a 50,000-entry corpus (generated once, same
#     generator and seed) is measured too, and ratios.py divides the difference of the two peaks
#     by the difference of the entry counts, which removes the binary's fixed cost.
set -euo pipefail

# ---------------------------------------------------------------------------------------------
# Locations
# ---------------------------------------------------------------------------------------------
BENCH_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)          # .../bench
REPO=$(git -C "$BENCH_SRC" rev-parse --show-toplevel 2>/dev/null || dirname "$BENCH_SRC")
SHARED=${DARLINGS_SHARED:-$REPO/../shared}
MAKE_CORPUS=$SHARED/bench/make-corpus.sh
WORK=${DARLINGS_BENCH_DIR:-/var/tmp/darlings-bench}
SLOW_LATENCY_US=${SLOW_LATENCY_US:-200}
# The slowdisk group's mount, loop device and FUSE server go away even if the run fails.
trap 'declare -F slowdisk_down >/dev/null && slowdisk_down' EXIT
CORPUS_DIR=$WORK/corpus
OUT_DIR=$WORK/out                       # scan files written by the timed commands
NPROC=$(nproc)
export PATH="$HOME/.cargo/bin:$PATH"    # cargo-installed b3sum / fd

# ---------------------------------------------------------------------------------------------
# Arguments
# ---------------------------------------------------------------------------------------------
TARGETS=()
COLD=0
ROUNDS=${BENCH_ROUNDS:-2}
QUIET_WAIT=${BENCH_QUIET_WAIT:-30}
if [[ -n ${BENCH_NICE:-} ]]; then NICE=$BENCH_NICE; elif ((EUID == 0)); then NICE=-10; else NICE=0; fi
GROUPS_WANTED="walk,hash,rescan,diff,rss"
while (($#)); do
    case $1 in
        small|medium|large|usr) TARGETS+=("$1") ;;
        all) TARGETS+=(small medium large usr) ;;
        --cold) COLD=1 ;;
        --rounds) ROUNDS=$2; shift ;;
        --rounds=*) ROUNDS=${1#*=} ;;
        --groups) GROUPS_WANTED=$2; shift ;;
        --groups=*) GROUPS_WANTED=${1#*=} ;;
        -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "run.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
    esac
    shift
done
((${#TARGETS[@]})) || TARGETS=(small)
((COLD)) && GROUPS_WANTED+=",cold,slowdisk"
want() { [[ ",$GROUPS_WANTED," == *",$1,"* ]]; }

log()  { printf '\n\033[1m== %s\033[0m\n' "$*" >&2; }
warn() { printf '\033[31m!! %s\033[0m\n' "$*" >&2; }

# ---------------------------------------------------------------------------------------------
# Tools: install what is missing (Debian: apt; otherwise cargo)
# ---------------------------------------------------------------------------------------------
APT_UPDATED=0
apt_install() {
    command -v apt-get >/dev/null || return 1
    if ((!APT_UPDATED)); then apt-get update -qq >&2 || true; APT_UPDATED=1; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}

ensure_tools() {
    command -v python3 >/dev/null || { warn "python3 is required (ratios.py)"; exit 1; }
    [[ -x $MAKE_CORPUS ]] || [[ " ${TARGETS[*]} " == *" usr "* && ${#TARGETS[@]} -eq 1 ]] ||
        { warn "corpus generator not found: $MAKE_CORPUS (set DARLINGS_SHARED)"; exit 1; }

    HYPERFINE=${HYPERFINE:-$(command -v hyperfine || true)}
    if [[ -z $HYPERFINE ]]; then
        apt_install hyperfine || cargo install --locked hyperfine >&2
        HYPERFINE=$(command -v hyperfine)
    fi
    # fd: prefer a cargo-installed `fd` (current upstream), else Debian's `fdfind`.
    FD=${FD:-$(command -v fd || command -v fdfind || true)}
    if [[ -z $FD ]]; then
        apt_install fd-find || cargo install --locked fd-find >&2
        FD=$(command -v fd || command -v fdfind)
    fi
    B3SUM=${B3SUM:-$(command -v b3sum || true)}
    if [[ -z $B3SUM ]]; then
        cargo install --locked b3sum >&2      # Debian bookworm has no b3sum package
        B3SUM=$(command -v b3sum)
    fi
    command -v rsync >/dev/null || apt_install rsync
    [[ -x /usr/bin/time ]] || apt_install time
    WALKBENCH=${WALKBENCH:-$WORK/walkbench/target/release/walkbench}
    if [[ ! -x $WALKBENCH && -x $SHARED/bench/make-walkbench.sh ]]; then
        log "building the bare statx walker (walkbench) in $WORK/walkbench"
        WALKBENCH_DIR=$WORK/walkbench "$SHARED/bench/make-walkbench.sh" >&2 ||
            warn "walkbench build failed: the walker will not be measured"
    fi
    [[ -x $WALKBENCH ]] || { warn "no walkbench: the bare-walker ratio will be missing"; WALKBENCH=""; }
}

# The 50,000-entry corpus the RSS group subtracts (see Method); no drifted copy.
ensure_small50k() {
    local base=$CORPUS_DIR/50k
    if [[ ! -f $base.stats.json ]]; then
        rm -rf "$base"
        log "generating the 50k corpus in $base (one-off)"
        mkdir -p "$CORPUS_DIR"
        "$MAKE_CORPUS" gen "$base" --scale 50000 --seed 42 >&2
    fi
}

# ---------------------------------------------------------------------------------------------
# The darlings binary: $DARLINGS_BIN, or `cargo build --release` of this checkout.
# Missing/broken binary is not fatal: the peers are still measured.
# ---------------------------------------------------------------------------------------------
DARLINGS_OK=0
ensure_darlings() {
    if [[ -n ${DARLINGS_BIN:-} ]]; then
        DARLINGS=$DARLINGS_BIN
    else
        DARLINGS=$REPO/target/release/darlings
        if [[ -f $REPO/Cargo.toml ]]; then
            log "cargo build --release ($REPO)"
            if ! (cd "$REPO" && cargo build --release >&2); then
                warn "cargo build --release failed: darlings will not be measured"
            fi
        fi
    fi
    if [[ -x $DARLINGS ]]; then
        DARLINGS_OK=1
        DARLINGS_VERSION=$("$DARLINGS" --version 2>/dev/null | head -1 || echo unknown)
    else
        warn "darlings binary not found at '$DARLINGS': measuring the peers only"
        DARLINGS_VERSION="missing ($DARLINGS)"
    fi
}

# ---------------------------------------------------------------------------------------------
# Corpora: generated once, cached in $CORPUS_DIR. gen writes NAME.stats.json at its very end and
# drift writes NAME.truth.summary.json at its end, so those files mark a complete tree; a
# directory without its marker is a leftover of an interrupted run and is rebuilt.
# ---------------------------------------------------------------------------------------------
ensure_corpus() {   # $1 = scale
    local scale=$1 base=$CORPUS_DIR/$1 drift=$CORPUS_DIR/$1-drift
    mkdir -p "$CORPUS_DIR"
    if [[ ! -f $base.stats.json ]]; then
        rm -rf "$base" "$drift" "$drift".truth.*
        log "generating $scale corpus in $base (one-off; cached for later runs)"
        "$MAKE_CORPUS" gen "$base" --scale "$scale" --seed 42 >&2
    fi
    # The drifted copy only serves the diff group (it doubles the disk and the build time).
    if want diff && [[ ! -f $drift.truth.summary.json ]]; then
        rm -rf "$drift"
        log "generating drifted copy $drift"
        "$MAKE_CORPUS" drift "$base" "$drift" --seed 42 >&2
    fi
}

# ---------------------------------------------------------------------------------------------
# Helpers for one target
# ---------------------------------------------------------------------------------------------
q() { printf '%q' "$1"; }   # shell-quote a path for a hyperfine command line

# vmstat_mark FILE LABEL: one line of machine state before/after each round: page-cache drops,
# refaults, major faults, load average, and the machine's total busy and steal CPU time (from
# /proc/stat, in 1/100 s) with the uptime, so that ratios.py can tell how much CPU *other*
# processes took during the round (the load average cannot: it includes our own runs).
vmstat_mark() {
    local busy steal
    read -r busy steal < <(awk '/^cpu / {print $2+$3+$4+$7+$8, $9}' /proc/stat)
    { printf '%s %s load=%s ' "$2" "$(date -u +%T)" "$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' /)"
      grep -E '^(drop_pagecache|drop_slab|pgmajfault|workingset_refault_file) ' /proc/vmstat |
          tr '\n' ' '
      printf 'cpu_busy_cs %s cpu_steal_cs %s uptime_s %s\n' "$busy" "$steal" "$(cut -d' ' -f1 /proc/uptime)"
    } >>"$1"
}

# wait_quiet: wait (at most QUIET_WAIT s) until the machine's busy CPU over 2 s, all of it
# someone else's since we are idle here, is below 25% of the CPUs.
wait_quiet() {
    ((QUIET_WAIT > 0)) || return 0
    local t0=$SECONDS b1 b2 pct
    while :; do
        b1=$(awk '/^cpu / {print $2+$3+$4+$7+$8}' /proc/stat); sleep 2
        b2=$(awk '/^cpu / {print $2+$3+$4+$7+$8}' /proc/stat)
        pct=$(((b2 - b1) / (2 * NPROC)))          # 1/100 s per s per CPU = percent
        ((pct < 25)) && return 0
        if ((SECONDS - t0 >= QUIET_WAIT)); then
            warn "machine still busy (${pct}% of the CPUs used by others) after ${QUIET_WAIT}s; measuring anyway"
            return 0
        fi
        ((SECONDS - t0 < 3)) && echo "   (waiting for a quiet machine: others use ${pct}% of the CPUs)" >&2
    done
}

# prio CMD...: run CMD at nice $NICE in a new session whose autogroup also gets nice $NICE
# (see Method). Falls back to plain nice where autogroups or setsid --wait are unavailable.
prio() {
    if ((NICE == 0)); then "$@"; return; fi
    if [[ -w /proc/self/autogroup ]] && setsid --help 2>&1 | grep -q -- --wait; then
        setsid --wait bash -c 'echo "$0" >/proc/self/autogroup 2>/dev/null; exec nice -n "$0" "$@"' \
            "$NICE" "$@"
    else
        nice -n "$NICE" "$@"
    fi
}

# probe NAME CMD [FILE]: run a darlings command once; on failure print why and return 1.
# Success = exit 0 AND it produced output: FILE non-empty if given (scan -o FILE), else a
# non-empty stdout (report). An empty main() that exits 0 is not a scan.
probe() {
    local name=$1 cmd=$2 want_file=${3:-} err=$RES/probe/$1.stderr rc=0
    mkdir -p "$RES/probe"
    # Probed already for this target (same name = same command): reuse the verdict.
    grep -qs "^$name ok" "$RES/probe/OK" && return 0
    grep -qs "^$name " "$RES/probe/FAILED" && return 1
    echo "$cmd" >"$RES/probe/$name.cmd"
    [[ -n $want_file ]] && rm -f "$want_file"
    local t0=$SECONDS
    # DARLINGS_TIMING=1: darlings prints its phase times (walk, assemble, hash, save, ...) on
    # stderr; they end up in probe/NAME.stderr and in the summary.
    DARLINGS_TIMING=1 prio timeout 1800 bash -c "$cmd" >"$OUT_DIR/probe.stdout" 2>"$err" || rc=$?
    if [[ ! -c /dev/null ]]; then
        warn "/dev/null is no longer a character device after '$cmd'! Restoring it."
        rm -f /dev/null; mknod -m 666 /dev/null c 1 3
    fi
    if ((rc == 0)); then
        if [[ -n $want_file && ! -s $want_file ]]; then
            rc=exit0-but-no-output-file; echo "(exit 0 but $want_file is missing or empty)" >>"$err"
        elif [[ -z $want_file && ! -s $OUT_DIR/probe.stdout ]]; then
            rc=exit0-but-empty-stdout; echo "(exit 0 but nothing on stdout)" >>"$err"
        fi
    fi
    rm -f "$OUT_DIR/probe.stdout"
    if [[ $rc != 0 ]]; then
        warn "darlings command failed ($rc), left out of the timing: $cmd"
        sed 's/^/   | /' "$err" | head -20 >&2
        echo "$name $rc" >>"$RES/probe/FAILED"
        return 1
    fi
    echo "$name ok $((SECONDS - t0))s" >>"$RES/probe/OK"
}

# bench_group GROUP RUNS EXTRA_ARGS... -- NAME CMD [NAME CMD]...
# Runs hyperfine ROUNDS times on the given commands; odd rounds in the given order, even rounds
# reversed. Needs at least one command.
bench_group() {
    local group=$1 runs=$2; shift 2
    local extra=()
    while [[ $1 != -- ]]; do extra+=("$1"); shift; done
    shift
    local names=() cmds=()
    while (($#)); do names+=("$1"); cmds+=("$2"); shift 2; done
    if ((${#names[@]} == 0)); then warn "group $group: nothing to time"; return 0; fi
    local r i args
    for ((r = 1; r <= ROUNDS; r++)); do
        args=()
        if ((r % 2)); then
            for ((i = 0; i < ${#names[@]}; i++)); do args+=(-n "${names[i]}" "${cmds[i]}"); done
        else
            for ((i = ${#names[@]} - 1; i >= 0; i--)); do args+=(-n "${names[i]}" "${cmds[i]}"); done
        fi
        log "$TARGET: $group group, round $r/$ROUNDS (${names[*]})"
        wait_quiet
        vmstat_mark "$RES/$group.vmstat" "r$r-before"
        prio "$HYPERFINE" --style basic --runs "$runs" "${extra[@]}" \
            --export-json "$RES/$group.r$r.json" --export-markdown "$RES/$group.r$r.md" \
            "${args[@]}" >&2 ||
            warn "hyperfine failed for group $group round $r (see above); continuing"
        vmstat_mark "$RES/$group.vmstat" "r$r-after"
    done
}

# rss NAME CMD: peak RSS (KiB) of one run, appended to rss.tsv
rss() {
    local name=$1 cmd=$2 f
    mkdir -p "$RES/probe"
    f=$(mktemp)
    if /usr/bin/time -f '%M' -o "$f" bash -c "exec $cmd" >/dev/null 2>"$RES/probe/rss-$name.stderr"; then
        printf '%s\t%s\t%s\n' "$name" "$(tail -1 "$f")" "$cmd" >>"$RES/rss.tsv"
    else
        warn "rss: '$cmd' failed"
    fi
    rm -f "$f"
}

# ---------------------------------------------------------------------------------------------
# One target
# ---------------------------------------------------------------------------------------------
run_target() {
    TARGET=$1
    local dir drift="" entries bytes
    if [[ $TARGET == usr ]]; then
        dir=/usr
        log "counting entries of /usr"
        entries=$(find /usr -xdev -mindepth 1 -printf . | wc -c)
        bytes=$(find /usr -xdev -type f -printf '%s\n' | awk '{s+=$1} END {printf "%.0f\n", s}')
    else
        ensure_corpus "$TARGET"
        dir=$CORPUS_DIR/$TARGET
        drift=$CORPUS_DIR/$TARGET-drift
        read -r entries bytes < <(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["entries"], d["bytes"])' "$dir.stats.json")
    fi

    RES=$REPO/bench/results/$(date -u +%Y-%m-%dT%H%MZ)-$TARGET
    mkdir -p "$RES" "$OUT_DIR"
    : >"$RES/rss.tsv"
    {
        echo "target=$TARGET"
        echo "root=$dir"
        echo "drift=$drift"
        echo "entries=$entries"
        echo "bytes=$bytes"
        [[ -n $drift && -f $drift.stats.json ]] && echo "drift_entries=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["entries"])' "$drift.stats.json")"
        [[ -n $drift && -f $drift.truth.summary.json ]] && echo "drift_records=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["records"])' "$drift.truth.summary.json")"
        echo "rounds=$ROUNDS"
        echo "nice=$NICE"
        echo "nproc=$NPROC"
        echo "date=$(date -u +%FT%TZ)"
        echo "host=$(uname -srm)"
        echo "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
        echo "mem=$(free -g | awk '/Mem:/ {print $2 " GiB"}')"
        echo "fs=$(df -T "$dir" | awk 'NR==2 {print $2 " " $1}')"
        echo "bench_commit=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo none)"
        echo "darlings=$DARLINGS"
        echo "darlings_version=$DARLINGS_VERSION"
        [[ -f $DARLINGS ]] && echo "darlings_sha256=$(sha256sum "$DARLINGS" | cut -c1-16)"
        [[ -n ${DARLINGS_BIN:-} ]] && echo "darlings_bin_env=$DARLINGS_BIN"
        echo "hyperfine=$("$HYPERFINE" --version)"
        echo "fd=$FD $("$FD" --version)"
        echo "b3sum=$B3SUM $("$B3SUM" --version)"
        echo "find=$(find --version | head -1)"
        echo "rsync=$(rsync --version | head -1)"
        echo "walker=${WALKBENCH:-none}"
        echo "loadavg_start=$(cat /proc/loadavg)"
    } >"$RES/meta.txt"
    log "$TARGET: $entries entries, $bytes bytes in $dir -> results in $RES"

    local D=$(q "$DARLINGS") R=$(q "$dir") R2=$(q "$drift") O=$(q "$OUT_DIR")
    # /usr is live: apt or a Python run elsewhere can delete a file between getdents and stat,
    # and find then exits 1 (xargs 123), which makes hyperfine abort the whole group. So on the
    # live tree the find/b3sum peers tolerate a failure; the corpora are static and stay strict.
    local LIVE=""
    [[ $TARGET == usr ]] && LIVE=" || true"
    local have=1 ok
    ((DARLINGS_OK)) || have=0

    # -- walk: full metadata scan vs fd (names only) vs find -printf (stat per entry) ----------
    if want walk; then
        local c=()
        if ((have)) && probe darlings-scan-none "$D scan --hash none $R -o $O/walk.scan" "$OUT_DIR/walk.scan"; then
            c+=(darlings-scan-none "$D scan --hash none $R -o $O/walk.scan")
        fi
        c+=(fd "$(q "$FD") -HI --one-file-system . $R$LIVE")
        [[ -n $WALKBENCH ]] && c+=(walker "$(q "$WALKBENCH") raw $R $NPROC")
        c+=(find-printf "find $R -xdev -printf '%p %s %T@\\n'$LIVE")
        bench_group walk 10 --warmup 1 -- "${c[@]}"
    fi

    # -- hash: BLAKE3 of every regular file vs find | xargs -P nproc b3sum ---------------------
    if want hash; then
        local c=()
        if ((have)) && probe darlings-scan-all "$D scan --hash all $R -o $O/hash.scan" "$OUT_DIR/hash.scan"; then
            c+=(darlings-scan-all "$D scan --hash all $R -o $O/hash.scan")
        fi
        c+=(b3sum "find $R -xdev -type f -print0 | xargs -0 -P$NPROC -n2000 $(q "$B3SUM")$LIVE")
        bench_group hash 5 --warmup 1 -- "${c[@]}"
    fi

    # -- rescan: report against a complete previous scan of the unchanged tree vs a plain scan --
    if want rescan && ((have)); then
        local c=() prev=$O/$TARGET.prev.scan
        if probe darlings-prev-scan "$D scan --hash all $R -o $prev" "$OUT_DIR/$TARGET.prev.scan" &&
            probe darlings-rescan "$D report $R --against $prev"; then
            c+=(darlings-rescan "$D report $R --against $prev")
        fi
        if probe darlings-scan-none "$D scan --hash none $R -o $O/walk.scan" "$OUT_DIR/walk.scan"; then
            c+=(darlings-scan-none "$D scan --hash none $R -o $O/walk.scan")
        fi
        ((${#c[@]} == 4)) && bench_group rescan 5 --warmup 1 -- "${c[@]}" ||
            warn "rescan group skipped: it compares two darlings commands and one failed"
    elif want rescan; then
        warn "rescan group skipped: no darlings binary (it has no peer to time)"
    fi

    # -- diff: report drifted copy against the base directory vs rsync dry run ------------------
    if want diff && [[ -n $drift ]]; then
        local c=()
        if ((have)) && probe darlings-report-diff "$D report $R2 --against $R"; then
            c+=(darlings-report-diff "$D report $R2 --against $R")
        fi
        # Dry run (-n) with itemized changes (-i): rsync's quick check (size + mtime) plus
        # permissions, owner, group, devices/specials and symlinks: the peers' tree-diff setting.
        c+=(rsync-n "rsync -rlpgoDn --delete -i $R/ $R2/")
        bench_group diff 5 --warmup 1 -- "${c[@]}"
    fi

    # -- cold: drop the page cache before every run ---------------------------------------------
    if want cold; then
        if [[ -w /proc/sys/vm/drop_caches ]]; then
            local c=()
            if ((have)) && probe darlings-scan-none "$D scan --hash none $R -o $O/walk.scan" "$OUT_DIR/walk.scan"; then
                c+=(darlings-scan-cold "$D scan --hash none $R -o $O/walk.scan")
            fi
            c+=(fd-cold "$(q "$FD") -HI --one-file-system . $R")
            [[ -n $WALKBENCH ]] && c+=(walker-cold "$(q "$WALKBENCH") raw $R $NPROC")
            # No warmup: a warmup run is exactly what a cold measurement must not have.
            bench_group cold 3 --prepare 'sync; echo 3 > /proc/sys/vm/drop_caches; sleep 1' -- "${c[@]}"
        else
            warn "cold group skipped: /proc/sys/vm/drop_caches is not writable (need root)"
        fi
    fi

    # -- slowdisk: cold runs on a disk whose every read takes SLOW_LATENCY_US (slow-disk.sh) ------
    # The cold group above reads from this VM's disk, which the host caches; this one shows what
    # the reads in flight buy on a disk with a real latency (bench/README.md, slow-disk.sh).
    if want slowdisk; then
        if [[ $TARGET == usr ]]; then
            warn "slowdisk group skipped for /usr: its ext4 copy would hold all of /usr's bytes"
        elif [[ -w /proc/sys/vm/drop_caches ]]; then
            # shellcheck source=bench/slow-disk.sh
            source "$BENCH_SRC/slow-disk.sh"
            slowdisk_up "$dir" "$SLOW_LATENCY_US" "$WORK/slow-disk-$TARGET"
            local S=$(q "$SLOW_MNT") c=()
            if ((have)); then
                c+=(darlings-scan-slow "$D scan --hash none $S -o $O/walk.scan")
            fi
            c+=(fd-slow "$(q "$FD") -HI --one-file-system . $S")
            [[ -n $WALKBENCH ]] && c+=(walker-slow "$(q "$WALKBENCH") raw $S $NPROC")
            echo "slow_latency_us=$SLOW_LATENCY_US" >>"$RES/meta.txt"
            bench_group slowdisk 3 --prepare 'sync; echo 3 > /proc/sys/vm/drop_caches; sleep 1' -- "${c[@]}"
            slowdisk_down
        else
            warn "slowdisk group skipped: /proc/sys/vm/drop_caches is not writable (need root)"
        fi
    fi

    # -- peak RSS: one run each, after the timings (page cache is warm) -------------------------
    if want rss; then
        log "$TARGET: peak RSS"
        if ((have)); then
            [[ -f $RES/probe/OK ]] && grep -q '^darlings-scan-none ok' "$RES/probe/OK" &&
                rss darlings-scan-none "$D scan --hash none $R -o $O/walk.scan"
            [[ -f $RES/probe/OK ]] && grep -q '^darlings-scan-all ok' "$RES/probe/OK" &&
                rss darlings-scan-all "$D scan --hash all $R -o $O/hash.scan"
            [[ -f $RES/probe/OK ]] && grep -q '^darlings-rescan ok' "$RES/probe/OK" &&
                rss darlings-rescan "$D report $R --against $O/$TARGET.prev.scan"
            [[ -f $RES/probe/OK ]] && grep -q '^darlings-report-diff ok' "$RES/probe/OK" &&
                rss darlings-report-diff "$D report $R2 --against $R"
        fi
        rss fd "$(q "$FD") -HI --one-file-system . $R"
        if ((have)) && [[ -x $MAKE_CORPUS ]]; then
            ensure_small50k
            echo "entries_50k=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["entries"])' "$CORPUS_DIR/50k.stats.json")" >>"$RES/meta.txt"
            rss darlings-scan-none-50k "$D scan --hash none $(q "$CORPUS_DIR/50k") -o $O/walk50k.scan"
        fi
    fi

    echo "loadavg_end=$(cat /proc/loadavg)" >>"$RES/meta.txt"
    rm -f "$OUT_DIR"/*.scan
    python3 "$BENCH_SRC/ratios.py" "$RES" | tee "$RES/summary.md"
}

# ---------------------------------------------------------------------------------------------
# (A function, called on the last line: bash has then read the whole file before it starts,
# so editing run.sh during a long run cannot change the running one.)
main() {
    ensure_tools
    ensure_darlings
    for t in "${TARGETS[@]}"; do run_target "$t"; done
    log "done. Corpora stay cached in $CORPUS_DIR (rm -rf $WORK to free the disk)."
}
main; exit
