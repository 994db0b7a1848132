#!/usr/bin/env python3
"""ratios.py -- summarise a bench/run.sh results directory as markdown.

Usage: bench/ratios.py RESULTS_DIR [RESULTS_DIR...]

Reads, per directory: meta.txt (key=value), GROUP.rN.json (hyperfine --export-json, one per
round), rss.tsv (name, peak RSS KiB, command), GROUP.vmstat and probe/FAILED. Prints:
  * medians per command, pooling the runs of all rounds of a group;
  * the ratios darlings targets (RATIOS below), pooled and per round; a ratio is
    only ever taken between commands of the same hyperfine invocation (round);
  * peak RSS in bytes per scanned entry;
  * warnings: failed darlings commands, rounds that disagree, page-cache drops during warm groups.
Standard library only.
"""
import glob
import json
import os
import re
import statistics
import sys

# (label, group, numerator, denominator, target, direction, note)
# direction "le": the ratio of times must be <= target.
RATIOS = [
    ("metadata scan / fd names", "walk", "darlings-scan-none", "fd", 1.0, "G1"),
    ("metadata scan / bare statx walker", "walk", "darlings-scan-none", "walker", 1.0, ""),
    ("metadata scan / find -printf", "walk", "darlings-scan-none", "find-printf", 0.4, "G1"),
    ("hash-all time / b3sum time", "hash", "darlings-scan-all", "b3sum", 1 / 0.9, "G7"),
    ("rescan (report --against prev) / plain scan", "rescan", "darlings-rescan",
     "darlings-scan-none", 1.1, "G6/G9"),
    ("report --against DIR / rsync -n", "diff", "darlings-report-diff", "rsync-n", 0.5, ""),
    ("cold scan / cold fd", "cold", "darlings-scan-cold", "fd-cold", 0.5, "G3"),
    ("cold scan / cold bare walker", "cold", "darlings-scan-cold", "walker-cold", 1.0, ""),
    ("cold scan / cold fd, disk with a read latency (slowdisk)", "slowdisk", "darlings-scan-slow",
     "fd-slow", 0.5, "G3"),
    ("same / cold bare walker (slowdisk)", "slowdisk", "darlings-scan-slow", "walker-slow", 1.0,
     ""),
]
RSS_TARGET = 150  # marginal bytes per entry: (peak(target) - peak(50k)) / (entries - 50k)
ROUND_SPREAD_WARN = 0.15  # warn if per-round ratios differ by more than 15%


def read_meta(d):
    meta = {}
    try:
        with open(os.path.join(d, "meta.txt")) as f:
            for line in f:
                if "=" in line:
                    k, v = line.rstrip("\n").split("=", 1)
                    meta[k] = v
    except FileNotFoundError:
        pass
    return meta


def load_groups(d):
    """{group: {"rounds": {r: {cmd: result}}, "cmds": [ordered names]}}"""
    groups = {}
    for path in sorted(glob.glob(os.path.join(d, "*.r*.json"))):
        m = re.match(r"(.+)\.r(\d+)\.json$", os.path.basename(path))
        if not m:
            continue
        group, rnd = m.group(1), int(m.group(2))
        try:
            with open(path) as f:
                data = json.load(f)
        except (OSError, ValueError) as e:
            print(f"<!-- skipped {path}: {e} -->")
            continue
        g = groups.setdefault(group, {"rounds": {}, "cmds": []})
        rd = g["rounds"].setdefault(rnd, {})
        for res in data.get("results", []):
            name = res.get("command")
            rd[name] = res
            if name not in g["cmds"]:
                g["cmds"].append(name)
    return groups


def fmt_s(x):
    if x is None:
        return "–"
    return f"{x:.3f}" if x < 10 else f"{x:.2f}"


def fmt_n(x):
    return f"{x:,.0f}"


def pooled(g, cmd):
    times, cpu = [], []
    for rd in g["rounds"].values():
        res = rd.get(cmd)
        if res:
            times += res.get("times") or [res["median"]]
            cpu.append(res.get("user", 0) + res.get("system", 0))
    return times, cpu


def summarize(d):
    meta = read_meta(d)
    groups = load_groups(d)
    entries = int(float(meta.get("entries", "0") or 0))
    nbytes = int(float(meta.get("bytes", "0") or 0))
    drift_entries = int(float(meta.get("drift_entries", "0") or 0))
    out = []
    warnings = []
    title = meta.get("target", os.path.basename(d.rstrip("/")))
    out.append(f"## {title}: {fmt_n(entries)} entries, {nbytes / 1e9:.2f} GB "
               f"({meta.get('root', '?')}), {meta.get('date', '?')}")
    out.append("")
    out.append(f"darlings: `{meta.get('darlings_version', '?')}` ({meta.get('darlings', '?')}); "
               f"{meta.get('hyperfine', '?')}; fd {meta.get('fd', '?').split()[-1]}; "
               f"b3sum {meta.get('b3sum', '?').split()[-1]}; {meta.get('nproc', '?')} CPUs; "
               f"rounds: {meta.get('rounds', '?')}; nice {meta.get('nice', '0')}; load avg start/end: "
               f"{meta.get('loadavg_start', '?').split(' ')[0]}/"
               f"{meta.get('loadavg_end', '?').split(' ')[0]}")
    out.append("")

    failed = os.path.join(d, "probe", "FAILED")
    if os.path.exists(failed):
        with open(failed) as f:
            for line in f:
                warnings.append(f"darlings command failed and was not timed: {line.strip()} "
                                f"(stderr in probe/)")

    # ---- medians -------------------------------------------------------------------------
    out.append("| group | command | runs | median s | min–max s | CPU s (mean) | CPU/wall | entries/s |")
    out.append("|---|---|---:|---:|---|---:|---:|---:|")
    medians = {}
    for group in ["walk", "hash", "rescan", "diff", "cold", "slowdisk"] + sorted(
            set(groups) - {"walk", "hash", "rescan", "diff", "cold", "slowdisk"}):
        g = groups.get(group)
        if not g:
            continue
        for cmd in g["cmds"]:
            times, cpu = pooled(g, cmd)
            if not times:
                continue
            med = statistics.median(times)
            medians[(group, cmd)] = med
            c = statistics.mean(cpu) if cpu else 0
            n = entries * (2 if group == "diff" else 1)
            eps = fmt_n(n / med) if n and med > 0 else "–"
            if group == "hash" and nbytes and med > 0:
                eps += f" ({nbytes / med / 1e9:.2f} GB/s)"
            out.append(f"| {group} | {cmd} | {len(times)} | {fmt_s(med)} | "
                       f"{fmt_s(min(times))}–{fmt_s(max(times))} | {c:.3f} | "
                       f"{c / med if med else 0:.2f} | {eps} |")
    out.append("")
    out.append("(diff: entries/s counts both trees; hash: GB/s over all regular-file bytes.)")
    out.append("")

    # ---- ratios --------------------------------------------------------------------------
    out.append("| ratio (time / time) | median | per round | target | | CPU-time ratio |")
    out.append("|---|---:|---|---:|---|---:|")
    for label, group, num, den, target, note in RATIOS:
        g = groups.get(group)
        if not g:
            continue
        if (group, num) not in medians or (group, den) not in medians:
            missing = num if (group, num) not in medians else den
            out.append(f"| {label} | n/a | | ≤ {target:.2f} | `{missing}` not measured | |")
            continue
        r = medians[(group, num)] / medians[(group, den)]
        per_round = []
        for rnd in sorted(g["rounds"]):
            rd = g["rounds"][rnd]
            if num in rd and den in rd:
                per_round.append(rd[num]["median"] / rd[den]["median"])
        pr = ", ".join(f"{x:.2f}" for x in per_round)
        if len(per_round) > 1 and (max(per_round) - min(per_round)) / r > ROUND_SPREAD_WARN:
            warnings.append(f"{label}: rounds disagree ({pr}); treat {r:.2f} as noisy")
        verdict = "meets" if r <= target else "**misses**"
        extra = (f": throughput {1 / r:.2f}x b3sum, target ≥ 0.9x" if group == "hash" else "")
        cn, cd = pooled(g, num)[1], pooled(g, den)[1]
        cpu_r = (f"{statistics.mean(cn) / statistics.mean(cd):.2f}"
                 if cn and cd and statistics.mean(cd) > 0 else "–")
        out.append(f"| {label} | {r:.2f} | {pr} | ≤ {target:.2f} | {verdict}"
                   f"{' (' + note + extra + ')' if note or extra else ''} | {cpu_r} |")
    out.append("")
    out.append("(CPU-time ratio = user+sys of numerator / denominator: less sensitive than wall "
               "time to other load on the machine, blind to parallelism and I/O waits.)")
    out.append("")

    # ---- peak RSS ------------------------------------------------------------------------
    rss_path = os.path.join(d, "rss.tsv")
    rows = []
    if os.path.exists(rss_path):
        with open(rss_path) as f:
            for line in f:
                parts = line.rstrip("\n").split("\t")
                if len(parts) >= 2 and parts[1].isdigit():
                    rows.append((parts[0], int(parts[1])))
    if rows:
        out.append("| peak RSS | MiB | bytes/entry | target |")
        out.append("|---|---:|---:|---|")
        entries_50k = int(float(meta.get("entries_50k", "0") or 0))
        for name, kib in rows:
            if name == "darlings-scan-none-50k":
                n = entries_50k
            elif name == "darlings-report-diff":
                n = entries + (drift_entries or entries)
            else:
                n = entries
            bpe = kib * 1024 / n if n else float("nan")
            out.append(f"| {name} | {kib / 1024:.1f} | {bpe:.0f} | |")
        kib_of = dict(rows)
        if ("darlings-scan-none" in kib_of and "darlings-scan-none-50k" in kib_of
                and entries > entries_50k > 0):
            marginal = ((kib_of["darlings-scan-none"] - kib_of["darlings-scan-none-50k"]) * 1024
                        / (entries - entries_50k))
            verdict = "meets" if marginal <= RSS_TARGET else "**misses**"
            out.append(f"| **scan, marginal bytes per entry** ({fmt_n(entries)} minus "
                       f"{fmt_n(entries_50k)} entries) | | **{marginal:.0f}** | "
                       f"≤ {RSS_TARGET} {verdict} |")
        out.append("")
        out.append("(bytes/entry = peak RSS / entries scanned; report-diff scans both trees. "
                   "The marginal row subtracts the scan of the 50k-entry corpus, which removes "
                   "the binary's fixed cost; the other rows include it.)")
        out.append("")

    # ---- darlings' own phase timings (DARLINGS_TIMING=1 during the probe runs) -----------
    phase_rows = []
    for err in sorted(glob.glob(os.path.join(d, "probe", "darlings-*.stderr"))):
        name = os.path.basename(err)[:-len(".stderr")]
        phases = []
        with open(err, errors="replace") as f:
            for line in f:
                m = re.match(r"darlings: timing: (\S+)\s+([0-9.]+) ms", line)
                if m:
                    phases.append(f"{m.group(1)} {float(m.group(2)) / 1000:.3f}")
        if phases:
            phase_rows.append(f"| {name} | {', '.join(phases)} |")
    if phase_rows:
        out.append("| darlings phases (one probe run, s) | |")
        out.append("|---|---|")
        out += phase_rows
        out.append("")
        out.append("(DARLINGS_TIMING of the single untimed probe run before each group: often the "
                   "first touch of the tree after other work, so closer to cold than the medians; "
                   "read the split between phases, not the totals.)")
        out.append("")

    # ---- page-cache events and competing load, from the vmstat marks -------------------
    nproc = int(meta.get("nproc", "1") or 1)
    for vm in sorted(glob.glob(os.path.join(d, "*.vmstat"))):
        group = os.path.basename(vm)[:-len(".vmstat")]
        if group in ("cold", "slowdisk"):
            continue
        vals = {}
        with open(vm) as f:
            for line in f:
                toks = line.split()
                if not toks:
                    continue
                kv = dict(zip(toks[3::2], toks[4::2]))
                vals[toks[0]] = kv
        # Foreign CPU: CPU time the whole machine spent during a round minus what hyperfine
        # measured for our own runs (+1 warmup). The load average cannot tell, it includes us.
        g = groups.get(group, {"rounds": {}})
        for rnd, rd in sorted(g["rounds"].items()):
            b, a = vals.get(f"r{rnd}-before", {}), vals.get(f"r{rnd}-after", {})
            try:
                busy = (int(a["cpu_busy_cs"]) - int(b["cpu_busy_cs"])) / 100
                steal = (int(a["cpu_steal_cs"]) - int(b["cpu_steal_cs"])) / 100
                wall = float(a["uptime_s"]) - float(b["uptime_s"])
            except (KeyError, ValueError):
                continue
            own = 0.0
            for res in rd.values():
                runs = len(res.get("times") or []) + 1
                own += (res.get("user", 0) + res.get("system", 0)) * runs
            foreign = max(0.0, busy - own)
            if wall > 0 and (foreign / (wall * nproc) > 0.10 or steal / (wall * nproc) > 0.05):
                warnings.append(
                    f"group {group} round {rnd}: other processes used {foreign:.1f} CPU-s "
                    f"({100 * foreign / (wall * nproc):.0f}% of the machine) and the hypervisor "
                    f"stole {steal:.1f} s during its {wall:.0f} s: medians are inflated by "
                    f"contention (ratios less so, if it was steady)")
        for key in sorted(vals):
            if key.endswith("-before"):
                after = vals.get(key[:-7] + "-after")
                b = vals[key]
                if after and b.get("drop_pagecache") != after.get("drop_pagecache"):
                    warnings.append(f"page cache was dropped during warm group {group} "
                                    f"({key[:-7]}): its numbers are contaminated")

    if warnings:
        out.append("Warnings:")
        out.append("")
        for w in warnings:
            out.append(f"* {w}")
        out.append("")
    return "\n".join(out)


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    parts = [summarize(d) for d in argv[1:]]
    print("\n".join(parts))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
