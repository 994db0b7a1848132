//! Hashing: BLAKE3 of one regular file, read without following links,
//! without blocking on a file that turned into a fifo, and without touching
//! its atime; during the walk (`hash_at`, relative to the directory) or
//! after it, for the files a comparison needs (`hash_entries`).

use std::ffi::CStr;
use std::io::Read;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::Path;
use std::sync::atomic::Ordering;

use rayon::prelude::*;
use rustix::fs::{Mode, OFlags};

use super::tree::{ErrorKind, ScanError, Tree};
use super::{Progress, io_reason};

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

/// Hashes the given file entries of `tree` in parallel and stores the digests.
/// A file that changed between the walk and the hash (other inode, other
/// size, gone) is recorded as an error and left unhashed.
pub fn hash_entries(
    tree: &mut Tree,
    files: &[usize],
    progress: &Progress,
    errors: &mut Vec<ScanError>,
) {
    type Outcome = std::result::Result<[u8; 32], (ErrorKind, String)>;
    let results: Vec<(usize, Outcome)> = files
        .par_iter()
        .map(|&i| {
            let e = &tree.entries[i];
            let r = match hash_file(&tree.host_path(i), Some((tree.dev(i), e.ino))) {
                Ok(h) if h.bytes != e.size => {
                    Err((ErrorKind::Changed, "changed size during scan".to_string()))
                }
                Ok(h) => {
                    progress.files_hashed.fetch_add(1, Ordering::Relaxed);
                    progress.bytes_hashed.fetch_add(h.bytes, Ordering::Relaxed);
                    Ok(h.digest)
                }
                Err(e) => Err((error_kind(&e), io_reason(&e))),
            };
            (i, r)
        })
        .collect();
    for (i, r) in results {
        match r {
            Ok(d) => tree.set_hash(i, d),
            Err((kind, error)) => errors.push(ScanError {
                path: tree.path(i),
                error: format!("cannot hash: {error}"),
                kind,
            }),
        }
    }
}

/// The kind of a failure to hash: a system call's errno, or, for the
/// refusals that are not one (no longer a regular file, another inode),
/// [`ErrorKind::Changed`].
pub fn error_kind(e: &std::io::Error) -> ErrorKind {
    match e.raw_os_error() {
        Some(_) => ErrorKind::from_io(e),
        None => ErrorKind::Changed,
    }
}

/// Hashes the regular file at `path`. When `expect` is given (the `dev`
/// and `ino` the walk saw), a file that is no longer that inode is refused.
/// The file is opened by [`crate::safe_open::open_regular`]: a directory
/// swapped for a symlink between the walk and the hash can lead this to
/// stat something outside the root, but never to open a device, a fifo or a
/// socket, nor to hash another file.
pub fn hash_file(path: &Path, expect: Option<(u64, u64)>) -> std::io::Result<Hashed> {
    let file = crate::safe_open::open_regular(path, false, expect)?;
    hash_open(file)
}

/// Hashes the entry `name` of the directory `dir` that the walk has just
/// statted as a regular file with inode `ino`: one `openat` relative to the
/// directory (no path lookup from the root), `O_NOFOLLOW | O_NONBLOCK |
/// O_NOATIME`, then `fstat` must show the same regular file. Only a file
/// swapped between the walk's statx and this open could be something else:
/// a symlink is refused by `O_NOFOLLOW`, a fifo opens without blocking and
/// is refused, and device nodes cannot be put there without root.
pub fn hash_at(dir: BorrowedFd<'_>, name: &CStr, ino: u64) -> std::io::Result<Hashed> {
    let base = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
    let fd = match rustix::fs::openat(dir, name, base | OFlags::NOATIME, Mode::empty()) {
        Err(rustix::io::Errno::PERM) => rustix::fs::openat(dir, name, base, Mode::empty())?,
        r => r?,
    };
    let st = rustix::fs::fstat(&fd)?;
    if st.st_mode & 0o170000 != 0o100000 {
        return Err(crate::safe_open::not_regular());
    }
    if st.st_ino != ino {
        return Err(std::io::Error::other("replaced during scan"));
    }
    hash_open(std::fs::File::from(fd))
}

/// Hashes an open regular file to its end.
fn hash_open(mut file: std::fs::File) -> std::io::Result<Hashed> {
    let st = rustix::fs::fstat(file.as_fd())?;
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
        use rustix::fs::Mode;
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
