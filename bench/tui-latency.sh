#!/bin/sh
# Latency of the TUI on a synthetic million-entry root: the first frame after
# the audit arrives and every key kind (move, expand, filter, sort, search as
# you type), handled and drawn on an in-memory terminal, p50/p99/max in ms.
# DARLINGS_TUI_ROUNDS=N repeats the script N times (default 3).
set -eu
cd "$(dirname "$0")/.."
exec nice cargo test --release --test tui -- --ignored --exact latency_on_a_million_entries --nocapture
