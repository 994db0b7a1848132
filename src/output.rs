//! Atomic output files: write a temporary file in the target's directory,
//! fsync it, then rename it over the target, so a crash or a kill at any
//! moment leaves either the old file or the new one, never half of one.
//!
//! The temporary is an unnamed `O_TMPFILE` where the file system supports
//! it, given a name only for the instant between `linkat` and `rename`: a
//! kill while it is being filled leaves nothing behind. Elsewhere it is a
//! named `.darlings-XXXXXX.tmp` dot-file, which is what a kill can leave.
//! darlings never deletes such leftovers itself: it deletes nothing it was
//! not asked to.

use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, Mode, OFlags};
use rustix::io::Errno;

use crate::{Error, Result};

/// The prefix and suffix of every temporary darlings writes.
pub const TMP_PREFIX: &str = ".darlings-";
/// See [`TMP_PREFIX`].
pub const TMP_SUFFIX: &str = ".tmp";

/// Where writing `path` lands. A symlink is followed (a whitelist or a
/// report linked into place from elsewhere): the file it points to is the
/// one replaced, and the link stays. A dangling link names the file to
/// create, as the shell's `>` would. Anything else is `path` itself.
pub fn follow(path: &Path) -> Result<PathBuf> {
    let is_link = |p: &Path| std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink());
    if !is_link(path) {
        return Ok(path.to_path_buf());
    }
    match std::fs::metadata(path) {
        // Not a regular file behind the link (`/dev/stdout` to a terminal
        // or a pipe, `/dev/null`): written into through the link, never
        // replaced; the kernel resolves /proc's magic links, not us.
        Ok(m) if !m.is_file() => return Ok(path.to_path_buf()),
        Ok(_) => {
            return std::fs::canonicalize(path).map_err(|e| Error::io("cannot resolve", path, e));
        }
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(Error::io("cannot resolve", path, e));
        }
        Err(_) => {}
    }
    // Dangling: hop by hop, as the kernel would (at most 40 links).
    let mut p = path.to_path_buf();
    for _ in 0..40 {
        if !is_link(&p) {
            return Ok(p);
        }
        let t = std::fs::read_link(&p).map_err(|e| Error::io("cannot resolve", &p, e))?;
        p = if t.is_absolute() {
            t
        } else {
            parent_dir(&p).join(t)
        };
    }
    Err(Error::io("cannot resolve", path, Errno::LOOP.into()))
}

/// Checks, before any long work starts, that `path` can be an output file
/// (a symlink followed, see [`follow`]): its directory exists and it is not
/// a directory.
pub fn check_target(path: &Path) -> Result<()> {
    let resolved = follow(path)?;
    let path = resolved.as_path();
    // First: `-o .` or `-o DIR/` names a directory, whose own parent
    // may well exist; say so rather than blame the parent.
    if std::fs::metadata(path).is_ok_and(|m| m.is_dir()) || path.file_name().is_none() {
        return Err(Error::io(
            "cannot write",
            path,
            std::io::Error::new(
                std::io::ErrorKind::IsADirectory,
                "it is a directory; give a file name (like DIR/NAME)",
            ),
        ));
    }
    let dir = parent_dir(path);
    if !std::fs::metadata(dir).is_ok_and(|m| m.is_dir()) {
        return Err(Error::io(
            "cannot write",
            path,
            std::io::Error::new(std::io::ErrorKind::NotFound, "its directory does not exist"),
        ));
    }
    Ok(())
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// Writes `path` atomically with the bytes produced by `fill`. When `backup`
/// is set and `path` exists, its previous content is kept as `path.bak`.
/// A file that is replaced keeps its permission bits (and, as root, its owner).
/// A symlink is followed ([`follow`]): its target is written, the link stays.
pub fn write_atomic(
    path: &Path,
    backup: bool,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    let resolved = follow(path)?;
    let path = resolved.as_path();
    check_target(path)?;
    let err = |e: std::io::Error| Error::io("cannot write", path, e);
    // `-o /dev/null`, `-o /dev/stdout` or a fifo: stream into it. Renaming a
    // temporary over it would replace the device node itself (as root,
    // `/dev/null` would become a regular file for the whole machine).
    if let Ok(meta) = std::fs::metadata(path) {
        use std::os::unix::fs::FileTypeExt;
        let ft = meta.file_type();
        if ft.is_char_device() || ft.is_fifo() {
            let mut out = std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(err)?;
            let mut w = std::io::BufWriter::with_capacity(1 << 20, &mut out);
            fill(&mut w).map_err(err)?;
            return w.flush().map_err(err);
        }
        if ft.is_block_device() || ft.is_socket() {
            return Err(err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "refusing to write over a block device or a socket",
            )));
        }
    }
    let dir = parent_dir(path);
    let name = path.file_name().unwrap_or_default();
    let dir_fd = rustix::fs::open(
        dir,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| err(e.into()))?;
    let old = rustix::fs::statat(&dir_fd, name, AtFlags::SYMLINK_NOFOLLOW)
        .ok()
        .filter(|st| st.st_mode & 0o170000 == 0o100000);
    let mut tmp = match rustix::fs::openat(
        &dir_fd,
        ".",
        OFlags::TMPFILE | OFlags::WRONLY | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o600),
    ) {
        Ok(fd) => Tmp::Unnamed(std::fs::File::from(fd)),
        // Not supported by this file system (or kernel): a named dot-file.
        Err(Errno::OPNOTSUPP | Errno::ISDIR | Errno::INVAL | Errno::NOSYS) => Tmp::Named(
            tempfile::Builder::new()
                .prefix(TMP_PREFIX)
                .suffix(TMP_SUFFIX)
                .tempfile_in(dir)
                .map_err(err)?,
        ),
        Err(e) => return Err(err(e.into())),
    };
    {
        let mut w = std::io::BufWriter::with_capacity(1 << 20, tmp.file());
        fill(&mut w).map_err(err)?;
        w.flush().map_err(err)?;
    }
    if let Some(st) = &old {
        let f = tmp.file();
        rustix::fs::fchmod(&*f, Mode::from_raw_mode(st.st_mode & 0o7777))
            .map_err(|e| err(e.into()))?;
        if rustix::process::geteuid().is_root() {
            let owner = Some(rustix::fs::Uid::from_raw(st.st_uid));
            let group = Some(rustix::fs::Gid::from_raw(st.st_gid));
            rustix::fs::fchown(&*f, owner, group).map_err(|e| err(e.into()))?;
        }
    }
    tmp.file().sync_all().map_err(err)?;
    if let (true, Some(st)) = (backup, &old) {
        // The backup is itself written atomically: a kill while it is
        // written leaves the previous backup, never half of one.
        let mut bak = path.as_os_str().to_owned();
        bak.push(".bak");
        let bak = std::path::PathBuf::from(bak);
        let previous = crate::safe_open::read_regular(path)
            .map_err(|e| Error::io("cannot keep a backup of", path, e))?;
        write_bytes(&bak, &previous)?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&bak, std::fs::Permissions::from_mode(st.st_mode & 0o7777))
            .map_err(|e| Error::io("cannot keep a backup of", path, e))?;
    }
    match tmp {
        Tmp::Named(t) => {
            t.persist(path).map_err(|e| err(e.error))?;
        }
        Tmp::Unnamed(f) => {
            let fd = OwnedFd::from(f);
            let tmp_name = link_unnamed(&fd, &dir_fd).map_err(|e| err(e.into()))?;
            if let Err(e) = rustix::fs::renameat(&dir_fd, &tmp_name, &dir_fd, name) {
                let _ = rustix::fs::unlinkat(&dir_fd, &tmp_name, AtFlags::empty());
                return Err(err(e.into()));
            }
        }
    }
    // The rename itself is made durable; a file system that cannot sync a
    // directory still has the complete file under one of the two names.
    let _ = rustix::fs::fsync(&dir_fd);
    Ok(())
}

/// [`write_atomic`] of plain bytes, without a backup (non-generic, so the
/// backup inside [`write_atomic`] does not instantiate it recursively).
fn write_bytes(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic(path, false, |w| w.write_all(bytes))
}

/// The temporary being filled.
enum Tmp {
    /// An `O_TMPFILE`: no name until it is complete.
    Unnamed(std::fs::File),
    /// A named dot-file where `O_TMPFILE` is not supported.
    Named(tempfile::NamedTempFile),
}

impl Tmp {
    fn file(&mut self) -> &mut std::fs::File {
        match self {
            Tmp::Unnamed(f) => f,
            Tmp::Named(t) => t.as_file_mut(),
        }
    }
}

/// Gives the complete unnamed file a fresh temporary name in `dir`.
fn link_unnamed(fd: &OwnedFd, dir: &OwnedFd) -> rustix::io::Result<String> {
    let magic = format!("/proc/self/fd/{}", fd.as_raw_fd());
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
        ^ (u64::from(std::process::id()) << 32);
    for attempt in 0u64..100 {
        let mut x = seed.wrapping_add(attempt.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let mut tag = String::with_capacity(6);
        for _ in 0..6 {
            x ^= x >> 29;
            x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
            tag.push(char::from(
                b"abcdefghijklmnopqrstuvwxyz0123456789"[(x % 36) as usize],
            ));
        }
        let name = format!("{TMP_PREFIX}{tag}{TMP_SUFFIX}");
        // Through /proc for everyone; AT_EMPTY_PATH where /proc is missing (root only).
        let r = match rustix::fs::linkat(
            rustix::fs::CWD,
            magic.as_str(),
            dir,
            name.as_str(),
            AtFlags::SYMLINK_FOLLOW,
        ) {
            Err(Errno::NOENT) => {
                rustix::fs::linkat(fd.as_fd(), "", dir, name.as_str(), AtFlags::EMPTY_PATH)
            }
            r => r,
        };
        match r {
            Ok(()) => return Ok(name),
            Err(Errno::EXIST) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(Errno::EXIST)
}

/// Returns true if and only if `inner` is `outer` or lies below it, comparing
/// canonical paths (the file need not exist yet: its directory is resolved).
pub fn is_inside(inner: &Path, outer: &Path) -> bool {
    let Ok(outer) = std::fs::canonicalize(outer) else {
        return false;
    };
    let resolved = match std::fs::canonicalize(inner) {
        Ok(p) => p,
        Err(_) => match (inner.parent(), inner.file_name()) {
            (Some(d), Some(n)) => {
                let d = if d.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    d
                };
                match std::fs::canonicalize(d) {
                    Ok(d) => d.join(n),
                    Err(_) => return false,
                }
            }
            _ => return false,
        },
    };
    resolved.starts_with(outer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_null_and_fifos_are_written_into_never_replaced() {
        write_atomic(Path::new("/dev/null"), false, |w| w.write_all(b"report")).unwrap();
        let meta = std::fs::metadata("/dev/null").unwrap();
        use std::os::unix::fs::FileTypeExt;
        assert!(
            meta.file_type().is_char_device(),
            "/dev/null is still a device"
        );
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("p");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read(fifo).unwrap())
        };
        write_atomic(&fifo, false, |w| w.write_all(b"through the pipe")).unwrap();
        assert_eq!(reader.join().unwrap(), b"through the pipe");
        assert!(
            std::fs::symlink_metadata(&fifo)
                .unwrap()
                .file_type()
                .is_fifo()
        );
    }

    /// `-o LINK`: the file the link points to is replaced atomically (its
    /// mode kept), the link stays; a dangling link's target is created; a
    /// link to /dev/null is written into; a link to a directory is refused.
    #[test]
    fn a_symlink_is_followed_never_replaced() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        std::fs::create_dir(&real).unwrap();
        std::fs::write(real.join("report.json"), b"old").unwrap();
        std::fs::set_permissions(
            real.join("report.json"),
            std::fs::Permissions::from_mode(0o640),
        )
        .unwrap();
        // A relative link through another link.
        std::os::unix::fs::symlink("real/report.json", dir.path().join("hop")).unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink("hop", &link).unwrap();
        write_atomic(&link, true, |w| w.write_all(b"new")).unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read_link(&link).unwrap(), Path::new("hop"));
        assert_eq!(std::fs::read(real.join("report.json")).unwrap(), b"new");
        assert_eq!(std::fs::read(real.join("report.json.bak")).unwrap(), b"old");
        let mode = std::fs::metadata(real.join("report.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o640);
        // Control: a plain file is replaced in place.
        let plain = dir.path().join("plain");
        write_atomic(&plain, false, |w| w.write_all(b"x")).unwrap();
        assert!(std::fs::symlink_metadata(&plain).unwrap().is_file());
        // Dangling: the file it names is created, the link stays.
        let dangling = dir.path().join("dangling");
        std::os::unix::fs::symlink("real/new.json", &dangling).unwrap();
        check_target(&dangling).unwrap();
        write_atomic(&dangling, false, |w| w.write_all(b"created")).unwrap();
        assert!(
            std::fs::symlink_metadata(&dangling)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read(real.join("new.json")).unwrap(), b"created");
        // To /dev/null: written into, the link and the device stay.
        let null = dir.path().join("null");
        std::os::unix::fs::symlink("/dev/null", &null).unwrap();
        write_atomic(&null, false, |w| w.write_all(b"gone")).unwrap();
        assert!(
            std::fs::symlink_metadata(&null)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        use std::os::unix::fs::FileTypeExt;
        assert!(
            std::fs::metadata("/dev/null")
                .unwrap()
                .file_type()
                .is_char_device()
        );
        // To a directory: refused, nothing written.
        let to_dir = dir.path().join("to-dir");
        std::os::unix::fs::symlink("real", &to_dir).unwrap();
        assert!(write_atomic(&to_dir, false, |w| w.write_all(b"no")).is_err());
        assert!(check_target(&to_dir).is_err());
        // A loop: an error, not a hang.
        std::os::unix::fs::symlink("loop-b", dir.path().join("loop-a")).unwrap();
        std::os::unix::fs::symlink("loop-a", dir.path().join("loop-b")).unwrap();
        assert!(write_atomic(&dir.path().join("loop-a"), false, |w| w.write_all(b"no")).is_err());
    }

    #[test]
    fn failed_fill_leaves_old_file_and_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.json");
        std::fs::write(&p, b"old").unwrap();
        let r = write_atomic(&p, false, |w| {
            w.write_all(b"partial")?;
            Err(std::io::Error::other("boom"))
        });
        assert!(r.is_err());
        assert_eq!(std::fs::read(&p).unwrap(), b"old");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary left"
        );
    }

    #[test]
    fn a_replaced_file_keeps_its_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("report.json");
        std::fs::write(&p, b"old").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o640)).unwrap();
        write_atomic(&p, false, |w| w.write_all(b"new")).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"new");
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o640);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn backup_keeps_previous_version() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("persist.nix");
        std::fs::write(&p, b"v1").unwrap();
        write_atomic(&p, true, |w| w.write_all(b"v2")).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"v2");
        assert_eq!(
            std::fs::read(dir.path().join("persist.nix.bak")).unwrap(),
            b"v1"
        );
    }

    #[test]
    fn missing_directory_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("nope/out.json");
        assert!(write_atomic(&p, false, |w| w.write_all(b"x")).is_err());
    }
}
