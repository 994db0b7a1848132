//! `darlings migrate`: copies the data of whitelisted paths from ROOT into
//! the storage root the whitelist names, so that the next boot finds it
//! there instead of hiding it under an empty bind mount (see `docs/migrate.md`).
//!
//! [`plan`] (`planning.rs`) decides, writing nothing, what happens to every path: copied,
//! already in storage, nothing to copy, or refused (a conflict with what
//! storage holds, a file being written, a running unit keeping state there,
//! no room, a storage directory that is a link). [`execute`] (`execution.rs`) carries the
//! plan out: each path is copied into a staging directory in its storage
//! root ([`copy`]), compared with ROOT entry by entry and byte by byte, made
//! durable, and only then renamed into place, so a kill at any moment leaves
//! each path either absent from storage or complete and verified; the next
//! run removes the staging leftovers. Nothing outside the storage roots is
//! ever written, and nothing on ROOT is changed (atimes included).

pub mod compare;
mod content;
pub mod copy;
mod execution;
mod fsx;
pub mod keepers;
mod planning;
pub mod render;
pub mod staging;
pub mod tree;
pub mod writers;

use std::os::fd::OwnedFd;
use std::path::PathBuf;

use compare::Difference;
pub use copy::Counters;
use copy::Methods;
pub use execution::{Observer, Quiet, execute};
pub use planning::plan;
use staging::Storage;
use tree::{Skip, Tree};
pub use writers::{Keeper, Writer, Writers};

use crate::evidence::Listed;

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

impl Request {
    /// The request to migrate `only` (empty: every path) of the whitelist
    /// entries `listed` (`check::listed` of the configs read) on `root`,
    /// within the storage roots `storage` (empty: all); the running units
    /// keeping state there are looked up here. `darlings migrate` and the
    /// TUI's `m` both build theirs with it. (The entries come in read, so
    /// migrate stays below check, which plans with it.)
    pub fn new(
        root: PathBuf,
        listed: Vec<Listed>,
        only: Vec<Vec<u8>>,
        storage: Vec<Vec<u8>>,
    ) -> Request {
        Request {
            listed,
            keepers: keepers::running(&root),
            root,
            only,
            storage,
        }
    }
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
    /// Storage holds an empty directory or empty file at the destination
    /// (the module created it at activation): the copy takes its place.
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

/// Now, in seconds since the epoch (when a tree was walked).
fn seconds_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}
