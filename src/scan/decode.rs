//! The entry stream's decoder: records in, a [`Tree`] out (the format is
//! in [`super::record`]). It checks every record before it commits it, so
//! a scan file that passed its checksum but lies about its structure gives
//! an error naming the entry, never a panic or a tree that later stages
//! cannot index.

use super::record::{
    Base, Counts, END, F_DEV, F_HASH, F_MOUNT, F_OWNER, KIND_MASK, MIN_RECORD, Rd, Short, unzigzag,
};
use super::tree::{Entry, Kind, MountPoint, NONE, Tree};

/// One open directory while decoding.
struct Frame {
    /// Its entry, or NONE for the root.
    idx: u32,
    base: Base,
    /// Its last child so far: (name offset, length), for the order check.
    last: Option<(u32, u8)>,
}

/// Builds a [`Tree`] from an entry stream fed in pieces of any size.
pub struct Decoder {
    tree: Tree,
    stack: Vec<Frame>,
    expect: Option<Counts>,
    done: bool,
    /// The stream comes from this process's walk, whose names come from
    /// getdents and are sorted: the name checks are skipped.
    trusted: bool,
}

impl Decoder {
    /// A decoder for the tree of `root`; `expect` is what the stream
    /// declares, if known (allocated ahead and checked at the end);
    /// `budget` caps what is allocated ahead (a hostile count must not
    /// request gigabytes).
    pub fn new(
        root: std::path::PathBuf,
        root_dev: u64,
        expect: Option<Counts>,
        budget: u64,
    ) -> Decoder {
        let ahead = expect.unwrap_or_default();
        let cap = |n: u64, each: u64| n.min(budget / each.max(1)) as usize;
        let tree = Tree {
            root,
            root_dev,
            entries: Vec::with_capacity(cap(ahead.entries, MIN_RECORD as u64)),
            names: Vec::with_capacity(cap(ahead.names, 1)),
            targets: Vec::with_capacity(cap(ahead.targets, MIN_RECORD as u64 + 1)),
            target_bytes: Vec::with_capacity(cap(ahead.target_bytes, 1)),
            hashes: Vec::with_capacity(cap(ahead.hashes, 32)),
            mounts: Vec::with_capacity(cap(ahead.mounts, 64)),
            devs: Vec::with_capacity(cap(ahead.devs, 16)),
            ..Tree::default()
        };
        Decoder {
            tree,
            stack: vec![Frame {
                idx: NONE,
                base: Base::root(root_dev),
                last: None,
            }],
            expect,
            done: false,
            trusted: false,
        }
    }

    /// Skips the checks of names and of their order, for a stream this
    /// process's walk wrote (names from getdents, sorted by the walk).
    pub fn trusting_names(mut self) -> Decoder {
        self.trusted = true;
        self
    }

    /// Returns true once the root's END was read.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Decodes the whole records at the start of `b` (up to the root's END);
    /// returns how many bytes they took. A record cut by the end of `b` is
    /// left for the next call.
    pub fn feed(&mut self, b: &[u8]) -> Result<usize, String> {
        let mut at = 0;
        while !self.done && at < b.len() {
            match self.record(&b[at..]) {
                Ok(n) => at += n,
                Err(Short::Incomplete) => break,
                Err(Short::Bad(e)) => {
                    return Err(format!("entry {}: {e}", self.tree.entries.len()));
                }
            }
        }
        Ok(at)
    }

    /// The tree, once the stream is complete and matches its counts.
    pub fn finish(self) -> Result<Tree, String> {
        if !self.done {
            return Err("truncated entry stream (a directory is not closed)".into());
        }
        let t = self.tree;
        let got = Counts {
            entries: t.entries.len() as u64,
            names: t.names.len() as u64,
            targets: t.targets.len() as u64,
            target_bytes: t.target_bytes.len() as u64,
            hashes: t.hashes.len() as u64,
            mounts: t.mounts.len() as u64,
            devs: t.devs.len() as u64,
        };
        if let Some(expect) = self.expect
            && got != expect
        {
            return Err(format!(
                "the entries do not match the counts declared before them ({got:?} vs {expect:?})"
            ));
        }
        Ok(t)
    }

    /// Decodes one record or END; commits nothing unless it is whole and valid.
    fn record(&mut self, b: &[u8]) -> Result<usize, Short> {
        let bad = |s: &str| Short::Bad(s.to_string());
        let mut r = Rd::new(b);
        let header = r.u8()?;
        if header == END {
            let f = self
                .stack
                .pop()
                .ok_or_else(|| bad("END without a directory"))?;
            if f.idx == NONE {
                self.done = true;
            } else {
                self.tree.entries[f.idx as usize].end = self.tree.entries.len() as u32;
            }
            return Ok(r.at);
        }
        let kind = Kind::from_u8(header & KIND_MASK)
            .filter(|_| header & 0x80 == 0)
            .ok_or_else(|| Short::Bad(format!("unknown record header {header:#04x}")))?;
        let top = self
            .stack
            .last()
            .ok_or_else(|| bad("record after the root's END"))?;
        let base = top.base;
        let name_len = r.u8()?;
        let name = r.take(usize::from(name_len))?;
        let mode = r.varint("mode")?;
        let (uid, gid) = if header & F_OWNER != 0 {
            (r.varint32("uid")?, r.varint32("gid")?)
        } else {
            (base.uid, base.gid)
        };
        let size = r.varint("size")?;
        let mtime_ns = base.mtime_ns.wrapping_add(unzigzag(r.varint("mtime")?));
        let ctime_ns = mtime_ns.wrapping_add(unzigzag(r.varint("ctime")?));
        let ino = base.ino.wrapping_add(unzigzag(r.varint("inode")?) as u64);
        let dev = if header & F_DEV != 0 {
            r.u64()?
        } else {
            base.dev
        };
        let target = if kind == Kind::Symlink {
            Some(r.bytes("symlink target")?)
        } else {
            None
        };
        if header & F_HASH != 0 && kind != Kind::File {
            return Err(bad("a hash on something other than a regular file"));
        }
        let hash = if header & F_HASH != 0 {
            Some(r.take(32)?)
        } else {
            None
        };
        let mount = if header & F_MOUNT != 0 {
            Some((
                r.string("mount fstype")?,
                r.string("mount source")?,
                r.bytes("mount root")?,
                r.varint32("mount device")?,
                r.varint32("mount device")?,
            ))
        } else {
            None
        };
        // Whole: now check it against the tree so far, then commit.
        // A name from a real directory is never empty, `.`, `..`, and never
        // holds `/` or NUL: such a name would make one entry look like another
        // path (`a/b`, `..`) to every later stage.
        if mode > 0o7777 {
            return Err(bad("mode out of range"));
        }
        let t = &mut self.tree;
        if !self.trusted {
            if name.is_empty()
                || name.iter().any(|&c| c == b'/' || c == 0)
                || name == b"."
                || name == b".."
            {
                return Err(bad("invalid name"));
            }
            if let Some((off, len)) = top.last {
                let prev = &t.names[off as usize..off as usize + usize::from(len)];
                if prev >= name {
                    return Err(bad("siblings out of order"));
                }
            }
        }
        let idx = t.entries.len();
        if idx >= NONE as usize - 1
            || t.names.len() + name.len() > u32::MAX as usize
            || t.target_bytes.len() + target.map_or(0, <[u8]>::len) > u32::MAX as usize
        {
            return Err(bad("too many entries for one scan"));
        }
        let depth =
            u16::try_from(self.stack.len()).map_err(|_| bad("deeper than 65,535 levels"))?;
        let mut e = Entry {
            size,
            mtime_ns,
            ctime_ns,
            ino,
            name_off: t.names.len() as u32,
            parent: top.idx,
            end: idx as u32 + 1,
            uid,
            gid,
            extra: NONE,
            mode: mode as u16,
            depth,
            name_len,
            kind,
            is_mount: mount.is_some(),
        };
        t.names.extend_from_slice(name);
        if let Some(x) = target {
            e.extra = t.targets.len() as u32;
            t.targets
                .push((t.target_bytes.len() as u32, x.len() as u32));
            t.target_bytes.extend_from_slice(x);
        }
        if let Some(h) = hash {
            e.extra = t.hashes.len() as u32;
            let mut a = [0u8; 32];
            a.copy_from_slice(h);
            t.hashes.push(a);
        }
        if let Some((fstype, source, fs_root, major, minor)) = mount {
            t.mounts.push(MountPoint {
                entry: idx as u32,
                fstype,
                source,
                fs_root: fs_root.to_vec(),
                dev: (major, minor),
            });
        }
        if dev != base.dev {
            t.devs.push((idx as u32, dev));
        }
        let name_off = e.name_off;
        t.entries.push(e);
        if let Some(f) = self.stack.last_mut() {
            f.last = Some((name_off, name_len));
        }
        if kind == Kind::Dir {
            self.stack.push(Frame {
                idx: idx as u32,
                base: Base {
                    mtime_ns,
                    ino,
                    uid,
                    gid,
                    dev,
                },
                last: None,
            });
        }
        Ok(r.at)
    }
}
