//! The file operations of the migration, every one relative to a directory
//! descriptor: paths below a copied tree are opened with `openat2` and
//! `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV`, so a component
//! swapped for a symlink or a mount while we work makes the open fail instead
//! of leading out of the tree. Extended attributes of entries that are never
//! opened (symlinks, fifos, devices) are read and written through
//! `/proc/self/fd/DIR/NAME`, which resolves the directory by its descriptor
//! and does not follow the final name.

use std::ffi::OsStr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use rustix::fs::{Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

/// How every path below a tree's top is resolved: no symlink, no mount
/// crossing, never above the starting directory.
pub const BENEATH: ResolveFlags = ResolveFlags::BENEATH
    .union(ResolveFlags::NO_SYMLINKS)
    .union(ResolveFlags::NO_XDEV)
    .union(ResolveFlags::NO_MAGICLINKS);

/// Longest relative path handed to the kernel in one piece (`PATH_MAX` is
/// 4096 with the NUL); longer ones are resolved a directory chunk at a time.
const PIECE: usize = 4000;

/// Opens `rel` (relative, `/`-separated, no `.` or `..`) below `dir` with
/// [`BENEATH`] resolution. `O_NOATIME` in `flags` is dropped and retried
/// when the kernel refuses it (`EPERM`: not our file, no capability).
pub fn open_beneath(
    dir: BorrowedFd<'_>,
    rel: &[u8],
    flags: OFlags,
    mode: Mode,
) -> rustix::io::Result<OwnedFd> {
    let flags = flags | OFlags::CLOEXEC;
    if rel.len() < PIECE {
        return openat2_noatime(dir, rel, flags, mode);
    }
    // Cut at the last '/' that keeps the piece short enough.
    let cut = rel[..PIECE]
        .iter()
        .rposition(|&b| b == b'/')
        .filter(|&c| c > 0)
        .ok_or(Errno::NAMETOOLONG)?;
    let next = openat2_noatime(
        dir,
        &rel[..cut],
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    open_beneath(next.as_fd(), &rel[cut + 1..], flags, mode)
}

fn openat2_noatime(
    dir: BorrowedFd<'_>,
    rel: &[u8],
    flags: OFlags,
    mode: Mode,
) -> rustix::io::Result<OwnedFd> {
    let path = OsStr::from_bytes(rel);
    loop {
        let r = match rustix::fs::openat2(dir, path, flags, mode, BENEATH) {
            Err(Errno::PERM) if flags.contains(OFlags::NOATIME) => {
                rustix::fs::openat2(dir, path, flags - OFlags::NOATIME, mode, BENEATH)
            }
            r => r,
        };
        // openat2 answers EAGAIN when a rename elsewhere on the system raced
        // with the lookup; the lookup is simply tried again.
        match r {
            Err(Errno::AGAIN) => continue,
            r => return r,
        }
    }
}

/// Opens the parent directory of `rel` below `dir` (`O_PATH`), returning
/// it with the final name.
pub fn open_parent<'a>(
    dir: BorrowedFd<'_>,
    rel: &'a [u8],
) -> rustix::io::Result<(OwnedFd, &'a [u8])> {
    match rel.iter().rposition(|&b| b == b'/') {
        Some(i) => Ok((
            open_beneath(
                dir,
                &rel[..i],
                OFlags::PATH | OFlags::DIRECTORY,
                Mode::empty(),
            )?,
            &rel[i + 1..],
        )),
        None => Ok((rustix::io::dup(dir)?, rel)),
    }
}

/// `/proc/self/fd/DIR/NAME`: a path to the entry `name` of the open
/// directory `dir` that does not depend on the directory's own path.
pub fn proc_path(dir: BorrowedFd<'_>, name: &[u8]) -> PathBuf {
    let mut p = format!("/proc/self/fd/{}", dir.as_raw_fd()).into_bytes();
    if !name.is_empty() {
        p.push(b'/');
        p.extend_from_slice(name);
    }
    PathBuf::from(OsStr::from_bytes(&p))
}

/// The host path an open descriptor refers to (for messages only).
pub fn fd_path(fd: BorrowedFd<'_>) -> PathBuf {
    std::fs::read_link(proc_path(fd, b"")).unwrap_or_else(|_| PathBuf::from("?"))
}

/// An entry's extended attributes, sorted by name: `user.*`,
/// `security.capability`, POSIX ACLs (`system.posix_acl_*`) and the rest.
pub type Xattrs = Vec<(Vec<u8>, Vec<u8>)>;

/// Reads every extended attribute of the entry `name` of `dir` without
/// following a final symlink. A file system without xattr support gives none.
pub fn read_xattrs(dir: BorrowedFd<'_>, name: &[u8]) -> rustix::io::Result<Xattrs> {
    let path = proc_path(dir, name);
    let mut list = vec![0u8; 256];
    let len = loop {
        match rustix::fs::llistxattr(&path, &mut list[..]) {
            Ok(n) => break n,
            Err(Errno::RANGE) => {
                let need = rustix::fs::llistxattr_query(&path)?;
                list.resize(need.max(list.len() * 2), 0);
            }
            Err(Errno::OPNOTSUPP) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        }
    };
    let mut out = Vec::new();
    let mut value = Vec::new();
    for key in list[..len].split(|&b| b == 0).filter(|k| !k.is_empty()) {
        let key_os = OsStr::from_bytes(key);
        value.resize(256, 0);
        let n = loop {
            match rustix::fs::lgetxattr(&path, key_os, &mut value[..]) {
                Ok(n) => break Some(n),
                Err(Errno::RANGE) => {
                    let need = rustix::fs::lgetxattr_query(&path, key_os)?;
                    value.resize(need.max(value.len() * 2), 0);
                }
                // Removed between the list and the read.
                Err(Errno::NODATA) => break None,
                Err(e) => return Err(e),
            }
        };
        if let Some(n) = n {
            out.push((key.to_vec(), value[..n].to_vec()));
        }
    }
    out.sort();
    Ok(out)
}

/// Reads every extended attribute of an open file or directory (cheaper
/// than the `/proc` path of [`read_xattrs`] when a descriptor is at hand).
pub fn fread_xattrs(fd: BorrowedFd<'_>) -> rustix::io::Result<Xattrs> {
    let mut list = vec![0u8; 256];
    let len = loop {
        match rustix::fs::flistxattr(fd, &mut list[..]) {
            Ok(n) => break n,
            Err(Errno::RANGE) => {
                let need = rustix::fs::flistxattr_query(fd)?;
                list.resize(need.max(list.len() * 2), 0);
            }
            Err(Errno::OPNOTSUPP) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        }
    };
    let mut out = Vec::new();
    let mut value = Vec::new();
    for key in list[..len].split(|&b| b == 0).filter(|k| !k.is_empty()) {
        let key_os = OsStr::from_bytes(key);
        value.resize(256, 0);
        let n = loop {
            match rustix::fs::fgetxattr(fd, key_os, &mut value[..]) {
                Ok(n) => break Some(n),
                Err(Errno::RANGE) => {
                    let need = rustix::fs::fgetxattr_query(fd, key_os)?;
                    value.resize(need.max(value.len() * 2), 0);
                }
                Err(Errno::NODATA) => break None,
                Err(e) => return Err(e),
            }
        };
        if let Some(n) = n {
            out.push((key.to_vec(), value[..n].to_vec()));
        }
    }
    out.sort();
    Ok(out)
}

/// Sets `xattrs` on the entry `name` of `dir` (not following a final link).
pub fn write_xattrs(dir: BorrowedFd<'_>, name: &[u8], xattrs: &Xattrs) -> rustix::io::Result<()> {
    if xattrs.is_empty() {
        return Ok(());
    }
    let path = proc_path(dir, name);
    for (k, v) in xattrs {
        rustix::fs::lsetxattr(
            &path,
            OsStr::from_bytes(k),
            v,
            rustix::fs::XattrFlags::empty(),
        )?;
    }
    Ok(())
}

/// Sets `xattrs` on an open file or directory.
pub fn fwrite_xattrs(fd: BorrowedFd<'_>, xattrs: &Xattrs) -> rustix::io::Result<()> {
    for (k, v) in xattrs {
        rustix::fs::fsetxattr(fd, OsStr::from_bytes(k), v, rustix::fs::XattrFlags::empty())?;
    }
    Ok(())
}

/// Removes the tree `name` of `dir` (never following a symlink, never
/// leaving the file system), returning the number of entries removed.
/// Used only on darlings' own staging directories.
pub fn remove_tree(dir: BorrowedFd<'_>, name: &[u8]) -> rustix::io::Result<u64> {
    use rustix::fs::AtFlags;
    match rustix::fs::unlinkat(dir, OsStr::from_bytes(name), AtFlags::empty()) {
        Ok(()) => return Ok(1),
        Err(Errno::ISDIR) | Err(Errno::PERM) => {}
        Err(Errno::NOENT) => return Ok(0),
        Err(e) => return Err(e),
    }
    let sub = open_beneath(
        dir,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW,
        Mode::empty(),
    )?;
    // A staged directory may be read-only (0555): make it writable to empty it.
    let _ = rustix::fs::fchmod(&sub, Mode::from_raw_mode(0o700));
    let mut removed = 0;
    for child in list_names(sub.as_fd())? {
        removed += remove_tree(sub.as_fd(), &child)?;
    }
    drop(sub);
    match rustix::fs::unlinkat(dir, OsStr::from_bytes(name), AtFlags::REMOVEDIR) {
        Ok(()) | Err(Errno::NOENT) => Ok(removed + 1),
        Err(e) => Err(e),
    }
}

/// The names in the directory `dir`, a readable descriptor freshly opened
/// (it is read from its current offset), without `.` and `..`.
pub fn list_names(dir: BorrowedFd<'_>) -> rustix::io::Result<Vec<Vec<u8>>> {
    let mut buf = Vec::with_capacity(32 << 10);
    let mut iter = rustix::fs::RawDir::new(dir, buf.spare_capacity_mut());
    let mut names = Vec::new();
    while let Some(e) = iter.next() {
        let e = e?;
        let n = e.file_name().to_bytes();
        if n != b"." && n != b".." {
            names.push(n.to_vec());
        }
    }
    Ok(names)
}

/// Makes the directory `dir` durable (its entries, after a rename).
pub fn sync_dir(dir: BorrowedFd<'_>) -> rustix::io::Result<()> {
    let fd = rustix::fs::openat(
        dir,
        ".",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    rustix::fs::fsync(&fd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beneath_refuses_symlinks_and_long_paths_are_resolved_in_pieces() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("a")).unwrap();
        std::fs::write(dir.path().join("a/f"), b"x").unwrap();
        std::os::unix::fs::symlink("a", dir.path().join("l")).unwrap();
        let top = rustix::fs::open(dir.path(), OFlags::PATH, Mode::empty()).unwrap();
        assert!(open_beneath(top.as_fd(), b"a/f", OFlags::RDONLY, Mode::empty()).is_ok());
        assert_eq!(
            open_beneath(top.as_fd(), b"l/f", OFlags::RDONLY, Mode::empty()).unwrap_err(),
            Errno::LOOP
        );
        assert!(open_beneath(top.as_fd(), b"../x", OFlags::RDONLY, Mode::empty()).is_err());
        // A path longer than PATH_MAX: 30 levels of 200-byte names.
        let name = "d".repeat(200);
        let mut rel = Vec::new();
        let mut cur = top.as_fd().try_clone_to_owned().unwrap();
        for _ in 0..30 {
            rustix::fs::mkdirat(&cur, name.as_str(), Mode::from_raw_mode(0o755)).unwrap();
            cur = rustix::fs::openat(&cur, name.as_str(), OFlags::PATH, Mode::empty()).unwrap();
            if !rel.is_empty() {
                rel.push(b'/');
            }
            rel.extend_from_slice(name.as_bytes());
        }
        assert!(rel.len() > 4096);
        let deep = open_beneath(top.as_fd(), &rel, OFlags::PATH, Mode::empty()).unwrap();
        let a = rustix::fs::fstat(&deep).unwrap();
        let b = rustix::fs::fstat(&cur).unwrap();
        assert_eq!((a.st_dev, a.st_ino), (b.st_dev, b.st_ino));
        assert_eq!(remove_tree(top.as_fd(), name.as_bytes()).unwrap(), 30);
    }

    #[test]
    fn user_xattrs_are_read_and_written_without_following_links() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("f"), b"x").unwrap();
        std::fs::write(dir.path().join("g"), b"x").unwrap();
        let top = rustix::fs::open(dir.path(), OFlags::PATH, Mode::empty()).unwrap();
        let attrs = vec![
            (b"user.a".to_vec(), b"1".to_vec()),
            (b"user.b".to_vec(), vec![0u8; 1000]),
        ];
        match write_xattrs(top.as_fd(), b"f", &attrs) {
            Err(Errno::OPNOTSUPP) => {
                eprintln!("SKIPPED: the temp file system has no user xattrs");
                return;
            }
            r => r.unwrap(),
        }
        assert_eq!(read_xattrs(top.as_fd(), b"f").unwrap(), attrs);
        assert!(read_xattrs(top.as_fd(), b"g").unwrap().is_empty());
    }
}
