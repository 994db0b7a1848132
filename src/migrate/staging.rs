//! The storage side: a storage root opened inside ROOT, its lock, its free
//! room, the staging directory every copy is built in, the leftovers of an
//! interrupted run, and the storage directories a copy lands in (created
//! through the staging directory too, so each appears whole or not at all).
//!
//! Nothing is ever written through a symlink in storage: the directories
//! below a storage root are opened with `RESOLVE_NO_SYMLINKS`, and one that
//! is a link, not a directory, or another file system is reported instead.

use std::ffi::OsStr;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use rustix::fs::{AtFlags, FlockOperation, Mode, OFlags, RenameFlags, StatxFlags};
use rustix::io::Errno;

use super::fsx;

/// The prefix of staging directories in a storage root.
pub const STAGING_PREFIX: &str = ".darlings-staging-";

/// An open storage root.
#[derive(Debug)]
pub struct Storage {
    /// The in-root path (`/persist`).
    pub inroot: Vec<u8>,
    /// Where it is on this machine (`/mnt/root/persist`), for messages.
    pub host: PathBuf,
    /// The directory, open for reading (lock, sync, creation).
    pub fd: OwnedFd,
    /// Its (device, inode).
    pub id: (u64, u64),
    /// Bytes available to us (`f_bavail * f_frsize`).
    pub free: u64,
    /// Inodes free (`None`: the file system does not count them, e.g. btrfs).
    pub free_inodes: Option<u64>,
    /// Staging directories left by an interrupted run.
    pub leftovers: Vec<Vec<u8>>,
    /// True when it is on the same file system as ROOT.
    pub same_fs_as_root: bool,
}

/// Opens the directory `path` of ROOT as `chroot` would resolve it.
pub fn open_in_root(
    root: BorrowedFd<'_>,
    path: &[u8],
    flags: OFlags,
) -> rustix::io::Result<OwnedFd> {
    crate::safe_open::openat_in_root(root, path, flags)
}

/// (device, inode) and mount id of an open descriptor.
pub fn identity(fd: BorrowedFd<'_>) -> rustix::io::Result<((u64, u64), u64)> {
    let st = rustix::fs::statx(
        fd,
        "",
        AtFlags::EMPTY_PATH,
        StatxFlags::INO | StatxFlags::MNT_ID,
    )?;
    Ok((
        (
            rustix::fs::makedev(st.stx_dev_major, st.stx_dev_minor),
            st.stx_ino,
        ),
        st.stx_mnt_id,
    ))
}

impl Storage {
    /// Opens the storage root `inroot` inside ROOT (`root`).
    pub fn open(root: BorrowedFd<'_>, inroot: &[u8]) -> rustix::io::Result<Storage> {
        let fd = open_in_root(root, inroot, OFlags::RDONLY | OFlags::DIRECTORY)?;
        let (id, _) = identity(fd.as_fd())?;
        let (root_id, _) = identity(root)?;
        let mut s = Storage {
            inroot: inroot.to_vec(),
            host: fsx::fd_path(fd.as_fd()),
            fd,
            id,
            free: 0,
            free_inodes: None,
            leftovers: Vec::new(),
            same_fs_as_root: root_id.0 == id.0,
        };
        s.refresh()?;
        Ok(s)
    }

    /// Reads the free room and the leftovers again.
    pub fn refresh(&mut self) -> rustix::io::Result<()> {
        let v = rustix::fs::fstatvfs(&self.fd)?;
        self.free = v.f_bavail.saturating_mul(v.f_frsize);
        self.free_inodes = (v.f_files > 0).then_some(v.f_favail);
        // A fresh descriptor (a listing reads from the descriptor's
        // offset), without touching the storage root's atime.
        let fresh = crate::safe_open::open_noatime(
            &self.fd,
            std::path::Path::new("."),
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        )?;
        self.leftovers = fsx::list_names(fresh.as_fd())?
            .into_iter()
            .filter(|n| n.starts_with(STAGING_PREFIX.as_bytes()))
            .collect();
        self.leftovers.sort();
        Ok(())
    }

    /// Takes the lock of this storage root for the whole run: two
    /// migrations into the same storage never run at once.
    pub fn lock(&self) -> rustix::io::Result<()> {
        rustix::fs::flock(&self.fd, FlockOperation::NonBlockingLockExclusive)
    }

    /// Removes the leftovers of interrupted runs (darlings' own staging
    /// directories only); returns each name with the entries removed.
    pub fn remove_leftovers(&mut self) -> rustix::io::Result<Vec<(Vec<u8>, u64)>> {
        let mut out = Vec::new();
        for name in std::mem::take(&mut self.leftovers) {
            let n = fsx::remove_tree(self.fd.as_fd(), &name)?;
            out.push((name, n));
        }
        if !out.is_empty() {
            rustix::fs::fsync(&self.fd)?;
        }
        Ok(out)
    }
}

/// A staging directory in a storage root, removed when dropped (a kill
/// leaves it for the next run to remove).
#[derive(Debug)]
pub struct Staging {
    parent: OwnedFd,
    name: Vec<u8>,
    /// The staging directory.
    pub fd: OwnedFd,
    next: u64,
}

impl Staging {
    /// Creates `STORAGE/.darlings-staging-XXXXXX` (0700).
    pub fn create(storage: &Storage) -> rustix::io::Result<Staging> {
        let parent = rustix::io::dup(&storage.fd)?;
        for attempt in 0u32..100 {
            let name = format!(
                "{STAGING_PREFIX}{}-{}",
                std::process::id(),
                nanos().wrapping_add(attempt)
            )
            .into_bytes();
            match rustix::fs::mkdirat(
                &parent,
                OsStr::from_bytes(&name),
                Mode::from_raw_mode(0o700),
            ) {
                Ok(()) => {}
                Err(Errno::EXIST) => continue,
                Err(e) => return Err(e),
            }
            let fd = fsx::open_beneath(
                parent.as_fd(),
                &name,
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW,
                Mode::empty(),
            )?;
            // A default ACL on the storage root would be inherited by every
            // staged entry (and make it differ from ROOT): the staging
            // directory has none, and the copies get exactly their own.
            match rustix::fs::fremovexattr(&fd, "system.posix_acl_default") {
                Ok(()) | Err(Errno::NODATA | Errno::OPNOTSUPP) => {}
                Err(e) => return Err(e),
            }
            return Ok(Staging {
                parent,
                name,
                fd,
                next: 0,
            });
        }
        Err(Errno::EXIST)
    }

    /// A new empty directory in the staging directory, for one copy.
    pub fn slot(&mut self) -> rustix::io::Result<(Vec<u8>, OwnedFd)> {
        self.next += 1;
        let name = format!("{}", self.next).into_bytes();
        rustix::fs::mkdirat(
            &self.fd,
            OsStr::from_bytes(&name),
            Mode::from_raw_mode(0o700),
        )?;
        let fd = fsx::open_beneath(
            self.fd.as_fd(),
            &name,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW,
            Mode::empty(),
        )?;
        Ok((name, fd))
    }

    /// Removes a slot and whatever is left in it.
    pub fn remove(&self, name: &[u8]) {
        let _ = fsx::remove_tree(self.fd.as_fd(), name);
    }

    /// The staging directory's name in its storage root.
    pub fn name(&self) -> &[u8] {
        &self.name
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = fsx::remove_tree(self.parent.as_fd(), &self.name);
        let _ = rustix::fs::fsync(&self.parent);
    }
}

fn nanos() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos())
}

/// Why a destination directory cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unusable {
    /// The in-root path of the offending storage directory.
    pub path: Vec<u8>,
    /// What is wrong with it.
    pub problem: &'static str,
}

/// Where a copy of in-root `path` lands: the storage directory that holds
/// it (`/persist/var/lib` for `/var/lib/foo`). Without `staging`, a missing
/// directory gives `Ok(None)`; with it, missing directories are created
/// with the owner and mode of ROOT's directory at the same place (`root`),
/// each through the staging directory and a rename, so it appears complete.
pub fn dest_parent(
    storage: &Storage,
    root: BorrowedFd<'_>,
    path: &[u8],
    mut staging: Option<&mut Staging>,
) -> Result<Option<OwnedFd>, Unusable> {
    let mut cur = rustix::io::dup(&storage.fd).map_err(|_| Unusable {
        path: storage.inroot.clone(),
        problem: "cannot be opened",
    })?;
    let parent = crate::paths::parent(path);
    let mut done = storage.inroot.clone();
    let mut inroot = Vec::new();
    for comp in crate::paths::components(parent) {
        if done.last() != Some(&b'/') {
            done.push(b'/');
        }
        done.extend_from_slice(comp);
        inroot.push(b'/');
        inroot.extend_from_slice(comp);
        let unusable = |problem| Unusable {
            path: done.clone(),
            problem,
        };
        let open = || {
            fsx::open_beneath(
                cur.as_fd(),
                comp,
                OFlags::RDONLY | OFlags::DIRECTORY,
                Mode::empty(),
            )
        };
        let next = match open() {
            Ok(fd) => fd,
            Err(Errno::NOENT) => {
                let Some(st) = staging.as_deref_mut() else {
                    return Ok(None);
                };
                create_dir(st, root, &inroot, cur.as_fd(), comp)
                    .map_err(|_| unusable("cannot be created"))?;
                open().map_err(|_| unusable("cannot be opened after creating it"))?
            }
            Err(Errno::LOOP) => {
                return Err(unusable(
                    "is a symlink (darlings never writes through links in storage)",
                ));
            }
            Err(Errno::NOTDIR) => return Err(unusable("is not a directory")),
            Err(Errno::XDEV) => {
                return Err(unusable(
                    "is another file system mounted inside the storage root (copies are staged in the storage root and renamed into place)",
                ));
            }
            Err(_) => return Err(unusable("cannot be opened")),
        };
        cur = next;
    }
    Ok(Some(cur))
}

/// Creates the storage directory `name` in `dir` with the owner and mode of
/// ROOT's `inroot`, made whole in staging, then renamed into place (a
/// directory that appeared meanwhile is kept as it is).
fn create_dir(
    staging: &mut Staging,
    root: BorrowedFd<'_>,
    inroot: &[u8],
    dir: BorrowedFd<'_>,
    name: &[u8],
) -> rustix::io::Result<()> {
    let (uid, gid, mode) = match open_in_root(root, inroot, OFlags::PATH | OFlags::DIRECTORY)
        .and_then(|fd| rustix::fs::fstat(&fd))
    {
        Ok(st) => (st.st_uid, st.st_gid, st.st_mode & 0o7777),
        Err(_) => (0, 0, 0o755),
    };
    let (slot, slot_fd) = staging.slot()?;
    let r = (|| {
        rustix::fs::mkdirat(&slot_fd, "d", Mode::from_raw_mode(0o700))?;
        let d = fsx::open_beneath(
            slot_fd.as_fd(),
            b"d",
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW,
            Mode::empty(),
        )?;
        rustix::fs::fchown(
            &d,
            Some(rustix::fs::Uid::from_raw(uid)),
            Some(rustix::fs::Gid::from_raw(gid)),
        )?;
        rustix::fs::fchmod(&d, Mode::from_raw_mode(mode))?;
        match rustix::fs::renameat_with(
            &slot_fd,
            "d",
            dir,
            OsStr::from_bytes(name),
            RenameFlags::NOREPLACE,
        ) {
            Ok(()) | Err(Errno::EXIST) => {}
            Err(e) => return Err(e),
        }
        fsx::sync_dir(dir)
    })();
    staging.remove(&slot);
    r
}
