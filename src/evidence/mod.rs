//! The facts classification needs beyond the trees themselves, gathered once:
//! the storage roots, what the whitelist keeps (from the given configs and
//! from the live system: storage bind mounts, mount units, tmpfiles links
//! into storage), `/etc/.clean`, the links systemd-tmpfiles makes at boot,
//! the units' state directories and the owners they give, userborn, the
//! homes of the root's users, and the user's ignore rules. This is the only
//! classification stage that reads files, and it reads only small
//! configuration files inside ROOT, without touching their atime.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::Result;
use crate::mountinfo::Mount;
use crate::resolve::{Ending, Resolver, is_under};
use crate::scan::Kind;

pub mod accounts;
mod ignore_rules;
mod mounts;
mod tmpfiles;
pub mod units;
mod userborn;

pub use accounts::Accounts;
pub use ignore_rules::{load_ignore, parse_ignore};
pub use userborn::Userborn;

/// A path the configuration says to keep.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    /// In-root absolute path.
    pub path: Vec<u8>,
    /// The storage root holding its data (`/persist`).
    pub storage: Vec<u8>,
    /// A file entry (else a directory).
    pub is_file: bool,
    /// Kept by a symlink into storage (else a bind mount).
    pub by_symlink: bool,
    /// Where it was listed, for reasons (`environment.persistence."/persist" in cfg.json`).
    pub origin: String,
    /// Where its data lives in storage, when the listing names it: a mount
    /// unit's `What=`, the target of a tmpfiles `L` rule (in-root path).
    /// `None` for a configuration's entry, whose copy is the storage root
    /// joined with the path.
    pub what: Option<Vec<u8>>,
}

/// What is known about one kept path.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Kept {
    /// Listed in a configuration (or a mount unit / tmpfiles rule): where.
    pub listed: Option<String>,
    /// Backed on the live system: how, and from where.
    pub live: Option<Live>,
    /// Listed, not backed yet, and storage already holds a copy at this
    /// in-root path (after `darlings migrate`): what the boot will show.
    pub stored: Option<Vec<u8>>,
    /// Listed, not backed yet, and nothing on ROOT to lose there: an empty
    /// directory or an empty file (the module makes it again in storage).
    pub holds_nothing: bool,
}

/// How the live system backs a kept path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Live {
    /// The storage path its data lives at (in-root): the bind mount's
    /// source, or where the symlink resolves inside ROOT.
    pub source: Vec<u8>,
    /// A symlink into storage (else a bind mount from it).
    pub link: bool,
}

impl Live {
    /// The words of the classification's reasons (`bind mount from
    /// /persist/var/log`, `symlink into /persist/etc/machine-id`).
    pub fn describe(&self) -> String {
        let how = if self.link {
            "symlink into"
        } else {
            "bind mount from"
        };
        format!("{how} {}", String::from_utf8_lossy(&self.source))
    }
}

/// A disagreement between the configuration and the live system.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Warning {
    /// What is wrong, in words (names escaped for terminals).
    pub text: String,
    /// The in-root path it is about.
    pub path: Vec<u8>,
    /// Which disagreement.
    pub kind: WarningKind,
}

/// The disagreements between the configuration and the live system.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum WarningKind {
    /// Bind-mounted from storage but not listed in the configs given.
    NotListed,
    /// Listed but neither mounted nor linked, with something on the root
    /// (the check's `not-in-storage` or `replaced-link` when it holds data).
    NotBacked,
}

/// Everything classification knows besides the trees.
#[derive(Debug, Default)]
pub struct Evidence {
    /// Persistent storage roots (in-root paths).
    pub storage: Vec<Vec<u8>>,
    /// Kept paths by in-root path.
    pub kept: BTreeMap<Vec<u8>, Kept>,
    /// In-root paths listed in `/etc/.clean` (copied by activation).
    pub etc_clean: HashSet<Vec<u8>>,
    /// The user's ignore rules (`--ignore`).
    pub ignore: Option<ignore::gitignore::Gitignore>,
    /// Disagreements between configuration and the live system, sorted by text.
    pub warnings: Vec<Warning>,
    /// Symlinks systemd-tmpfiles makes at every boot (other than into
    /// storage), with the file of the rule.
    pub tmpfiles_links: HashMap<Vec<u8>, String>,
    /// The service units of the root.
    pub services: Vec<crate::owners::Service>,
    /// The links systemd makes to a `DynamicUser=` service's directories
    /// (`/var/lib/foo` → `private/foo`) when it starts, with the unit.
    pub dynamic_links: HashMap<Vec<u8>, String>,
    /// Who keeps state in each service directory.
    pub owners: crate::owners::Owners,
    /// userborn, when the root uses it.
    pub userborn: Option<Userborn>,
    /// `users.mutableUsers` of the root's system generation, when it has one.
    pub accounts: Option<Accounts>,
    /// The homes of the root's people (`/etc/passwd`), `/root` included.
    pub homes: Vec<Vec<u8>>,
    /// Every listing in effect, in order: the `--persistence` configs' entries
    /// (the first [`Evidence::configured`]), then the mount units and the
    /// tmpfiles rules into storage.
    pub listed: Vec<Listed>,
    /// How many of [`Evidence::listed`] come from the `--persistence` configs.
    pub configured: usize,
}

impl Evidence {
    /// Returns true if and only if `path` lies in a home: one `/etc/passwd`
    /// gives a person, `/root`, or a directory right below `/home`.
    pub fn in_home(&self, path: &[u8]) -> bool {
        let under_home = path
            .strip_prefix(b"/home/")
            .is_some_and(|rest| rest.contains(&b'/'));
        under_home
            || is_under(path, b"/root")
            || self
                .homes
                .iter()
                .any(|h| is_under(path, h) && path != h.as_slice())
    }
}

/// Inputs of [`gather`].
pub struct GatherInput<'a> {
    /// The root's tree, with its links resolved inside ROOT.
    pub resolver: &'a Resolver<'a>,
    /// Storage roots (in-root paths): `--storage` and the storage roots of
    /// the `--persistence` configs, those with no entries included; empty
    /// for the default.
    pub storage: &'a [PathBuf],
    /// Paths listed by the `--persistence` configs.
    pub listed: Vec<Listed>,
    /// `--ignore FILE`.
    pub ignore_file: Option<&'a Path>,
    /// The mount table of the process (for the storage mounts' devices).
    pub host_mounts: &'a [Mount],
}

/// Gathers the evidence for one audit.
pub fn gather(input: GatherInput<'_>) -> Result<Evidence> {
    let GatherInput {
        resolver: res,
        storage,
        listed,
        ignore_file,
        host_mounts,
    } = input;
    let tree = res.tree();
    let configs_given = !listed.is_empty();
    let configured = listed.len();
    let mut ev = Evidence::default();
    // `--storage` adds to the configs' storage roots, never hides them.
    let mut roots: Vec<Vec<u8>> = storage
        .iter()
        .map(|p| normalize(p.as_os_str().as_bytes()))
        .collect();
    roots.extend(listed.iter().map(|l| l.storage.clone()));
    if roots.is_empty() {
        roots.push(b"/persist".to_vec());
    }
    roots.sort();
    roots.dedup();
    ev.storage = roots;

    let units = units::read(res, &ev.storage);
    let tmpfiles = tmpfiles::read(res, &ev.storage);
    let mut all_listed = listed;
    all_listed.extend(units.mounts);
    all_listed.extend(tmpfiles.kept);
    ev.tmpfiles_links = tmpfiles.links;
    let users = crate::users::Users::read(&tree.root);
    ev.homes = users
        .people()
        .into_iter()
        .map(|(_, home)| normalize(home.as_os_str().as_bytes()))
        .collect();
    ev.userborn = userborn::detect(res, &units.services);
    ev.accounts = accounts::detect(res);
    ev.owners = crate::owners::Owners::new(&units.services, users);
    for s in units.services.iter().filter(|s| s.dynamic_user) {
        for d in &s.dirs {
            if let Some(link) = crate::owners::unprivate(&d.path) {
                ev.dynamic_links.insert(link, s.name.clone());
            }
        }
    }
    ev.services = units.services;
    for l in &all_listed {
        let k = ev.kept.entry(l.path.clone()).or_default();
        if k.listed.is_none() {
            k.listed = Some(l.origin.clone());
        }
    }

    // Live bind mounts from storage, read off the mount points the scan met.
    let root_host = tree.root.as_os_str().as_bytes().to_vec();
    for m in &tree.mounts {
        let path = tree.path(m.entry as usize);
        if let Some(source) = mounts::storage_source(&ev.storage, &root_host, host_mounts, m) {
            let k = ev.kept.entry(path.clone()).or_default();
            k.live = Some(Live {
                source: source.clone(),
                link: false,
            });
            if configs_given && k.listed.is_none() {
                ev.warnings.push(Warning {
                    text: format!(
                        "{} is bind-mounted from {} but not listed in the given persistence configs",
                        crate::text::escape_bytes(&path),
                        crate::text::escape_bytes(&source)
                    ),
                    path: path.clone(),
                    kind: WarningKind::NotListed,
                });
            }
        }
    }
    // Listed paths backed by a symlink into storage, and listed paths not backed at all.
    for l in &all_listed {
        let Some(k) = res.lookup(&l.path) else {
            continue; // listed but absent from the root: nothing to lose
        };
        let e = &tree.entries[k];
        let kept = ev.kept.entry(l.path.clone()).or_default();
        if kept.live.is_some() {
            continue;
        }
        if e.kind == Kind::Symlink {
            let r = res.resolve(&l.path);
            if ev.storage.iter().any(|s| is_under(&r.path, s)) {
                kept.live = Some(Live {
                    source: r.path,
                    link: true,
                });
                continue;
            }
        }
        if e.is_mount {
            continue; // mounted from elsewhere: classified by its mount
        }
        // An empty directory or file holds nothing the wipe could take (as
        // `darlings check`, which has no finding for it): no warning.
        kept.holds_nothing = match e.kind {
            Kind::Dir => e.end as usize == k + 1,
            Kind::File => e.size == 0,
            _ => false,
        };
        if kept.holds_nothing {
            continue;
        }
        let mut copy = if l.storage == b"/" {
            Vec::new()
        } else {
            l.storage.clone()
        };
        copy.extend_from_slice(&l.path);
        // Storage holding a copy already (after `darlings migrate`): the
        // boot shows that copy; whether it is this data, the check compares.
        let stored = exists_in_root(&tree.root, &copy);
        if stored {
            kept.stored = Some(copy.clone());
        }
        let text = if stored {
            format!(
                "{} is listed in {} but not mounted or linked yet: the next boot shows storage's copy {} here and the wipe deletes the root's (`darlings check` says whether they differ)",
                crate::text::escape_bytes(&l.path),
                l.origin,
                crate::text::escape_bytes(&copy),
            )
        } else {
            // A link hides nothing: the wipe deletes the data, then the
            // module links the path to storage.
            let fate = if l.by_symlink {
                "deleted by the wipe (then linked to storage)"
            } else {
                "hidden (then lost)"
            };
            format!(
                "{} is listed in {} but neither mounted nor linked: its data sits on the root and \
                 would be {fate} once the whitelist is active; move it to {} first \
                 (darlings migrate)",
                crate::text::escape_bytes(&l.path),
                l.origin,
                crate::text::escape_bytes(&copy),
            )
        };
        ev.warnings.push(Warning {
            text,
            path: l.path.clone(),
            kind: WarningKind::NotBacked,
        });
    }
    ev.warnings.sort();
    ev.warnings.dedup();
    ev.listed = all_listed;
    ev.configured = configured;

    if let Some(text) = read_in_root(res, b"/etc/.clean") {
        for line in text.split(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if !line.is_empty() {
                let mut p = b"/etc/".to_vec();
                p.extend_from_slice(line);
                ev.etc_clean.insert(normalize(&p));
            }
        }
    }
    if let Some(f) = ignore_file {
        ev.ignore = load_ignore(f)?;
    }
    Ok(ev)
}

/// Reads a small text file (1 MiB at most) at an in-root path, links
/// resolved inside ROOT by the kernel, opened without touching its atime;
/// `None` when it is missing or not a regular file.
pub(super) fn read_in_root(res: &Resolver<'_>, path: &[u8]) -> Option<Vec<u8>> {
    crate::safe_open::read_in_root(&res.tree().root, path, 1 << 20).ok()
}

/// Lists a directory at an in-root path (in the tree, or beyond it on the host).
pub(super) fn list_in_root(res: &Resolver<'_>, path: &[u8]) -> Vec<Vec<u8>> {
    let tree = res.tree();
    let r = res.resolve(path);
    if r.ending != Ending::Exists {
        return Vec::new();
    }
    if let Some(k) = res.lookup(&r.path)
        && !tree.entries[k].is_mount
    {
        return tree
            .children(Some(k))
            .map(|c| {
                let mut p = r.path.clone();
                p.push(b'/');
                p.extend_from_slice(tree.name(c));
                p
            })
            .collect();
    }
    let host = tree.root.join(std::ffi::OsStr::from_bytes(&r.path[1..]));
    crate::safe_open::list_dir(&host)
        .map(|names| {
            names
                .into_iter()
                .map(|n| {
                    let mut p = r.path.clone();
                    p.push(b'/');
                    p.extend_from_slice(&n);
                    p
                })
                .collect()
        })
        .unwrap_or_default()
}

pub use crate::paths::normalize;
pub use crate::resolve::HostBeyond;

/// Whether the in-root `path` exists (resolved inside `root`, links never
/// leading out of it): a look, nothing opened for reading.
fn exists_in_root(root: &Path, path: &[u8]) -> bool {
    use rustix::fs::{Mode, OFlags};
    rustix::fs::open(
        root,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .and_then(|dir| crate::safe_open::openat_in_root(&dir, path, OFlags::PATH | OFlags::NOFOLLOW))
    .is_ok()
}
