//! File contents: reading a file once while hashing it (BLAKE3) and, when
//! copying, writing the same bytes to the copy. A sparse file is read by
//! its data segments only (`SEEK_DATA` / `SEEK_HOLE`): its holes are hashed
//! as the zeros they read as without being read, and stay holes in the copy
//! (its length is set by `ftruncate`). Reading a large hole would fill the
//! page cache with zeros: a 1 GiB hole took seconds here, seeking over it
//! takes microseconds.

use std::os::fd::{BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};

use rustix::fs::{Mode, OFlags, SeekFrom};
use rustix::io::Errno;

use super::compare::Digest;
use super::fsx;

/// Read/write buffer of each worker thread.
const BUF: usize = 1 << 20;

thread_local! {
    static BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    static ZEROS: Vec<u8> = vec![0u8; 4 << 20];
}

fn update(hasher: &mut blake3::Hasher, data: &[u8]) {
    // Multi-threaded hashing pays off from a few hundred KiB on.
    if data.len() >= 256 << 10 {
        hasher.update_rayon(data);
    } else {
        hasher.update(data);
    }
}

/// Feeds `len` zero bytes to the hasher.
fn hash_zeros(hasher: &mut blake3::Hasher, mut len: u64) {
    ZEROS.with(|z| {
        while len > 0 {
            let k = (len as usize).min(z.len());
            update(hasher, &z[..k]);
            len -= k as u64;
        }
    });
}

/// Reads `src` from its start to its end, hashing every byte, writing them
/// to `dst` when given, adding the bytes to `done` as it goes. `sparse`:
/// read by data segments (see the module doc); `size` is its length then.
/// Returns the digest and the length read (more than `size` when the file
/// grew meanwhile).
pub fn pump(
    src: &OwnedFd,
    dst: Option<&OwnedFd>,
    size: u64,
    sparse: bool,
    done: &AtomicU64,
) -> std::io::Result<(Digest, u64)> {
    BUFFER.with_borrow_mut(|buf| {
        if buf.len() < BUF {
            buf.resize(BUF, 0);
        }
        let mut hasher = blake3::Hasher::new();
        let len = if sparse {
            segments(src, dst, size, buf, &mut hasher, done)?
        } else {
            range(src, dst, 0, u64::MAX, buf, &mut hasher, done)?
        };
        Ok((*hasher.finalize().as_bytes(), len))
    })
}

/// Copies `[from, to)` (or to the end of the file); returns where it ended.
fn range(
    src: &OwnedFd,
    dst: Option<&OwnedFd>,
    from: u64,
    to: u64,
    buf: &mut [u8],
    hasher: &mut blake3::Hasher,
    done: &AtomicU64,
) -> std::io::Result<u64> {
    let mut at = from;
    while at < to {
        let want = (to - at).min(buf.len() as u64) as usize;
        let k = match rustix::io::pread(src, &mut buf[..want], at) {
            Ok(0) => break,
            Ok(k) => k,
            Err(Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        };
        update(hasher, &buf[..k]);
        if let Some(dst) = dst {
            let mut written = 0;
            while written < k {
                match rustix::io::pwrite(dst, &buf[written..k], at + written as u64) {
                    Ok(w) => written += w,
                    Err(Errno::INTR) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        at += k as u64;
        done.fetch_add(k as u64, Ordering::Relaxed);
    }
    Ok(at)
}

fn segments(
    src: &OwnedFd,
    dst: Option<&OwnedFd>,
    size: u64,
    buf: &mut [u8],
    hasher: &mut blake3::Hasher,
    done: &AtomicU64,
) -> std::io::Result<u64> {
    let mut off = 0u64;
    while off < size {
        let data = match rustix::fs::seek(src, SeekFrom::Data(off)) {
            Ok(d) => d.min(size),
            Err(Errno::NXIO) => size,
            Err(e) => return Err(e.into()),
        };
        hash_zeros(hasher, data - off);
        done.fetch_add(data - off, Ordering::Relaxed);
        if data >= size {
            break;
        }
        let hole = match rustix::fs::seek(src, SeekFrom::Hole(data)) {
            Ok(h) => h.min(size),
            Err(Errno::NXIO) => size,
            Err(e) => return Err(e.into()),
        };
        let end = range(src, dst, data, hole, buf, hasher, done)?;
        if end < hole {
            // Shorter than it was: the caller sees the length.
            return Ok(end);
        }
        off = hole;
    }
    if let Some(dst) = dst {
        rustix::fs::ftruncate(dst, size)?;
    }
    // A byte past `size` means the file grew: report it.
    let mut probe = [0u8; 1];
    let more = rustix::io::pread(src, &mut probe, size)?;
    Ok(size + more as u64)
}

/// Opens the regular file `rel` below `dir` for reading, refusing anything
/// that is not the regular file `id` the walk saw (never opening a fifo or
/// device: `O_NONBLOCK`, then `fstat`), without touching its atime.
pub fn open_file(dir: BorrowedFd<'_>, rel: &[u8], id: (u64, u64)) -> std::io::Result<OwnedFd> {
    let fd = fsx::open_beneath(
        dir,
        rel,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOATIME,
        Mode::empty(),
    )?;
    let st = rustix::fs::fstat(&fd)?;
    if st.st_mode & 0o170000 != 0o100000 {
        return Err(crate::safe_open::not_regular());
    }
    if (st.st_dev, st.st_ino) != id {
        return Err(std::io::Error::other("replaced since it was walked"));
    }
    Ok(fd)
}

/// BLAKE3 of the regular file `rel` below `dir` (the inode `id`, `size`
/// bytes in `blocks` 512-byte blocks as walked).
pub fn hash(
    dir: BorrowedFd<'_>,
    rel: &[u8],
    id: (u64, u64),
    size: u64,
    blocks: u64,
    done: &AtomicU64,
) -> std::io::Result<Digest> {
    let fd = open_file(dir, rel, id)?;
    let (d, len) = pump(&fd, None, size, blocks * 512 < size, done)?;
    if len != size {
        return Err(std::io::Error::other(
            "its length changed since it was walked",
        ));
    }
    Ok(d)
}

/// Bytes in the data segments of the regular file `rel` below `dir`:
/// what a sparse copy writes.
pub fn data_bytes(
    dir: BorrowedFd<'_>,
    rel: &[u8],
    id: (u64, u64),
    size: u64,
) -> std::io::Result<u64> {
    let fd = open_file(dir, rel, id)?;
    let (mut off, mut total) = (0u64, 0u64);
    while off < size {
        let data = match rustix::fs::seek(&fd, SeekFrom::Data(off)) {
            Ok(d) => d,
            Err(Errno::NXIO) => break,
            Err(e) => return Err(e.into()),
        };
        if data >= size {
            break;
        }
        let hole = match rustix::fs::seek(&fd, SeekFrom::Hole(data)) {
            Ok(h) => h.min(size),
            Err(Errno::NXIO) => size,
            Err(e) => return Err(e.into()),
        };
        total += hole - data;
        off = hole;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsFd;

    use super::*;

    #[test]
    fn sparse_and_dense_reads_hash_the_same_bytes_and_copies_stay_sparse() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s");
        let f = std::fs::File::create(&p).unwrap();
        f.set_len(64 << 20).unwrap();
        use std::os::unix::fs::FileExt;
        f.write_all_at(b"middle", 20 << 20).unwrap();
        f.write_all_at(b"end", (64 << 20) - 3).unwrap();
        drop(f);
        let mut whole = vec![0u8; 64 << 20];
        whole[20 << 20..(20 << 20) + 6].copy_from_slice(b"middle");
        whole[(64 << 20) - 3..].copy_from_slice(b"end");
        let want = *blake3::hash(&whole).as_bytes();
        let top = rustix::fs::open(dir.path(), OFlags::PATH, Mode::empty()).unwrap();
        let m = std::fs::metadata(&p).unwrap();
        use std::os::unix::fs::MetadataExt;
        let id = (m.dev(), m.ino());
        let n = AtomicU64::new(0);
        for sparse in [false, true] {
            let fd = open_file(top.as_fd(), b"s", id).unwrap();
            let (d, len) = pump(&fd, None, 64 << 20, sparse, &n).unwrap();
            assert_eq!((d, len), (want, 64 << 20), "sparse: {sparse}");
        }
        let src = open_file(top.as_fd(), b"s", id).unwrap();
        let dst_path = dir.path().join("copy");
        let dst = OwnedFd::from(std::fs::File::create(&dst_path).unwrap());
        let (d, _) = pump(&src, Some(&dst), 64 << 20, true, &n).unwrap();
        assert_eq!(d, want);
        assert_eq!(std::fs::read(&dst_path).unwrap(), whole);
        let data = data_bytes(top.as_fd(), b"s", id, 64 << 20).unwrap();
        assert!(data < 1 << 20, "the temp file system keeps holes: {data}");
        let copy_blocks = std::fs::metadata(&dst_path).unwrap().blocks();
        assert!(
            copy_blocks * 512 < 1 << 20,
            "the copy is sparse: {copy_blocks} blocks"
        );
    }
}
