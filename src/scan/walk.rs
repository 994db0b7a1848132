//! The walk: one rayon task per directory, each directory opened relative
//! to its parent's descriptor, read with `getdents64` into one buffer, and
//! every entry statted relative to it (`statx(dirfd, name)`); see the module
//! doc of [`super`] for why it is hand-written. Each directory's children
//! become one name-sorted run of a [`Flat`] store, which [`super::assemble`]
//! puts in tree order.

use std::collections::HashMap;
use std::ffi::{CStr, CString, OsStr};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use rayon::prelude::*;
use rustix::fs::{AtFlags, Mode, OFlags, RawDir, Statx, StatxAttributes, StatxFlags};
use rustix::io::Errno;

use super::hash;
use super::tree::{Entry, ErrorKind, Kind, MountPoint, NONE, ScanError};
use super::{Progress, ScanOptions, errno_reason, io_reason};
use crate::mountinfo::{self, Mount};
use crate::{Error, Result};

/// Directories with more entries than this are statted by several threads.
const SPLIT_DIR: usize = 512;

/// The statx fields every entry needs.
pub(super) const STATX_MASK: StatxFlags = StatxFlags::BASIC_STATS.union(StatxFlags::MNT_ID);

/// Walks the directory `root_fd` (statted as `root_stat`) on `opts.threads`
/// threads; returns every entry found, one run per directory, and the
/// per-path errors met (unsorted).
pub(super) fn walk(
    opts: &ScanOptions,
    progress: &Progress,
    root_fd: OwnedFd,
    root_stat: &Statx,
) -> Result<(Flat, Vec<ScanError>)> {
    let exclude = build_excludes(&opts.exclude)?;
    raise_fd_limit();

    let mounts = mountinfo::read_own();
    let canonical_root = std::fs::canonicalize(&opts.root).unwrap_or_else(|_| opts.root.clone());
    let walker = Walker {
        exclude,
        hash_all: opts.hash_all,
        has_mnt_id: root_stat.stx_mask & StatxFlags::MNT_ID.bits() != 0,
        mounts_by_id: mounts.iter().map(|m| (m.id, m.clone())).collect(),
        mount_paths: mount_paths_inside(&mounts, &canonical_root),
        flat: Mutex::new(Flat::default()),
        errors: Mutex::new(Vec::new()),
        next_dir: AtomicU32::new(1),
        progress,
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.threads.max(1))
        .thread_name(|i| format!("darlings-scan-{i}"))
        .build()
        .map_err(|e| Error::Usage(format!("cannot start {} threads: {e}", opts.threads)))?;
    let root_dir = DirTask {
        fd: root_fd,
        id: 0,
        path: Arc::new(Vec::new()),
        depth: 0,
        mnt_id: root_stat.stx_mnt_id,
        dev: (root_stat.stx_dev_major, root_stat.stx_dev_minor),
    };
    {
        let _t = crate::timing::phase("walk");
        pool.scope(|s| walker.visit(s, root_dir));
    }
    let Walker { flat, errors, .. } = walker;
    Ok((
        flat.into_inner().unwrap_or_else(|p| p.into_inner()),
        errors.into_inner().unwrap_or_else(|p| p.into_inner()),
    ))
}

/// One directory to read: its descriptor and where it sits.
struct DirTask {
    fd: OwnedFd,
    /// Index of this directory's listing (0 = the root).
    id: u32,
    /// In-root path (`/var/lib`; empty for the root).
    path: Arc<Vec<u8>>,
    /// Depth of the directory (0 for the root).
    depth: u16,
    /// Mount id of the directory, to tell which children are mount points.
    mnt_id: u64,
    /// `major:minor` of the directory's file system (fallback mount check).
    dev: (u32, u32),
}

/// Entries with their names, link targets, hashes and mounts, indices local
/// to this piece: one directory's children as a worker builds them, or all
/// of them once appended (see [`Flat`]).
#[derive(Default)]
pub(super) struct Listing {
    pub(super) entries: Vec<Entry>,
    pub(super) hashes: Vec<[u8; 32]>,
    pub(super) names: Vec<u8>,
    pub(super) targets: Vec<(u32, u32)>,
    pub(super) target_bytes: Vec<u8>,
    /// Mount points, with `entry` an index into `entries`.
    pub(super) mounts: Vec<MountPoint>,
}

impl Listing {
    /// Appends `l`, rebasing its indices; returns where its entries start.
    fn append(&mut self, l: Listing) -> u32 {
        let start = self.entries.len() as u32;
        let (name_base, target_base, bytes_base, hash_base) = (
            self.names.len() as u32,
            self.targets.len() as u32,
            self.target_bytes.len() as u32,
            self.hashes.len() as u32,
        );
        self.hashes.extend_from_slice(&l.hashes);
        self.names.extend_from_slice(&l.names);
        self.target_bytes.extend_from_slice(&l.target_bytes);
        self.targets
            .extend(l.targets.iter().map(|&(o, n)| (o + bytes_base, n)));
        self.entries.extend(l.entries.into_iter().map(|mut e| {
            e.name_off += name_base;
            if e.target != NONE {
                e.target += target_base;
            }
            if e.hash != NONE {
                e.hash += hash_base;
            }
            e
        }));
        self.mounts.extend(l.mounts.into_iter().map(|mut m| {
            m.entry += start;
            m
        }));
        start
    }
}

/// Every entry found, in the order directories were read: each directory's
/// children are one contiguous, name-sorted run. `assemble` puts the runs in
/// tree order in place, so a million entries are stored once, not twice.
/// While flat, an entry's `end` holds its directory's listing id (or NONE).
#[derive(Default)]
pub(super) struct Flat {
    pub(super) all: Listing,
    /// `(start, len)` in `all.entries` of each listing id's children.
    pub(super) runs: Vec<(u32, u32)>,
}

struct Walker<'p> {
    exclude: Option<globset::GlobSet>,
    /// Hash regular files as they are met (`--hash all`).
    hash_all: bool,
    has_mnt_id: bool,
    mounts_by_id: HashMap<u64, Mount>,
    /// In-root paths of mount points (used when statx has no mount id).
    mount_paths: std::collections::HashSet<Vec<u8>>,
    flat: Mutex<Flat>,
    errors: Mutex<Vec<ScanError>>,
    next_dir: AtomicU32,
    progress: &'p Progress,
}

impl<'p> Walker<'p> {
    fn visit<'s>(&'s self, scope: &rayon::Scope<'s>, dir: DirTask) {
        if self.progress.cancel.load(Ordering::Relaxed) {
            return;
        }
        let (buf, mut names) = match read_names(&dir.fd) {
            Ok(n) => n,
            Err(e) => {
                self.error(
                    dir.path.to_vec(),
                    ErrorKind::from_errno(e),
                    format!("cannot read directory: {}", errno_reason(e)),
                );
                return;
            }
        };
        // Names stay in the one buffer getdents filled (NUL-terminated, so
        // each is a ready `CStr` for statx); sorting moves only (offset, len).
        let name_of = |&(off, len): &(u32, u32)| &buf[off as usize..(off + len) as usize];
        names.sort_unstable_by(|a, b| name_of(a).cmp(name_of(b)));
        let dir_fd = Arc::new(dir.fd);
        let stat_one = |r: &(u32, u32)| {
            let with_nul = &buf[r.0 as usize..=(r.0 + r.1) as usize];
            let name = CStr::from_bytes_with_nul(with_nul).ok()?;
            self.stat_child(&dir_fd, &dir.path, dir.mnt_id, dir.dev, name)
        };
        let results: Vec<Option<ChildStat>> = if names.len() > SPLIT_DIR {
            names.par_iter().with_min_len(64).map(stat_one).collect()
        } else {
            names.iter().map(stat_one).collect()
        };
        let mut listing = Listing {
            entries: Vec::with_capacity(results.len()),
            ..Listing::default()
        };
        for (name_ref, st) in names.iter().zip(results) {
            let Some(st) = st else { continue };
            let nb = name_of(name_ref);
            let mut entry = st.entry;
            entry.name_off = listing.names.len() as u32;
            entry.name_len = nb.len() as u16;
            listing.names.extend_from_slice(nb);
            if let Some(t) = st.target {
                entry.target = listing.targets.len() as u32;
                listing
                    .targets
                    .push((listing.target_bytes.len() as u32, t.len() as u32));
                listing.target_bytes.extend_from_slice(&t);
            }
            if let Some(h) = st.hash {
                entry.hash = listing.hashes.len() as u32;
                listing.hashes.push(h);
            }
            if let Some(mut m) = st.mount {
                m.entry = listing.entries.len() as u32;
                listing.mounts.push(*m);
            }
            entry.end = NONE;
            if entry.kind == Kind::Dir && !entry.is_mount {
                let depth = u32::from(dir.depth) + 1;
                let mut path = Vec::with_capacity(dir.path.len() + 1 + nb.len());
                path.extend_from_slice(&dir.path);
                path.push(b'/');
                path.extend_from_slice(nb);
                if depth > u32::from(u16::MAX) {
                    self.error(
                        path,
                        ErrorKind::TooLong,
                        "too deep: not descended (more than 65,535 levels)".into(),
                    );
                } else {
                    let subdir = self.next_dir.fetch_add(1, Ordering::Relaxed);
                    entry.end = subdir;
                    let parent = Arc::clone(&dir_fd);
                    let name = CString::new(nb).unwrap_or_default();
                    let (task_mnt, task_dev) = (dir.mnt_id, dir.dev);
                    scope.spawn(move |s| match open_dir(parent.as_fd(), name.as_c_str()) {
                        Ok(fd) => {
                            drop(parent);
                            self.visit(
                                s,
                                DirTask {
                                    fd,
                                    id: subdir,
                                    path: Arc::new(path),
                                    depth: depth as u16,
                                    mnt_id: task_mnt,
                                    dev: task_dev,
                                },
                            );
                        }
                        Err(e) => {
                            self.error(
                                path,
                                ErrorKind::from_errno(e),
                                format!("cannot open directory: {}", errno_reason(e)),
                            );
                            // An empty run keeps the directory in the tree.
                            self.append(subdir, Listing::default());
                        }
                    });
                }
            }
            listing.entries.push(entry);
        }
        self.progress
            .entries
            .fetch_add(listing.entries.len() as u64, Ordering::Relaxed);
        self.append(dir.id, listing);
    }

    /// Appends one directory's children to the shared flat storage.
    fn append(&self, id: u32, l: Listing) {
        let mut f = self.flat.lock().unwrap_or_else(|p| p.into_inner());
        let start = f.all.append(l);
        let len = f.all.entries.len() as u32 - start;
        let id = id as usize;
        if f.runs.len() <= id {
            f.runs.resize(id + 1, (0, 0));
        }
        f.runs[id] = (start, len);
    }

    fn error(&self, path: Vec<u8>, kind: ErrorKind, error: String) {
        let path = if path.is_empty() { b"/".to_vec() } else { path };
        self.errors
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(ScanError { path, error, kind });
    }

    fn child_path(dir: &[u8], name: &[u8]) -> Vec<u8> {
        let mut p = Vec::with_capacity(dir.len() + 1 + name.len());
        p.extend_from_slice(dir);
        p.push(b'/');
        p.extend_from_slice(name);
        p
    }

    /// Stats one directory entry; `None` when it is excluded or unreadable
    /// (the latter recorded as an error).
    fn stat_child(
        &self,
        dir_fd: &OwnedFd,
        dir_path: &[u8],
        dir_mnt: u64,
        dir_dev: (u32, u32),
        name: &CStr,
    ) -> Option<ChildStat> {
        if let Some(ex) = &self.exclude {
            let p = Self::child_path(dir_path, name.to_bytes());
            let as_path = Path::new(OsStr::from_bytes(&p));
            if ex.is_match(as_path) || ex.is_match(Path::new(OsStr::from_bytes(name.to_bytes()))) {
                return None;
            }
        }
        let flags = AtFlags::SYMLINK_NOFOLLOW | AtFlags::NO_AUTOMOUNT;
        let st = match rustix::fs::statx(dir_fd, name, flags, STATX_MASK) {
            Ok(st) => st,
            Err(e) => {
                let why = if e == Errno::NOENT {
                    "vanished during scan".to_string()
                } else {
                    format!("cannot stat: {}", errno_reason(e))
                };
                self.error(
                    Self::child_path(dir_path, name.to_bytes()),
                    ErrorKind::from_errno(e),
                    why,
                );
                return None;
            }
        };
        let mode = u32::from(st.stx_mode);
        let Some(kind) = Kind::from_mode(mode) else {
            self.error(
                Self::child_path(dir_path, name.to_bytes()),
                ErrorKind::Other,
                format!("unknown file type {:o}", mode & 0o170000),
            );
            return None;
        };
        let dev = (st.stx_dev_major, st.stx_dev_minor);
        let is_mount = if self.has_mnt_id && st.stx_mask & StatxFlags::MNT_ID.bits() != 0 {
            st.stx_mnt_id != dir_mnt
                || (st.stx_attributes_mask.contains(StatxAttributes::MOUNT_ROOT)
                    && st.stx_attributes.contains(StatxAttributes::MOUNT_ROOT))
        } else {
            dev != dir_dev
                || self
                    .mount_paths
                    .contains(&Self::child_path(dir_path, name.to_bytes()))
        };
        let mount = is_mount.then(|| {
            let m = self.mounts_by_id.get(&st.stx_mnt_id);
            Box::new(MountPoint {
                entry: NONE,
                fstype: m.map_or_else(|| "unknown".into(), |m| m.fstype.clone()),
                source: m.map_or_else(String::new, |m| m.source.clone()),
                fs_root: m.map_or_else(Vec::new, |m| m.fs_root.clone()),
                dev,
            })
        });
        let target = if kind == Kind::Symlink {
            match rustix::fs::readlinkat(dir_fd, name, Vec::new()) {
                Ok(t) => Some(t.into_bytes()),
                Err(e) => {
                    self.error(
                        Self::child_path(dir_path, name.to_bytes()),
                        ErrorKind::from_errno(e),
                        format!("cannot read link: {}", errno_reason(e)),
                    );
                    Some(Vec::new())
                }
            }
        } else {
            None
        };
        let mut hash = None;
        if self.hash_all && kind == Kind::File {
            match hash::hash_at(dir_fd.as_fd(), name, st.stx_ino) {
                Ok(h) if h.bytes == st.stx_size => {
                    self.progress.files_hashed.fetch_add(1, Ordering::Relaxed);
                    self.progress
                        .bytes_hashed
                        .fetch_add(h.bytes, Ordering::Relaxed);
                    hash = Some(h.digest);
                }
                Ok(_) => self.error(
                    Self::child_path(dir_path, name.to_bytes()),
                    ErrorKind::Changed,
                    "cannot hash: changed size during scan".into(),
                ),
                Err(e) => self.error(
                    Self::child_path(dir_path, name.to_bytes()),
                    hash::error_kind(&e),
                    format!("cannot hash: {}", io_reason(&e)),
                ),
            }
        }
        Some(ChildStat {
            hash,
            entry: Entry {
                name_off: 0,
                name_len: 0,
                parent: NONE,
                end: 0,
                depth: 0,
                kind,
                is_mount,
                mode: (mode & 0o7777) as u16,
                uid: st.stx_uid,
                gid: st.stx_gid,
                nlink: st.stx_nlink,
                size: st.stx_size,
                mtime_ns: ts_ns(&st.stx_mtime),
                ctime_ns: ts_ns(&st.stx_ctime),
                dev: rustix::fs::makedev(dev.0, dev.1),
                ino: st.stx_ino,
                target: NONE,
                hash: NONE,
            },
            target,
            mount,
        })
    }
}

struct ChildStat {
    entry: Entry,
    hash: Option<[u8; 32]>,
    target: Option<Vec<u8>>,
    mount: Option<Box<MountPoint>>,
}

fn ts_ns(t: &rustix::fs::StatxTimestamp) -> i64 {
    t.tv_sec
        .saturating_mul(1_000_000_000)
        .saturating_add(i64::from(t.tv_nsec))
}

/// Opens a directory relative to `dirfd` without following a symlink put in
/// its place, and without updating its atime where the kernel allows.
pub(super) fn open_dir<Fd: AsFd, P: rustix::path::Arg + Copy>(
    dirfd: Fd,
    path: P,
) -> rustix::io::Result<OwnedFd> {
    let base = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    match rustix::fs::openat(dirfd.as_fd(), path, base | OFlags::NOATIME, Mode::empty()) {
        Err(Errno::PERM) => rustix::fs::openat(dirfd, path, base, Mode::empty()),
        r => r,
    }
}

/// A directory's names, NUL-terminated in one buffer, with (offset, length) of each.
type NameBuffer = (Vec<u8>, Vec<(u32, u32)>);

/// Reads all names of a directory (without `.` and `..`) with `getdents64`
/// through a thread-local 64 KiB buffer into one byte buffer, each name
/// NUL-terminated; returns the buffer and each name's (offset, length).
fn read_names(fd: &OwnedFd) -> rustix::io::Result<NameBuffer> {
    thread_local! {
        static BUF: std::cell::RefCell<Vec<u8>> =
            std::cell::RefCell::new(Vec::with_capacity(64 << 10));
    }
    BUF.with_borrow_mut(|raw| {
        let mut names = Vec::new();
        let mut buf = Vec::new();
        let mut dir = RawDir::new(fd, raw.spare_capacity_mut());
        while let Some(entry) = dir.next() {
            let entry = entry?;
            let n = entry.file_name().to_bytes_with_nul();
            if n != b".\0" && n != b"..\0" {
                names.push((buf.len() as u32, (n.len() - 1) as u32));
                buf.extend_from_slice(n);
            }
        }
        Ok((buf, names))
    })
}

/// In-root paths of the mounts below `root` (for kernels without statx mount ids).
fn mount_paths_inside(mounts: &[Mount], root: &Path) -> std::collections::HashSet<Vec<u8>> {
    let root = root.as_os_str().as_bytes();
    let root = if root == b"/" { &b""[..] } else { root };
    mounts
        .iter()
        .filter_map(|m| {
            let rest = m.mount_point.strip_prefix(root)?;
            (rest.first() == Some(&b'/')).then(|| rest.to_vec())
        })
        .collect()
}

fn build_excludes(patterns: &[String]) -> Result<Option<globset::GlobSet>> {
    if patterns.is_empty() {
        return Ok(None);
    }
    let mut b = globset::GlobSetBuilder::new();
    for p in patterns {
        let g = globset::GlobBuilder::new(p)
            .literal_separator(p.contains('/'))
            .build()
            .map_err(|e| {
                Error::Usage(crate::text::escape_str(&format!(
                    "invalid --exclude pattern '{p}': {e}"
                )))
            })?;
        b.add(g);
    }
    b.build()
        .map(Some)
        .map_err(|e| Error::Usage(format!("invalid --exclude patterns: {e}")))
}

/// Lifts the soft open-file limit to the hard one: a wide tree keeps one
/// descriptor open per directory whose children are still queued.
fn raise_fd_limit() {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let lim = getrlimit(Resource::Nofile);
    if lim.current < lim.maximum {
        let _ = setrlimit(
            Resource::Nofile,
            rustix::process::Rlimit {
                current: lim.maximum,
                maximum: lim.maximum,
            },
        );
    }
}
