//! The entries in effect, as the rules read them: every entry of every
//! configuration file given, in file order and duplicates kept (with its
//! file, location, module and options), then every path the live system
//! shows kept that no configuration lists (mount units, preservation's
//! tmpfiles links, bind mounts from storage).

use std::collections::HashSet;
use std::os::unix::ffi::OsStrExt;

use super::{ConfigFile, Ctx, EntryRef, location_of};
use crate::paths::is_under;
use crate::persistence::How;
use crate::scan::Kind;

/// The module an entry belongs to: what decides when and how it is set up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Module {
    /// nix-community/impermanence, `environment.persistence`.
    Impermanence,
    /// nix-community/preservation, `preservation.preserveAt`.
    Preservation,
    /// impermanence's Home Manager module, `home.persistence`.
    HomeManager,
    /// Not from a configuration: seen on the live system.
    Live,
}

/// One entry in effect.
#[derive(Clone, Debug)]
pub struct Item {
    /// The in-root path it keeps.
    pub path: Vec<u8>,
    /// Its storage root, when known.
    pub storage: Option<Vec<u8>>,
    /// Where its data lives in storage (in-root path), when known: the
    /// storage root joined with `path` for an entry of a configuration, the
    /// source of a live bind mount, the target of a live link, else the
    /// `What=` of a mount unit or the target of a tmpfiles link listing it.
    pub source: Option<Vec<u8>>,
    /// A file entry (`None`: the live system does not say).
    pub is_file: Option<bool>,
    /// Kept by a symlink into storage (else a bind mount).
    pub symlink: bool,
    /// preservation's `inInitrd = true`.
    pub in_initrd: bool,
    /// Where it comes from.
    pub module: Module,
    /// The owner configured (`user = "bird"`).
    pub user: Option<String>,
    /// The user whose list it is in (`users.bird`, a Home Manager location).
    pub home_user: Option<String>,
    /// Where it is listed.
    pub entry: Option<EntryRef>,
}

impl Item {
    /// The storage copy of `path` (this item's path or a path inside it).
    pub fn copy_of(&self, path: &[u8]) -> Option<Vec<u8>> {
        let rest = path.strip_prefix(self.path.as_slice())?;
        let mut p = self.source.clone()?;
        p.extend_from_slice(rest);
        Some(p)
    }
}

/// The tmpfiles rules preservation writes (its `L` rules are symlinks into storage).
pub const PRESERVATION_TMPFILES: &str = "/etc/tmpfiles.d/preservation.conf";

/// Every entry in effect (see the module doc).
pub fn collect(ctx: &Ctx<'_>, config: &[ConfigFile]) -> Vec<Item> {
    let mut items = Vec::new();
    let mut seen = HashSet::new();
    for c in config {
        for e in &c.whitelist.entries {
            let path = crate::paths::normalize(e.path.as_os_str().as_bytes());
            let location = location_of(&e.origin, &c.file);
            let module = match location.as_deref() {
                Some(l) if l.starts_with("preservation.") => Module::Preservation,
                Some(l) if l.starts_with("home.persistence") => Module::HomeManager,
                _ => Module::Impermanence,
            };
            seen.insert(path.clone());
            let storage = crate::paths::normalize(e.storage.as_os_str().as_bytes());
            items.push(Item {
                source: Some(super::join(&storage, &path)),
                path,
                storage: Some(storage),
                is_file: Some(e.is_file),
                symlink: e.how == How::Symlink,
                in_initrd: e.in_initrd,
                module,
                user: e.user.clone(),
                home_user: e.home.as_ref().map(|h| h.name.clone()),
                entry: Some(EntryRef {
                    file: Some(c.file.clone()),
                    location,
                    origin: e.origin.clone(),
                }),
            });
        }
    }
    let storage_of = |source: &[u8]| {
        ctx.ev
            .storage
            .iter()
            .filter(|s| is_under(source, s))
            .max_by_key(|s| s.len())
            .cloned()
    };
    let tree = ctx.audit.cur();
    for (path, kept) in &ctx.ev.kept {
        if seen.contains(path) || (kept.listed.is_none() && kept.live.is_none()) {
            continue;
        }
        seen.insert(path.clone());
        let on_root = ctx.res.lookup(path).map(|k| &tree.entries[k]);
        let symlink = kept.listed.as_deref() == Some(PRESERVATION_TMPFILES)
            || kept.live.as_ref().is_some_and(|l| l.link);
        // Where the data lives: the live source, else where the listing
        // says (a mount unit's What=, a tmpfiles link's target), so a fix
        // for a listing the live system does not back yet names it.
        let source = kept.live.as_ref().map(|l| l.source.clone()).or_else(|| {
            ctx.ev
                .listed
                .iter()
                .filter(|l| l.path == *path)
                .find_map(|l| l.what.clone())
        });
        items.push(Item {
            path: path.clone(),
            storage: source.as_deref().and_then(storage_of),
            source,
            is_file: on_root
                .filter(|e| e.kind != Kind::Symlink)
                .map(|e| e.kind != Kind::Dir),
            symlink,
            in_initrd: false,
            module: Module::Live,
            user: None,
            home_user: None,
            entry: kept.listed.as_ref().map(|o| EntryRef {
                file: None,
                location: None,
                origin: o.clone(),
            }),
        });
    }
    // Links on ROOT into storage that nothing lists (impermanence's files
    // made before their storage copy existed, links made by hand): they
    // keep data too. Only links whose text names a storage root are
    // resolved, so this costs a comparison per link.
    for (k, e) in tree.entries.iter().enumerate() {
        if e.kind != Kind::Symlink {
            continue;
        }
        let Some(text) = tree.target(k) else {
            continue;
        };
        if !ctx.ev.storage.iter().any(|s| is_under(text, s)) {
            continue;
        }
        let path = tree.path(k);
        if seen.contains(&path) {
            continue;
        }
        let r = ctx.res.resolve(&path);
        let Some(storage) = storage_of(&r.path) else {
            continue;
        };
        seen.insert(path.clone());
        items.push(Item {
            path,
            storage: Some(storage),
            source: Some(r.path),
            is_file: None,
            symlink: true,
            in_initrd: false,
            module: Module::Live,
            user: None,
            home_user: None,
            entry: None,
        });
    }
    items
}

/// The first item of each path, in path order: what the rules about the
/// path (rather than the listing) look at.
pub fn distinct(items: &[Item]) -> Vec<&Item> {
    let mut seen = HashSet::new();
    let mut out: Vec<&Item> = items
        .iter()
        .filter(|i| seen.insert(i.path.as_slice()))
        .collect();
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}
