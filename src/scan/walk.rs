//! The walk: one rayon task per directory, each directory opened relative
//! to its parent's descriptor, read with `getdents64`, and every entry
//! statted relative to it (`statx(dirfd, name)`); see the module doc of
//! [`super`] for why it is hand-written.
//!
//! Each directory's task writes its part of the entry stream (see
//! [`super::record`]) as it goes: its own record (from `statx` on the
//! descriptor it opened, so a directory costs no lookup by name), its
//! children's records in name order, and an END. Where a child directory's
//! part belongs, it notes the child's task id instead ([`Segment::subs`]);
//! [`super::assemble`] follows those notes to read the stream in tree order.
//! Nothing per entry is allocated except symlink targets of very large
//! directories' children. The pool holds `threads` walkers plus a reserve
//! that sleeps unless the walk turns out to wait on the disk
//! ([`super::reserve`]).

use std::collections::{HashMap, HashSet};
use std::ffi::{CStr, CString, OsStr};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use rayon::prelude::*;
use rustix::fs::{AtFlags, Statx, StatxAttributes, StatxFlags};
use rustix::io::Errno;

use super::assemble::{Order, Sink};
use super::hash;
use super::readdir::{DT_DIR, NAMES, Name, fills_buffer, open_dir, read_names};
use super::record::{Base, Counts, END, Record};
use super::reserve::Reserve;
use super::tree::{ErrorKind, Kind, MountPoint, ScanError};
use super::{Progress, ScanOptions, errno_reason, io_reason};
use crate::mountinfo::Mount;
use crate::{Error, Result};

/// Directories with more entries than this are statted by several threads,
/// in blocks of [`BLOCK`] names.
const SPLIT_DIR: usize = 512;
const BLOCK: usize = 128;

/// The statx fields every entry needs.
pub(super) const STATX_MASK: StatxFlags = StatxFlags::BASIC_STATS.union(StatxFlags::MNT_ID);

/// One directory's part of the entry stream.
#[derive(Default)]
pub(super) struct Segment {
    /// Records and ENDs.
    pub(super) bytes: Vec<u8>,
    /// `(offset in bytes, task id)`: where each child directory's segment goes.
    pub(super) subs: Vec<(u32, u32)>,
}

/// What a walk leaves besides its stream.
pub(super) struct Walked {
    pub(super) counts: Counts,
    /// Unsorted.
    pub(super) errors: Vec<ScanError>,
}

/// Walks the directory `root_fd` (statted as `root_stat`) on `opts.threads`
/// threads; its entry stream goes to `sink` as the walk goes.
pub(super) fn walk(
    opts: &ScanOptions,
    progress: &Progress,
    mounts: &[Mount],
    root_fd: OwnedFd,
    root_stat: &Statx,
    sink: &mut dyn Sink,
) -> Result<Walked> {
    let exclude = build_excludes(&opts.exclude)?;
    raise_fd_limit();

    let canonical_root = std::fs::canonicalize(&opts.root).unwrap_or_else(|_| opts.root.clone());
    let walker = Walker {
        exclude,
        hash_all: opts.hash_all,
        has_mnt_id: root_stat.stx_mask & StatxFlags::MNT_ID.bits() != 0,
        mounts_by_id: mounts.iter().map(|m| (m.id, m.clone())).collect(),
        mount_paths: mount_paths_inside(mounts, &canonical_root),
        order: Order::new(sink),
        errors: Mutex::new(Vec::new()),
        next_dir: AtomicU32::new(1),
        progress,
        short_is_end: fills_buffer(&root_fd),
    };
    let active = opts.threads.max(1);
    let all = active + opts.reserve_threads;
    // The reserve's threads wait as they start, before they take any work,
    // until the walk proves to wait on the disk (see `Reserve`). (Waiting in
    // jobs of their own instead, any walker going idle could take such a job
    // and sit in it until the reserve woke, even the one waiting for the
    // walk to end.)
    let reserve = Arc::new(Reserve::default());
    let held = reserve.clone();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(all)
        .thread_name(|i| format!("darlings-scan-{i}"))
        .start_handler(move |i| {
            if i >= active {
                held.wait();
            }
        })
        .build()
        .map_err(|e| Error::Internal(format!("cannot start {all} threads: {e}")))?;
    let dev = (root_stat.stx_dev_major, root_stat.stx_dev_minor);
    let root_dev = rustix::fs::makedev(dev.0, dev.1);
    let root = Dir {
        fd: Arc::new(root_fd),
        path: Vec::new(),
        depth: 0,
        mnt_id: root_stat.stx_mnt_id,
        dev,
        base: Base::root(root_dev),
    };
    {
        let _t = crate::timing::phase("walk");
        std::thread::scope(|ts| {
            if opts.reserve_threads > 0 {
                ts.spawn(|| reserve.watch());
            }
            pool.scope(|s| {
                let mut seg = Segment::default();
                let mut counts = Counts::default();
                let tasks = walker.list(&root, &mut seg, &mut counts);
                seg.bytes.push(END);
                walker.store(0, seg, counts);
                walker.spawn_all(s, tasks);
            });
            // Walk done: the watcher stops, the reserve's threads go on (to end).
            reserve.release(true);
        });
    }
    let Walker { order, errors, .. } = walker;
    let errors = errors.into_inner().unwrap_or_else(|p| p.into_inner());
    if progress.cancel.load(Ordering::Relaxed) {
        return Err(Error::Cancelled);
    }
    let counts = order
        .finish()
        .map_err(|e| Error::Internal(format!("the walk left a gap: {e}")))?;
    Ok(Walked { counts, errors })
}

/// A directory whose children are being read.
struct Dir {
    fd: Arc<OwnedFd>,
    /// In-root path (`/var/lib`; empty for the root).
    path: Vec<u8>,
    /// 0 for the root.
    depth: u16,
    /// Mount id, to tell which children are mount points.
    mnt_id: u64,
    /// `major:minor` of its file system (fallback mount check).
    dev: (u32, u32),
    /// What its children's records are written against.
    base: Base,
}

/// A child directory to open and read, in a task of its own.
struct ChildTask {
    parent: Arc<OwnedFd>,
    name: CString,
    path: Vec<u8>,
    id: u32,
    /// The child's own depth.
    depth: u16,
    parent_mnt: u64,
    parent_dev: (u32, u32),
    /// The parent's base, for the child's own record.
    base: Base,
}

/// One entry's metadata, as the walk records it.
struct Stat {
    kind: Kind,
    mode: u16,
    uid: u32,
    gid: u32,
    size: u64,
    mtime_ns: i64,
    ctime_ns: i64,
    ino: u64,
    dev: (u32, u32),
    mnt_id: u64,
    is_mount: bool,
    hash: Option<[u8; 32]>,
    /// The link text is in the caller's buffer.
    has_target: bool,
    mount: Option<Box<MountPoint>>,
}

struct Walker<'p, 's> {
    exclude: Option<globset::GlobSet>,
    /// Hash regular files as they are met (`--hash all`).
    hash_all: bool,
    has_mnt_id: bool,
    mounts_by_id: HashMap<u64, Mount>,
    /// In-root paths of mount points: never opened (an automount point would
    /// mount), and the mount check when statx has no mount id.
    mount_paths: HashSet<Vec<u8>>,
    /// The segments, passed on in tree order.
    order: Order<'s>,
    errors: Mutex<Vec<ScanError>>,
    next_dir: AtomicU32,
    progress: &'p Progress,
    /// The root's file system fills getdents buffers (see [`FILLS_BUFFER`]).
    short_is_end: bool,
}

impl Walker<'_, '_> {
    /// Opens, stats and reads one child directory; stores its segment.
    fn visit<'s>(&'s self, scope: &rayon::Scope<'s>, t: ChildTask) {
        if self.progress.cancel.load(Ordering::Relaxed) {
            return;
        }
        let mut seg = Segment::default();
        let mut counts = Counts::default();
        let opened = open_dir(t.parent.as_fd(), t.name.as_c_str()).and_then(|fd| {
            let st = rustix::fs::statx(&fd, "", AtFlags::EMPTY_PATH, STATX_MASK)?;
            Ok((fd, st))
        });
        let (fd, st) = match opened {
            Ok(o) => o,
            Err(e) => {
                // Not openable (permissions, replaced, gone): what is there now, by name.
                let mut link = Vec::new();
                if let Some(st) = self.stat_child(
                    &t.parent,
                    &t.path,
                    t.parent_mnt,
                    t.parent_dev,
                    &t.name,
                    &mut link,
                ) {
                    if st.kind == Kind::Dir && !st.is_mount {
                        self.error(
                            t.path.clone(),
                            ErrorKind::from_errno(e),
                            format!("cannot open directory: {}", errno_reason(e)),
                        );
                    }
                    let name = t.name.to_bytes();
                    self.emit(&st, name, &link, &t.base, &mut seg, &mut counts);
                    if st.kind == Kind::Dir {
                        seg.bytes.push(END);
                    }
                }
                self.store(t.id, seg, counts);
                return;
            }
        };
        drop(t.parent);
        let mut own = self.stat_from(&st, &t.path, t.parent_mnt, t.parent_dev);
        let name = t.name.to_bytes();
        if own.is_mount {
            // A mount that appeared after mountinfo was read: not entered.
            own.mount = Some(self.describe(&st));
            self.emit(&own, name, &[], &t.base, &mut seg, &mut counts);
            seg.bytes.push(END);
            self.store(t.id, seg, counts);
            return;
        }
        self.emit(&own, name, &[], &t.base, &mut seg, &mut counts);
        let dir = Dir {
            fd: Arc::new(fd),
            path: t.path,
            depth: t.depth,
            mnt_id: own.mnt_id,
            dev: own.dev,
            base: self.base_of(&own),
        };
        let tasks = self.list(&dir, &mut seg, &mut counts);
        seg.bytes.push(END);
        self.store(t.id, seg, counts);
        self.spawn_all(scope, tasks);
    }

    /// Starts the tasks of a directory's children, the last first: rayon
    /// runs a thread's own tasks last-in first-out, so this thread goes on
    /// with the first child, in tree order (see [`super::assemble`]).
    fn spawn_all<'s>(&'s self, scope: &rayon::Scope<'s>, tasks: Vec<ChildTask>) {
        for task in tasks.into_iter().rev() {
            scope.spawn(move |s| self.visit(s, task));
        }
    }

    /// Reads the children of `dir` into `seg` (without the closing END);
    /// returns the tasks of its child directories, in name order.
    fn list(&self, dir: &Dir, seg: &mut Segment, counts: &mut Counts) -> Vec<ChildTask> {
        let mut tasks = Vec::new();
        let mut names = NAMES.with(std::cell::Cell::take);
        if let Err(e) = read_names(&dir.fd, &mut names, self.short_is_end) {
            self.error(
                dir.path.clone(),
                ErrorKind::from_errno(e),
                format!("cannot read directory: {}", errno_reason(e)),
            );
            NAMES.with(|c| c.set(names));
            return tasks;
        }
        let buf = &names.buf;
        let name_of = |n: &Name| &buf[n.off as usize..n.off as usize + usize::from(n.len)];
        names
            .list
            .sort_unstable_by(|a, b| name_of(a).cmp(name_of(b)));
        if names.list.len() > SPLIT_DIR {
            type Part = (Segment, Counts, Vec<ChildTask>);
            let parts: Vec<Part> = names
                .list
                .par_chunks(BLOCK)
                .map(|block| {
                    let mut part = Segment::default();
                    let mut c = Counts::default();
                    let mut t = Vec::new();
                    self.block(dir, buf, block, &mut part, &mut c, &mut t);
                    (part, c, t)
                })
                .collect();
            for (part, c, t) in parts {
                let base = seg.bytes.len() as u32;
                seg.subs
                    .extend(part.subs.iter().map(|&(o, id)| (o + base, id)));
                seg.bytes.extend_from_slice(&part.bytes);
                counts.add(&c);
                tasks.extend(t);
            }
        } else {
            seg.bytes.reserve(names.list.len() * 32 + buf.len());
            self.block(dir, buf, &names.list, seg, counts, &mut tasks);
        }
        NAMES.with(|c| c.set(names));
        tasks
    }

    /// Stats and writes the children `block` of `dir` (names in `buf`);
    /// notes a task in `tasks` for each child directory.
    fn block(
        &self,
        dir: &Dir,
        buf: &[u8],
        block: &[Name],
        seg: &mut Segment,
        counts: &mut Counts,
        tasks: &mut Vec<ChildTask>,
    ) {
        let mut link = Vec::new();
        let mut child = Vec::new();
        for n in block {
            let with_nul = &buf[n.off as usize..=n.off as usize + usize::from(n.len)];
            let Ok(name) = CStr::from_bytes_with_nul(with_nul) else {
                continue;
            };
            let nb = name.to_bytes();
            if self.excluded(&dir.path, nb, &mut child) {
                continue;
            }
            let depth = dir.depth + 1;
            let deep_ok = depth < u16::MAX;
            let path_of = |child: &mut Vec<u8>| {
                child.clear();
                child.extend_from_slice(&dir.path);
                child.push(b'/');
                child.extend_from_slice(nb);
            };
            if n.dtype == DT_DIR && deep_ok {
                path_of(&mut child);
                if self.mount_paths.is_empty() || !self.mount_paths.contains(&child) {
                    tasks.push(self.note_child(dir, name, child.clone(), depth, seg));
                    continue;
                }
            }
            let Some(st) =
                self.stat_child(&dir.fd, &dir.path, dir.mnt_id, dir.dev, name, &mut link)
            else {
                continue;
            };
            if st.kind == Kind::Dir && !st.is_mount {
                path_of(&mut child);
                if deep_ok {
                    // d_type did not say (or a mount has gone): its task stats it again.
                    tasks.push(self.note_child(dir, name, child.clone(), depth, seg));
                    continue;
                }
                self.error(
                    child.clone(),
                    ErrorKind::TooLong,
                    "too deep: not descended (more than 65,535 levels)".into(),
                );
            }
            self.emit(&st, nb, &link, &dir.base, seg, counts);
            if st.kind == Kind::Dir {
                seg.bytes.push(END);
            }
        }
    }

    /// Notes in `seg` where the child directory `name` goes; returns its task.
    fn note_child(
        &self,
        dir: &Dir,
        name: &CStr,
        path: Vec<u8>,
        depth: u16,
        seg: &mut Segment,
    ) -> ChildTask {
        let id = self.next_dir.fetch_add(1, Ordering::Relaxed);
        seg.subs.push((seg.bytes.len() as u32, id));
        ChildTask {
            parent: Arc::clone(&dir.fd),
            name: name.to_owned(),
            path,
            id,
            depth,
            parent_mnt: dir.mnt_id,
            parent_dev: dir.dev,
            base: dir.base,
        }
    }

    /// Writes one record and counts it.
    fn emit(
        &self,
        st: &Stat,
        name: &[u8],
        link: &[u8],
        base: &Base,
        seg: &mut Segment,
        counts: &mut Counts,
    ) {
        let r = Record {
            name,
            kind: st.kind,
            mode: st.mode,
            uid: st.uid,
            gid: st.gid,
            size: st.size,
            mtime_ns: st.mtime_ns,
            ctime_ns: st.ctime_ns,
            ino: st.ino,
            dev: rustix::fs::makedev(st.dev.0, st.dev.1),
            target: st.has_target.then_some(link),
            hash: st.hash.as_ref(),
            mount: st.mount.as_deref(),
        };
        r.encode(base, &mut seg.bytes);
        counts.count(&r, base);
    }

    fn base_of(&self, st: &Stat) -> Base {
        Base {
            mtime_ns: st.mtime_ns,
            ino: st.ino,
            uid: st.uid,
            gid: st.gid,
            dev: rustix::fs::makedev(st.dev.0, st.dev.1),
        }
    }

    /// Stores a finished segment; the stream goes on as far as it can.
    fn store(&self, id: u32, seg: Segment, counts: Counts) {
        self.progress
            .entries
            .fetch_add(counts.entries, Ordering::Relaxed);
        self.order.store(id, seg, &counts);
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

    /// Returns true if and only if `--exclude` skips the child `name` of `dir`.
    fn excluded(&self, dir: &[u8], name: &[u8], scratch: &mut Vec<u8>) -> bool {
        let Some(ex) = &self.exclude else {
            return false;
        };
        scratch.clear();
        scratch.extend_from_slice(dir);
        scratch.push(b'/');
        scratch.extend_from_slice(name);
        ex.is_match(Path::new(OsStr::from_bytes(scratch)))
            || ex.is_match(Path::new(OsStr::from_bytes(name)))
    }

    /// The metadata of a statx result for an entry of a directory with mount
    /// id `dir_mnt` and device `dir_dev` (no hash, target or mount description).
    fn stat_from(&self, st: &Statx, path: &[u8], dir_mnt: u64, dir_dev: (u32, u32)) -> Stat {
        let mode = u32::from(st.stx_mode);
        let dev = (st.stx_dev_major, st.stx_dev_minor);
        let is_mount = if self.has_mnt_id && st.stx_mask & StatxFlags::MNT_ID.bits() != 0 {
            st.stx_mnt_id != dir_mnt
                || (st.stx_attributes_mask.contains(StatxAttributes::MOUNT_ROOT)
                    && st.stx_attributes.contains(StatxAttributes::MOUNT_ROOT))
        } else {
            dev != dir_dev || self.mount_paths.contains(path)
        };
        Stat {
            kind: Kind::from_mode(mode).unwrap_or(Kind::File),
            mode: (mode & 0o7777) as u16,
            uid: st.stx_uid,
            gid: st.stx_gid,
            size: st.stx_size,
            mtime_ns: ts_ns(&st.stx_mtime),
            ctime_ns: ts_ns(&st.stx_ctime),
            ino: st.stx_ino,
            dev,
            mnt_id: st.stx_mnt_id,
            is_mount,
            hash: None,
            has_target: false,
            mount: None,
        }
    }

    /// The mount whose root `st` is, from mountinfo.
    fn describe(&self, st: &Statx) -> Box<MountPoint> {
        let m = self.mounts_by_id.get(&st.stx_mnt_id);
        Box::new(MountPoint {
            entry: 0,
            fstype: m.map_or_else(|| "unknown".into(), |m| m.fstype.clone()),
            source: m.map_or_else(String::new, |m| m.source.clone()),
            fs_root: m.map_or_else(Vec::new, |m| m.fs_root.clone()),
            // mountinfo's device, which storage mounts are matched by: on
            // btrfs, statx gives each subvolume an anonymous device of its
            // own (0:43) where mountinfo names the file system's (0:40), and
            // a bind mount from a storage subvolume went unrecognised.
            dev: m.map_or((st.stx_dev_major, st.stx_dev_minor), |m| m.dev),
        })
    }

    /// Stats one directory entry by name; `None` when it is unreadable (the
    /// error recorded). A symlink's text goes into `link`.
    fn stat_child(
        &self,
        dir_fd: &OwnedFd,
        dir_path: &[u8],
        dir_mnt: u64,
        dir_dev: (u32, u32),
        name: &CStr,
        link: &mut Vec<u8>,
    ) -> Option<Stat> {
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
        if Kind::from_mode(mode).is_none() {
            self.error(
                Self::child_path(dir_path, name.to_bytes()),
                ErrorKind::Other,
                format!("unknown file type {:o}", mode & 0o170000),
            );
            return None;
        }
        let path = if self.has_mnt_id || self.mount_paths.is_empty() {
            Vec::new()
        } else {
            Self::child_path(dir_path, name.to_bytes())
        };
        let mut s = self.stat_from(&st, &path, dir_mnt, dir_dev);
        if s.is_mount {
            s.mount = Some(self.describe(&st));
        }
        if s.kind == Kind::Symlink {
            s.has_target = true;
            link.clear();
            match rustix::fs::readlinkat(dir_fd, name, std::mem::take(link)) {
                Ok(t) => *link = t.into_bytes(),
                Err(e) => self.error(
                    Self::child_path(dir_path, name.to_bytes()),
                    ErrorKind::from_errno(e),
                    format!("cannot read link: {}", errno_reason(e)),
                ),
            }
        }
        if self.hash_all && s.kind == Kind::File {
            match hash::hash_at(dir_fd.as_fd(), name, st.stx_ino) {
                Ok(h) if h.bytes == st.stx_size => {
                    self.progress.files_hashed.fetch_add(1, Ordering::Relaxed);
                    self.progress
                        .bytes_hashed
                        .fetch_add(h.bytes, Ordering::Relaxed);
                    s.hash = Some(h.digest);
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
        Some(s)
    }
}

fn ts_ns(t: &rustix::fs::StatxTimestamp) -> i64 {
    t.tv_sec
        .saturating_mul(1_000_000_000)
        .saturating_add(i64::from(t.tv_nsec))
}

/// In-root paths of the mounts below `root`.
fn mount_paths_inside(mounts: &[Mount], root: &Path) -> HashSet<Vec<u8>> {
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
