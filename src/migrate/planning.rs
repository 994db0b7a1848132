//! The plan of a migration: what happens to every selected whitelisted path
//! (copied, already in storage, nothing to copy, or refused, and why), decided
//! by reading ROOT, storage and the running processes, writing nothing.

use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

use super::compare::{self, Difference};
use super::staging::{self, Storage};
use super::tree::{self, Kind, Tree};
use super::writers::{self, Keeper, Writer, Writers};
use super::{PathPlan, Plan, Refusal, Request, Source, State, content, seconds_now};
use crate::evidence::Listed;
use crate::{Error, Result, paths, text};

/// Decides what happens to every selected path, writing nothing.
pub fn plan(req: &Request) -> Result<Plan> {
    let _t = crate::timing::phase("plan");
    let root_fd = rustix::fs::open(
        &req.root,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| Error::io("cannot open root", &req.root, e.into()))?;
    if !Path::new("/proc/self/fd").is_dir() {
        return Err(Error::Usage(
            "migrate needs /proc (to read extended attributes and find open files); mount it first"
                .into(),
        ));
    }
    let selected = select(req)?;
    let mut storages: Vec<Storage> = Vec::new();
    for e in &selected {
        if storages.iter().any(|s| s.inroot == e.storage) {
            continue;
        }
        let s = Storage::open(root_fd.as_fd(), &e.storage).map_err(|err| {
            let host = req.root.join(std::ffi::OsStr::from_bytes(
                e.storage.strip_prefix(b"/").unwrap_or(&e.storage),
            ));
            Error::bad_input(
                host,
                format!(
                    "the storage root {} of the whitelist cannot be opened inside ROOT ({}): \
                     mount the persistent file system there first",
                    text::escape_bytes(&e.storage),
                    std::io::Error::from(err)
                ),
            )
        })?;
        storages.push(s);
    }
    let writers = Writers::scan();
    let mut paths = Vec::new();
    for e in &selected {
        let si = storages
            .iter()
            .position(|s| s.inroot == e.storage)
            .unwrap_or(0);
        let mut p = plan_path(
            req,
            root_fd.as_fd(),
            &storages[si],
            e.clone(),
            &writers,
            &selected,
        );
        p.storage = si;
        paths.push(p);
    }
    let mut plan = Plan {
        root: req.root.clone(),
        root_fd,
        storages,
        paths,
        writers_complete: writers.complete,
        removed: Vec::new(),
    };
    // Room, per storage file system, before anything is written.
    plan.check_room(false);
    Ok(plan)
}

/// The whitelist entries the request selects, in path order, validated.
fn select(req: &Request) -> Result<Vec<Listed>> {
    let mut all = req.listed.clone();
    all.sort_by(|a, b| (&a.path, &a.storage).cmp(&(&b.path, &b.storage)));
    all.dedup_by(|b, a| a.path == b.path && a.storage == b.storage);
    if all.is_empty() {
        return Err(Error::Usage(
            "the whitelist lists no paths: nothing to migrate".into(),
        ));
    }
    for s in &req.storage {
        if !all.iter().any(|e| &e.storage == s) {
            return Err(Error::Usage(format!(
                "--storage {}: no whitelisted path is kept there (the whitelist names {})",
                text::escape_bytes(s),
                storages_named(&all)
            )));
        }
    }
    for p in &req.only {
        if !all.iter().any(|e| &e.path == p) {
            return Err(Error::Usage(format!(
                "{} is not whitelisted: give whitelisted paths only (add it with `darlings promote` first)",
                text::escape_bytes(p)
            )));
        }
    }
    Ok(all
        .into_iter()
        .filter(|e| req.storage.is_empty() || req.storage.contains(&e.storage))
        .filter(|e| req.only.is_empty() || req.only.contains(&e.path))
        .collect())
}

fn storages_named(all: &[Listed]) -> String {
    let mut s: Vec<String> = all.iter().map(|e| text::escape_bytes(&e.storage)).collect();
    s.sort();
    s.dedup();
    s.join(", ")
}

fn host_of(storage: &Storage, path: &[u8]) -> PathBuf {
    storage.host.join(std::ffi::OsStr::from_bytes(
        path.strip_prefix(b"/").unwrap_or(path),
    ))
}

fn plan_path(
    req: &Request,
    root: std::os::fd::BorrowedFd<'_>,
    storage: &Storage,
    entry: Listed,
    writers: &Writers,
    selected: &[Listed],
) -> PathPlan {
    let mut dest = entry.storage.clone();
    if dest != b"/" {
        dest.extend_from_slice(&entry.path);
    } else {
        dest = entry.path.clone();
    }
    let mut p = PathPlan {
        dest_host: host_of(storage, &entry.path),
        dest,
        entry,
        storage: 0,
        state: State::ToCopy,
        entries: 0,
        bytes: 0,
        need: 0,
        skipped: Vec::new(),
        source: None,
    };
    p.state = decide(req, root, storage, &mut p, writers, selected);
    p
}

fn decide(
    req: &Request,
    root: std::os::fd::BorrowedFd<'_>,
    storage: &Storage,
    p: &mut PathPlan,
    writers: &Writers,
    selected: &[Listed],
) -> State {
    let refuse = |s: String| State::Refused(Refusal::Unusable(s));
    let path = p.entry.path.clone();
    if path == b"/" {
        return refuse("the root itself cannot be persisted".into());
    }
    if paths::is_under(&path, &storage.inroot) {
        return refuse(format!(
            "it is inside the storage root {}",
            text::escape_bytes(&storage.inroot)
        ));
    }
    if paths::is_under(&storage.inroot, &path) {
        return refuse(format!(
            "it holds the storage root {}",
            text::escape_bytes(&storage.inroot)
        ));
    }
    // A directory entry of the same storage that holds this path copies it.
    let outer = req.listed.iter().find(|o| {
        !o.is_file
            && o.storage == p.entry.storage
            && o.path != path
            && paths::is_under(&path, &o.path)
    });
    if let Some(o) = outer {
        return if selected.iter().any(|s| s.path == o.path) {
            State::Covered(o.path.clone())
        } else {
            refuse(format!(
                "it is inside {}, which is whitelisted too: migrate {} (it holds this path)",
                text::escape_bytes(&o.path),
                text::escape_bytes(&o.path)
            ))
        };
    }
    let kept: Vec<Keeper> = writers::keepers_of(&req.keepers, &path)
        .into_iter()
        .cloned()
        .collect();
    if !kept.is_empty() {
        return State::Refused(Refusal::Kept(kept));
    }
    let name = paths::components(&path).next_back().unwrap_or(b"").to_vec();
    let parent =
        match staging::open_in_root(root, paths::parent(&path), OFlags::PATH | OFlags::DIRECTORY) {
            Ok(fd) => fd,
            Err(Errno::NOENT | Errno::NOTDIR) => return State::NothingOnRoot,
            Err(e) => {
                return State::Refused(Refusal::Unreadable(std::io::Error::from(e).to_string()));
            }
        };
    let walked_at = seconds_now();
    let top = match tree::stat_at(parent.as_fd(), &name) {
        Ok(st) => st,
        Err(Errno::NOENT) => return State::NothingOnRoot,
        Err(e) => return State::Refused(Refusal::Unreadable(std::io::Error::from(e).to_string())),
    };
    let parent_mnt = staging::identity(parent.as_fd())
        .map(|(_, m)| m)
        .unwrap_or(0);
    if top.mnt_id() != parent_mnt {
        // migrate copies what the path shows, which the mount provides;
        // what ROOT's own file system holds under it is not copied, and the
        // next wipe deletes it.
        if data_under_mount(&req.root, &path) == Some(true) {
            return refuse(format!(
                "it is a mount point, and ROOT's own file system holds data under it, hidden by the mount: migrate cannot copy it, and the next wipe deletes it; `darlings check {}` counts it and says how to see and move it",
                text::shell_quote(req.root.as_os_str().as_bytes())
            ));
        }
        return State::Mounted;
    }
    let dest_parent = match staging::dest_parent(storage, root, &path, None) {
        Ok(d) => d,
        Err(u) => {
            return refuse(format!(
                "{} in storage {}",
                text::escape_bytes(&u.path),
                u.problem
            ));
        }
    };
    let dest_top = dest_parent
        .as_ref()
        .and_then(|d| tree::stat_at(d.as_fd(), &name).ok());
    let kind = top.node().kind;
    if kind == Kind::Symlink {
        // Already a link into storage (preservation's and Home Manager's way)?
        let target = staging::open_in_root(root, &path, OFlags::PATH)
            .and_then(|fd| staging::identity(fd.as_fd()));
        if let (Ok((id, _)), Some(d)) = (&target, &dest_top)
            && *id == d.node().id
        {
            return State::Linked;
        }
        return refuse(format!(
            "it is a symlink on ROOT (to {}): persist what it points to instead, or remove the link",
            text::escape_bytes(
                &rustix::fs::readlinkat(&parent, std::ffi::OsStr::from_bytes(&name), Vec::new())
                    .map(|c| c.into_bytes())
                    .unwrap_or_default()
            )
        ));
    }
    if p.entry.is_file && kind == Kind::Dir {
        return refuse("it is listed as a file, but it is a directory on ROOT".into());
    }
    if !p.entry.is_file && kind != Kind::Dir {
        return refuse(format!(
            "it is listed as a directory, but it is a {} on ROOT",
            kind.word()
        ));
    }
    if kind == Kind::Socket {
        return refuse("it is a socket: there is nothing to copy".into());
    }
    if let Some(d) = &dest_top
        && d.node().id == top.node().id
    {
        return State::InStorage("ROOT reaches the storage copy itself");
    }
    let tree = match tree::walk(parent.as_fd(), &name, tree::Read::META) {
        Ok(t) => t,
        Err(e) => return State::Refused(Refusal::Unreadable(e.to_string())),
    };
    if tree.nodes.iter().any(|n| n.id == storage.id) {
        return refuse(format!(
            "it holds the storage root {}",
            text::escape_bytes(&storage.inroot)
        ));
    }
    let (entries, bytes) = tree.totals();
    p.entries = entries;
    p.bytes = bytes;
    p.skipped = tree
        .nodes
        .iter()
        .enumerate()
        .filter_map(|(i, n)| n.skip.map(|s| (tree.inner(i), s)))
        .collect();
    let busy = busy_files(&tree, writers);
    if !busy.is_empty() {
        return State::Refused(Refusal::Writers(busy));
    }
    // impermanence and preservation create each listed directory in storage
    // when the whitelist is first activated: an empty one holds nothing to
    // lose, so the copy replaces it (never a non-empty one).
    let mut over_empty = kind == Kind::Dir
        && dest_top
            .as_ref()
            .is_some_and(|d| d.node().kind == Kind::Dir)
        && dest_parent.as_ref().is_some_and(|dp| {
            tree::walk(dp.as_fd(), &name, tree::Read::META).is_ok_and(|t| t.nodes.len() == 1)
        });
    // Both empty (a second run after the copy): the same when their
    // metadata is, not a copy again at every run.
    if over_empty
        && tree.nodes.len() == 1
        && let Some(dp) = &dest_parent
        && compare_with_storage(parent.as_fd(), &tree, dp.as_fd()).is_ok_and(|d| d.is_empty())
    {
        return State::InStorage("same content and metadata");
    }
    if !over_empty && let (Some(dp), Some(d)) = (&dest_parent, &dest_top) {
        match compare_with_storage(parent.as_fd(), &tree, dp.as_fd()) {
            Ok(diff) if diff.is_empty() => return State::InStorage("same content and metadata"),
            // The same for a listed file: the module's empty one holds
            // nothing (no bytes, no user xattrs); the copy takes its place.
            Ok(_) if kind == Kind::File && empty_file(dp.as_fd(), &name, d.node()) => {
                over_empty = true;
            }
            Ok(diff) => return State::Refused(Refusal::Conflict(diff)),
            Err(e) => return State::Refused(Refusal::Unreadable(e)),
        }
    }
    p.need = need(parent.as_fd(), &tree);
    p.source = Some(Source {
        parent,
        tree,
        walked_at,
        over_empty,
    });
    State::ToCopy
}

/// Whether storage's entry `name` of `dir` (statted as `node`) is a regular
/// file that holds nothing: no bytes and no extended attribute a program
/// stores data in (`user.*`, `trusted.*`; ACLs and security labels are the
/// file system's, not data).
pub(super) fn empty_file(dir: std::os::fd::BorrowedFd<'_>, name: &[u8], node: &tree::Node) -> bool {
    node.kind == Kind::File
        && node.size == 0
        && super::fsx::read_xattrs(dir, name).is_ok_and(|x| {
            x.iter()
                .all(|(k, _)| k.starts_with(b"system.") || k.starts_with(b"security."))
        })
}

/// The files of `tree` being written, with their writers.
pub(super) fn busy_files(tree: &Tree, writers: &Writers) -> Vec<(Vec<u8>, Writer)> {
    tree.nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| n.kind == Kind::File)
        .flat_map(|(i, n)| writers.of(n.id).iter().map(move |w| (i, w.clone())))
        .map(|(i, w)| (tree.inner(i), w))
        .collect()
}

/// Compares ROOT's tree with what storage holds at the destination.
fn compare_with_storage(
    src: std::os::fd::BorrowedFd<'_>,
    tree: &Tree,
    dest_parent: std::os::fd::BorrowedFd<'_>,
) -> std::result::Result<Vec<Difference>, String> {
    let there = tree::walk(dest_parent, &tree.nodes[0].name, tree::Read::META)
        .map_err(|e| format!("cannot read the copy in storage: {e}"))?;
    let p = compare::pair(tree, &there);
    let pairs = compare::content_pairs(tree, &there, &p);
    let hashed = compare::hash_pairs(src, tree, dest_parent, &there, &pairs);
    Ok(compare::differences(tree, &there, &p, &|x, y| {
        hashed
            .get(&(x, y))
            .cloned()
            .unwrap_or_else(|| Err("not hashed".into()))
    }))
}

/// Room a copy of `tree` needs: every file's data rounded up to 4 KiB
/// blocks (a sparse file's data segments only; hard links once), 4 KiB per
/// directory and per long symlink. Sharing of extents (reflinks) is not
/// assumed: the figure is an upper bound.
fn need(src: std::os::fd::BorrowedFd<'_>, tree: &Tree) -> u64 {
    const BLOCK: u64 = 4096;
    let round = |b: u64| b.div_ceil(BLOCK) * BLOCK;
    let mut seen = std::collections::HashSet::new();
    let mut total = 0;
    for (i, n) in tree.copied() {
        match n.kind {
            Kind::Dir => total += BLOCK,
            Kind::Symlink if n.target.len() > 60 => total += BLOCK,
            Kind::File if n.nlink < 2 || seen.insert(n.id) => {
                let data = if n.blocks * 512 < n.size {
                    content::data_bytes(src, &tree.rel(i), n.id, n.size).unwrap_or(n.size)
                } else {
                    n.size
                };
                total += round(data);
            }
            _ => {}
        }
    }
    total
}

/// Whether ROOT's own file system holds data under the mount point `path`
/// (a non-empty directory, or a non-empty file under a file bind mount:
/// the modules leave an empty placeholder), read as `darlings check` reads
/// it: through a detached clone of ROOT's mount, which shows ROOT's file
/// system with nothing mounted in it and which nobody else sees. `None`
/// when it cannot be looked at (not root, an old kernel, gone).
fn data_under_mount(root: &Path, path: &[u8]) -> Option<bool> {
    use crate::safe_open::{detached_clone, open_at_path};
    use rustix::fs::ResolveFlags;
    let clone = detached_clone(root).ok()?;
    let resolve = ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_XDEV;
    let pinned = open_at_path(&clone, path, false, resolve).ok()?;
    let st = rustix::fs::statx(
        &pinned,
        "",
        rustix::fs::AtFlags::EMPTY_PATH,
        rustix::fs::StatxFlags::TYPE | rustix::fs::StatxFlags::SIZE,
    )
    .ok()?;
    if rustix::fs::FileType::from_raw_mode(u32::from(st.stx_mode))
        != rustix::fs::FileType::Directory
    {
        return Some(st.stx_size > 0);
    }
    let dir = open_at_path(&clone, path, true, resolve).ok()?;
    Some(!super::fsx::list_names(dir.as_fd()).ok()?.is_empty())
}
