//! The parallel scanner: walks ROOT with one rayon task per directory,
//! opening each directory relative to its parent's descriptor and statting
//! each entry relative to its directory (`openat` + `getdents64` + `statx`),
//! which PERF.md measured at 1.5-2x the speed of full-path lookups.
//!
//! It never follows symlinks, never descends into another mount (statx's
//! mount id, cross-checked with `/proc/self/mountinfo` and device numbers),
//! never opens fifos, sockets or devices, and reads directories with
//! `O_NOATIME`. Per-path failures are recorded in [`Tree::errors`].

pub mod hash;
pub mod tree;

use std::collections::HashMap;
use std::ffi::{CStr, CString, OsStr};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rayon::prelude::*;
use rustix::fs::{AtFlags, Mode, OFlags, RawDir, StatxAttributes, StatxFlags};
use rustix::io::Errno;

use crate::mountinfo::{self, Mount};
use crate::{Error, Result};
pub use tree::{Entry, Kind, MountPoint, NONE, PathCursor, ScanError, Tree};

/// Counters a progress display reads while a scan runs.
#[derive(Debug, Default)]
pub struct Progress {
    /// Entries statted so far.
    pub entries: AtomicU64,
    /// Files hashed so far.
    pub files_hashed: AtomicU64,
    /// Bytes hashed so far.
    pub bytes_hashed: AtomicU64,
    /// Set by the caller to stop the scan early (Ctrl-C in the TUI).
    pub cancel: AtomicBool,
}

/// What to scan and how.
#[derive(Clone, Debug)]
pub struct ScanOptions {
    /// The root directory to scan.
    pub root: PathBuf,
    /// Worker threads for the walk and hashing.
    pub threads: usize,
    /// Paths to skip (matched against the in-root path, and against the name
    /// for patterns without a `/`).
    pub exclude: Vec<String>,
    /// Hash every regular file during the scan (`--hash all`).
    pub hash_all: bool,
}

/// Directories with more entries than this are statted by several threads.
const SPLIT_DIR: usize = 512;

/// The statx fields every entry needs.
const STATX_MASK: StatxFlags = StatxFlags::BASIC_STATS.union(StatxFlags::MNT_ID);

/// Scans `opts.root` and returns its tree (entries in tree order).
pub fn scan(opts: &ScanOptions, progress: &Progress) -> Result<Tree> {
    let root = &opts.root;
    let root_stat = rustix::fs::statx(
        rustix::fs::CWD,
        root.as_path(),
        AtFlags::empty(),
        STATX_MASK,
    )
    .map_err(|e| Error::io("cannot scan", root, e.into()))?;
    if Kind::from_mode(u32::from(root_stat.stx_mode)) != Some(Kind::Dir) {
        return Err(Error::bad_input(root, "not a directory"));
    }
    let root_fd = open_dir(rustix::fs::CWD, root.as_path())
        .map_err(|e| Error::io("cannot open", root, e.into()))?;
    let exclude = build_excludes(&opts.exclude)?;
    raise_fd_limit();

    let mounts = mountinfo::read_own();
    let canonical_root = std::fs::canonicalize(root).unwrap_or_else(|_| root.clone());
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
    if progress.cancel.load(Ordering::Relaxed) {
        return Err(Error::Usage("scan cancelled".into()));
    }
    let Walker { flat, errors, .. } = walker;
    let flat = flat.into_inner().unwrap_or_else(|p| p.into_inner());
    let mut errors = errors.into_inner().unwrap_or_else(|p| p.into_inner());
    let mut tree = {
        let _t = crate::timing::phase("assemble");
        assemble(root.clone(), flat)?
    };
    // With --hash all, every file was hashed during the walk (or its
    // failure recorded as an error).
    tree.fully_hashed = opts.hash_all;
    errors.sort_by(|a, b| a.path.cmp(&b.path));
    tree.errors = errors;
    Ok(tree)
}

/// Hashes the given file entries of `tree` in parallel and stores the digests.
/// A file that changed between the walk and the hash (other inode, other
/// size, gone) is recorded as an error and left unhashed.
pub fn hash_entries(
    tree: &mut Tree,
    files: &[usize],
    progress: &Progress,
    errors: &mut Vec<ScanError>,
) {
    let results: Vec<(usize, std::result::Result<[u8; 32], String>)> = files
        .par_iter()
        .map(|&i| {
            let e = &tree.entries[i];
            let r = match hash::hash_file(&tree.host_path(i), Some((e.dev, e.ino))) {
                Ok(h) if h.bytes != e.size => Err("changed size during scan".to_string()),
                Ok(h) => {
                    progress.files_hashed.fetch_add(1, Ordering::Relaxed);
                    progress.bytes_hashed.fetch_add(h.bytes, Ordering::Relaxed);
                    Ok(h.digest)
                }
                Err(e) => Err(io_reason(&e)),
            };
            (i, r)
        })
        .collect();
    for (i, r) in results {
        match r {
            Ok(d) => tree.set_hash(i, d),
            Err(error) => errors.push(ScanError {
                path: tree.path(i),
                error: format!("cannot hash: {error}"),
            }),
        }
    }
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
struct Listing {
    entries: Vec<Entry>,
    hashes: Vec<[u8; 32]>,
    names: Vec<u8>,
    targets: Vec<(u32, u32)>,
    target_bytes: Vec<u8>,
    /// Mount points, with `entry` an index into `entries`.
    mounts: Vec<MountPoint>,
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
struct Flat {
    all: Listing,
    /// `(start, len)` in `all.entries` of each listing id's children.
    runs: Vec<(u32, u32)>,
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
                            self.error(path, format!("cannot open directory: {}", errno_reason(e)));
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

    fn error(&self, path: Vec<u8>, error: String) {
        let path = if path.is_empty() { b"/".to_vec() } else { path };
        self.errors
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(ScanError { path, error });
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
                self.error(Self::child_path(dir_path, name.to_bytes()), why);
                return None;
            }
        };
        let mode = u32::from(st.stx_mode);
        let Some(kind) = Kind::from_mode(mode) else {
            self.error(
                Self::child_path(dir_path, name.to_bytes()),
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
                    "cannot hash: changed size during scan".into(),
                ),
                Err(e) => self.error(
                    Self::child_path(dir_path, name.to_bytes()),
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
fn open_dir<Fd: AsFd, P: rustix::path::Arg + Copy>(
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

/// Puts the runs of [`Flat`] in tree order, in place: a depth-first pass
/// computes each entry's final position, parent, depth and subtree end, then
/// the entries are permuted by swapping each into place (no second copy).
fn assemble(root: PathBuf, mut f: Flat) -> Result<Tree> {
    let n = f.all.entries.len();
    if n >= NONE as usize {
        return Err(Error::bad_input(
            &root,
            "too many entries for one scan (4 billion)",
        ));
    }
    // dest[flat index] = position in tree order.
    let mut dest = vec![NONE; n];
    let mut pos = 0u32;
    // Explicit stack (not recursion): a tree 65,535 levels deep must not
    // overflow the thread's stack. Frame: (next flat index, run end, dir flat index, depth).
    let mut stack: Vec<(u32, u32, u32, u16)> = Vec::new();
    if let Some(&(start, len)) = f.runs.first() {
        stack.push((start, start + len, NONE, 1));
    }
    while let Some(top) = stack.last_mut() {
        let (next, end, dir, depth) = *top;
        if next == end {
            stack.pop();
            if dir != NONE {
                f.all.entries[dir as usize].end = pos;
            }
            continue;
        }
        top.0 += 1;
        let e = &mut f.all.entries[next as usize];
        let sub = e.end;
        dest[next as usize] = pos;
        e.parent = if dir == NONE {
            NONE
        } else {
            dest[dir as usize]
        };
        e.depth = depth;
        e.end = pos + 1;
        pos += 1;
        if sub != NONE
            && let Some(&(start, len)) = f.runs.get(sub as usize)
            && len > 0
        {
            stack.push((start, start + len, next, depth.saturating_add(1)));
        }
    }
    // Entries of runs never reached (cannot happen: every run's directory is
    // listed) would keep NONE; drop them rather than corrupt the order.
    if pos as usize != n {
        return Err(Error::bad_input(
            &root,
            "internal error: scan runs do not form a tree",
        ));
    }
    for m in &mut f.all.mounts {
        m.entry = dest[m.entry as usize];
    }
    f.all.mounts.sort_by_key(|m| m.entry);
    // Cycle-following permutation: each swap puts one entry in its final place.
    for i in 0..n {
        while dest[i] as usize != i {
            let d = dest[i] as usize;
            f.all.entries.swap(i, d);
            dest.swap(i, d);
        }
    }
    drop(dest);
    // Names and link targets in tree order too, so a scan file does not
    // depend on which thread read which directory first (`--threads 1` and
    // `--threads 8` write the same bytes).
    let mut names = Vec::with_capacity(f.all.names.len());
    let mut hashes = Vec::with_capacity(f.all.hashes.len());
    let mut targets = Vec::with_capacity(f.all.targets.len());
    let mut target_bytes = Vec::with_capacity(f.all.target_bytes.len());
    for e in &mut f.all.entries {
        let off = e.name_off as usize;
        e.name_off = names.len() as u32;
        names.extend_from_slice(&f.all.names[off..off + e.name_len as usize]);
        if e.hash != NONE {
            let h = f.all.hashes[e.hash as usize];
            e.hash = hashes.len() as u32;
            hashes.push(h);
        }
        if e.target != NONE {
            let (o, l) = f.all.targets[e.target as usize];
            e.target = targets.len() as u32;
            targets.push((target_bytes.len() as u32, l));
            target_bytes.extend_from_slice(&f.all.target_bytes[o as usize..(o + l) as usize]);
        }
    }
    drop(f.all.names);
    Ok(Tree {
        root,
        entries: f.all.entries,
        names,
        targets,
        target_bytes,
        hashes,
        mounts: f.all.mounts,
        errors: Vec::new(),
        fully_hashed: false,
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

/// A short human reason for an errno (`permission denied`).
pub fn errno_reason(e: Errno) -> String {
    io_reason(&std::io::Error::from(e))
}

/// A short human reason for an I/O error, without the `(os error N)` suffix.
pub fn io_reason(e: &std::io::Error) -> String {
    let s = e.to_string();
    let s = s.split(" (os error").next().unwrap_or(&s).to_string();
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => s,
    }
}
