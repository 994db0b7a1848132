//! Reading directories by file descriptor without side effects, for the
//! parts of the check that look beyond the scan: storage roots and the
//! root file system under mount points. Directories are opened relative to
//! their parent (`openat`, never following a link) with `O_NOATIME`, entries
//! are `statx`ed relative to their directory without following links, and
//! nothing else is ever opened: no file content is read, no atime changes.

use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::sync::Arc;

use rustix::fs::{AtFlags, OFlags, RawDir, StatxFlags};

use crate::scan::Kind;

/// What the check needs to know of one entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Meta {
    /// The entry's type (`None`: a type darlings does not know).
    pub kind: Option<Kind>,
    /// Size in bytes.
    pub size: u64,
    /// Owner.
    pub uid: u32,
    /// Modification time, ns since the epoch.
    pub mtime_ns: i64,
}

/// Entries and bytes (of regular files) of a subtree, with a few sample names.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Count {
    /// Entries, every kind.
    pub entries: u64,
    /// Bytes of the regular files among them.
    pub bytes: u64,
    /// The first few names of the top directory, sorted (relative to it).
    pub samples: Vec<Vec<u8>>,
    /// Directories that could not be read (their content is not counted).
    pub unreadable: u64,
}

/// How many sample names a [`Count`] keeps.
pub const SAMPLES: usize = 3;

/// Deeper than this, a walk stops (a bind mount can make a directory loop).
const MAX_DEPTH: usize = 1024;

const STATX_MASK: StatxFlags = StatxFlags::TYPE
    .union(StatxFlags::SIZE)
    .union(StatxFlags::UID)
    .union(StatxFlags::MTIME);

fn meta_from(st: &rustix::fs::Statx) -> Meta {
    Meta {
        kind: Kind::from_mode(u32::from(st.stx_mode)),
        size: st.stx_size,
        uid: st.stx_uid,
        mtime_ns: st.stx_mtime.tv_sec * 1_000_000_000 + i64::from(st.stx_mtime.tv_nsec),
    }
}

/// The metadata of `name` in the directory `dir`, not following a link.
pub fn meta_at<Fd: AsFd>(dir: Fd, name: &[u8]) -> rustix::io::Result<Meta> {
    let st = rustix::fs::statx(
        dir,
        name,
        AtFlags::SYMLINK_NOFOLLOW | AtFlags::STATX_DONT_SYNC,
        STATX_MASK,
    )?;
    Ok(meta_from(&st))
}

/// The metadata of the open descriptor `fd` (an `O_PATH` one included).
pub fn meta_of<Fd: AsFd>(fd: Fd) -> rustix::io::Result<Meta> {
    let st = rustix::fs::statx(
        fd,
        "",
        AtFlags::EMPTY_PATH | AtFlags::STATX_DONT_SYNC,
        STATX_MASK,
    )?;
    Ok(meta_from(&st))
}

/// Opens the directory `name` of `dir` for listing: never through a link,
/// without touching its atime where the kernel allows.
pub fn open_dir_at<Fd: AsFd>(dir: Fd, name: &[u8]) -> rustix::io::Result<OwnedFd> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let name = std::ffi::OsStr::from_bytes(name);
    crate::safe_open::open_noatime(dir, std::path::Path::new(name), flags)
}

pub use crate::safe_open::open_at_path;

/// The names in the directory `dir` (without `.` and `..`), sorted; from
/// the start, however often it is read.
pub fn names<Fd: AsFd>(dir: Fd) -> rustix::io::Result<Vec<Vec<u8>>> {
    rustix::fs::seek(&dir, rustix::fs::SeekFrom::Start(0))?;
    let mut buf = Vec::with_capacity(32 << 10);
    let mut it = RawDir::new(dir, buf.spare_capacity_mut());
    let mut out = Vec::new();
    while let Some(e) = it.next() {
        let n = e?.file_name().to_bytes().to_vec();
        if n != b"." && n != b".." {
            out.push(n);
        }
    }
    out.sort();
    Ok(out)
}

/// Counts everything below the directory `dir` (not `dir` itself).
pub fn count_below(dir: OwnedFd) -> Count {
    let mut count = Count::default();
    // Pending directories: (parent descriptor, name, depth). Directories are
    // opened when popped, so a wide tree does not hold a descriptor per
    // sibling.
    let mut todo: Vec<(Arc<OwnedFd>, Vec<u8>, usize)> = Vec::new();
    let top = Arc::new(dir);
    visit(&top, 0, &mut count, &mut todo, true);
    while let Some((parent, name, depth)) = todo.pop() {
        match open_dir_at(&*parent, &name) {
            Ok(fd) => {
                let fd = Arc::new(fd);
                visit(&fd, depth, &mut count, &mut todo, false);
            }
            Err(_) => count.unreadable += 1,
        }
    }
    count
}

fn visit(
    dir: &Arc<OwnedFd>,
    depth: usize,
    count: &mut Count,
    todo: &mut Vec<(Arc<OwnedFd>, Vec<u8>, usize)>,
    top: bool,
) {
    let Ok(names) = names(&**dir) else {
        count.unreadable += 1;
        return;
    };
    if top {
        count.samples = names.iter().take(SAMPLES).cloned().collect();
    }
    for name in names {
        let Ok(m) = meta_at(&**dir, &name) else {
            continue; // vanished meanwhile
        };
        count.entries += 1;
        match m.kind {
            Some(Kind::File) => count.bytes += m.size,
            Some(Kind::Dir) if depth < MAX_DEPTH => todo.push((Arc::clone(dir), name, depth + 1)),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustix::fs::{Mode, ResolveFlags};

    #[test]
    fn counts_entries_bytes_and_samples_without_following_links() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        std::fs::create_dir_all(r.join("a/b/c")).unwrap();
        std::fs::write(r.join("a/b/c/f"), b"12345").unwrap();
        std::fs::write(r.join("top"), b"xy").unwrap();
        std::fs::create_dir(r.join("zz")).unwrap();
        std::os::unix::fs::symlink("/", r.join("link")).unwrap();
        let fd = rustix::fs::open(r, OFlags::RDONLY | OFlags::DIRECTORY, Mode::empty()).unwrap();
        let c = count_below(fd);
        // a, a/b, a/b/c, a/b/c/f, top, zz, link
        assert_eq!(c.entries, 7);
        assert_eq!(c.bytes, 7);
        assert_eq!(
            c.samples,
            vec![b"a".to_vec(), b"link".to_vec(), b"top".to_vec()]
        );
        assert_eq!(c.unreadable, 0);
    }

    #[test]
    fn in_root_paths_never_leave_the_root() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path().join("root");
        std::fs::create_dir_all(r.join("persist")).unwrap();
        std::os::unix::fs::symlink("/..", r.join("persist/up")).unwrap();
        let root = rustix::fs::open(&r, OFlags::PATH | OFlags::DIRECTORY, Mode::empty()).unwrap();
        let m = meta_of(open_at_path(&root, b"/persist/up", false, ResolveFlags::IN_ROOT).unwrap())
            .unwrap();
        assert_eq!(m.kind, Some(Kind::Symlink), "a final link is not followed");
        let fd = open_at_path(&root, b"/persist/up/persist", true, ResolveFlags::IN_ROOT).unwrap();
        assert_eq!(
            names(&fd).unwrap(),
            vec![b"up".to_vec()],
            "`..` above ROOT stays at ROOT"
        );
    }
}
