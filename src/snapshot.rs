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

use std::io::Read;
use std::path::Path;

use crate::scan::record::{self, Counts, Decoder, MIN_RECORD, Rd, Short};
use crate::scan::{self, ErrorKind, Progress, ScanError, ScanOptions, Tree};
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
    let found = scan::scan_into(opts, progress, &mut sink)?;
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

/// A compressed frame and its place in the payload.
type Done = (usize, std::io::Result<Vec<u8>>);

/// Cuts the stream into CHUNK-sized pieces as it comes and compresses each
/// on the current rayon pool (the walk's, during a scan) while the next is
/// filled. Chunk buffers are handed back after compression and reused.
struct Frames {
    cur: Vec<u8>,
    raw_len: u64,
    next: usize,
    done_tx: std::sync::mpsc::Sender<Done>,
    done_rx: std::sync::mpsc::Receiver<Done>,
    free_tx: std::sync::mpsc::Sender<Vec<u8>>,
    free_rx: std::sync::mpsc::Receiver<Vec<u8>>,
}

impl Frames {
    fn new() -> Frames {
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        let (free_tx, free_rx) = std::sync::mpsc::channel();
        Frames {
            cur: Vec::with_capacity(CHUNK),
            raw_len: 0,
            next: 0,
            done_tx,
            done_rx,
            free_tx,
            free_rx,
        }
    }

    fn push(&mut self, mut b: &[u8]) {
        self.raw_len += b.len() as u64;
        while !b.is_empty() {
            let take = (CHUNK - self.cur.len()).min(b.len());
            self.cur.extend_from_slice(&b[..take]);
            b = &b[take..];
            if self.cur.len() == CHUNK {
                self.flush();
            }
        }
    }

    fn flush(&mut self) {
        if self.cur.is_empty() {
            return;
        }
        let spare = self
            .free_rx
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(CHUNK));
        let mut chunk = std::mem::replace(&mut self.cur, spare);
        let (k, done, free) = (self.next, self.done_tx.clone(), self.free_tx.clone());
        self.next += 1;
        let job = move || {
            let z = compress(&chunk);
            chunk.clear();
            let _ = free.send(chunk);
            let _ = done.send((k, z));
        };
        match compression_pool() {
            Some(pool) => pool.spawn(job),
            None => rayon::spawn(job),
        }
    }

    /// Compresses what is left and waits for every frame: the stream's
    /// length and its frames in order.
    fn finish(mut self) -> std::io::Result<(u64, Vec<Vec<u8>>)> {
        self.flush();
        let mut frames: Vec<Option<Vec<u8>>> = vec![None; self.next];
        for _ in 0..self.next {
            let on_pool = compression_pool().map_or(rayon::current_thread_index().is_some(), |p| {
                p.current_thread_index().is_some()
            });
            let (k, z) = if on_pool {
                // On a pool thread: help with the compression instead of blocking it.
                loop {
                    if let Ok(d) = self.done_rx.try_recv() {
                        break d;
                    }
                    rayon::yield_now();
                }
            } else {
                self.done_rx.recv().map_err(std::io::Error::other)?
            };
            frames[k] = Some(z?);
        }
        Ok((self.raw_len, frames.into_iter().flatten().collect()))
    }
}

/// The threads that compress frames: one per CPU, whatever the walk's
/// thread count (a zstd context and its tables per thread; the walk's
/// default four threads per CPU would hold four times as many).
fn compression_pool() -> Option<&'static rayon::ThreadPool> {
    static POOL: std::sync::OnceLock<Option<rayon::ThreadPool>> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(std::thread::available_parallelism().map_or(1, |n| n.get()))
            .thread_name(|i| format!("darlings-zstd-{i}"))
            .build()
            .ok()
    })
    .as_ref()
}

/// Compresses one frame with this thread's zstd context: reusing it spares
/// allocating (and faulting in) its tables for every frame.
fn compress(chunk: &[u8]) -> std::io::Result<Vec<u8>> {
    thread_local! {
        static CTX: std::cell::RefCell<Option<zstd::bulk::Compressor<'static>>> =
            const { std::cell::RefCell::new(None) };
    }
    CTX.with_borrow_mut(|ctx| {
        let c = match ctx {
            Some(c) => c,
            None => ctx.insert(zstd::bulk::Compressor::new(LEVEL)?),
        };
        c.compress(chunk)
    })
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
pub fn decode_payload(raw: &[u8]) -> std::result::Result<Tree, String> {
    decode_stream(raw, raw.len() as u64, raw.len() as u64)
}

fn le<const N: usize>(b: &[u8]) -> [u8; N] {
    let mut a = [0u8; N];
    a.copy_from_slice(&b[..N]);
    a
}

/// The decompressed payload as it arrives, a window at a time.
struct Input<R: Read> {
    r: R,
    buf: Vec<u8>,
    start: usize,
    /// Bytes taken out of `r` so far.
    read: u64,
}

impl<R: Read> Input<R> {
    fn avail(&self) -> &[u8] {
        &self.buf[self.start..]
    }
    fn consume(&mut self, n: usize) {
        self.start += n;
    }
    /// Reads more; false at the end of the payload.
    fn fill(&mut self) -> std::result::Result<bool, String> {
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        let len = self.buf.len();
        // An item longer than the window: widen it.
        let want = (len * 2).max(256 << 10);
        self.buf.resize(want, 0);
        let n = loop {
            match self.r.read(&mut self.buf[len..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.buf.truncate(len);
                    return Err(format!("cannot decompress: {e}"));
                }
            }
        };
        self.buf.truncate(len + n);
        self.read += n as u64;
        Ok(n > 0)
    }
    /// Reads one item with `f`, refilling the window while it is cut off.
    fn item<T>(
        &mut self,
        what: &str,
        f: impl Fn(&mut Rd<'_>) -> std::result::Result<T, Short>,
    ) -> std::result::Result<T, String> {
        loop {
            let mut rd = Rd::new(self.avail());
            match f(&mut rd) {
                Ok(v) => {
                    let n = rd.at;
                    self.consume(n);
                    return Ok(v);
                }
                Err(Short::Bad(e)) => return Err(e),
                Err(Short::Incomplete) => {
                    if !self.fill()? {
                        return Err(format!("truncated payload while reading {what}"));
                    }
                }
            }
        }
    }
}

/// Decodes a payload arriving from `r`, which claims `raw_len` bytes;
/// allocates ahead at most what `budget` bytes of payload could hold.
fn decode_stream(r: impl Read, raw_len: u64, budget: u64) -> std::result::Result<Tree, String> {
    use std::os::unix::ffi::OsStrExt;
    let mut inp = Input {
        r,
        buf: Vec::new(),
        start: 0,
        read: 0,
    };
    let (root, flags, root_dev, counts) = inp.item("the meta section", |rd| {
        let root = rd.bytes("root path")?.to_vec();
        let flags = rd.u8()?;
        let root_dev = rd.u64()?;
        let mut v = [0u64; 7];
        for x in &mut v {
            *x = rd.varint("counts")?;
        }
        Ok((root, flags, root_dev, v))
    })?;
    let counts = Counts {
        entries: counts[0],
        names: counts[1],
        targets: counts[2],
        target_bytes: counts[3],
        hashes: counts[4],
        mounts: counts[5],
        devs: counts[6],
    };
    for (what, n, each) in [
        ("entries", counts.entries, MIN_RECORD as u64),
        ("name bytes", counts.names, 1),
        ("symlink targets", counts.targets, MIN_RECORD as u64 + 1),
        ("target bytes", counts.target_bytes, 1),
        ("hashes", counts.hashes, 32),
        ("mounts", counts.mounts, MIN_RECORD as u64 + 5),
        ("device changes", counts.devs, MIN_RECORD as u64 + 8),
    ] {
        if n.saturating_mul(each) > raw_len {
            return Err(format!("{what}: count {n} exceeds the payload"));
        }
    }
    if flags > 1 {
        return Err(format!("unknown flags {flags:#04x}"));
    }
    let root = std::path::PathBuf::from(std::ffi::OsStr::from_bytes(&root));
    let mut dec = Decoder::new(root, root_dev, Some(counts), budget.min(raw_len));
    loop {
        let n = dec.feed(inp.avail())?;
        inp.consume(n);
        if dec.is_done() {
            break;
        }
        if !inp.fill()? {
            return Err("truncated payload while reading the entries".into());
        }
    }
    let mut tree = dec.finish()?;
    tree.fully_hashed = flags & 1 != 0;
    let ne = inp.item("the error count", |rd| rd.varint("error count"))?;
    if ne.saturating_mul(3) > raw_len {
        return Err(format!("errors: count {ne} exceeds the payload"));
    }
    for k in 0..ne {
        tree.errors.push(inp.item("an error", |rd| {
            let path = rd.bytes("error path")?.to_vec();
            let error = rd.string("error text")?;
            let kind_byte = rd.u8()?;
            let kind = ErrorKind::from_u8(kind_byte)
                .ok_or_else(|| Short::Bad(format!("error {k}: unknown kind {kind_byte}")))?;
            Ok(ScanError { path, error, kind })
        })?);
    }
    if !inp.avail().is_empty() || inp.fill()? {
        return Err("unexpected bytes after the last section".into());
    }
    if inp.read != raw_len {
        return Err("decompressed size does not match the header".into());
    }
    Ok(tree)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::{NONE, Progress, ScanOptions, scan};
    use std::path::PathBuf;

    fn sample() -> (tempfile::TempDir, Tree) {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        std::fs::create_dir_all(r.join("etc/ssh")).unwrap();
        std::fs::write(r.join("etc/ssh/key"), b"secret").unwrap();
        std::fs::write(r.join("etc/a-b"), b"x").unwrap();
        std::os::unix::fs::symlink("/nix/store/x", r.join("etc/link")).unwrap();
        let opts = ScanOptions {
            root: r.to_path_buf(),
            threads: 2,
            exclude: vec![],
            hash_all: true,
        };
        let t = scan(&opts, &Progress::default()).unwrap();
        (dir, t)
    }

    #[test]
    fn round_trip_is_exact() {
        let (dir, t) = sample();
        let f = dir.path().join("s.scan");
        save(&t, &f).unwrap();
        assert!(is_scan_file(&f));
        assert_eq!(load(&f).unwrap(), t);
    }

    #[test]
    fn a_scan_saved_from_its_stream_or_its_tree_is_the_same_bytes() {
        let (_dir, t) = sample();
        let opts = ScanOptions {
            root: t.root.clone(),
            threads: 3,
            exclude: vec![],
            hash_all: true,
        };
        // The outputs go elsewhere: inside the root they would be scanned.
        let out = tempfile::tempdir().unwrap();
        let (a, b) = (out.path().join("a.scan"), out.path().join("b.scan"));
        save(&t, &b).unwrap();
        let want = std::fs::read(&b).unwrap();
        for threads in [1, 2, 8] {
            let opts = ScanOptions {
                threads,
                ..opts.clone()
            };
            scan_to_file(&opts, &Progress::default(), &a).unwrap();
            assert_eq!(std::fs::read(&a).unwrap(), want, "{threads} threads");
        }
    }

    #[test]
    fn every_truncation_and_bit_flip_is_refused() {
        let (dir, t) = sample();
        let f = dir.path().join("s.scan");
        save(&t, &f).unwrap();
        let bytes = std::fs::read(&f).unwrap();
        for cut in 0..bytes.len() {
            assert!(decode_file(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        for pos in 8..bytes.len() {
            let mut b = bytes.clone();
            b[pos] ^= 0x40;
            assert!(decode_file(&b).is_err(), "flip at {pos}");
        }
    }

    #[test]
    fn names_that_no_directory_can_hold_are_refused() {
        // Found by the scan_payload fuzz target: an entry named "a/b" was not
        // found by its own path.
        let (_dir, t) = sample();
        for bad in [&b"a/b"[..], b".", b"..", b"nul\0"] {
            let mut t = t.clone();
            let i = t.lookup(b"/etc/a-b").unwrap();
            t.entries[i].name_off = t.names.len() as u32;
            t.entries[i].name_len = bad.len() as u8;
            t.names.extend_from_slice(bad);
            let e = decode_payload(&encode_payload(&t)).unwrap_err();
            assert!(
                e.contains("invalid name") || e.contains("out of order"),
                "{e}"
            );
        }
    }

    #[test]
    fn future_version_is_named() {
        let (dir, t) = sample();
        let f = dir.path().join("s.scan");
        save(&t, &f).unwrap();
        let mut b = std::fs::read(&f).unwrap();
        b[8..12].copy_from_slice(&7u32.to_le_bytes());
        let e = decode_file(&b).unwrap_err();
        assert!(e.contains("version 7 is newer"), "{e}");
    }

    #[test]
    fn older_version_is_refused_with_the_way_out() {
        let (dir, t) = sample();
        let f = dir.path().join("s.scan");
        save(&t, &f).unwrap();
        let mut b = std::fs::read(&f).unwrap();
        b[8..12].copy_from_slice(&1u32.to_le_bytes());
        let e = decode_file(&b).unwrap_err();
        assert!(
            e.contains("unsupported scan file format version 1 (written by an older darlings")
                && e.contains("darlings scan -o FILE"),
            "{e}"
        );
    }

    /// A sample tree with one error of each kind.
    fn with_errors() -> (tempfile::TempDir, Tree) {
        let (dir, mut t) = sample();
        t.errors = ErrorKind::ALL
            .iter()
            .map(|&kind| ScanError {
                path: format!("/etc/{}", kind.as_str()).into_bytes(),
                error: format!("cannot stat: {}", kind.as_str()),
                kind,
            })
            .collect();
        (dir, t)
    }

    #[test]
    fn error_kinds_survive_a_round_trip_and_unknown_ones_are_refused() {
        let (dir, t) = with_errors();
        let f = dir.path().join("s.scan");
        save(&t, &f).unwrap();
        assert_eq!(load(&f).unwrap(), t);
        let mut raw = encode_payload(&t);
        *raw.last_mut().unwrap() = ErrorKind::ALL.len() as u8;
        let e = decode_payload(&raw).unwrap_err();
        assert!(e.contains("unknown kind"), "{e}");
    }

    /// Rewrites the scan-file seeds of the fuzz corpus in the current
    /// format (after a format change; the old ones are refused at the
    /// version check and seed nothing):
    /// `cargo test --lib write_fuzz_seeds -- --ignored`.
    #[test]
    #[ignore = "writes into fuzz/corpus"]
    fn write_fuzz_seeds() {
        let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
        let (dir, hashed) = with_errors();
        let mut unhashed = hashed.clone();
        unhashed.hashes.clear();
        unhashed.fully_hashed = false;
        for e in &mut unhashed.entries {
            if e.kind == crate::scan::Kind::File {
                e.extra = NONE;
            }
        }
        let mut no_errors = hashed.clone();
        no_errors.errors.clear();
        let empty = Tree {
            root: PathBuf::from("/tmp/empty"),
            ..Tree::default()
        };
        for (name, t) in [
            ("empty-root", &empty),
            ("small-hashed", &no_errors),
            ("small-unhashed", &unhashed),
            ("with-error", &hashed),
        ] {
            let f = dir.path().join("seed");
            save(t, &f).unwrap();
            std::fs::copy(&f, corpus.join(format!("scan_file/{name}.scan"))).unwrap();
            std::fs::write(
                corpus.join(format!("scan_payload/{name}.raw")),
                encode_payload(t),
            )
            .unwrap();
        }
        // The reproducer of a crash the fuzzer found: a name holding `/`.
        let mut t = no_errors.clone();
        let i = t.lookup(b"/etc/a-b").unwrap();
        t.entries[i].name_off = t.names.len() as u32;
        t.entries[i].name_len = 3;
        t.names.extend_from_slice(b"a/b");
        std::fs::write(
            corpus.join("scan_payload/regress-name-with-slash"),
            encode_payload(&t),
        )
        .unwrap();
    }

    #[test]
    fn hostile_payload_with_valid_checksum_is_refused() {
        // A payload that passes the checksum but lies about its structure.
        let mut raw = Vec::new();
        record::put_bytes(&mut raw, b"/");
        raw.push(0);
        raw.extend_from_slice(&0u64.to_le_bytes());
        record::put_varint(&mut raw, u64::MAX); // absurd entry count
        for _ in 0..6 {
            record::put_varint(&mut raw, 0);
        }
        let z = zstd::bulk::compress(&raw, 1).unwrap();
        let mut h = Vec::new();
        h.extend_from_slice(MAGIC);
        h.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        h.extend_from_slice(&(raw.len() as u64).to_le_bytes());
        h.extend_from_slice(&(z.len() as u64).to_le_bytes());
        let sum = checksum(&h[8..], &z);
        h.extend_from_slice(&sum);
        h.extend_from_slice(&z);
        let e = decode_file(&h).unwrap_err();
        assert!(e.contains("exceeds the payload"), "{e}");
    }
}
