//! `darlings check`: what is wrong with the whitelist in effect
//! (docs/check.md). Each [`Finding`] names its kind, severity, path, the
//! configuration entry it comes from, the bytes at stake, what is wrong and
//! a concrete fix.
//!
//! It reads the audit of ROOT (the scan, its resolver, the live evidence
//! the audit gathered), the configuration
//! files as given (each entry with its file and location, duplicates kept),
//! the storage roots' contents (walked by descriptor, only where no entry
//! covers them) and ROOT's own file system under its mount points (through
//! a detached clone of ROOT's mount, see [`hidden`]). It writes nothing and
//! changes no atime.
//!
//! - `items`: the entries in effect, from the configs and the live system.
//! - `rules`: nested, duplicate, home-owner, needed-at-boot, shadows-nix.
//! - `storage`: not-in-storage, replaced-link, stale-storage.
//! - [`hidden`][]: hidden-data.
//! - [`render`][]: the human text and the `darlings-check/1` JSON.
//! - [`walk`][]: descriptor-relative reads, shared by storage, rules and hidden.

pub mod hidden;
mod items;
pub mod render;
mod rules;
mod storage;
pub mod walk;

use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::audit::Audit;
use crate::evidence::Evidence;
use crate::persistence::Whitelist;
use crate::resolve::Resolver;
use crate::{Error, Result};

/// The schema identifier of `darlings check --json`.
pub const SCHEMA: &str = "darlings-check/1";

/// One `--persistence` file as read, entries in file order.
#[derive(Clone, Debug)]
pub struct ConfigFile {
    /// The file as the user named it.
    pub file: PathBuf,
    /// The `--persistence` argument that named it, as given (`USER=FILE`
    /// keeps its user): what a command the check prints passes again.
    pub arg: PathBuf,
    /// What it lists.
    pub whitelist: Whitelist,
}

/// What kind of problem a finding is (docs/check.md has one section each).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// Data on ROOT's file system under a mount point.
    HiddenData,
    /// Listed, neither mounted nor linked, with data on ROOT.
    NotInStorage,
    /// A symlink into storage replaced by a file or another link.
    ReplacedLink,
    /// Data in storage that no entry covers.
    StaleStorage,
    /// An entry over paths NixOS or home-manager generate.
    ShadowsNix,
    /// An entry inside another entry's directory.
    Nested,
    /// The same path listed twice.
    Duplicate,
    /// A path in a home listed without its owner.
    HomeOwner,
    /// A path read early in boot persisted in a way that comes too late.
    NeededAtBoot,
}

impl Kind {
    /// Every kind, in the order docs/check.md describes them.
    pub const ALL: [Kind; 9] = [
        Kind::HiddenData,
        Kind::NotInStorage,
        Kind::ReplacedLink,
        Kind::StaleStorage,
        Kind::ShadowsNix,
        Kind::Nested,
        Kind::Duplicate,
        Kind::HomeOwner,
        Kind::NeededAtBoot,
    ];

    /// The JSON spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::HiddenData => "hidden-data",
            Kind::NotInStorage => "not-in-storage",
            Kind::ReplacedLink => "replaced-link",
            Kind::StaleStorage => "stale-storage",
            Kind::ShadowsNix => "shadows-nix",
            Kind::Nested => "nested",
            Kind::Duplicate => "duplicate",
            Kind::HomeOwner => "home-owner",
            Kind::NeededAtBoot => "needed-at-boot",
        }
    }

    /// The severity every finding of this kind has.
    pub fn severity(self) -> Severity {
        match self {
            Kind::HiddenData
            | Kind::NotInStorage
            | Kind::ReplacedLink
            | Kind::ShadowsNix
            | Kind::Nested => Severity::Error,
            Kind::StaleStorage | Kind::Duplicate | Kind::HomeOwner | Kind::NeededAtBoot => {
                Severity::Warning
            }
        }
    }
}

/// How bad a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    /// Data is lost or hidden now or at the next boot (`check` exits 1).
    Error,
    /// Likely a mistake.
    Warning,
}

impl Severity {
    /// The JSON spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// Where a finding's path is listed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryRef {
    /// The configuration file (`None` for what the live system shows: a mount unit, a tmpfiles rule).
    pub file: Option<PathBuf>,
    /// The option path in it (`environment.persistence."/persist".files[0]`).
    pub location: Option<String>,
    /// Both in words, as the audit's reasons say it.
    pub origin: String,
}

/// One problem with the whitelist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// What kind of problem.
    pub kind: Kind,
    /// The path, absolute inside ROOT (for stale storage: the path in storage).
    pub path: Vec<u8>,
    /// The entry it comes from, when there is one.
    pub entry: Option<EntryRef>,
    /// Bytes of data at stake (hidden, not persisted, left in storage); 0
    /// when the problem is the configuration rather than data.
    pub bytes: u64,
    /// What is wrong, in words (names escaped for terminals).
    pub message: String,
    /// What to do about it.
    pub fix: String,
}

impl Finding {
    /// The severity (fixed by the kind).
    pub fn severity(&self) -> Severity {
        self.kind.severity()
    }
}

/// A kind of finding the check could not look for, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    /// The kind not looked for.
    pub kind: Kind,
    /// Why, in words.
    pub reason: String,
}

/// The result of a check.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Checked {
    /// The root checked (a host path).
    pub root: PathBuf,
    /// Findings: errors first, then by path and kind.
    pub findings: Vec<Finding>,
    /// Kinds that could not be looked for.
    pub skipped: Vec<Skipped>,
}

impl Checked {
    /// The number of findings of severity `s`.
    pub fn count(&self, s: Severity) -> usize {
        self.findings.iter().filter(|f| f.severity() == s).count()
    }

    /// Returns true if and only if some finding is an error (exit 1).
    pub fn has_errors(&self) -> bool {
        self.count(Severity::Error) > 0
    }

    /// The findings on the in-root `path`.
    pub fn on_path<'a>(&'a self, path: &'a [u8]) -> impl Iterator<Item = &'a Finding> + 'a {
        self.findings.iter().filter(move |f| f.path == path)
    }
}

/// What every rule reads.
pub(crate) struct Ctx<'a> {
    pub audit: &'a Audit,
    pub res: Resolver<'a>,
    pub ev: &'a Evidence,
    pub items: Vec<items::Item>,
    pub users: crate::users::Users,
    /// ROOT, opened `O_PATH`: storage paths are resolved inside it.
    pub root_fd: OwnedFd,
    /// `--persistence=ARG` for each config, as shell words: a printed
    /// `darlings migrate` must read the same whitelist to do anything.
    pub persistence_words: Vec<String>,
}

impl Ctx<'_> {
    /// The host path of the in-root `path` as a shell word: what the user
    /// types in a command (ROOT prefixed unless it is `/`).
    pub fn host(&self, path: &[u8]) -> String {
        let root = self.audit.cur().root.as_os_str().as_bytes();
        if root == b"/" {
            return sh(path);
        }
        let mut p = root.strip_suffix(b"/").unwrap_or(root).to_vec();
        p.extend_from_slice(path);
        sh(&p)
    }
}

/// `bytes` as one word of a shell command, safe to print on a terminal
/// (see [`crate::text::shell_quote`]).
pub fn sh(bytes: &[u8]) -> String {
    crate::text::shell_quote(bytes)
}

/// Joins a storage root and an in-root path: the entry's persistent copy.
pub(crate) fn join(storage: &[u8], path: &[u8]) -> Vec<u8> {
    let mut p = storage.to_vec();
    if p.ends_with(b"/") {
        p.pop();
    }
    p.extend_from_slice(path);
    p
}

/// Checks the whitelist in effect on the audited root: the `config` files
/// given, else what the live system shows.
pub fn run(audit: &Audit, config: &[ConfigFile]) -> Result<Checked> {
    let _t = crate::timing::phase("check");
    let root = audit.cur().root.clone();
    let res = audit.resolver();
    // The audit's evidence, unless it was gathered for other configs than
    // these, or not at all (an audit of verdicts decided elsewhere, which
    // has no storage root): then gathered here.
    let wanted = listed(config);
    let gathered;
    let ev = match audit.evidence() {
        ev if !ev.storage.is_empty()
            && ev.listed[..ev.configured.min(ev.listed.len())] == wanted[..] =>
        {
            ev
        }
        _ => {
            let host_mounts = crate::mountinfo::read_own();
            let storage: Vec<PathBuf> = audit.storage().to_vec();
            gathered = crate::evidence::gather(crate::evidence::GatherInput {
                resolver: &res,
                storage: &storage,
                listed: wanted,
                ignore_file: None,
                host_mounts: &host_mounts,
            })?;
            &gathered
        }
    };
    let root_fd = rustix::fs::open(
        &root,
        rustix::fs::OFlags::PATH | rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )
    .map_err(|e| Error::io("cannot open", &root, e.into()))?;
    let mut ctx = Ctx {
        audit,
        res,
        items: Vec::new(),
        users: crate::users::Users::read(&root),
        ev,
        root_fd,
        persistence_words: config
            .iter()
            .map(|c| {
                let mut w = b"--persistence=".to_vec();
                w.extend_from_slice(c.arg.as_os_str().as_bytes());
                sh(&w)
            })
            .collect(),
    };
    ctx.items = items::collect(&ctx, config);
    let mut findings = Vec::new();
    let mut skipped = Vec::new();
    match hidden::find(audit.cur()) {
        hidden::Hidden::Checked(under) => findings.extend(storage::hidden_data(&ctx, &under)),
        hidden::Hidden::Skipped(reason) => skipped.push(Skipped {
            kind: Kind::HiddenData,
            reason,
        }),
    }
    findings.extend(storage::not_backed(&ctx));
    skipped.extend(unreadable_listings(&ctx));
    let (stale, why) = storage::stale(&ctx);
    findings.extend(stale);
    skipped.extend(why.into_iter().map(|reason| Skipped {
        kind: Kind::StaleStorage,
        reason,
    }));
    findings.extend(rules::nested(&ctx));
    findings.extend(rules::duplicate(&ctx));
    findings.extend(rules::home_owner(&ctx));
    findings.extend(rules::needed_at_boot(&ctx));
    findings.extend(rules::shadows_nix(&ctx));
    findings.sort_by(|a, b| (a.severity(), &a.path, a.kind).cmp(&(b.severity(), &b.path, b.kind)));
    findings.dedup();
    Ok(Checked {
        root,
        findings,
        skipped,
    })
}

/// The paths the configs list, as the evidence stage takes them.
pub fn listed(config: &[ConfigFile]) -> Vec<crate::evidence::Listed> {
    config
        .iter()
        .flat_map(|c| &c.whitelist.entries)
        .map(|e| crate::evidence::Listed {
            path: crate::paths::normalize(e.path.as_os_str().as_bytes()),
            storage: crate::paths::normalize(e.storage.as_os_str().as_bytes()),
            is_file: e.is_file,
            by_symlink: e.how == crate::persistence::How::Symlink,
            origin: e.origin.clone(),
            what: None,
        })
        .collect()
}

/// Listed paths the scan could not read (all of it, or something below it:
/// as a user without the rights, a home's 0700 directory): whether their
/// data is in storage is not known, so they are named as not checked rather
/// than passed as clean.
fn unreadable_listings(ctx: &Ctx<'_>) -> Vec<Skipped> {
    let errors = ctx.audit.errors();
    items::distinct(&ctx.items)
        .into_iter()
        .filter(|i| i.entry.is_some())
        .filter_map(|i| {
            let e = errors
                .iter()
                .find(|e| crate::paths::is_under(&i.path, &e.path) || crate::paths::is_under(&e.path, &i.path))?;
            Some(Skipped {
                kind: Kind::NotInStorage,
                reason: format!(
                    "{} could not be read ({}: {}), so whether its data is in storage is not known (run as root)",
                    crate::text::escape_bytes(&i.path),
                    crate::text::escape_bytes(&e.path),
                    crate::text::escape_str(&e.error)
                ),
            })
        })
        .collect()
}

/// The location part of an entry's origin (`… in FILE` without ` in FILE`).
pub(crate) fn location_of(origin: &str, file: &Path) -> Option<String> {
    origin
        .strip_suffix(&format!(" in {}", file.display()))
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::sh;

    #[test]
    fn shell_words_are_quoted_only_when_needed_and_never_raw() {
        assert_eq!(sh(b"/persist/var/lib"), "/persist/var/lib");
        assert_eq!(sh(b"/home/a/My Documents"), "'/home/a/My Documents'");
        assert_eq!(sh(b"/x/it's"), r"'/x/it'\''s'");
        assert_eq!(sh(b"/x/a\nb"), r"$'/x/a\x0ab'");
        assert_eq!(sh(b"/x/\xff'\\"), r"$'/x/\xff\'\\'");
        assert_eq!(sh("/x/\u{202e}é".as_bytes()), r"$'/x/\xe2\x80\xaeé'");
        assert_eq!(sh(b""), "''");
    }
}
