//! Reading scan files: the payload decompressed and decoded as a stream,
//! a window at a time.

use std::io::Read;

use crate::scan::decode::Decoder;
use crate::scan::record::{Counts, MIN_RECORD, Rd, Short};
use crate::scan::{ErrorKind, ScanError, Tree};

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
pub(super) fn decode_stream(
    r: impl Read,
    raw_len: u64,
    budget: u64,
) -> std::result::Result<Tree, String> {
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
