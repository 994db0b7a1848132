//! Scan files: a scan saved by `darlings scan -o FILE` to serve later as
//! `--against FILE`.
//!
//! Layout (all fixed-size integers little-endian):
//!
//! ```text
//! magic    8 bytes  "DARLSCAN"
//! version  u32      FORMAT_VERSION (another version is refused with a clear message)
//! raw_len  u64      length of the decompressed payload
//! zlen     u64      length of the compressed payload
//! checksum 32 bytes BLAKE3 of version, raw_len, zlen and the compressed payload
//! payload  zlen bytes: zstd frames, each of at most CHUNK decompressed bytes
//! ```
//!
//! The decompressed payload:
//!
//! ```text
//! meta     root path (varint length + bytes), flags u8 (bit 0: fully hashed),
//!          the root's device u64, then the counts of the entries, name bytes,
//!          symlinks, target bytes, hashes, mounts and device changes (varints)
//! entries  the entry stream of `scan::record`: one record per entry in tree
//!          order, each directory closed by END, the root's END last
//! errors   count (varint), then per error: path and text (varint length +
//!          bytes) and its kind (u8)
//! ```
//!
//! The frames are compressed in parallel and do not depend on how many
//! threads scanned or compressed, so the same tree always gives the same
//! bytes. A scan is saved from its stream while the walk runs
//! ([`scan_to_file`]) or from a tree ([`save`]): the same bytes either way.
//! Loading decompresses and decodes as a stream, so the raw payload is
//! never held whole. The format is hand-written (no bincode: see README)
//! and the reader checks every field, so a corrupt or hostile file gives an
//! error naming the problem, never a panic or an absurd allocation.

mod read;
mod write;

use std::io::Read;
use std::path::Path;

use read::decode_stream;
use write::{Frames, compress};

use crate::scan::record::{self, Counts};
use crate::scan::{self, Progress, ScanError, ScanOptions, Tree};
use crate::{Error, Result};

/// First bytes of every scan file.
pub const MAGIC: &[u8; 8] = b"DARLSCAN";
/// The version this build writes and reads.
pub const FORMAT_VERSION: u32 = 3;
const HEADER_LEN: usize = 8 + 4 + 8 + 8 + 32;
/// Decompressed bytes per zstd frame: a unit of parallel compression.
const CHUNK: usize = 512 << 10;
/// zstd level: a fast (negative) level. Measured on the 200k-entry corpus
/// (7.6 MB of stream, user-space instructions of a whole `scan -o` by
/// callgrind): level 1 gave 5.17 MB for 650M instructions, -1 5.58 MB for
/// 605M, -3 5.82 MB for 539M, -5 6.07 MB for 508M. On /usr (5.1 MB of
/// stream) -3 gives 1.75 MB, level 1 1.40 MB.
const LEVEL: i32 = -3;

/// Returns true if and only if `path` is a regular file that starts with the
/// scan-file magic. Never opens a fifo or a device (see [`open_scan_file`]).
pub fn is_scan_file(path: &Path) -> bool {
    let mut buf = [0u8; 8];
    open_scan_file(path)
        .and_then(|mut f| f.read_exact(&mut buf))
        .is_ok()
        && &buf == MAGIC
}

/// Opens a scan file for reading: only a regular file is opened (a fifo
/// would block, a device's `open` can have effects), without touching its
/// atime where the kernel allows (see [`crate::safe_open`]).
pub fn open_scan_file(path: &Path) -> std::io::Result<std::fs::File> {
    crate::safe_open::open_regular(path, true, None)
}

/// Saves `tree` to `path` atomically.
pub fn save(tree: &Tree, path: &Path) -> Result<()> {
    let _t = crate::timing::phase("save");
    let mut frames = Frames::new();
    record::encode_tree(tree, &mut |b| frames.push(b));
    frames.push(&trailer(&tree.errors));
    let meta = meta(
        tree.root.as_os_str(),
        tree.fully_hashed,
        tree.root_dev,
        &Counts::of(tree),
    );
    write_file(path, &meta, frames)
}

/// Scans `opts.root` into the scan file `path`: the walk's entry stream is
/// compressed on the walk's threads as it comes, and no tree is built.
pub fn scan_to_file(opts: &ScanOptions, progress: &Progress, path: &Path) -> Result<()> {
    let mut sink = FileSink(Frames::new());
    let mounts = crate::mountinfo::read_own();
    let found = scan::scan_into(opts, progress, &mounts, &mut sink)?;
    let _t = crate::timing::phase("save");
    let mut frames = sink.0;
    frames.push(&trailer(&found.errors));
    let meta = meta(
        opts.root.as_os_str(),
        opts.hash_all,
        found.root_dev,
        &found.counts,
    );
    write_file(path, &meta, frames)
}

/// Compresses a walk's stream as it comes.
struct FileSink(Frames);

impl scan::Sink for FileSink {
    fn piece(&mut self, bytes: &[u8]) {
        self.0.push(bytes);
    }
}

fn meta(root: &std::ffi::OsStr, fully_hashed: bool, root_dev: u64, c: &Counts) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    let mut w = Vec::with_capacity(128);
    record::put_bytes(&mut w, root.as_bytes());
    w.push(u8::from(fully_hashed));
    w.extend_from_slice(&root_dev.to_le_bytes());
    for v in [
        c.entries,
        c.names,
        c.targets,
        c.target_bytes,
        c.hashes,
        c.mounts,
        c.devs,
    ] {
        record::put_varint(&mut w, v);
    }
    w
}

fn trailer(errors: &[ScanError]) -> Vec<u8> {
    let mut w = Vec::new();
    record::put_varint(&mut w, errors.len() as u64);
    for e in errors {
        record::put_bytes(&mut w, &e.path);
        record::put_bytes(&mut w, e.error.as_bytes());
        w.push(e.kind as u8);
    }
    w
}

/// The whole decompressed payload of `tree` (for tests and fuzz seeds).
// Public only for the tests and the fuzz corpus; hidden from the API documentation.
#[doc(hidden)]
pub fn encode_payload(tree: &Tree) -> Vec<u8> {
    let mut raw = meta(
        tree.root.as_os_str(),
        tree.fully_hashed,
        tree.root_dev,
        &Counts::of(tree),
    );
    record::encode_tree(tree, &mut |b| raw.extend_from_slice(b));
    raw.extend_from_slice(&trailer(&tree.errors));
    raw
}

/// Writes the scan file: the meta section as the first frame (its counts
/// are known only once the stream is), then the stream's frames.
fn write_file(path: &Path, meta: &[u8], frames: Frames) -> Result<()> {
    let err = |e| Error::io("cannot compress", path, e);
    let first = compress(meta).map_err(err)?;
    let (stream_len, rest) = frames.finish().map_err(err)?;
    let raw_len = meta.len() as u64 + stream_len;
    let zlen = first.len() as u64 + rest.iter().map(|f| f.len() as u64).sum::<u64>();
    let mut header = Vec::with_capacity(HEADER_LEN);
    header.extend_from_slice(MAGIC);
    header.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    header.extend_from_slice(&raw_len.to_le_bytes());
    header.extend_from_slice(&zlen.to_le_bytes());
    let mut h = blake3::Hasher::new();
    h.update(&header[8..]);
    h.update(&first);
    for f in &rest {
        h.update(f);
    }
    header.extend_from_slice(h.finalize().as_bytes());
    crate::output::write_atomic(path, false, |w| {
        w.write_all(&header)?;
        w.write_all(&first)?;
        for f in &rest {
            w.write_all(f)?;
        }
        Ok(())
    })
}

fn checksum(fields: &[u8], payload: &[u8]) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(fields);
    h.update(payload);
    *h.finalize().as_bytes()
}

/// Loads a scan file, checking its magic, version, checksum and structure.
pub fn load(path: &Path) -> Result<Tree> {
    let _t = crate::timing::phase("load");
    let mut bytes = Vec::new();
    open_scan_file(path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .map_err(|e| Error::io("cannot read scan file", path, e))?;
    decode_file(&bytes).map_err(|problem| Error::bad_input(path, problem))
}

/// Decodes the bytes of a whole scan file (the fuzz target's entry point).
pub fn decode_file(bytes: &[u8]) -> std::result::Result<Tree, String> {
    if bytes.len() < 8 || &bytes[..8] != MAGIC {
        return Err("not a darlings scan file (wrong magic bytes)".into());
    }
    if bytes.len() < HEADER_LEN {
        return Err("truncated scan file (header incomplete)".into());
    }
    let version = u32::from_le_bytes(le(&bytes[8..12]));
    if version > FORMAT_VERSION {
        return Err(format!(
            "scan file format version {version} is newer than this darlings understands ({FORMAT_VERSION}); upgrade darlings"
        ));
    }
    if version != FORMAT_VERSION {
        return Err(format!(
            "unsupported scan file format version {version} (written by an older darlings; this one reads version {FORMAT_VERSION}): scan again with `darlings scan -o FILE`"
        ));
    }
    let raw_len = u64::from_le_bytes(le(&bytes[12..20]));
    let zlen = u64::from_le_bytes(le(&bytes[20..28]));
    let payload = &bytes[HEADER_LEN..];
    if (payload.len() as u64) < zlen {
        return Err(format!(
            "truncated scan file ({} of {zlen} payload bytes)",
            payload.len()
        ));
    }
    if payload.len() as u64 > zlen {
        return Err("trailing bytes after the scan file payload".into());
    }
    if checksum(&bytes[8..28], payload) != bytes[28..60] {
        return Err("checksum mismatch: the scan file is corrupted".into());
    }
    let z = zstd::stream::read::Decoder::with_buffer(payload)
        .map_err(|e| format!("cannot decompress: {e}"))?;
    // Anything past raw_len is refused, so a lying header cannot make the
    // decompression run on.
    let z = z.take(raw_len.saturating_add(1));
    decode_stream(z, raw_len, zlen.saturating_mul(16))
}

/// Decodes and validates a decompressed payload: the structure behind the
/// checksum, which a fuzzer could never reach through [`decode_file`].
// Public only for the fuzz target (fuzz/fuzz_targets/scan_payload.rs through
// tests/hardening/fuzz_checks.rs); hidden from the API documentation.
#[doc(hidden)]
pub fn decode_payload(raw: &[u8]) -> std::result::Result<Tree, String> {
    decode_stream(raw, raw.len() as u64, raw.len() as u64)
}

fn le<const N: usize>(b: &[u8]) -> [u8; N] {
    let mut a = [0u8; N];
    a.copy_from_slice(&b[..N]);
    a
}

#[cfg(test)]
mod tests;
