//! Opening the files darlings reads, in the root or named by the user,
//! without side effects: the path is first pinned with `O_PATH` (which runs
//! no driver's `open`, completes no fifo rendezvous and touches no atime),
//! must be a regular file, and only then is that very inode opened for
//! reading through `/proc/self/fd`, with `O_NOATIME` where the kernel allows
//! it and `O_NONBLOCK`. Paths longer than `PATH_MAX` are resolved in pieces.
//!
//! Files inside a scanned root are opened with [`open_in_root`]: the kernel
//! resolves every link as `chroot` would (`RESOLVE_IN_ROOT`), so
//! `ROOT/etc/passwd` can never lead to the host's `/etc/passwd`.

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
    let id = regular_id(&pinned, expect)?;
    let fallback = |f: OFlags| {
        let f = if follow { f } else { f | OFlags::NOFOLLOW };
        open_noatime(rustix::fs::CWD, path, f)
    };
    reopen(&pinned, id, fallback).map(std::fs::File::from)
}

/// Opens the in-root `path` below the directory `root` with `flags`,
/// resolving every link inside the root as `chroot` would and never through
/// a magic link (`/proc/…/fd`); `/` is the root itself. Retries the kernel's
/// `EAGAIN` (a rename raced the lookup). The one primitive the readers of a
/// root (evidence, migrate) resolve paths with.
pub fn openat_in_root<Fd: AsFd>(
    root: Fd,
    path: &[u8],
    flags: OFlags,
) -> rustix::io::Result<OwnedFd> {
    let rel = path.strip_prefix(b"/").unwrap_or(path);
    let rel: &[u8] = if rel.is_empty() { b"." } else { rel };
    loop {
        match rustix::fs::openat2(
            root.as_fd(),
            std::ffi::OsStr::from_bytes(rel),
            flags | OFlags::CLOEXEC,
            Mode::empty(),
            rustix::fs::ResolveFlags::IN_ROOT | rustix::fs::ResolveFlags::NO_MAGICLINKS,
        ) {
            Err(rustix::io::Errno::AGAIN) => continue,
            r => return r,
        }
    }
}

/// Opens the regular file at the absolute in-root path `path` of the root
/// directory `root`, resolving links inside the root (as `chroot` would),
/// never following a magic link, never opening a fifo or a device.
pub fn open_in_root(root: &Path, path: &[u8]) -> std::io::Result<std::fs::File> {
    let root_fd = rustix::fs::open(
        root,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let rel = std::ffi::OsStr::from_bytes(path.strip_prefix(b"/").unwrap_or(path));
    let rel = if rel.is_empty() {
        std::ffi::OsStr::new(".")
    } else {
        rel
    };
    let resolve = rustix::fs::ResolveFlags::IN_ROOT | rustix::fs::ResolveFlags::NO_MAGICLINKS;
    let pinned = rustix::fs::openat2(
        &root_fd,
        rel,
        OFlags::PATH | OFlags::CLOEXEC,
        Mode::empty(),
        resolve,
    )?;
    let id = regular_id(&pinned, None)?;
    let fallback = |f: OFlags| {
        let fd = rustix::fs::openat2(&root_fd, rel, f | OFlags::NOATIME, Mode::empty(), resolve);
        match fd {
            Err(rustix::io::Errno::PERM) => {
                rustix::fs::openat2(&root_fd, rel, f, Mode::empty(), resolve)
            }
            r => r,
        }
    };
    reopen(&pinned, id, fallback).map(std::fs::File::from)
}

/// Reads at most `max` bytes of the regular file at the in-root `path` (see
/// [`open_in_root`]): the small configuration files darlings reads inside a
/// scanned root (`/etc/passwd`, unit files, tmpfiles rules).
pub fn read_in_root(root: &Path, path: &[u8], max: u64) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    open_in_root(root, path)?.take(max).read_to_end(&mut buf)?;
    Ok(buf)
}

/// Reads at most `max` bytes of the regular file at the host path `path`,
/// not following a final symlink, which must still be the (dev, ino)
/// `expect` when given: a preview of a scanned file.
pub fn read_head(path: &Path, max: u64, expect: Option<(u64, u64)>) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    open_regular(path, false, expect)?
        .take(max)
        .read_to_end(&mut buf)?;
    Ok(buf)
}

/// The (dev, ino) of the `O_PATH` descriptor `pinned`, which must be a
/// regular file, and the one `expect`ed when given.
fn regular_id(pinned: &OwnedFd, expect: Option<(u64, u64)>) -> std::io::Result<(u64, u64)> {
    let st = rustix::fs::statx(
        pinned,
        "",
        AtFlags::EMPTY_PATH,
        StatxFlags::TYPE | StatxFlags::INO,
    )?;
    match u32::from(st.stx_mode) & 0o170000 {
        0o100000 => {}
        // Said as it is: a directory given where a file was meant is a
        // common slip, not a special file.
        0o040000 => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::IsADirectory,
                "it is a directory, not a file",
            ));
        }
        _ => return Err(not_regular()),
    }
    let id = (
        rustix::fs::makedev(st.stx_dev_major, st.stx_dev_minor),
        st.stx_ino,
    );
    if expect.is_some_and(|e| e != id) {
        return Err(std::io::Error::other("replaced during scan"));
    }
    Ok(id)
}

/// Opens `path` relative to `dir` with `O_NOATIME`, retrying without it when
/// the kernel refuses (`EPERM`: we do not own the file and lack the
/// capability), so reading never updates an atime where it can be avoided.
pub fn open_noatime<Fd: AsFd>(dir: Fd, path: &Path, flags: OFlags) -> rustix::io::Result<OwnedFd> {
    match rustix::fs::openat(&dir, path, flags | OFlags::NOATIME, Mode::empty()) {
        Err(rustix::io::Errno::PERM) => rustix::fs::openat(&dir, path, flags, Mode::empty()),
        r => r,
    }
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
/// chroot) it falls back to opening the path again (`open_again` with the
/// read flags) and checking that it is still the same inode: the only case
/// where a racing swap could make this open something else (and then refuse
/// to read it).
fn reopen(
    pinned: &OwnedFd,
    id: (u64, u64),
    open_again: impl FnOnce(OFlags) -> rustix::io::Result<OwnedFd>,
) -> std::io::Result<OwnedFd> {
    let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC;
    let magic = format!("/proc/self/fd/{}", pinned.as_raw_fd());
    match open_noatime(rustix::fs::CWD, Path::new(&magic), flags) {
        Err(rustix::io::Errno::NOENT) => {
            let fd = open_again(flags)?;
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
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let fd = open_noatime(rustix::fs::CWD, path, flags)?;
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

/// Opens the absolute in-root `path` of the directory `root` with the
/// `resolve` rules (`RESOLVE_IN_ROOT` for paths inside a scanned root):
/// `O_PATH` when `dir` is false (nothing is opened for real), else a
/// directory for listing, without touching its atime.
pub fn open_at_path<Fd: AsFd>(
    root: Fd,
    path: &[u8],
    dir: bool,
    resolve: rustix::fs::ResolveFlags,
) -> rustix::io::Result<OwnedFd> {
    let rel = path.strip_prefix(b"/").unwrap_or(path);
    let rel: &[u8] = if rel.is_empty() { b"." } else { rel };
    let resolve = resolve | rustix::fs::ResolveFlags::NO_MAGICLINKS;
    let flags = if dir {
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC
    } else {
        OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC
    };
    if !dir {
        return rustix::fs::openat2(&root, rel, flags, Mode::empty(), resolve);
    }
    match rustix::fs::openat2(&root, rel, flags | OFlags::NOATIME, Mode::empty(), resolve) {
        Err(rustix::io::Errno::PERM) => {
            rustix::fs::openat2(&root, rel, flags, Mode::empty(), resolve)
        }
        r => r,
    }
}

/// A detached, non-recursive clone of the mount at `root`
/// (`open_tree(OPEN_TREE_CLONE)` without `AT_RECURSIVE`): ROOT's file system
/// alone, with nothing mounted anywhere in it, seen by nobody else, gone when
/// the descriptor closes. What lies under ROOT's mount points is read
/// through it (needs CAP_SYS_ADMIN and Linux 5.2).
pub fn detached_clone(root: &Path) -> rustix::io::Result<OwnedFd> {
    use rustix::mount::OpenTreeFlags;
    rustix::mount::open_tree(
        rustix::fs::CWD,
        root,
        OpenTreeFlags::OPEN_TREE_CLONE | OpenTreeFlags::OPEN_TREE_CLOEXEC,
    )
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

    #[test]
    fn in_root_reads_resolve_links_inside_the_root() {
        let host = tempfile::tempdir().unwrap();
        let root = host.path().join("root");
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::fs::create_dir_all(root.join("data")).unwrap();
        std::fs::write(host.path().join("secret"), b"host").unwrap();
        std::fs::write(root.join("secret"), b"in root").unwrap();
        std::fs::write(root.join("data/passwd"), b"alice").unwrap();
        // An absolute link and a climbing relative link both stay inside ROOT.
        std::os::unix::fs::symlink("/secret", root.join("etc/abs")).unwrap();
        std::os::unix::fs::symlink("../../../../secret", root.join("etc/up")).unwrap();
        std::os::unix::fs::symlink("/data", root.join("etc/d")).unwrap();
        let read = |p: &[u8]| read_in_root(&root, p, 1 << 20);
        assert_eq!(read(b"/etc/abs").unwrap(), b"in root");
        assert_eq!(read(b"/etc/up").unwrap(), b"in root");
        assert_eq!(read(b"/etc/d/passwd").unwrap(), b"alice");
        assert_eq!(read(b"/data/passwd").unwrap(), b"alice");
        assert_eq!(read_in_root(&root, b"/data/passwd", 2).unwrap(), b"al");
        assert!(read(b"/data").is_err(), "a directory is refused");
        assert_eq!(
            read(b"/missing").unwrap_err().kind(),
            std::io::ErrorKind::NotFound
        );
    }
}
