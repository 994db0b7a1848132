//! Reading directories: opening one relative to its parent without side
//! effects, and listing its names with `getdents64` into reused buffers.

use std::os::fd::{AsFd, OwnedFd};

use rustix::fs::{FileType, Mode, OFlags, RawDir};
use rustix::io::Errno;

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

/// `d_type` of a directory.
pub(super) const DT_DIR: u8 = 4;

/// One name in a [`Names`] buffer.
pub(super) struct Name {
    pub(super) off: u32,
    pub(super) len: u8,
    /// `d_type` from getdents (0 when the file system does not say).
    pub(super) dtype: u8,
}

/// A directory's names, NUL-terminated in one buffer; reused from one
/// directory to the next on a thread.
#[derive(Default)]
pub(super) struct Names {
    pub(super) buf: Vec<u8>,
    pub(super) list: Vec<Name>,
}

thread_local! {
    /// Taken by a directory while it is read (a nested read on the same
    /// thread, through rayon's work stealing, finds it empty and allocates).
    pub(super) static NAMES: std::cell::Cell<Names> = std::cell::Cell::new(Names::default());
    static DENTS: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(Vec::with_capacity(64 << 10));
}

/// The longest `linux_dirent64` record: a 19-byte header, a 255-byte name
/// and its NUL, aligned to 8.
const MAX_RECLEN: usize = 280;

/// File systems whose `getdents64` fills the buffer while entries remain
/// (ext4, tmpfs, btrfs, XFS: each loops until the next entry does not fit),
/// so that a buffer left with room for the longest record means the end of
/// the directory. Network and FUSE file systems return what they have and
/// are not in this list.
const FILLS_BUFFER: [i64; 4] = [0xEF53, 0x0102_1994, 0x9123_683E, 0x5846_5342];

/// Returns true if and only if the file system of `fd` is one of [`FILLS_BUFFER`].
// `f_type` is an i64 here, an i32 or u32 on other targets.
#[allow(clippy::unnecessary_cast)]
pub(super) fn fills_buffer(fd: &OwnedFd) -> bool {
    rustix::fs::fstatfs(fd).is_ok_and(|s| FILLS_BUFFER.contains(&(s.f_type as i64)))
}

/// Reads all names of a directory (without `.` and `..`) with `getdents64`
/// through a thread-local 64 KiB buffer into `names`. With `short_is_end`
/// (see [`FILLS_BUFFER`]), a call that left room for another record is the
/// last: the usual extra call that returns 0 is saved, one per directory.
pub(super) fn read_names(
    fd: &OwnedFd,
    names: &mut Names,
    short_is_end: bool,
) -> rustix::io::Result<()> {
    names.buf.clear();
    names.list.clear();
    DENTS.with_borrow_mut(|raw| {
        let room = raw.capacity().saturating_sub(8 + MAX_RECLEN);
        let mut dir = RawDir::new(fd, raw.spare_capacity_mut());
        // Bytes of records taken from the buffer since it was last filled.
        let mut since_fill = 0usize;
        loop {
            if dir.is_buffer_empty() {
                if short_is_end && since_fill > 0 && since_fill <= room {
                    break;
                }
                since_fill = 0;
            }
            let Some(entry) = dir.next() else { break };
            let entry = entry?;
            let n = entry.file_name().to_bytes_with_nul();
            since_fill += (19 + n.len() + 7) & !7;
            if n != b".\0" && n != b"..\0" && n.len() <= 256 {
                let dtype = match entry.file_type() {
                    FileType::Directory => DT_DIR,
                    FileType::Unknown => 0,
                    _ => 1,
                };
                names.list.push(Name {
                    off: names.buf.len() as u32,
                    len: (n.len() - 1) as u8,
                    dtype,
                });
                names.buf.extend_from_slice(n);
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_larger_than_the_buffer_is_read_whole_either_way() {
        let dir = tempfile::tempdir().unwrap();
        // About 600 KiB of records: many buffer fills, and a short last one.
        for k in 0..4321 {
            std::fs::write(dir.path().join(format!("{k:0>120}")), "").unwrap();
        }
        let fd = open_dir(rustix::fs::CWD, dir.path()).unwrap();
        for short_is_end in [false, true] {
            let mut names = Names::default();
            let fd =
                rustix::fs::openat(&fd, ".", OFlags::RDONLY | OFlags::DIRECTORY, Mode::empty())
                    .unwrap();
            read_names(&fd, &mut names, short_is_end).unwrap();
            assert_eq!(names.list.len(), 4321, "short_is_end {short_is_end}");
        }
    }
}
