//! Scan files: a [`Tree`] saved by `darlings scan -o FILE` to serve later as
//! `--against FILE`.
//!
//! Layout (all integers little-endian):
//!
//! ```text
//! magic    8 bytes  "DARLSCAN"
//! version  u32      FORMAT_VERSION (a newer file is refused with a clear message)
//! raw_len  u64      length of the decompressed payload
//! zlen     u64      length of the compressed payload
//! checksum 32 bytes BLAKE3 of version, raw_len, zlen and the compressed payload
//! payload  zlen bytes of zstd
//! ```
//!
//! The payload is a hand-written fixed layout (no bincode: see README) that the
//! reader checks field by field, so a corrupt or hostile file gives an error
//! naming the problem, never a panic or an absurd allocation.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::scan::{Entry, ErrorKind, Kind, MountPoint, NONE, ScanError, Tree};
use crate::{Error, Result};

/// First bytes of every scan file.
pub const MAGIC: &[u8; 8] = b"DARLSCAN";
/// The version this build writes and reads.
pub const FORMAT_VERSION: u32 = 2;
const HEADER_LEN: usize = 8 + 4 + 8 + 8 + 32;

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

/// Saves `tree` to `path` atomically. The payload is compressed on all
/// cores while it is produced.
pub fn save(tree: &Tree, path: &Path) -> Result<()> {
    let _t = crate::timing::phase("save");
    let compress = || -> std::io::Result<(u64, Vec<u8>)> {
        let mut enc = zstd::stream::Encoder::new(Vec::new(), 1)?;
        let workers = std::thread::available_parallelism().map_or(1, |n| n.get()) as u32;
        if workers > 1 {
            enc.multithread(workers)?;
        }
        let mut counted = Counted {
            inner: enc,
            bytes: 0,
        };
        encode(tree, &mut counted)?;
        Ok((counted.bytes, counted.inner.finish()?))
    };
    let (raw_len, z) = compress().map_err(|e| Error::io("cannot compress", path, e))?;
    let mut header = Vec::with_capacity(HEADER_LEN);
    header.extend_from_slice(MAGIC);
    header.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    header.extend_from_slice(&raw_len.to_le_bytes());
    header.extend_from_slice(&(z.len() as u64).to_le_bytes());
    header.extend_from_slice(&checksum(&header[8..], &z));
    crate::output::write_atomic(path, false, |w| {
        w.write_all(&header)?;
        w.write_all(&z)
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
    let mut raw = Vec::new();
    zstd::stream::Decoder::new(payload)
        .map_err(|e| format!("cannot decompress: {e}"))?
        .take(raw_len.saturating_add(1))
        .read_to_end(&mut raw)
        .map_err(|e| format!("cannot decompress: {e}"))?;
    if raw.len() as u64 != raw_len {
        return Err("decompressed size does not match the header".into());
    }
    decode_payload(&raw)
}

/// Decodes and validates a decompressed payload: the structure behind the
/// checksum, which a fuzzer could never reach through [`decode_file`].
pub fn decode_payload(raw: &[u8]) -> std::result::Result<Tree, String> {
    let tree = decode(raw)?;
    validate(&tree)?;
    Ok(tree)
}

fn le<const N: usize>(b: &[u8]) -> [u8; N] {
    let mut a = [0u8; N];
    a.copy_from_slice(&b[..N]);
    a
}

/// Serialises `t` into `sink` in pieces of about 1 MiB, so the raw payload
/// of a million entries never sits in memory whole.
fn encode(t: &Tree, sink: &mut dyn Write) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let mut w = Vec::with_capacity(1 << 20);
    put_bytes(&mut w, t.root.as_os_str().as_bytes());
    w.push(u8::from(t.fully_hashed));
    put_u64(&mut w, t.entries.len() as u64);
    for e in &t.entries {
        for v in [e.name_off, e.parent, e.end] {
            w.extend_from_slice(&v.to_le_bytes());
        }
        w.extend_from_slice(&e.name_len.to_le_bytes());
        w.extend_from_slice(&e.depth.to_le_bytes());
        w.push(e.kind as u8);
        w.push(u8::from(e.is_mount));
        w.extend_from_slice(&e.mode.to_le_bytes());
        for v in [e.uid, e.gid, e.nlink] {
            w.extend_from_slice(&v.to_le_bytes());
        }
        put_u64(&mut w, e.size);
        w.extend_from_slice(&e.mtime_ns.to_le_bytes());
        w.extend_from_slice(&e.ctime_ns.to_le_bytes());
        put_u64(&mut w, e.dev);
        put_u64(&mut w, e.ino);
        w.extend_from_slice(&e.target.to_le_bytes());
        w.extend_from_slice(&e.hash.to_le_bytes());
        if w.len() >= 1 << 20 {
            sink.write_all(&w)?;
            w.clear();
        }
    }
    put_u64(&mut w, t.names.len() as u64);
    sink.write_all(&w)?;
    w.clear();
    sink.write_all(&t.names)?;
    put_u64(&mut w, t.targets.len() as u64);
    for (o, l) in &t.targets {
        w.extend_from_slice(&o.to_le_bytes());
        w.extend_from_slice(&l.to_le_bytes());
    }
    put_u64(&mut w, t.target_bytes.len() as u64);
    sink.write_all(&w)?;
    w.clear();
    sink.write_all(&t.target_bytes)?;
    put_u64(&mut w, t.hashes.len() as u64);
    for h in &t.hashes {
        w.extend_from_slice(h);
    }
    put_u64(&mut w, t.mounts.len() as u64);
    for m in &t.mounts {
        w.extend_from_slice(&m.entry.to_le_bytes());
        put_bytes(&mut w, m.fstype.as_bytes());
        put_bytes(&mut w, m.source.as_bytes());
        put_bytes(&mut w, &m.fs_root);
        w.extend_from_slice(&m.dev.0.to_le_bytes());
        w.extend_from_slice(&m.dev.1.to_le_bytes());
    }
    put_u64(&mut w, t.errors.len() as u64);
    for e in &t.errors {
        put_bytes(&mut w, &e.path);
        put_bytes(&mut w, e.error.as_bytes());
        w.push(e.kind as u8);
    }
    sink.write_all(&w)
}

/// Counts what passes through it (the raw payload length for the header).
struct Counted<W: Write> {
    inner: W,
    bytes: u64,
}

impl<W: Write> Write for Counted<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn put_u64(w: &mut Vec<u8>, v: u64) {
    w.extend_from_slice(&v.to_le_bytes());
}

fn put_bytes(w: &mut Vec<u8>, b: &[u8]) {
    put_u64(w, b.len() as u64);
    w.extend_from_slice(b);
}

/// A bounds-checked reader over the decompressed payload.
struct Cursor<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &str) -> std::result::Result<&'a [u8], String> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.b.len())
            .ok_or_else(|| format!("truncated payload while reading {what}"))?;
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn u8(&mut self, what: &str) -> std::result::Result<u8, String> {
        Ok(self.take(1, what)?[0])
    }
    fn u16(&mut self, what: &str) -> std::result::Result<u16, String> {
        Ok(u16::from_le_bytes(le(self.take(2, what)?)))
    }
    fn u32(&mut self, what: &str) -> std::result::Result<u32, String> {
        Ok(u32::from_le_bytes(le(self.take(4, what)?)))
    }
    fn u64(&mut self, what: &str) -> std::result::Result<u64, String> {
        Ok(u64::from_le_bytes(le(self.take(8, what)?)))
    }
    fn i64(&mut self, what: &str) -> std::result::Result<i64, String> {
        Ok(i64::from_le_bytes(le(self.take(8, what)?)))
    }
    /// A count of items each at least `min_size` bytes: checked against what
    /// is left, so a corrupt count cannot request a huge allocation.
    fn count(&mut self, min_size: usize, what: &str) -> std::result::Result<usize, String> {
        let n = self.u64(what)?;
        let left = (self.b.len() - self.at) as u64;
        if n.saturating_mul(min_size.max(1) as u64) > left {
            return Err(format!("{what}: count {n} exceeds the payload"));
        }
        Ok(n as usize)
    }
    fn bytes(&mut self, what: &str) -> std::result::Result<&'a [u8], String> {
        let n = self.count(1, what)?;
        self.take(n, what)
    }
    fn string(&mut self, what: &str) -> std::result::Result<String, String> {
        String::from_utf8(self.bytes(what)?.to_vec()).map_err(|_| format!("{what}: invalid UTF-8"))
    }
}

const ENTRY_LEN: usize = 3 * 4 + 2 * 2 + 2 + 2 + 3 * 4 + 8 * 5 + 4 + 4;

fn decode(raw: &[u8]) -> std::result::Result<Tree, String> {
    use std::os::unix::ffi::OsStrExt;
    let mut c = Cursor { b: raw, at: 0 };
    let root = PathBuf::from(std::ffi::OsStr::from_bytes(c.bytes("root path")?));
    let fully_hashed = c.u8("flags")? != 0;
    let n = c.count(ENTRY_LEN, "entries")?;
    let mut entries = Vec::with_capacity(n);
    for i in 0..n {
        let what = "entry";
        let name_off = c.u32(what)?;
        let parent = c.u32(what)?;
        let end = c.u32(what)?;
        let name_len = c.u16(what)?;
        let depth = c.u16(what)?;
        let kind_byte = c.u8(what)?;
        let kind =
            Kind::from_u8(kind_byte).ok_or(format!("entry {i}: unknown kind {kind_byte}"))?;
        let is_mount = c.u8(what)? != 0;
        let mode = c.u16(what)?;
        entries.push(Entry {
            name_off,
            name_len,
            parent,
            end,
            depth,
            kind,
            is_mount,
            mode,
            uid: c.u32(what)?,
            gid: c.u32(what)?,
            nlink: c.u32(what)?,
            size: c.u64(what)?,
            mtime_ns: c.i64(what)?,
            ctime_ns: c.i64(what)?,
            dev: c.u64(what)?,
            ino: c.u64(what)?,
            target: c.u32(what)?,
            hash: c.u32(what)?,
        });
    }
    let names = c.bytes("names")?.to_vec();
    let nt = c.count(8, "symlink targets")?;
    let mut targets = Vec::with_capacity(nt);
    for _ in 0..nt {
        targets.push((c.u32("target")?, c.u32("target")?));
    }
    let target_bytes = c.bytes("target text")?.to_vec();
    let nh = c.count(32, "hashes")?;
    let mut hashes = Vec::with_capacity(nh);
    for _ in 0..nh {
        hashes.push(le::<32>(c.take(32, "hash")?));
    }
    let nm = c.count(4 + 8 * 3 + 8, "mounts")?;
    let mut mounts = Vec::with_capacity(nm);
    for _ in 0..nm {
        mounts.push(MountPoint {
            entry: c.u32("mount")?,
            fstype: c.string("mount fstype")?,
            source: c.string("mount source")?,
            fs_root: c.bytes("mount root")?.to_vec(),
            dev: (c.u32("mount")?, c.u32("mount")?),
        });
    }
    let ne = c.count(8 + 8 + 1, "errors")?;
    let mut errors = Vec::with_capacity(ne);
    for k in 0..ne {
        let path = c.bytes("error path")?.to_vec();
        let error = c.string("error text")?;
        let kind_byte = c.u8("error kind")?;
        let kind =
            ErrorKind::from_u8(kind_byte).ok_or(format!("error {k}: unknown kind {kind_byte}"))?;
        errors.push(ScanError { path, error, kind });
    }
    if c.at != raw.len() {
        return Err("unexpected bytes after the last section".into());
    }
    Ok(Tree {
        root,
        entries,
        names,
        targets,
        target_bytes,
        hashes,
        mounts,
        errors,
        fully_hashed,
    })
}

/// Checks every index and the tree order, so later stages can index freely.
fn validate(t: &Tree) -> std::result::Result<(), String> {
    let n = t.entries.len();
    for (i, e) in t.entries.iter().enumerate() {
        let bad = |what: &str| Err(format!("entry {i}: {what}"));
        if (e.name_off as usize).saturating_add(e.name_len as usize) > t.names.len()
            || e.name_len == 0
        {
            return bad("name out of range");
        }
        // A name from a real directory is never empty, `.`, `..`, and never
        // holds `/` or NUL: such a name would make one entry look like another
        // path (`a/b`, `..`) to every later stage.
        let name = t.name(i);
        if name.contains(&b'/') || name.contains(&0) || name == b"." || name == b".." {
            return bad("invalid name");
        }
        if (e.end as usize) <= i || (e.end as usize) > n {
            return bad("subtree end out of range");
        }
        if e.kind != Kind::Dir && e.end as usize != i + 1 {
            return bad("only directories have children");
        }
        if e.parent == NONE {
            if e.depth != 1 {
                return bad("depth does not match parent");
            }
        } else {
            let p = e.parent as usize;
            if p >= i
                || t.entries[p].end < e.end
                || t.entries[p].depth.checked_add(1) != Some(e.depth)
            {
                return bad("parent out of order");
            }
            if t.entries[p].kind != Kind::Dir {
                return bad("parent is not a directory");
            }
        }
        if i > 0 {
            // Entry i is either the first child of i-1 or the next sibling of an
            // ancestor-or-self of i-1: check sibling name order for the latter.
            if e.parent != (i - 1) as u32 {
                let mut prev = i - 1;
                while t.entries[prev].parent != e.parent {
                    prev = t.entries[prev].parent as usize;
                    if prev == NONE as usize {
                        return bad("parent out of order");
                    }
                }
                if t.entries[prev].end as usize != i || t.name(prev) >= t.name(i) {
                    return bad("siblings out of order");
                }
            }
        } else if e.parent != NONE {
            return bad("first entry must be a child of the root");
        }
        if e.target != NONE && (e.target as usize >= t.targets.len() || e.kind != Kind::Symlink) {
            return bad("symlink target out of range");
        }
        if e.kind == Kind::Symlink && e.target == NONE {
            return bad("symlink without a target");
        }
        if e.hash != NONE && e.hash as usize >= t.hashes.len() {
            return bad("hash out of range");
        }
    }
    for (k, (o, l)) in t.targets.iter().enumerate() {
        if (*o as usize).saturating_add(*l as usize) > t.target_bytes.len() {
            return Err(format!("symlink target {k} out of range"));
        }
    }
    let mut last = None;
    for m in &t.mounts {
        if m.entry as usize >= n || !t.entries[m.entry as usize].is_mount || last >= Some(m.entry) {
            return Err("mount table out of range or out of order".into());
        }
        last = Some(m.entry);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::{Progress, ScanOptions, scan};

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
            t.entries[i].name_len = bad.len() as u16;
            t.names.extend_from_slice(bad);
            let mut raw = Vec::new();
            encode(&t, &mut raw).unwrap();
            let e = decode_payload(&raw).unwrap_err();
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
        let mut raw = Vec::new();
        encode(&t, &mut raw).unwrap();
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
            e.hash = NONE;
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
            let mut raw = Vec::new();
            encode(t, &mut raw).unwrap();
            std::fs::write(corpus.join(format!("scan_payload/{name}.raw")), raw).unwrap();
        }
    }

    #[test]
    fn hostile_payload_with_valid_checksum_is_refused() {
        // A payload that passes the checksum but lies about its structure.
        let mut raw = Vec::new();
        put_bytes(&mut raw, b"/");
        raw.push(0);
        put_u64(&mut raw, u64::MAX); // absurd entry count
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
