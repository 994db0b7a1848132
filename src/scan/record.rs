//! The entry stream: a tree's entries in tree order, one variable-length
//! record each, every directory's children closed by an [`END`] byte. It is
//! what the walker writes as it goes, what a scan file holds (behind its
//! compression, see `snapshot`), and what [`Decoder`](super::decode::Decoder) turns into a [`Tree`].
//!
//! A record depends only on the entry and on its directory (its [`Base`]):
//! times, inode and owner are written as differences from the directory's
//! own, the device only where it differs. So each directory's records can
//! be written by whichever thread read it, without knowing where in the
//! stream they will land, and the stream is the same bytes for any thread
//! count. Parent, subtree end and depth are not written: the decoder knows
//! them from the nesting.
//!
//! ```text
//! record   header u8     kind (bits 0-2) | mount 0x08 | hash 0x10 | device 0x20 | owner 0x40
//!          name          u8 length (1..=255), bytes
//!          mode          varint
//!          uid, gid      varints                       (owner flag: else the directory's)
//!          size          varint
//!          mtime         zigzag varint, minus the directory's mtime
//!          ctime         zigzag varint, minus this entry's mtime
//!          inode         zigzag varint, minus the directory's inode (wrapping)
//!          device        u64 LE                        (device flag: else the directory's)
//!          target        varint length, bytes          (symlinks)
//!          hash          32 bytes                      (hash flag; regular files only)
//!          mount         fstype, source, fs_root as varint length + bytes,
//!                        major and minor as varints    (mount flag)
//! END      0xFE          closes the innermost open directory; the last closes the root
//! ```
//!
//! Varints are LEB128 (at most 10 bytes), zigzag maps signed to unsigned.
//! The decoder is in [`super::decode`].
//! The root's children are encoded against [`Base::root`] (zero times,
//! inode and owner, the root's device).

use super::tree::{Kind, MountPoint, Tree};

/// Closes the innermost open directory.
pub const END: u8 = 0xFE;

pub(super) const KIND_MASK: u8 = 0x07;
pub(super) const F_MOUNT: u8 = 0x08;
pub(super) const F_HASH: u8 = 0x10;
pub(super) const F_DEV: u8 = 0x20;
pub(super) const F_OWNER: u8 = 0x40;

/// The smallest record: header, a 1-byte name, and one byte for each of
/// mode, size, mtime, ctime and inode.
pub const MIN_RECORD: usize = 8;

/// What a directory's records are written relative to: its own values.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Base {
    /// The directory's mtime.
    pub mtime_ns: i64,
    /// The directory's inode.
    pub ino: u64,
    /// The directory's owner.
    pub uid: u32,
    /// The directory's group.
    pub gid: u32,
    /// The directory's device.
    pub dev: u64,
}

impl Base {
    /// The base of the root's children: zeros and the root's device.
    pub fn root(dev: u64) -> Base {
        Base {
            dev,
            ..Base::default()
        }
    }
}

/// One entry, as the encoder takes it.
#[derive(Clone, Copy, Debug)]
pub struct Record<'a> {
    /// The entry's name.
    pub name: &'a [u8],
    /// Its kind.
    pub kind: Kind,
    /// Permission bits.
    pub mode: u16,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Size in bytes.
    pub size: u64,
    /// mtime, ns.
    pub mtime_ns: i64,
    /// ctime, ns.
    pub ctime_ns: i64,
    /// Inode.
    pub ino: u64,
    /// Device (`makedev`).
    pub dev: u64,
    /// The link text of a symlink.
    pub target: Option<&'a [u8]>,
    /// The content hash of a regular file.
    pub hash: Option<&'a [u8; 32]>,
    /// The mount, for a mount point.
    pub mount: Option<&'a MountPoint>,
}

impl Record<'_> {
    /// The base this entry's children are written against (if a directory).
    pub fn as_base(&self) -> Base {
        Base {
            mtime_ns: self.mtime_ns,
            ino: self.ino,
            uid: self.uid,
            gid: self.gid,
            dev: self.dev,
        }
    }

    /// Appends the record to `out`, written against `base`.
    pub fn encode(&self, base: &Base, out: &mut Vec<u8>) {
        let hash = self.hash.filter(|_| self.kind == Kind::File);
        let owner = (self.uid, self.gid) != (base.uid, base.gid);
        let mut header = self.kind as u8;
        if self.mount.is_some() {
            header |= F_MOUNT;
        }
        if hash.is_some() {
            header |= F_HASH;
        }
        if self.dev != base.dev {
            header |= F_DEV;
        }
        if owner {
            header |= F_OWNER;
        }
        debug_assert!(!self.name.is_empty() && self.name.len() <= 255);
        out.extend_from_slice(&[header, self.name.len() as u8]);
        out.extend_from_slice(self.name);
        // The fixed fields go through a local buffer: one copy, not a
        // capacity check per byte.
        let mut f = Fixed::default();
        f.varint(u64::from(self.mode));
        if owner {
            f.varint(u64::from(self.uid));
            f.varint(u64::from(self.gid));
        }
        f.varint(self.size);
        f.varint(zigzag(self.mtime_ns.wrapping_sub(base.mtime_ns)));
        f.varint(zigzag(self.ctime_ns.wrapping_sub(self.mtime_ns)));
        f.varint(zigzag(self.ino.wrapping_sub(base.ino) as i64));
        if self.dev != base.dev {
            f.bytes(&self.dev.to_le_bytes());
        }
        out.extend_from_slice(f.as_slice());
        if self.kind == Kind::Symlink {
            put_bytes(out, self.target.unwrap_or_default());
        }
        if let Some(h) = hash {
            out.extend_from_slice(h);
        }
        if let Some(m) = self.mount {
            put_bytes(out, m.fstype.as_bytes());
            put_bytes(out, m.source.as_bytes());
            put_bytes(out, &m.fs_root);
            put_varint(out, u64::from(m.dev.0));
            put_varint(out, u64::from(m.dev.1));
        }
    }
}

/// A record's fixed fields: at most 3 + 2 × 5 + 4 × 10 + 8 = 61 bytes.
struct Fixed {
    b: [u8; 64],
    len: usize,
}

impl Default for Fixed {
    fn default() -> Fixed {
        Fixed { b: [0; 64], len: 0 }
    }
}

impl Fixed {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.b[self.len] = v as u8 | 0x80;
            self.len += 1;
            v >>= 7;
        }
        self.b[self.len] = v as u8;
        self.len += 1;
    }
    fn bytes(&mut self, b: &[u8]) {
        self.b[self.len..self.len + b.len()].copy_from_slice(b);
        self.len += b.len();
    }
    fn as_slice(&self) -> &[u8] {
        &self.b[..self.len]
    }
}

/// Appends an LEB128 varint.
pub fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Appends a varint length and the bytes.
pub fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

pub(super) fn unzigzag(v: u64) -> i64 {
    (v >> 1) as i64 ^ -((v & 1) as i64)
}

#[cfg(test)]
#[test]
fn varints_of_every_length_read_back() {
    let mut vals = vec![
        0u64,
        1,
        127,
        128,
        300,
        u64::MAX,
        u64::MAX >> 1,
        1 << 56,
        (1 << 56) - 1,
    ];
    vals.extend(
        (0..64)
            .map(|k| 1u64 << k)
            .chain((1..64).map(|k| (1u64 << k) - 1)),
    );
    let mut out = Vec::new();
    for &v in &vals {
        put_varint(&mut out, v);
    }
    out.extend_from_slice(&[0; 3]);
    let mut rd = Rd::new(&out);
    for &v in &vals {
        assert_eq!(rd.varint("test").ok(), Some(v));
    }
    // Cut anywhere inside the last one: incomplete, never a wrong value.
    let mut one = Vec::new();
    put_varint(&mut one, u64::MAX);
    for cut in 0..one.len() {
        assert!(matches!(
            Rd::new(&one[..cut]).varint("t"),
            Err(Short::Incomplete)
        ));
    }
    assert!(matches!(
        Rd::new(&[0xff; 12]).varint("t"),
        Err(Short::Bad(_))
    ));
    // A tenth byte above 1 would overflow 64 bits.
    let mut over = vec![0xff; 9];
    over.push(0x02);
    assert!(matches!(Rd::new(&over).varint("t"), Err(Short::Bad(_))));
    over[9] = 0x01;
    assert_eq!(Rd::new(&over).varint("t").ok(), Some(u64::MAX));
}

/// Why a read stopped: the bytes ran out (more may come), or they are wrong.
#[derive(Debug)]
pub enum Short {
    /// The buffer ends inside the item: retry with more bytes.
    Incomplete,
    /// The bytes cannot be a valid stream.
    Bad(String),
}

/// A bounds-checked reader over a byte slice whose end may cut an item.
pub struct Rd<'a> {
    b: &'a [u8],
    /// Bytes consumed so far.
    pub at: usize,
}

impl<'a> Rd<'a> {
    /// Reads `b` from the start.
    pub fn new(b: &'a [u8]) -> Rd<'a> {
        Rd { b, at: 0 }
    }
    /// The next `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], Short> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.b.len())
            .ok_or(Short::Incomplete)?;
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }
    /// One byte.
    pub fn u8(&mut self) -> Result<u8, Short> {
        Ok(self.take(1)?[0])
    }
    /// A little-endian u64.
    pub fn u64(&mut self) -> Result<u64, Short> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(a))
    }
    /// An LEB128 varint.
    #[inline]
    pub fn varint(&mut self, what: &str) -> Result<u64, Short> {
        // Most values here fit in one byte.
        match self.b.get(self.at) {
            Some(&b) if b < 0x80 => {
                self.at += 1;
                Ok(u64::from(b))
            }
            _ => self.varint_long(what),
        }
    }

    fn varint_long(&mut self, what: &str) -> Result<u64, Short> {
        // At most 10 bytes, read from one slice (no bounds check per byte:
        // a scan's inode and time deltas take 3 to 9 bytes each).
        let rest = self.b.get(self.at..).unwrap_or_default();
        let mut v = 0u64;
        for (i, &b) in rest.iter().take(10).enumerate() {
            if i == 9 && b > 1 {
                break;
            }
            v |= u64::from(b & 0x7f) << (7 * i);
            if b < 0x80 {
                self.at += i + 1;
                return Ok(v);
            }
        }
        if rest.len() < 10 && rest.iter().all(|&b| b >= 0x80) {
            return Err(Short::Incomplete);
        }
        Err(Short::Bad(format!("{what}: varint too long")))
    }
    /// A varint that must fit in a u32.
    pub fn varint32(&mut self, what: &str) -> Result<u32, Short> {
        u32::try_from(self.varint(what)?).map_err(|_| Short::Bad(format!("{what}: out of range")))
    }
    /// A varint length and that many bytes.
    pub fn bytes(&mut self, what: &str) -> Result<&'a [u8], Short> {
        let n = self.varint(what)?;
        let n = usize::try_from(n).map_err(|_| Short::Bad(format!("{what}: too long")))?;
        self.take(n)
    }
    /// Varint-prefixed UTF-8.
    pub fn string(&mut self, what: &str) -> Result<String, Short> {
        String::from_utf8(self.bytes(what)?.to_vec())
            .map_err(|_| Short::Bad(format!("{what}: invalid UTF-8")))
    }
}

/// How many of each thing a stream holds: declared before the records so
/// the decoder can allocate once, and checked after them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Entries.
    pub entries: u64,
    /// Name bytes.
    pub names: u64,
    /// Symlinks (targets).
    pub targets: u64,
    /// Target bytes.
    pub target_bytes: u64,
    /// Hashed files.
    pub hashes: u64,
    /// Mount points.
    pub mounts: u64,
    /// Device changes.
    pub devs: u64,
}

impl Counts {
    /// Adds `other` to `self`.
    pub fn add(&mut self, o: &Counts) {
        self.entries += o.entries;
        self.names += o.names;
        self.targets += o.targets;
        self.target_bytes += o.target_bytes;
        self.hashes += o.hashes;
        self.mounts += o.mounts;
        self.devs += o.devs;
    }

    /// Counts one record written against `base`.
    pub fn count(&mut self, r: &Record<'_>, base: &Base) {
        self.entries += 1;
        self.names += r.name.len() as u64;
        if r.kind == Kind::Symlink {
            self.targets += 1;
            self.target_bytes += r.target.map_or(0, |t| t.len() as u64);
        }
        if r.kind == Kind::File && r.hash.is_some() {
            self.hashes += 1;
        }
        if r.mount.is_some() {
            self.mounts += 1;
        }
        if r.dev != base.dev {
            self.devs += 1;
        }
    }

    /// The counts of `t` as [`encode_tree`] writes it.
    pub fn of(t: &Tree) -> Counts {
        let mut c = Counts {
            entries: t.len() as u64,
            mounts: t.mounts.len() as u64,
            devs: t.devs.len() as u64,
            ..Counts::default()
        };
        for (i, e) in t.entries.iter().enumerate() {
            c.names += u64::from(e.name_len);
            if let Some(x) = t.target(i) {
                c.targets += 1;
                c.target_bytes += x.len() as u64;
            }
            if t.hash(i).is_some() {
                c.hashes += 1;
            }
        }
        c
    }
}

/// Writes the entry stream of `t` (every record and END, the root's last)
/// through `sink`, in pieces of about 64 KiB.
pub fn encode_tree(t: &Tree, sink: &mut dyn FnMut(&[u8])) {
    let mut out = Vec::with_capacity(64 << 10);
    // Open directories: (subtree end, base of their children).
    let mut stack: Vec<(u32, Base)> = Vec::new();
    let root = Base::root(t.root_dev);
    let mut devs = t.devs.iter().peekable();
    for (i, e) in t.entries.iter().enumerate() {
        while stack.last().is_some_and(|&(end, _)| end as usize <= i) {
            stack.pop();
            out.push(END);
        }
        let base = stack.last().map_or(root, |&(_, b)| b);
        let dev = match devs.peek() {
            Some(&&(k, d)) if k as usize == i => {
                devs.next();
                d
            }
            _ => base.dev,
        };
        let r = Record {
            name: t.name(i),
            kind: e.kind,
            mode: e.mode,
            uid: e.uid,
            gid: e.gid,
            size: e.size,
            mtime_ns: e.mtime_ns,
            ctime_ns: e.ctime_ns,
            ino: e.ino,
            dev,
            target: t.target(i),
            hash: t.hash(i),
            mount: if e.is_mount { t.mount(i) } else { None },
        };
        r.encode(&base, &mut out);
        if e.kind == Kind::Dir {
            stack.push((e.end, r.as_base()));
        }
        if out.len() >= 64 << 10 {
            sink(&out);
            out.clear();
        }
    }
    out.extend(std::iter::repeat_n(END, stack.len() + 1));
    sink(&out);
}
