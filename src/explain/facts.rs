//! The evidence behind the rule that decided a class, as [`Fact`]s: read
//! back from what classification read (the configuration entries, the live
//! backing, the mount, the symlink chain inside ROOT, `/etc/static`).

use std::os::unix::ffi::OsStrExt;

use super::{Fact, Input};
use crate::audit::Audit;
use crate::classify::{Class, ClassRule};
use crate::paths::is_under;
use crate::resolve::{Ending, HostBeyond, Resolver};
use crate::scan::{Kind, Tree};

/// How many kept children a [`Fact::Holds`] names.
const HOLDS_SHOWN: usize = 5;

/// The evidence behind rule `by` for pair `i` at `path` (`at`: the ancestor
/// where an inherited rule applies).
pub(super) fn facts(
    input: &Input<'_>,
    i: usize,
    path: &[u8],
    by: ClassRule,
    at: Option<&[u8]>,
) -> Vec<Fact> {
    let audit = input.audit;
    let ev = audit.evidence();
    let top = at.unwrap_or(path);
    let res = resolver_of(audit, i);
    let mut out = Vec::new();
    match by {
        ClassRule::Storage | ClassRule::InStorage => {
            if let Some(s) = ev.storage.iter().find(|s| s.as_slice() == top) {
                out.push(Fact::StorageRoot { path: s.clone() });
            }
            out.extend(mount_at(&res, top));
        }
        ClassRule::Kept | ClassRule::InKept | ClassRule::Listed | ClassRule::InListed => {
            out.extend(config_entries(input, top));
            if let Some(live) = ev.kept.get(top).and_then(|k| k.live.as_ref()) {
                out.push(Fact::Backing {
                    path: top.to_vec(),
                    source: live.source.clone(),
                    link: live.link,
                });
            }
            out.extend(mount_at(&res, top));
            if res.lookup(top).map(|k| res.tree().entries[k].kind) == Some(Kind::Symlink) {
                out.push(chain(&res, top));
            }
        }
        ClassRule::Nix | ClassRule::UnderNix | ClassRule::SeparateFs | ClassRule::VolatileMount => {
            out.extend(mount_at(&res, top));
        }
        ClassRule::LinkIntoStorage => {
            out.push(chain(&res, path));
            let r = res.resolve(path);
            if let Some(s) = ev.storage.iter().find(|s| is_under(&r.path, s)) {
                out.push(Fact::StorageRoot { path: s.clone() });
            }
        }
        ClassRule::LinkLoop
        | ClassRule::RecreatedLink
        | ClassRule::LoaderLink
        | ClassRule::HomeManagerLink
        | ClassRule::HomeManagerGeneration
        | ClassRule::StoreLink => out.push(chain(&res, path)),
        ClassRule::DynamicUserLink => {
            out.push(chain(&res, path));
            if let Some(unit) = ev.dynamic_links.get(path) {
                out.push(Fact::DynamicUser { unit: unit.clone() });
            }
        }
        ClassRule::TmpfilesLink => {
            out.push(chain(&res, path));
            if let Some(file) = ev.tmpfiles_links.get(path) {
                out.push(Fact::Tmpfiles { file: file.clone() });
            }
        }
        ClassRule::EtcStaticLink => {
            out.push(chain(&res, path));
            out.extend(etc_static(&res, path));
        }
        ClassRule::EtcStatic => out.extend(etc_static(&res, path)),
        ClassRule::EtcClean => {
            if let Some(rel) = path.strip_prefix(b"/etc/") {
                out.push(Fact::EtcClean { line: rel.to_vec() });
            }
        }
        ClassRule::Userborn => {
            if let Some(ub) = &ev.userborn {
                out.push(Fact::Userborn {
                    location: ub.location.clone(),
                    evidence: ub.evidence.clone(),
                });
            }
        }
        ClassRule::Holds => out.push(holds(audit, i)),
        ClassRule::Regenerated
        | ClassRule::MutableAccounts
        | ClassRule::BootDir
        | ClassRule::NoRule => {}
    }
    // Any symlink shows where it leads, whatever decided its class.
    let is_link = res.lookup(path).map(|k| res.tree().entries[k].kind) == Some(Kind::Symlink);
    let shown = out
        .iter()
        .any(|f| matches!(f, Fact::Chain { path: p, .. } if p.as_slice() == path));
    if is_link && !shown {
        out.push(chain(&res, path));
    }
    out
}

/// The resolver classification used for pair `i`: ROOT's, or for a removed
/// path the baseline's (lookups below mount points on ROOT's host side, as
/// classification made them).
fn resolver_of(audit: &Audit, i: usize) -> ResolverOf<'_> {
    match audit.base() {
        Some(b) if !audit.on_root(i) => ResolverOf::Base(
            b,
            HostBeyond {
                root: audit.cur().root.clone(),
            },
        ),
        _ => ResolverOf::Root(audit.resolver()),
    }
}

/// A resolver that may own what it borrows from (see [`resolver_of`]).
enum ResolverOf<'a> {
    Root(Resolver<'a>),
    Base(&'a Tree, HostBeyond),
}

impl ResolverOf<'_> {
    fn with<T>(&self, f: impl FnOnce(&Resolver<'_>) -> T) -> T {
        match self {
            ResolverOf::Root(r) => f(r),
            ResolverOf::Base(t, beyond) => f(&Resolver::new(t, beyond)),
        }
    }

    fn lookup(&self, path: &[u8]) -> Option<usize> {
        self.with(|r| r.lookup(path))
    }

    fn resolve(&self, path: &[u8]) -> crate::resolve::Resolution {
        self.with(|r| r.resolve(path))
    }

    fn tree(&self) -> &Tree {
        match self {
            ResolverOf::Root(r) => r.tree(),
            ResolverOf::Base(t, _) => t,
        }
    }
}

fn chain(res: &ResolverOf<'_>, path: &[u8]) -> Fact {
    res.with(|r| {
        let c = r.chain(path);
        Fact::Chain {
            path: path.to_vec(),
            hops: c.hops,
            ending: c.ending,
            resolved: r.resolve(path).path,
        }
    })
}

fn mount_at(res: &ResolverOf<'_>, path: &[u8]) -> Option<Fact> {
    let tree = res.tree();
    let k = res.lookup(path)?;
    tree.mount(k).map(|m| Fact::Mount {
        path: path.to_vec(),
        fstype: m.fstype.clone(),
        source: m.source.clone(),
        fs_root: m.fs_root.clone(),
        dev: m.dev,
    })
}

fn etc_static(res: &ResolverOf<'_>, path: &[u8]) -> Option<Fact> {
    let rel = path.strip_prefix(b"/etc/")?;
    let mut stat = b"/etc/static/".to_vec();
    stat.extend_from_slice(rel);
    let r = res.resolve(&stat);
    Some(Fact::EtcStatic {
        path: stat,
        exists: r.ending == Ending::Exists,
        resolved: r.path,
    })
}

/// Every listing of the kept path `top`: the `--persistence` files'
/// entries with their file and location, then the live system's.
fn config_entries(input: &Input<'_>, top: &[u8]) -> Vec<Fact> {
    let ev = input.audit.evidence();
    let mut out = Vec::new();
    for c in input.config {
        for e in &c.whitelist.entries {
            if crate::paths::normalize(e.path.as_os_str().as_bytes()) != top {
                continue;
            }
            let storage = crate::paths::normalize(e.storage.as_os_str().as_bytes());
            out.push(Fact::ConfigEntry {
                path: top.to_vec(),
                file: Some(c.file.clone()),
                location: crate::check::location_of(&e.origin, &c.file),
                origin: e.origin.clone(),
                source: Some(crate::check::join(&storage, top)),
                storage: Some(storage),
                symlink: Some(e.how == crate::persistence::How::Symlink),
                is_file: Some(e.is_file),
            });
        }
    }
    // The audit's own listings beyond the configs: mount units, tmpfiles rules.
    let from = ev.configured.min(ev.listed.len());
    for l in ev.listed[from..].iter().filter(|l| l.path == top) {
        out.push(Fact::ConfigEntry {
            path: top.to_vec(),
            file: None,
            location: None,
            origin: l.origin.clone(),
            storage: Some(l.storage.clone()).filter(|s| !s.is_empty()),
            source: l.what.clone(),
            symlink: Some(l.by_symlink),
            is_file: Some(l.is_file),
        });
    }
    out
}

/// The kept children of directory pair `i` (what the hold rule saw).
fn holds(audit: &Audit, i: usize) -> Fact {
    let mut paths = Vec::new();
    let mut count = 0;
    for c in audit.merge().children(Some(i)) {
        if !audit.on_root(c) {
            continue;
        }
        let v = audit.verdict(c);
        if v.class != Class::Stray {
            count += 1;
            if paths.len() < HOLDS_SHOWN {
                paths.push((audit.path(c), v.class));
            }
        }
    }
    Fact::Holds { paths, count }
}
