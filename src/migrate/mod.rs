//! `darlings migrate`: copies the data of whitelisted paths from ROOT into
//! the storage root the whitelist names, so that the next boot finds it
//! there instead of hiding it under an empty bind mount (see `docs/migrate.md`).
//!
//! [`plan`] decides, writing nothing, what happens to every path: copied,
//! already in storage, nothing to copy, or refused (a conflict with what
//! storage holds, a file being written, a running unit keeping state there,
//! no room, a storage directory that is a link). [`execute`] carries the
//! plan out: each path is copied into a staging directory in its storage
//! root ([`copy`]), compared with ROOT entry by entry and byte by byte, made
//! durable, and only then renamed into place, so a kill at any moment leaves
//! each path either absent from storage or complete and verified; the next
//! run removes the staging leftovers. Nothing outside the storage roots is
//! ever written, and nothing on ROOT is changed (atimes included).

pub mod compare;
mod content;
pub mod copy;
mod fsx;
pub mod keepers;
pub mod render;
pub mod staging;
pub mod tree;
pub mod writers;

use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

use compare::Difference;
pub use copy::Counters;
use copy::Methods;
use staging::{Staging, Storage};
use tree::{Kind, Skip, Tree};
pub use writers::{Keeper, Writer, Writers};

use crate::evidence::Listed;
use crate::{Error, Result, paths, text};

/// What to migrate.
#[derive(Debug, Clone)]
pub struct Request {
    /// ROOT as a host path (a directory).
    pub root: PathBuf,
    /// The whitelist in effect (in-root paths and storage roots).
    pub listed: Vec<Listed>,
    /// Only these whitelisted paths (in-root, normalised); empty: all of them.
    pub only: Vec<Vec<u8>>,
    /// Only the entries of these storage roots; empty: all of them.
    pub storage: Vec<Vec<u8>>,
    /// Running units known to keep state under a directory (the owner
    /// attribution of the audit fills this; empty when unknown).
    pub keepers: Vec<Keeper>,
}

/// Why a path is not migrated.
#[derive(Debug, Clone)]
pub enum Refusal {
    /// Storage already holds something else at the destination.
    Conflict(Vec<Difference>),
    /// Files under the path are being written: (entry below the path, writer).
    Writers(Vec<(Vec<u8>, Writer)>),
    /// A running unit keeps its state there.
    Kept(Vec<Keeper>),
    /// The storage file system has not room for all the copies.
    NoRoom {
        /// Bytes the copies need.
        need: u64,
        /// Bytes free.
        free: u64,
    },
    /// The path or its destination cannot be used as they are (the message says why).
    Unusable(String),
    /// ROOT could not be read.
    Unreadable(String),
    /// The data changed while it was copied, twice.
    Changed(String),
    /// Copying or verifying failed (nothing was made visible).
    Failed(String),
    /// Something appeared at the destination while the copy was made.
    Appeared,
}

/// What happens (or happened) to one path.
#[derive(Debug, Clone)]
pub enum State {
    /// To be copied (the plan).
    ToCopy,
    /// Copied, verified and in place.
    Copied(Methods),
    /// Storage already holds the same data (the text says how we know).
    InStorage(&'static str),
    /// Nothing at the path on ROOT: nothing to copy.
    NothingOnRoot,
    /// The path is a mount point on ROOT (already mounted from storage or
    /// another file system): its data is not on ROOT.
    Mounted,
    /// The path is a symlink into storage already.
    Linked,
    /// Inside another whitelisted directory of the same storage, copied with it.
    Covered(Vec<u8>),
    /// Not migrated.
    Refused(Refusal),
}

/// One whitelisted path in the plan.
#[derive(Debug)]
pub struct PathPlan {
    /// The whitelist entry.
    pub entry: Listed,
    /// Index of its storage root in [`Plan::storages`].
    pub storage: usize,
    /// The copy's in-root path (`/persist/var/lib/foo`).
    pub dest: Vec<u8>,
    /// The copy's host path (`/mnt/root/persist/var/lib/foo`).
    pub dest_host: PathBuf,
    /// What happens to it.
    pub state: State,
    /// Entries to copy (or found in storage).
    pub entries: u64,
    /// Bytes of file content (hard links once).
    pub bytes: u64,
    /// Room the copy needs, conservatively (no sharing of extents assumed).
    pub need: u64,
    /// Entries found but not copied: (path below the whitelisted path, why).
    pub skipped: Vec<(Vec<u8>, Skip)>,
    source: Option<Source>,
}

#[derive(Debug)]
struct Source {
    /// The directory of ROOT holding the path.
    parent: OwnedFd,
    tree: Tree,
    /// When it was walked (seconds since the epoch).
    walked_at: i64,
    /// Storage holds an empty directory at the destination (the module
    /// created it at activation): the copy takes its place.
    over_empty: bool,
}

/// The plan of a migration, and after [`execute`], its results.
#[derive(Debug)]
pub struct Plan {
    /// ROOT.
    pub root: PathBuf,
    root_fd: OwnedFd,
    /// The storage roots involved.
    pub storages: Vec<Storage>,
    /// Every selected whitelisted path, in path order.
    pub paths: Vec<PathPlan>,
    /// False when some processes' open files could not be inspected (not root).
    pub writers_complete: bool,
    /// Staging leftovers removed by [`execute`]: (host path, entries).
    pub removed: Vec<(PathBuf, u64)>,
}

impl Plan {
    /// Room (bytes, entries) the paths still to copy need on the file
    /// system of storage root `storage` (every storage root on it counts).
    pub fn need(&self, storage: usize) -> (u64, u64) {
        let dev = self.storages[storage].id.0;
        self.paths
            .iter()
            .filter(|p| self.storages[p.storage].id.0 == dev && matches!(p.state, State::ToCopy))
            .fold((0, 0), |(n, e), p| (n + p.need, e + p.entries))
    }

    /// Whether storage root `storage` is the first of its file system in
    /// [`Plan::storages`] (the one room is reported for).
    pub fn first_on_fs(&self, storage: usize) -> bool {
        let dev = self.storages[storage].id.0;
        self.storages.iter().position(|s| s.id.0 == dev) == Some(storage)
    }

    /// Checks the room of every storage file system; the paths to copy onto
    /// one that has not enough become [`Refusal::NoRoom`]. With `all`, one
    /// shortfall refuses every path to copy (nothing is started). Returns
    /// whether anything was short.
    fn check_room(&mut self, all: bool) -> bool {
        let short: Vec<bool> = (0..self.storages.len())
            .map(|si| {
                let (need, entries) = self.need(si);
                let s = &self.storages[si];
                need > s.free || s.free_inodes.is_some_and(|f| f < entries)
            })
            .collect();
        let any = short.iter().any(|&b| b);
        if !any {
            return false;
        }
        let needs: Vec<(u64, u64)> = (0..self.storages.len())
            .map(|si| (self.need(si).0, self.storages[si].free))
            .collect();
        for p in self
            .paths
            .iter_mut()
            .filter(|p| matches!(p.state, State::ToCopy))
        {
            if all || short[p.storage] {
                let (need, free) = needs[p.storage];
                p.state = State::Refused(Refusal::NoRoom { need, free });
            }
        }
        true
    }

    /// Whether every path's data is in storage (nothing refused).
    pub fn all_in_storage(&self) -> bool {
        !self
            .paths
            .iter()
            .any(|p| matches!(p.state, State::Refused(_)))
    }

    /// Total bytes of the paths to copy.
    pub fn bytes_to_copy(&self) -> u64 {
        self.paths
            .iter()
            .filter(|p| matches!(p.state, State::ToCopy))
            .map(|p| p.bytes)
            .sum()
    }
}

fn seconds_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

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
    let busy: Vec<(Vec<u8>, Writer)> = tree
        .nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| n.kind == Kind::File)
        .flat_map(|(i, n)| writers.of(n.id).iter().map(move |w| (i, w.clone())))
        .map(|(i, w)| (tree.inner(i), w))
        .collect();
    if !busy.is_empty() {
        return State::Refused(Refusal::Writers(busy));
    }
    // impermanence and preservation create each listed directory in storage
    // when the whitelist is first activated: an empty one holds nothing to
    // lose, so the copy replaces it (never a non-empty one).
    let over_empty = kind == Kind::Dir
        && dest_top
            .as_ref()
            .is_some_and(|d| d.node().kind == Kind::Dir)
        && dest_parent.as_ref().is_some_and(|dp| {
            tree::walk(dp.as_fd(), &name, tree::Read::META).is_ok_and(|t| t.nodes.len() == 1)
        });
    if !over_empty && let (Some(dp), Some(_)) = (&dest_parent, &dest_top) {
        return match compare_with_storage(parent.as_fd(), &tree, dp.as_fd()) {
            Ok(d) if d.is_empty() => State::InStorage("same content and metadata"),
            Ok(d) => State::Refused(Refusal::Conflict(d)),
            Err(e) => State::Refused(Refusal::Unreadable(e)),
        };
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

/// The files of `tree` being written, with their writers.
fn busy_files(tree: &Tree, writers: &Writers) -> Vec<(Vec<u8>, Writer)> {
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

/// What [`execute`] reports as it goes.
pub trait Observer {
    /// A path is about to be copied.
    fn start(&mut self, _path: &PathPlan) {}
    /// A path is done (its state is final).
    fn done(&mut self, _path: &PathPlan) {}
}

/// An observer that says nothing.
pub struct Quiet;
impl Observer for Quiet {}

/// Carries the plan out: locks the storage roots, removes staging leftovers,
/// checks the room again, then copies, verifies and renames every path to
/// copy, one at a time. The states in `plan` become the results.
pub fn execute(plan: &mut Plan, counters: &Counters, observer: &mut dyn Observer) -> Result<()> {
    for s in &plan.storages {
        match s.lock() {
            Ok(()) => {}
            Err(Errno::WOULDBLOCK) => {
                return Err(Error::Usage(format!(
                    "another darlings migrate is writing into {}: wait for it to finish",
                    text::quote_path(&s.host)
                )));
            }
            Err(e) => return Err(Error::io("cannot lock", &s.host, e.into())),
        }
    }
    for s in plan.storages.iter_mut() {
        let host = s.host.clone();
        for (name, n) in s
            .remove_leftovers()
            .map_err(|e| Error::io("cannot remove staging leftovers in", &host, e.into()))?
        {
            plan.removed
                .push((host.join(std::ffi::OsStr::from_bytes(&name)), n));
        }
        s.refresh()
            .map_err(|e| Error::io("cannot read the free room of", &host, e.into()))?;
    }
    // Room again, now that leftovers are gone; a shortfall stops everything.
    if plan.check_room(true) {
        return Ok(());
    }
    let mut stagings: Vec<Option<Staging>> = plan.storages.iter().map(|_| None).collect();
    let mut writers = None;
    // Verified copies are made durable and renamed into place by a second
    // thread while the next path is copied: waiting for the disk overlaps
    // with work instead of stopping it (a kill still leaves each path
    // absent or complete: the rename comes after the sync).
    let (jobs, job_rx) = std::sync::mpsc::channel::<Publish>();
    let (results_tx, results) = std::sync::mpsc::channel::<(usize, State)>();
    let publisher = std::thread::Builder::new()
        .name("darlings-publish".into())
        .spawn(move || {
            for job in job_rx {
                let i = job.index;
                let state = job.publish();
                if results_tx.send((i, state)).is_err() {
                    break;
                }
            }
        })
        .map_err(|e| Error::Internal(format!("cannot start a thread: {e}")))?;
    let finish = |plan: &mut Plan, (i, state): (usize, State), observer: &mut dyn Observer| {
        plan.paths[i].state = state;
        observer.done(&plan.paths[i]);
    };
    for i in 0..plan.paths.len() {
        while let Ok(r) = results.try_recv() {
            finish(plan, r, observer);
        }
        if !matches!(plan.paths[i].state, State::ToCopy) {
            continue;
        }
        observer.start(&plan.paths[i]);
        let si = plan.paths[i].storage;
        let staging = match &mut stagings[si] {
            Some(s) => s,
            slot => match Staging::create(&plan.storages[si]) {
                Ok(s) => slot.insert(s),
                Err(e) => {
                    let state = State::Refused(Refusal::Failed(format!(
                        "cannot create a staging directory in {}: {}",
                        text::quote_path(&plan.storages[si].host),
                        std::io::Error::from(e)
                    )));
                    finish(plan, (i, state), observer);
                    continue;
                }
            },
        };
        let outcome = migrate_one(
            plan.root_fd.as_fd(),
            &plan.storages[si],
            staging,
            &mut plan.paths[i],
            counters,
            &mut writers,
        );
        plan.paths[i].source = None;
        match outcome {
            Ok(mut job) => {
                job.index = i;
                // The publisher only ends when `jobs` is dropped.
                if let Err(std::sync::mpsc::SendError(job)) = jobs.send(job) {
                    let state = job.publish();
                    finish(plan, (i, state), observer);
                }
            }
            Err(state) => finish(plan, (i, state), observer),
        }
    }
    drop(jobs);
    let _ = publisher.join();
    while let Ok(r) = results.try_recv() {
        finish(plan, r, observer);
    }
    drop(stagings);
    for s in &plan.storages {
        let _ = rustix::fs::fsync(&s.fd);
    }
    Ok(())
}

/// A verified copy waiting to be made durable and renamed into place.
struct Publish {
    /// Index of the path in the plan.
    index: usize,
    /// The staging directory and the slot holding the copy.
    staging: OwnedFd,
    slot_name: Vec<u8>,
    slot: OwnedFd,
    /// The copy's name (the whitelisted path's last component).
    name: Vec<u8>,
    /// The storage directory it goes into.
    dest_parent: OwnedFd,
    methods: Methods,
    /// Storage held an empty directory there (see [`Source`]).
    over_empty: bool,
}

impl Publish {
    /// Durable before visible: sync the file system, rename with
    /// `RENAME_NOREPLACE`, sync the directory, remove the empty slot.
    fn publish(self) -> State {
        let _t = crate::timing::phase("publish");
        let failed = |s: String| State::Refused(Refusal::Failed(s));
        let name = std::ffi::OsStr::from_bytes(&self.name);
        let state = if let Err(e) = rustix::fs::syncfs(&self.slot) {
            failed(format!("cannot sync the copy: {}", std::io::Error::from(e)))
        } else if self.over_empty {
            self.exchange_with_empty()
        } else {
            match rustix::fs::renameat_with(
                &self.slot,
                name,
                &self.dest_parent,
                name,
                rustix::fs::RenameFlags::NOREPLACE,
            ) {
                Ok(()) => match fsx::sync_dir(self.dest_parent.as_fd()) {
                    Ok(()) => State::Copied(self.methods),
                    Err(e) => failed(format!(
                        "the copy is in place, but its directory cannot be synced: {}",
                        std::io::Error::from(e)
                    )),
                },
                Err(Errno::EXIST) => State::Refused(Refusal::Appeared),
                Err(e) => failed(format!(
                    "cannot move the verified copy into place: {}",
                    std::io::Error::from(e)
                )),
            }
        };
        let _ = fsx::remove_tree(self.staging.as_fd(), &self.slot_name);
        state
    }
}

impl Publish {
    /// Puts the copy in place of storage's empty directory: the two are
    /// exchanged atomically, then the old one is removed only if it is still
    /// empty (rmdir refuses otherwise); if something was written into it
    /// meanwhile, the exchange is undone and the path refused.
    fn exchange_with_empty(&self) -> State {
        let name = std::ffi::OsStr::from_bytes(&self.name);
        let failed = |s: String| State::Refused(Refusal::Failed(s));
        if let Err(e) = rustix::fs::renameat_with(
            &self.slot,
            name,
            &self.dest_parent,
            name,
            rustix::fs::RenameFlags::EXCHANGE,
        ) {
            return match e {
                Errno::NOENT => State::Refused(Refusal::Appeared),
                e => failed(format!(
                    "cannot move the verified copy into place: {}",
                    std::io::Error::from(e)
                )),
            };
        }
        match rustix::fs::unlinkat(&self.slot, name, rustix::fs::AtFlags::REMOVEDIR) {
            Ok(()) => match fsx::sync_dir(self.dest_parent.as_fd()) {
                Ok(()) => State::Copied(self.methods),
                Err(e) => failed(format!(
                    "the copy is in place, but its directory cannot be synced: {}",
                    std::io::Error::from(e)
                )),
            },
            Err(_) => {
                // Storage's directory got entries while we copied: put it back.
                let _ = rustix::fs::renameat_with(
                    &self.slot,
                    name,
                    &self.dest_parent,
                    name,
                    rustix::fs::RenameFlags::EXCHANGE,
                );
                State::Refused(Refusal::Appeared)
            }
        }
    }
}

/// Copies and verifies one path in staging; what is left to do is the
/// [`Publish`] job (or the path's final state when it cannot be published).
fn migrate_one(
    root: std::os::fd::BorrowedFd<'_>,
    storage: &Storage,
    staging: &mut Staging,
    p: &mut PathPlan,
    counters: &Counters,
    writers: &mut Option<(std::time::Instant, Writers)>,
) -> Result<Publish, State> {
    let Some(mut source) = p.source.take() else {
        return Err(State::Refused(Refusal::Failed("nothing was walked".into())));
    };
    let name = source.tree.nodes[0].name.clone();
    let base = (
        counters.bytes.load(Ordering::Relaxed),
        counters.entries.load(Ordering::Relaxed),
        counters.verified.load(Ordering::Relaxed),
    );
    for attempt in 0..2 {
        if attempt > 0 {
            counters.bytes.store(base.0, Ordering::Relaxed);
            counters.entries.store(base.1, Ordering::Relaxed);
            counters.verified.store(base.2, Ordering::Relaxed);
            source.walked_at = seconds_now();
            source.tree = match tree::walk(source.parent.as_fd(), &name, tree::Read::META) {
                Ok(t) => t,
                Err(e) => return Err(State::Refused(Refusal::Unreadable(e.to_string()))),
            };
        }
        // Writers could have started since the plan. Reading every
        // process's fds and maps costs tens of milliseconds on a busy
        // machine: once per second is enough, the walk after the copy
        // notices any write anyway.
        let fresh = match writers.take() {
            Some((at, w)) if at.elapsed() < std::time::Duration::from_secs(1) => (at, w),
            _ => (std::time::Instant::now(), Writers::scan()),
        };
        let busy = busy_files(&source.tree, &fresh.1);
        *writers = Some(fresh);
        if !busy.is_empty() {
            return Err(State::Refused(Refusal::Writers(busy)));
        }
        let (slot, slot_fd) = match staging.slot() {
            Ok(s) => s,
            Err(e) => {
                return Err(State::Refused(Refusal::Failed(format!(
                    "cannot create a staging directory: {}",
                    std::io::Error::from(e)
                ))));
            }
        };
        match copy_and_verify(root, storage, staging, &source, &slot_fd, p, counters) {
            Ok(Ok((dest_parent, methods))) => {
                let staging_fd = match rustix::io::dup(&staging.fd) {
                    Ok(fd) => fd,
                    Err(e) => {
                        staging.remove(&slot);
                        return Err(State::Refused(Refusal::Failed(
                            std::io::Error::from(e).to_string(),
                        )));
                    }
                };
                return Ok(Publish {
                    index: 0,
                    staging: staging_fd,
                    slot_name: slot,
                    slot: slot_fd,
                    name,
                    dest_parent,
                    methods,
                    over_empty: source.over_empty,
                });
            }
            Ok(Err(state)) => {
                staging.remove(&slot);
                return Err(state);
            }
            Err(Retry(what)) => {
                staging.remove(&slot);
                if attempt > 0 {
                    return Err(State::Refused(Refusal::Changed(format!(
                        "{what}; a program is writing there: stop it, then run again"
                    ))));
                }
            }
        }
    }
    Err(State::Refused(Refusal::Failed("gave up".into())))
}

/// The source changed while it was copied: worth one more try.
struct Retry(String);

/// A verified copy's storage directory and how it was copied, or the path's
/// final state.
type Staged = std::result::Result<(OwnedFd, Methods), State>;

/// Copies the path into the slot and verifies it, then opens (creating
/// what is missing) its storage directory. `Ok(Ok(_))`: ready to publish;
/// `Ok(Err(state))`: the path's final state; `Err(Retry)`: ROOT changed.
fn copy_and_verify(
    root: std::os::fd::BorrowedFd<'_>,
    storage: &Storage,
    staging: &mut Staging,
    source: &Source,
    slot: &OwnedFd,
    p: &PathPlan,
    counters: &Counters,
) -> std::result::Result<Staged, Retry> {
    let failed = |s: String| Ok(Err(State::Refused(Refusal::Failed(s))));
    let tree = &source.tree;
    let t = crate::timing::phase("copy");
    let copier = copy::Copier {
        src: source.parent.as_fd(),
        dst: slot.as_fd(),
        tree,
        counters,
    };
    let copied = match copier.run() {
        Ok(c) => c,
        Err(e) if e.op == copy::CHANGED => return Err(Retry(e.to_string())),
        Err(e) => return failed(e.to_string()),
    };
    drop(t);
    let t = crate::timing::phase("verify");
    match copy::verify(
        source.parent.as_fd(),
        tree,
        &copied.digests,
        slot.as_fd(),
        counters,
        source.walked_at - 1,
    ) {
        Ok(d) if d.is_empty() => {}
        Ok(d) => {
            return failed(format!(
                "the copy differs from ROOT after copying ({}); nothing was made visible",
                render::differences_inline(&d)
            ));
        }
        Err(copy::VerifyError::Changed(rel)) => {
            return Err(Retry(format!(
                "{} changed while it was copied",
                text::escape_bytes(&rel)
            )));
        }
        Err(e) => return failed(e.to_string()),
    }
    drop(t);
    match staging::dest_parent(storage, root, &p.entry.path, Some(staging)) {
        Ok(Some(d)) => Ok(Ok((d, copied.methods))),
        Ok(None) => failed("cannot create its directory in storage".into()),
        Err(u) => Ok(Err(State::Refused(Refusal::Unusable(format!(
            "{} in storage {}",
            text::escape_bytes(&u.path),
            u.problem
        ))))),
    }
}
