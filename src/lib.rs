//! darlings: what on this NixOS root would be lost at the next wipe.
//!
//! Data flows one way; a module only uses modules listed above it
//! (`tests/architecture.rs` checks both this and the order of the list):
//!
//! ```text
//! scan ──► snapshot ──► diff ──► evidence ──► classify ──► audit ──► check, suggest ──► report / summary / tui
//!                                   └──► migrate (the whitelist's data into storage; no audit)
//! ```
//!
//! Foundations, below every stage:
//! - [`text`]: escaping of names for terminals (control chars, BiDi, bad UTF-8), sizes, dates.
//! - [`error`]: the library's error type; every variant names its file.
//! - [`linediff`]: line diffs shown to people (file previews, whitelist writes).
//! - [`paths`]: absolute in-root paths as bytes: components, `is_under`, normalising.
//! - [`timing`]: phase timings on stderr with `DARLINGS_TIMING=1`.
//! - [`safe_open`]: reading files without side effects (regular files only, no atime, inside a root;
//!   under mount points through a detached clone of the mount).
//! - [`users`]: the scanned root's accounts (`/etc/passwd`, `/etc/group`): owner names and homes.
//! - [`json`]: JSON text/bytes pairs and terminal-safe escaping (report, check).
//! - [`output`]: atomic writes of every file darlings produces.
//! - [`mountinfo`]: `/proc/self/mountinfo` parser (mount points, bind sources).
//!
//! The stages:
//! - [`scan`]: the parallel walk (`openat` + `getdents64` + `statx`) and hashing into a [`scan::Tree`].
//! - [`snapshot`]: scan files: versioned, checksummed, zstd-compressed trees.
//! - [`diff`]: pairs two trees by path ([`diff::Merge`]) and decides `change` and `what`.
//! - [`resolve`]: symlink resolution inside the scanned root (never the host's).
//! - [`knowledge`]: the catalogue of well-known paths, their advice and sources (`docs/knowledge-base.md`).
//! - [`nix`]: literal view of Nix files (rnix) and Nix string quoting.
//! - [`persistence`]: reads the whitelist in effect (the modules' JSON exports, `.nix` whitelists).
//! - [`owners`]: who keeps state in a service directory (the unit naming it, or its user and that user's units).
//! - [`evidence`]: storage, whitelist (configs + live mounts/links), /etc/.clean, units, tmpfiles links, userborn, ignore rules.
//! - [`classify`]: persisted / Nix-managed / stray, with reasons and advice.
//! - [`migrate`]: copies whitelisted data from ROOT into storage, verified and crash-safe
//!   (`docs/migrate.md`); it needs the whitelist and the units, not the audit.
//! - [`audit`]: the pipeline every command runs, producing a sealed [`audit::Audit`].
//! - [`check`]: what is wrong with the whitelist in effect (`darlings check`, `docs/check.md`).
//! - [`suggest`]: what to act on: the minimal cover of stray paths, and the totals.
//!
//! What people see and what darlings writes:
//! - [`explain`]: everything behind one path's verdict (`darlings explain`, `docs/explain.md`).
//! - [`progress`]: the progress line on stderr.
//! - [`report`]: the JSON report (`docs/report-schema.md`).
//! - [`summary`]: the one-screen human summary.
//! - [`whitelist`]: adds paths to the whitelist file: a person's file edited in place through
//!   rnix's tree, a new one rendered (`docs/whitelist-editing.md`); atomic writes, `.bak`.
//! - [`tui`]: the interactive review (model / update / view, one file per pane in `tui/view/`).
//! - [`demo`]: the sample NixOS-like root of `darlings demo`.
//!
//! The command line:
//! - [`cli`], [`settings`]: the command line and its validation.
//! - [`commands`]: one file per command: arguments → settings → pipeline → printer, TUI or writer.

pub mod text;

pub mod error;
pub mod linediff;
pub mod paths;
pub mod timing;

pub mod safe_open;
pub mod users;

pub mod json;
pub mod output;

pub mod mountinfo;
pub mod scan;

pub mod snapshot;

pub mod diff;

pub mod resolve;

pub mod knowledge;
pub mod nix;
pub mod persistence;

pub mod owners;

pub mod evidence;

pub mod classify;

pub mod migrate;

pub mod audit;
pub mod check;
pub mod suggest;

pub mod explain;

pub mod progress;
pub mod report;
pub mod summary;
pub mod whitelist;

pub mod tui;

pub mod demo;

pub mod cli;
pub mod settings;

pub mod commands;

pub use commands::{Outcome, run};
pub use error::{Error, Result};
