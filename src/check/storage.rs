//! The findings about data: under mount points (`hidden-data`), on ROOT at
//! a listed path nothing backs (`not-in-storage`), at a symlink-persisted
//! path a program replaced (`replaced-link`), and in storage where no entry
//! covers it (`stale-storage`).

use std::collections::BTreeSet;
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;

use rustix::fs::ResolveFlags;

use super::hidden::Under;
use super::items::{Item, distinct};
use super::walk::{self, Count, Meta};
use super::{Ctx, Finding, Kind, join};
use crate::paths::{is_under, parent};
use crate::resolve::{NothingBeyond, Resolver};
use crate::scan::{Kind as FileKind, Tree};
use crate::text::{escape_bytes, human_bytes, rfc3339};

/// Where darlings suggests to look under a mount point.
const UNDER: &str = "/mnt/darlings-under";

/// "3 entries, 1.2 KiB".
pub(crate) fn amount(entries: u64, bytes: u64) -> String {
    let noun = crate::text::plural(entries, "entry", "entries");
    format!("{entries} {noun}, {}", human_bytes(bytes))
}

/// " (e.g. a, b, c)" for the sample names of a count, or nothing.
pub(crate) fn examples(names: &[Vec<u8>], more: bool) -> String {
    if names.is_empty() {
        return String::new();
    }
    let list: Vec<String> = names.iter().map(|n| escape_bytes(n)).collect();
    let tail = if more { ", …" } else { "" };
    format!(" (e.g. {}{tail})", list.join(", "))
}

/// The entries below tree entry `k` and the bytes of the regular files among them.
fn below(tree: &Tree, k: usize) -> (u64, u64) {
    let end = tree.entries[k].end as usize;
    let bytes = tree.entries[k + 1..end]
        .iter()
        .filter(|e| e.kind == FileKind::File)
        .map(|e| e.size)
        .sum();
    ((end - k - 1) as u64, bytes)
}

/// The metadata of the in-root path `path` (storage, usually), links in its
/// directories resolved inside ROOT, a final link not followed.
pub(crate) fn meta_in_root(ctx: &Ctx<'_>, path: &[u8]) -> Option<Meta> {
    let fd = walk::open_at_path(ctx.root_fd.as_fd(), path, false, ResolveFlags::IN_ROOT).ok()?;
    walk::meta_of(&fd).ok()
}

/// What is below the in-root directory `path`, read inside ROOT.
pub(crate) fn count_in_root(ctx: &Ctx<'_>, path: &[u8]) -> Option<Count> {
    let fd = walk::open_at_path(ctx.root_fd.as_fd(), path, true, ResolveFlags::IN_ROOT).ok()?;
    Some(walk::count_below(fd))
}

/// The first item listing `path`.
fn item_of<'a>(ctx: &'a Ctx<'_>, path: &[u8]) -> Option<&'a Item> {
    ctx.items.iter().find(|i| i.path == path)
}

/// The note on directories a count could not read (none: nothing).
fn unreadable_note(n: u64) -> String {
    match n {
        0 => String::new(),
        1 => "; 1 directory there could not be read, so there may be more".to_string(),
        n => format!("; {n} directories there could not be read, so there may be more"),
    }
}

/// One `hidden-data` finding per mount point with something under it.
pub fn hidden_data(ctx: &Ctx<'_>, under: &[Under]) -> Vec<Finding> {
    let tree = ctx.audit.cur();
    let root_host = super::sh(tree.root.as_os_str().as_bytes());
    let mut out = Vec::new();
    for u in under {
        let path = tree.path(u.entry);
        let shown = escape_bytes(&path);
        let item = item_of(ctx, &path);
        let live = ctx.ev.kept.get(&path).and_then(|k| k.live.as_ref());
        let over = match (live, tree.mount(u.entry)) {
            (Some(l), _) => l.describe(),
            (None, Some(m)) if m.fstype == "tmpfs" || m.source == m.fstype => {
                format!("{} mount", m.fstype)
            }
            (None, Some(m)) => format!(
                "{} mount of {}",
                m.fstype,
                escape_bytes(m.source.as_bytes())
            ),
            (None, None) => "mount".to_string(),
        };
        let c = &u.count;
        let what = if u.is_file {
            format!(
                "{shown} holds {} on ROOT's file system",
                human_bytes(c.bytes)
            )
        } else {
            format!(
                "{} on ROOT's file system in {shown}",
                amount(c.entries, c.bytes)
            )
        };
        let unreadable = unreadable_note(c.unreadable);
        let message = format!(
            "{what}, under the {over}: invisible while it is mounted, and lost at the next wipe{}{unreadable}",
            examples(&c.samples, c.entries > c.samples.len() as u64 && !u.is_file)
        );
        let look = super::sh(&[UNDER.as_bytes(), path.as_slice()].concat());
        let dest = item.and_then(|i| i.source.clone());
        let keep = match (&dest, u.is_file) {
            (Some(d), false) => format!(
                "copy what you keep into storage with `cp -a --update=none {look}/. {}/` (storage's copy wins where both have a file), then delete it under {look}",
                ctx.host(d)
            ),
            (Some(d), true) => format!(
                "compare {look} with {}, copy the one to keep into storage, then empty {look} (`truncate -s 0 {look}`)",
                ctx.host(d)
            ),
            (None, _) => format!("move what you keep elsewhere and delete the rest under {look}"),
        };
        let fix = format!(
            "see it through a bind mount of ROOT alone: `mkdir -p {UNDER} && mount --bind {root_host} {UNDER}`; {keep}; then `umount {UNDER}`"
        );
        out.push(Finding {
            kind: Kind::HiddenData,
            path,
            entry: item.and_then(|i| i.entry.clone()),
            bytes: c.bytes,
            message,
            fix,
        });
    }
    out
}

/// `not-in-storage` and `replaced-link`: listed paths that nothing backs
/// (neither a mount nor a link into storage) and that hold data on ROOT.
pub fn not_backed(ctx: &Ctx<'_>) -> Vec<Finding> {
    let tree = ctx.audit.cur();
    let base = ctx.audit.base().map(|b| Resolver::new(b, &NothingBeyond));
    let mut out = Vec::new();
    let mut maybe_copied = Vec::new();
    for item in distinct(&ctx.items) {
        if item.entry.is_none() {
            continue; // mounted from storage without a listing: backed by definition
        }
        let path = &item.path;
        if ctx.ev.kept.get(path).is_some_and(|k| k.live.is_some()) {
            continue;
        }
        let Some(k) = ctx.res.lookup(path) else {
            continue; // nothing on ROOT (or below a mount the scan did not enter)
        };
        let e = &tree.entries[k];
        if e.is_mount {
            continue; // something else is mounted there; hidden-data looks under it
        }
        let dest = item.source.clone();
        let was_link = base.as_ref().and_then(|b| {
            let bk = b.lookup(path)?;
            (b.tree().entries[bk].kind == FileKind::Symlink).then_some(())?;
            let r = b.resolve(path);
            ctx.ev
                .storage
                .iter()
                .any(|s| is_under(&r.path, s))
                .then_some(())
        });
        let expect_link =
            ctx.items.iter().any(|i| i.path == *path && i.symlink) || was_link.is_some();
        let now = match e.kind {
            FileKind::Symlink => {
                let r = ctx.res.resolve(path);
                if ctx.ev.storage.iter().any(|s| is_under(&r.path, s)) || !expect_link {
                    continue;
                }
                Now::Link(tree.target(k).unwrap_or_default().to_vec())
            }
            FileKind::Dir => {
                let (n, bytes) = below(tree, k);
                if n == 0 && !expect_link {
                    continue;
                }
                Now::Dir(n, bytes)
            }
            FileKind::File => {
                if e.size == 0 && !expect_link {
                    continue; // impermanence's empty placeholder
                }
                Now::File(e.size, e.mtime_ns)
            }
            _ => continue,
        };
        let stored = dest.as_ref().and_then(|d| meta_in_root(ctx, d));
        // A link is "replaced" only on evidence that it was there: the
        // baseline had it, or storage holds the data it pointed to while the
        // live system uses this storage's whitelist (the module made the
        // link). A root never set up (no copy in storage yet) just has its
        // data on ROOT: not-in-storage, whose fix copies it, where
        // replaced-link's would offer to delete the only copy. A root whose
        // whitelist is not active yet (checked before its first boot with
        // it, after `darlings migrate`) has never had the link: its data is
        // copied or not, like a bind-mounted path's.
        let replaced = expect_link
            && (was_link.is_some()
                || matches!(now, Now::Link(_))
                || (stored.is_some() && in_use(ctx, item)));
        if replaced {
            out.push(replaced_link(ctx, item, &now, dest.as_deref(), stored));
        } else {
            let copied = stored.is_some()
                && item.storage.is_some()
                && matches!(now, Now::Dir(..) | Now::File(..));
            let finding = not_in_storage(ctx, item, &now, dest.as_deref(), stored);
            if copied {
                maybe_copied.push((item, finding));
            } else {
                out.push(finding);
            }
        }
    }
    // Storage holds a copy too (a root checked offline after `darlings
    // migrate`, or a copy made by hand): when it is the same data, the boot
    // shows storage's copy and the wipe deletes only a duplicate, so nothing
    // is lost. Decided as migrate decides "already in storage" (every entry's
    // metadata and BLAKE3), in one plan for all such paths.
    let same = same_in_storage(ctx, maybe_copied.iter().map(|(item, _)| *item));
    out.extend(
        maybe_copied
            .into_iter()
            .filter(|(item, _)| !same.contains(&item.path))
            .map(|(_, finding)| finding),
    );
    out
}

/// Returns true if and only if `item`'s storage root is in use: the live
/// system backs some other path from it (a bind mount from it, a link into
/// it), or the root's own generation lists paths in it (a mount unit, a
/// tmpfiles link rule: the system on ROOT is built with the whitelist). Then
/// the module has set up `item` too.
fn in_use(ctx: &Ctx<'_>, item: &Item) -> bool {
    let Some(storage) = item.storage.as_deref() else {
        return false;
    };
    let generation =
        ctx.ev.listed.iter().skip(ctx.ev.configured).any(|l| {
            l.storage == storage || l.what.as_deref().is_some_and(|w| is_under(w, storage))
        });
    if generation {
        return true;
    }
    let live = ctx
        .ev
        .kept
        .iter()
        .filter(|(path, _)| **path != item.path)
        .filter_map(|(_, k)| k.live.as_ref())
        .any(|l| is_under(&l.source, storage));
    // Links into storage that nothing lists are items of their own (no
    // entry), not in the evidence's kept paths.
    live || ctx.items.iter().any(|i| {
        i.path != item.path
            && i.entry.is_none()
            && i.symlink
            && i.source.as_deref().is_some_and(|s| is_under(s, storage))
    })
}

/// The paths among `items` whose copy in storage holds the same data as
/// ROOT: content, kind, mode, owner, mtime, link text, xattrs and hard links
/// (the comparison of `darlings migrate`). A path the comparison cannot
/// decide (unreadable, a file open for writing) is not in the set.
fn same_in_storage<'a>(ctx: &Ctx<'_>, items: impl Iterator<Item = &'a Item>) -> BTreeSet<Vec<u8>> {
    let listed: Vec<crate::evidence::Listed> = items
        .filter_map(|item| {
            Some(crate::evidence::Listed {
                path: item.path.clone(),
                storage: item.storage.clone()?,
                is_file: item.is_file.unwrap_or(false),
                by_symlink: false,
                origin: String::new(),
                what: None,
            })
        })
        .collect();
    if listed.is_empty() {
        return BTreeSet::new();
    }
    let request = crate::migrate::Request {
        root: ctx.audit.cur().root.clone(),
        listed,
        only: Vec::new(),
        storage: Vec::new(),
        keepers: Vec::new(),
    };
    let Ok(plan) = crate::migrate::plan(&request) else {
        return BTreeSet::new();
    };
    plan.paths
        .into_iter()
        .filter(|p| matches!(p.state, crate::migrate::State::InStorage(_)))
        .map(|p| p.entry.path)
        .collect()
}

/// What sits at a listed path on ROOT.
enum Now {
    /// A directory with this many entries and bytes below it.
    Dir(u64, u64),
    /// A regular file of this size and mtime.
    File(u64, i64),
    /// A symlink with this text.
    Link(Vec<u8>),
}

impl Now {
    fn bytes(&self) -> u64 {
        match self {
            Now::Dir(_, b) | Now::File(b, _) => *b,
            Now::Link(_) => 0,
        }
    }

    fn describe(&self) -> String {
        match self {
            Now::Dir(n, b) => format!("a directory holding {}", amount(*n, *b)),
            Now::File(size, mtime) => format!(
                "a regular file of {} modified {}",
                human_bytes(*size),
                rfc3339(*mtime)
            ),
            Now::Link(t) => format!("a link to {}", escape_bytes(t)),
        }
    }
}

fn stored_text(ctx: &Ctx<'_>, dest: &[u8], stored: Option<Meta>) -> String {
    let d = escape_bytes(dest);
    match stored {
        None => format!("{d} does not exist yet"),
        Some(m) if m.kind == Some(FileKind::Dir) => match count_in_root(ctx, dest) {
            Some(c) => format!("{d} holds {}", amount(c.entries, c.bytes)),
            None => format!("{d} exists"),
        },
        Some(m) => format!(
            "{d} holds {} modified {}",
            human_bytes(m.size),
            rfc3339(m.mtime_ns)
        ),
    }
}

/// `darlings migrate [ROOT] PATH --yes`: the verified copy of one listed path.
fn migrate_command(ctx: &Ctx<'_>, path: &[u8]) -> String {
    let root = ctx.audit.cur().root.as_os_str().as_bytes();
    let root = if root == b"/" {
        String::new()
    } else {
        format!("{} ", super::sh(root))
    };
    let mut command = format!("darlings migrate {root}{}", super::sh(path));
    for w in &ctx.persistence_words {
        command.push(' ');
        command.push_str(w);
    }
    command + " --yes"
}

fn not_in_storage(
    ctx: &Ctx<'_>,
    item: &Item,
    now: &Now,
    dest: Option<&[u8]>,
    stored: Option<Meta>,
) -> Finding {
    let path = &item.path;
    let p = ctx.host(path);
    // Listed as the wrong kind, the module mounts a file over a directory
    // (or the reverse) and the mount fails at boot: fix the entry first,
    // since copying cannot help (migrate refuses it too).
    let wrong_kind = match (item.is_file, now) {
        (Some(true), Now::Dir(..)) => Some(("a file", "a directory", "directories")),
        (Some(false), Now::File(..)) => Some(("a directory", "a file", "files")),
        _ => None,
    };
    if let Some((listed_as, is, list)) = wrong_kind {
        return Finding {
            kind: Kind::NotInStorage,
            path: path.clone(),
            entry: item.entry.clone(),
            bytes: now.bytes(),
            message: format!(
                "listed as {listed_as}, but it is {is} on ROOT ({}): the mount at the next boot fails, nothing keeps it, and the wipe deletes it",
                now.describe()
            ),
            fix: format!(
                "move the entry to the {list} list, then copy the data into storage (darlings migrate)"
            ),
        };
    }
    let (message_tail, fix) = match dest {
        None => (
            String::new(),
            "copy it into the storage that will be mounted there, before the next boot".to_string(),
        ),
        Some(d) => {
            let host_d = ctx.host(d);
            let fix = match (now, stored) {
                (Now::Dir(..), Some(m)) if m.kind == Some(FileKind::Dir) => format!(
                    "merge it into storage before the next boot: `cp -a --update=none {p}/. {host_d}/` (storage's copy wins where both have a file: compare them first)"
                ),
                (_, Some(_)) => format!(
                    "compare {p} with {host_d} and keep the one you need in storage before the next boot (`cp -a {p} {host_d}` makes the root's copy win)"
                ),
                // migrate copies, verifies and only then makes the copy
                // visible; cp -a stays as the by-hand way.
                (_, None) => format!(
                    "copy it into storage before the next boot, verified: `{}`, or by hand: `mkdir -p {} && cp -a {p} {host_d}`",
                    migrate_command(ctx, path),
                    ctx.host(parent(d))
                ),
            };
            (format!("; {}", stored_text(ctx, d, stored)), fix)
        }
    };
    // A path kept by a link is not hidden by anything: the wipe deletes
    // ROOT's copy and the link made at boot shows storage's.
    let fate = if item.symlink {
        "which the wipe at the next boot deletes before the link into storage is made"
    } else {
        "which the next boot hides under the mount, and the wipe then deletes"
    };
    Finding {
        kind: Kind::NotInStorage,
        path: path.clone(),
        entry: item.entry.clone(),
        bytes: now.bytes(),
        message: format!(
            "listed, but neither mounted nor linked from storage: {} here is {}, {fate}{message_tail}",
            escape_bytes(path),
            now.describe()
        ),
        fix,
    }
}

fn replaced_link(
    ctx: &Ctx<'_>,
    item: &Item,
    now: &Now,
    dest: Option<&[u8]>,
    stored: Option<Meta>,
) -> Finding {
    let path = &item.path;
    let p = ctx.host(path);
    let d = dest.map_or_else(|| "storage".to_string(), super::sh);
    let shown_d = dest.map_or_else(|| "storage".to_string(), escape_bytes);
    let stored = dest
        .map(|dd| format!("; {}", stored_text(ctx, dd, stored)))
        .unwrap_or_default();
    let restore = match (now, dest) {
        (_, None) => "restore the link into storage".to_string(),
        (Now::File(..), Some(dd)) => format!(
            "keep the newer copy and restore the link: `mv {p} {} && ln -s {d} {p}` if the root's copy is newer, else `rm {p} && ln -s {d} {p}`",
            ctx.host(dd)
        ),
        (Now::Dir(..), Some(dd)) => format!(
            "merge it into storage and restore the link: `cp -a --update=none {p}/. {}/ && rm -r {p} && ln -s {d} {p}`",
            ctx.host(dd)
        ),
        (Now::Link(_), Some(_)) => format!("restore the link: `ln -sfn {d} {p}`"),
    };
    let how = match item.module {
        super::items::Module::Preservation => "how = \"bindmount\"",
        _ => "no method = \"symlink\"",
    };
    Finding {
        kind: Kind::ReplacedLink,
        path: path.clone(),
        entry: item.entry.clone(),
        bytes: now.bytes(),
        message: format!(
            "persisted as a symlink into {shown_d}, but it is now {}: a program replaced the link, so what it wrote since stays on ROOT and is lost at the next wipe{stored}",
            now.describe()
        ),
        fix: format!("{restore}; {}", instead(path, how)),
    }
}

/// What to persist instead of a link a program keeps replacing: the
/// directory holding it, unless NixOS generates files in that directory
/// (`/etc`: persisting it whole hides them), then only the bind mount.
fn instead(path: &[u8], how: &str) -> String {
    let dir = parent(path);
    if dir == b"/" || dir == b"/etc" {
        format!(
            "a program that saves by replacing the file will do it again: bind-mount the file instead ({how})"
        )
    } else {
        format!(
            "a program that saves by replacing the file will do it again: persist the directory holding it ({}) instead, or bind-mount the file ({how})",
            escape_bytes(dir)
        )
    }
}

/// `stale-storage`: what the storage roots hold that no entry covers.
/// Returns the findings and, for each root that could not be looked at, why.
pub fn stale(ctx: &Ctx<'_>) -> (Vec<Finding>, Vec<String>) {
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    if ctx.items.is_empty() {
        skipped.push(
            "no whitelist is known (give --persistence, or check a system whose persistence is set up), so everything in storage would look stale"
                .to_string(),
        );
        return (out, skipped);
    }
    // Only Home Manager configs given (one file per user): they say nothing
    // of the system's entries, so storage outside those users' homes is not
    // judged (it would all look stale, with `rm -r` as the fix).
    let configs: Vec<&Item> = ctx
        .items
        .iter()
        .filter(|i| i.entry.as_ref().is_some_and(|e| e.file.is_some()))
        .collect();
    let home_only = !configs.is_empty()
        && configs
            .iter()
            .all(|i| i.module == super::items::Module::HomeManager);
    let homes: BTreeSet<Vec<u8>> = if home_only {
        configs
            .iter()
            .filter_map(|i| {
                let name = i.home_user.as_deref()?;
                let home = ctx.users.home_of(name)?;
                Some(crate::paths::normalize(home.as_os_str().as_bytes()))
            })
            .collect()
    } else {
        BTreeSet::new()
    };
    if home_only {
        let shown: Vec<String> = homes.iter().map(|h| escape_bytes(h)).collect();
        skipped.push(format!(
            "only Home Manager configs were given: storage outside {} is not checked (give the NixOS config's export too)",
            if shown.is_empty() {
                "the users' homes".to_string()
            } else {
                shown.join(", ")
            }
        ));
    }
    for s in &ctx.ev.storage {
        let Ok(fd) = walk::open_at_path(ctx.root_fd.as_fd(), s, true, ResolveFlags::IN_ROOT) else {
            skipped.push(format!(
                "storage {} cannot be read inside ROOT",
                escape_bytes(s)
            ));
            continue;
        };
        // Paths (relative to the storage root) that entries keep, and the
        // other storage roots inside this one.
        let mut covered: BTreeSet<Vec<u8>> = BTreeSet::new();
        for i in &ctx.items {
            match &i.source {
                Some(src) if is_under(src, s) && src != s => {
                    covered.insert(src[if s == b"/" { 0 } else { s.len() }..].to_vec());
                }
                Some(_) => {}
                // A listing the live system shows without its source (a
                // mount unit not mounted): the usual layout.
                None => {
                    covered.insert(i.path.clone());
                }
            }
        }
        for other in &ctx.ev.storage {
            if other != s && is_under(other, s) {
                covered.insert(other[if s == b"/" { 0 } else { s.len() }..].to_vec());
            }
        }
        if covered.is_empty() {
            skipped.push(format!(
                "no entry uses storage {}, so all of it would look stale",
                escape_bytes(s)
            ));
            continue;
        }
        let before = out.len();
        stale_in(ctx, s, &fd, b"", &covered, &mut out);
        if home_only {
            let mut kept = out.split_off(before);
            kept.retain(|f| {
                let rel = &f.path[if s == b"/" { 0 } else { s.len() }..];
                homes.iter().any(|h| is_under(rel, h))
            });
            out.extend(kept);
        }
    }
    (out, skipped)
}

/// Returns true if and only if some covered path is strictly below `rel`.
fn covers_below(covered: &BTreeSet<Vec<u8>>, rel: &[u8]) -> bool {
    let mut prefix = rel.to_vec();
    prefix.push(b'/');
    covered
        .range(prefix.clone()..)
        .next()
        .is_some_and(|p| p.starts_with(&prefix))
}

fn stale_in(
    ctx: &Ctx<'_>,
    storage: &[u8],
    dir: &std::os::fd::OwnedFd,
    rel: &[u8],
    covered: &BTreeSet<Vec<u8>>,
    out: &mut Vec<Finding>,
) {
    let Ok(names) = walk::names(dir) else {
        return;
    };
    for name in names {
        // The file system's own recovery directory is no one's data.
        if rel.is_empty() && name == b"lost+found" {
            continue;
        }
        let mut r = rel.to_vec();
        r.push(b'/');
        r.extend_from_slice(&name);
        if covered.contains(&r) {
            continue;
        }
        let Ok(m) = walk::meta_at(dir, &name) else {
            continue;
        };
        let is_dir = m.kind == Some(FileKind::Dir);
        if is_dir && covers_below(covered, &r) {
            if let Ok(sub) = walk::open_dir_at(dir, &name) {
                stale_in(ctx, storage, &sub, &r, covered, out);
            }
            continue;
        }
        let count = if is_dir {
            let Ok(mut sub) = walk::open_dir_at(dir, &name) else {
                continue;
            };
            // A directory holding only one directory is just its parent
            // (impermanence creates the parents of every entry): name the
            // deepest one, where the data is.
            while let Ok([only]) = walk::names(&sub).as_deref() {
                let only = only.clone();
                if walk::meta_at(&sub, &only).map(|m| m.kind) != Ok(Some(FileKind::Dir)) {
                    break;
                }
                let Ok(next) = walk::open_dir_at(&sub, &only) else {
                    break;
                };
                r.push(b'/');
                r.extend_from_slice(&only);
                sub = next;
            }
            walk::count_below(sub)
        } else {
            Count {
                entries: 0,
                bytes: if m.kind == Some(FileKind::File) {
                    m.size
                } else {
                    0
                },
                ..Count::default()
            }
        };
        if is_dir && count.entries == 0 {
            continue; // an empty directory left behind holds no data
        }
        let in_storage = join(storage, &r);
        let entries = count.entries + 1;
        let list = if is_dir { "directories" } else { "files" };
        out.push(Finding {
            kind: Kind::StaleStorage,
            path: in_storage.clone(),
            entry: None,
            bytes: count.bytes,
            message: format!(
                "{} in storage that no whitelist entry covers: nothing mounts or links it, so the system neither sees nor updates it{}",
                amount(entries, count.bytes),
                examples(&count.samples, count.entries > count.samples.len() as u64)
            ),
            fix: format!(
                "if you still need it, list \"{}\" in the whitelist's {list} again; if not, delete it: `rm -r {}`; leave it where something reads it by its storage path (a key file your configuration names)",
                escape_bytes(&r),
                ctx.host(&in_storage)
            ),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_singular_for_one() {
        assert_eq!(amount(1, 0), "1 entry, 0 B");
        assert_eq!(amount(2, 0), "2 entries, 0 B");
        assert_eq!(unreadable_note(0), "");
        assert!(unreadable_note(1).starts_with("; 1 directory there"));
        assert!(unreadable_note(3).starts_with("; 3 directories there"));
    }
}
