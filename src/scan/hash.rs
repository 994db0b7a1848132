//! BLAKE3 of one regular file, read without following links, without
//! blocking on a file that turned into a fifo, and without touching its atime.

use std::io::Read;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use rustix::fs::{AtFlags, Mode, OFlags, StatxFlags};

/// What a hashed file looked like when it was opened: callers compare it with
/// the scan's metadata to notice a file replaced between stat and hash.
pub struct Hashed {
    /// The BLAKE3 digest of the bytes read.
    pub digest: [u8; 32],
    /// Bytes actually read (differs from the stat size when the file changed).
    pub bytes: u64,
    /// Inode of the opened file.
    pub ino: u64,
}

/// Files above this size are hashed with blake3's multi-threaded `update_rayon`
/// while the next chunk is read, so one big file uses every core.
const BIG_FILE: u64 = 4 << 20;
const CHUNK: usize = 1 << 20;

/// Hashes the regular file at `path`. When `expect` is given (the `dev`
/// and `ino` the walk saw), a file that is no longer that inode is refused.
///
/// The file is first pinned with an `O_PATH | O_NOFOLLOW` descriptor, which
/// runs no driver's `open`, completes no fifo rendezvous and touches no atime,
/// and checked to be a regular file (and the expected inode). Only then is
/// that very inode opened for reading, through `/proc/self/fd`, with
/// `O_NOATIME` (dropped where the kernel refuses it, i.e. for files we do not
/// own when not root) and `O_NONBLOCK`. So a directory swapped for a symlink
/// between the walk and the hash can lead this to stat something outside the
/// root, but never to open a device, a fifo or a socket, nor to hash another
/// file. Paths longer than `PATH_MAX` (deep trees) are resolved in pieces.
pub fn hash_file(path: &Path, expect: Option<(u64, u64)>) -> std::io::Result<Hashed> {
    let pinned = open_path(path)?;
    let st = rustix::fs::statx(
        &pinned,
        "",
        AtFlags::EMPTY_PATH,
        StatxFlags::TYPE | StatxFlags::INO,
    )?;
    if u32::from(st.stx_mode) & 0o170000 != 0o100000 {
        return Err(std::io::Error::other("no longer a regular file"));
    }
    let dev = rustix::fs::makedev(st.stx_dev_major, st.stx_dev_minor);
    if expect.is_some_and(|e| e != (dev, st.stx_ino)) {
        return Err(std::io::Error::other("replaced during scan"));
    }
    let fd = reopen(&pinned, path, (dev, st.stx_ino))?;
    let st = rustix::fs::fstat(fd.as_fd())?;
    let mut file = std::fs::File::from(fd);
    let mut hasher = blake3::Hasher::new();
    let mut total = 0u64;
    if (st.st_size as u64) < BIG_FILE {
        total = hash_small(&mut file, &mut hasher)?;
    } else {
        // Double-buffered: hash chunk A on the rayon pool while reading chunk B.
        let mut cur = vec![0u8; CHUNK * 4];
        let mut next = vec![0u8; CHUNK * 4];
        let mut cur_len = read_full(&mut file, &mut cur)?;
        while cur_len > 0 {
            let (_, next_len) = rayon::join(
                || {
                    hasher.update_rayon(&cur[..cur_len]);
                },
                || read_full(&mut file, &mut next),
            );
            total += cur_len as u64;
            std::mem::swap(&mut cur, &mut next);
            cur_len = next_len?;
        }
    }
    Ok(Hashed {
        digest: *hasher.finalize().as_bytes(),
        bytes: total,
        ino: st.st_ino,
    })
}

/// Longest path handed to the kernel in one piece (`PATH_MAX` is 4096 with the NUL).
const PIECE: usize = 4000;

/// An `O_PATH` descriptor of `path` without following a final symlink;
/// longer paths are resolved a piece at a time from the previous piece's directory.
fn open_path(path: &Path) -> std::io::Result<OwnedFd> {
    let last = OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC;
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
fn reopen(pinned: &OwnedFd, path: &Path, id: (u64, u64)) -> std::io::Result<OwnedFd> {
    let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC;
    let magic = format!("/proc/self/fd/{}", pinned.as_raw_fd());
    let open_noatime =
        |p: &Path, f: OFlags| match rustix::fs::open(p, f | OFlags::NOATIME, Mode::empty()) {
            Err(rustix::io::Errno::PERM) => rustix::fs::open(p, f, Mode::empty()),
            r => r,
        };
    match open_noatime(Path::new(&magic), flags) {
        Err(rustix::io::Errno::NOENT) => {
            let fd = open_noatime(path, flags | OFlags::NOFOLLOW)?;
            let st = rustix::fs::fstat(fd.as_fd())?;
            if (st.st_dev, st.st_ino) != id || st.st_mode & 0o170000 != 0o100000 {
                return Err(std::io::Error::other("replaced during scan"));
            }
            Ok(fd)
        }
        r => Ok(r?),
    }
}

fn hash_small(file: &mut std::fs::File, hasher: &mut blake3::Hasher) -> std::io::Result<u64> {
    thread_local! {
        static BUF: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(vec![0u8; 64 << 10]);
    }
    BUF.with_borrow_mut(|buf| {
        let mut total = 0u64;
        loop {
            let n = match file.read(buf) {
                Ok(0) => return Ok(total),
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            hasher.update(&buf[..n]);
            total += n as u64;
        }
    })
}

/// Reads until `buf` is full or the file ends; returns the bytes read.
fn read_full(file: &mut std::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Hex spelling of a digest, as the report prints it.
pub fn to_hex(digest: &[u8; 32]) -> String {
    blake3::Hash::from_bytes(*digest).to_hex().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_match_blake3_for_small_and_big_files() {
        let dir = tempfile::tempdir().unwrap();
        for size in [0usize, 1, 65536, (4 << 20) + 12345] {
            let data: Vec<u8> = (0..size).map(|i| (i * 31 % 251) as u8).collect();
            let p = dir.path().join(format!("f{size}"));
            std::fs::write(&p, &data).unwrap();
            let h = hash_file(&p, None).unwrap();
            assert_eq!(h.digest, *blake3::hash(&data).as_bytes(), "size {size}");
            assert_eq!(h.bytes, size as u64);
        }
    }

    #[test]
    fn refuses_symlinks_and_never_blocks_on_fifos() {
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("/etc/hostname", dir.path().join("l")).unwrap();
        assert!(hash_file(&dir.path().join("l"), None).is_err());
        let fifo = dir.path().join("p");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        assert!(
            hash_file(&fifo, None).is_err(),
            "a fifo is refused without blocking"
        );
    }
}
