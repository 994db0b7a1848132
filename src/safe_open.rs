//! Opening the files darlings reads, in the root or named by the user,
//! without side effects: the path is first pinned with `O_PATH` (which runs
//! no driver's `open`, completes no fifo rendezvous and touches no atime),
//! must be a regular file, and only then is that very inode opened for
//! reading through `/proc/self/fd`, with `O_NOATIME` where the kernel allows
//! it and `O_NONBLOCK`. Paths longer than `PATH_MAX` are resolved in pieces.

use std::io::Read;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use rustix::fs::{AtFlags, Mode, OFlags, StatxFlags};

/// The error for a path that is not a regular file (never opened).
pub fn not_regular() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        "not a regular file (a fifo, socket or device is never opened)",
    )
}

/// Opens the regular file at `path` for reading. `follow`: whether a final
/// symlink is followed (yes for files the user names, no inside a scanned
/// root). `expect`: the (dev, ino) it must be, as the walk saw it.
pub fn open_regular(
    path: &Path,
    follow: bool,
    expect: Option<(u64, u64)>,
) -> std::io::Result<std::fs::File> {
    let pinned = open_path(path, follow)?;
    let st = rustix::fs::statx(
        &pinned,
        "",
        AtFlags::EMPTY_PATH,
        StatxFlags::TYPE | StatxFlags::INO,
    )?;
    if u32::from(st.stx_mode) & 0o170000 != 0o100000 {
        return Err(not_regular());
    }
    let id = (
        rustix::fs::makedev(st.stx_dev_major, st.stx_dev_minor),
        st.stx_ino,
    );
    if expect.is_some_and(|e| e != id) {
        return Err(std::io::Error::other("replaced during scan"));
    }
    reopen(&pinned, path, follow, id).map(std::fs::File::from)
}

/// Reads the whole regular file at `path` (following a final symlink):
/// for files the user names (baselines, configs, rules, the whitelist).
pub fn read_regular(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    open_regular(path, true, None)?.read_to_end(&mut buf)?;
    Ok(buf)
}

/// Longest path handed to the kernel in one piece (`PATH_MAX` is 4096 with the NUL).
const PIECE: usize = 4000;

/// An `O_PATH` descriptor of `path`; longer paths are resolved a piece at
/// a time from the previous piece's directory.
fn open_path(path: &Path, follow: bool) -> std::io::Result<OwnedFd> {
    let last = if follow {
        OFlags::PATH | OFlags::CLOEXEC
    } else {
        OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC
    };
    let bytes = path.as_os_str().as_bytes();
    if bytes.len() < PIECE {
        return Ok(rustix::fs::open(path, last, Mode::empty())?);
    }
    let dir_flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let mut dir: Option<OwnedFd> = None;
    let mut rest = bytes;
    loop {
        let at = dir.as_ref().map_or(rustix::fs::CWD, |fd| fd.as_fd());
        if rest.len() < PIECE {
            return Ok(rustix::fs::openat(at, rest, last, Mode::empty())?);
        }
        // Cut at the last '/' that keeps the piece short enough.
        let cut = rest[..PIECE]
            .iter()
            .rposition(|&b| b == b'/')
            .filter(|&c| c > 0)
            .ok_or_else(|| std::io::Error::from(rustix::io::Errno::NAMETOOLONG))?;
        let next = rustix::fs::openat(at, &rest[..cut], dir_flags, Mode::empty())?;
        dir = Some(next);
        rest = &rest[cut + 1..];
    }
}

/// Opens the inode `pinned` refers to for reading. Without `/proc` (a bare
/// chroot) it falls back to opening `path` again and checking that it is
/// still the same inode: the only case where a racing swap could make this
/// open something else (and then refuse to read it).
fn reopen(pinned: &OwnedFd, path: &Path, follow: bool, id: (u64, u64)) -> std::io::Result<OwnedFd> {
    let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC;
    let magic = format!("/proc/self/fd/{}", pinned.as_raw_fd());
    let open_noatime =
        |p: &Path, f: OFlags| match rustix::fs::open(p, f | OFlags::NOATIME, Mode::empty()) {
            Err(rustix::io::Errno::PERM) => rustix::fs::open(p, f, Mode::empty()),
            r => r,
        };
    match open_noatime(Path::new(&magic), flags) {
        Err(rustix::io::Errno::NOENT) => {
            let f = if follow {
                flags
            } else {
                flags | OFlags::NOFOLLOW
            };
            let fd = open_noatime(path, f)?;
            let st = rustix::fs::fstat(fd.as_fd())?;
            if (st.st_dev, st.st_ino) != id || st.st_mode & 0o170000 != 0o100000 {
                return Err(std::io::Error::other("replaced during scan"));
            }
            Ok(fd)
        }
        r => Ok(r?),
    }
}

/// Lists a directory's names with `O_NOATIME` (no atime update where the
/// kernel allows), not following a final symlink.
pub fn list_dir(path: &Path) -> std::io::Result<Vec<Vec<u8>>> {
    let base = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let fd = match rustix::fs::open(path, base | OFlags::NOATIME, Mode::empty()) {
        Err(rustix::io::Errno::PERM) => rustix::fs::open(path, base, Mode::empty())?,
        r => r?,
    };
    let mut buf = Vec::with_capacity(64 << 10);
    let mut dir = rustix::fs::RawDir::new(&fd, buf.spare_capacity_mut());
    let mut names = Vec::new();
    while let Some(e) = dir.next() {
        let e = e?;
        let n = e.file_name().to_bytes();
        if n != b"." && n != b".." {
            names.push(n.to_vec());
        }
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_are_opened() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        std::fs::write(&f, b"data").unwrap();
        assert_eq!(read_regular(&f).unwrap(), b"data");
        std::os::unix::fs::symlink(&f, dir.path().join("l")).unwrap();
        assert_eq!(read_regular(&dir.path().join("l")).unwrap(), b"data");
        assert!(open_regular(&dir.path().join("l"), false, None).is_err());
        let fifo = dir.path().join("p");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        let e = read_regular(&fifo).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
        assert!(read_regular(dir.path()).is_err(), "a directory is refused");
        assert_eq!(list_dir(dir.path()).unwrap().len(), 3);
    }
}
