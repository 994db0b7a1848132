//! `Tree`: the result of one scan, stored compactly (a 64-byte [`Entry`]
//! plus its name: about 80 bytes per entry) so a million-entry root fits in
//! memory twice (root and baseline).
//!
//! Entries are kept in *tree order*: depth-first preorder with the children of
//! each directory sorted by name bytes. That is the order in which two trees
//! can be merged by comparing names only (see `diff`). Names live in one byte
//! arena, symlink targets in another; hashes, mounts and device changes are
//! side tables because most entries have none.

use std::path::{Path, PathBuf};

/// Marks "no index" in the `u32` side-table references of an [`Entry`].
pub const NONE: u32 = u32::MAX;

/// The type of a file system entry, as SPEC §4 names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Kind {
    /// A regular file.
    File = 0,
    /// A directory.
    Dir = 1,
    /// A symbolic link (never followed by the scan).
    Symlink = 2,
    /// A named pipe (never opened).
    Fifo = 3,
    /// A Unix socket (never opened).
    Socket = 4,
    /// A block device node (never opened).
    BlockDevice = 5,
    /// A character device node (never opened).
    CharDevice = 6,
}

impl Kind {
    /// The SPEC §4 spelling of this kind.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::File => "file",
            Kind::Dir => "dir",
            Kind::Symlink => "symlink",
            Kind::Fifo => "fifo",
            Kind::Socket => "socket",
            Kind::BlockDevice => "block-device",
            Kind::CharDevice => "char-device",
        }
    }

    /// The kind for a `st_mode` file-type field, if it is one we know.
    pub fn from_mode(mode: u32) -> Option<Kind> {
        Some(match mode & 0o170000 {
            0o100000 => Kind::File,
            0o040000 => Kind::Dir,
            0o120000 => Kind::Symlink,
            0o010000 => Kind::Fifo,
            0o140000 => Kind::Socket,
            0o060000 => Kind::BlockDevice,
            0o020000 => Kind::CharDevice,
            _ => return None,
        })
    }

    /// Decodes the `repr(u8)` value (used by the scan file reader).
    pub fn from_u8(v: u8) -> Option<Kind> {
        Some(match v {
            0 => Kind::File,
            1 => Kind::Dir,
            2 => Kind::Symlink,
            3 => Kind::Fifo,
            4 => Kind::Socket,
            5 => Kind::BlockDevice,
            6 => Kind::CharDevice,
            _ => return None,
        })
    }
}

/// One scanned path: its place in the tree and its metadata, in 64 bytes
/// (a million entries take 64 MB plus their names). The device is not here
/// ([`Tree::dev`]: most entries share their directory's), and a symlink's
/// target and a file's hash share one side-table index, `extra`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Size in bytes (`st_size`; a sparse file's apparent size).
    pub size: u64,
    /// Modification time, ns since the epoch.
    pub mtime_ns: i64,
    /// Status change time, ns since the epoch (trusted with inode to reuse hashes).
    pub ctime_ns: i64,
    /// Inode number.
    pub ino: u64,
    /// Offset of the name in [`Tree::names`].
    pub name_off: u32,
    /// Index of the parent directory entry, or [`NONE`] for children of the root.
    pub parent: u32,
    /// Index one past the last entry of this entry's subtree (itself + descendants).
    pub end: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// For a symlink, its index in [`Tree::targets`]; for a regular file whose
    /// content was hashed, its index in [`Tree::hashes`]; else [`NONE`]. Read
    /// it through [`Tree::target`] and [`Tree::hash`].
    pub extra: u32,
    /// Permission bits including setuid/setgid/sticky (`st_mode & 0o7777`).
    pub mode: u16,
    /// 1 for children of the root.
    pub depth: u16,
    /// Length of the name (at most 255 bytes on Linux).
    pub name_len: u8,
    /// The entry's type.
    pub kind: Kind,
    /// Whether a mount point: the entry is another file system's root (see [`Tree::mounts`]).
    pub is_mount: bool,
}

impl Default for Entry {
    /// A regular file at the top level with every field zero and no side-table references.
    fn default() -> Entry {
        Entry {
            size: 0,
            mtime_ns: 0,
            ctime_ns: 0,
            ino: 0,
            name_off: 0,
            parent: NONE,
            end: 0,
            uid: 0,
            gid: 0,
            extra: NONE,
            mode: 0,
            depth: 1,
            name_len: 0,
            kind: Kind::File,
            is_mount: false,
        }
    }
}

/// A mounted file system met by the scan (the scan does not descend into it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MountPoint {
    /// Index of the mount point's entry.
    pub entry: u32,
    /// File system type from mountinfo (`btrfs`, `tmpfs`, ...), or `unknown`.
    pub fstype: String,
    /// Mount source from mountinfo (`/dev/sda2`, `tmpfs`, ...).
    pub source: String,
    /// The path inside the source file system that the mount shows (mountinfo field 4).
    pub fs_root: Vec<u8>,
    /// `major:minor` of the mounted file system.
    pub dev: (u32, u32),
}

/// Why a path could not be scanned: the cause a report groups failures by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum ErrorKind {
    /// `EACCES` or `EPERM`: not readable by this user.
    PermissionDenied = 0,
    /// `ENOENT`: removed between being listed and being read.
    Vanished = 1,
    /// `ENOTDIR`: a directory replaced by something else while scanned.
    NotADirectory = 2,
    /// `ENAMETOOLONG`, or a tree deeper than the scan descends.
    TooLong = 3,
    /// `ELOOP`: a symlink met where none may be followed.
    Loop = 4,
    /// `EIO` and its kin: the device or the file system failed.
    Io = 5,
    /// A file that changed while it was hashed (other size, other inode,
    /// no longer a regular file).
    Changed = 6,
    /// Anything else (an unknown file type, another errno).
    Other = 7,
}

impl ErrorKind {
    /// Every kind, in `repr(u8)` order.
    pub const ALL: [ErrorKind; 8] = [
        ErrorKind::PermissionDenied,
        ErrorKind::Vanished,
        ErrorKind::NotADirectory,
        ErrorKind::TooLong,
        ErrorKind::Loop,
        ErrorKind::Io,
        ErrorKind::Changed,
        ErrorKind::Other,
    ];

    /// The spelling in reports (`permission-denied`).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::PermissionDenied => "permission-denied",
            ErrorKind::Vanished => "vanished",
            ErrorKind::NotADirectory => "not-a-directory",
            ErrorKind::TooLong => "too-long",
            ErrorKind::Loop => "loop",
            ErrorKind::Io => "io",
            ErrorKind::Changed => "changed",
            ErrorKind::Other => "other",
        }
    }

    /// The kind of a failed system call.
    pub fn from_errno(e: rustix::io::Errno) -> ErrorKind {
        use rustix::io::Errno;
        match e {
            Errno::ACCESS | Errno::PERM => ErrorKind::PermissionDenied,
            Errno::NOENT => ErrorKind::Vanished,
            Errno::NOTDIR => ErrorKind::NotADirectory,
            Errno::NAMETOOLONG => ErrorKind::TooLong,
            Errno::LOOP => ErrorKind::Loop,
            Errno::IO | Errno::UCLEAN | Errno::BADMSG => ErrorKind::Io,
            _ => ErrorKind::Other,
        }
    }

    /// The kind of an I/O error; one that no system call reported is `Other`.
    pub fn from_io(e: &std::io::Error) -> ErrorKind {
        e.raw_os_error().map_or(ErrorKind::Other, |n| {
            Self::from_errno(rustix::io::Errno::from_raw_os_error(n))
        })
    }

    /// Decodes the `repr(u8)` value (used by the scan file reader).
    pub fn from_u8(v: u8) -> Option<ErrorKind> {
        Self::ALL.get(usize::from(v)).copied()
    }
}

/// A per-path problem met while scanning (the scan goes on).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScanError {
    /// Absolute path inside the root, as bytes.
    pub path: Vec<u8>,
    /// What went wrong, in words (`permission denied`, `vanished during scan`).
    pub error: String,
    /// The cause, for grouping.
    pub kind: ErrorKind,
}

impl ScanError {
    /// The same problem met while scanning the baseline directory `dir`:
    /// its path on the host, its words prefixed with `in baseline:`.
    pub fn in_baseline(&self, dir: &Path) -> ScanError {
        use std::os::unix::ffi::OsStrExt;
        let mut path = dir.as_os_str().as_bytes().to_vec();
        path.extend_from_slice(&self.path);
        ScanError {
            path,
            error: format!("in baseline: {}", self.error),
            kind: self.kind,
        }
    }
}

/// A complete scan of one root.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tree {
    /// The scanned root as given (absolute).
    pub root: PathBuf,
    /// The device (`makedev(major, minor)`) of the root's file system.
    pub root_dev: u64,
    /// Every entry below the root, in tree order.
    pub entries: Vec<Entry>,
    /// Name bytes of all entries.
    pub names: Vec<u8>,
    /// Symlink targets: (offset, len) into `target_bytes`.
    pub targets: Vec<(u32, u32)>,
    /// Symlink target text, concatenated.
    pub target_bytes: Vec<u8>,
    /// BLAKE3 digests of hashed regular files.
    pub hashes: Vec<[u8; 32]>,
    /// Mount points met, sorted by entry index.
    pub mounts: Vec<MountPoint>,
    /// The entries whose device differs from their parent's (the root's for
    /// top-level entries): mount points and, on btrfs, subvolumes. `(entry,
    /// device)`, sorted by entry; every other entry is on its parent's device.
    pub devs: Vec<(u32, u64)>,
    /// Per-path problems, sorted by path.
    pub errors: Vec<ScanError>,
    /// Whether every regular file was hashed (`--hash all`): a complete baseline.
    pub fully_hashed: bool,
}

impl Tree {
    /// The number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Returns true if and only if the root had no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The name bytes of entry `i`.
    pub fn name(&self, i: usize) -> &[u8] {
        let e = &self.entries[i];
        let off = e.name_off as usize;
        &self.names[off..off + e.name_len as usize]
    }

    /// The symlink target of entry `i`, if it is a symlink.
    pub fn target(&self, i: usize) -> Option<&[u8]> {
        let e = &self.entries[i];
        (e.kind == Kind::Symlink && e.extra != NONE).then(|| {
            let (off, len) = self.targets[e.extra as usize];
            &self.target_bytes[off as usize..(off + len) as usize]
        })
    }

    /// The content hash of entry `i`, if it is a regular file whose content was hashed.
    pub fn hash(&self, i: usize) -> Option<&[u8; 32]> {
        let e = &self.entries[i];
        (e.kind == Kind::File && e.extra != NONE).then(|| &self.hashes[e.extra as usize])
    }

    /// Records the content hash of entry `i`, a regular file (other kinds
    /// have no content to hash, and are left alone).
    pub fn set_hash(&mut self, i: usize, digest: [u8; 32]) {
        let e = &mut self.entries[i];
        if e.kind != Kind::File {
            debug_assert!(false, "set_hash on a {:?}", e.kind);
            return;
        }
        if e.extra == NONE {
            e.extra = self.hashes.len() as u32;
            self.hashes.push(digest);
        } else {
            self.hashes[e.extra as usize] = digest;
        }
    }

    /// The device number (`makedev(major, minor)`) of the file system
    /// holding entry `i`: the nearest device change at or above it in
    /// [`Tree::devs`], else the root's.
    pub fn dev(&self, i: usize) -> u64 {
        let first = self.devs.first().map_or(u32::MAX, |d| d.0);
        let mut cur = i as u32;
        while cur != NONE && cur >= first {
            if let Ok(k) = self.devs.binary_search_by_key(&cur, |d| d.0) {
                return self.devs[k].1;
            }
            cur = self.entries[cur as usize].parent;
        }
        self.root_dev
    }

    /// The mount met at entry `i`, if it is a mount point.
    pub fn mount(&self, i: usize) -> Option<&MountPoint> {
        if !self.entries[i].is_mount {
            return None;
        }
        self.mounts
            .binary_search_by_key(&(i as u32), |m| m.entry)
            .ok()
            .map(|k| &self.mounts[k])
    }

    /// The absolute path of entry `i` inside the root (`/etc/ssh`), as bytes.
    pub fn path(&self, i: usize) -> Vec<u8> {
        let mut chain = Vec::with_capacity(self.entries[i].depth as usize);
        let mut cur = i as u32;
        while cur != NONE {
            chain.push(cur);
            cur = self.entries[cur as usize].parent;
        }
        let mut out = Vec::with_capacity(64);
        for &k in chain.iter().rev() {
            out.push(b'/');
            out.extend_from_slice(self.name(k as usize));
        }
        out
    }

    /// The absolute path of entry `i` on the host (root joined with the in-root path).
    pub fn host_path(&self, i: usize) -> PathBuf {
        use std::os::unix::ffi::OsStrExt;
        let inner = self.path(i);
        self.root.join(std::ffi::OsStr::from_bytes(&inner[1..]))
    }

    /// Finds the entry at the absolute in-root path `path` (`/etc/static`), if scanned.
    pub fn lookup(&self, path: &[u8]) -> Option<usize> {
        let mut lo = 0usize;
        let mut hi = self.entries.len();
        let mut found = None;
        for comp in path.split(|&b| b == b'/').filter(|c| !c.is_empty()) {
            // Children of the current node are the entries in [lo, hi) at the next depth,
            // found by hopping from one sibling's `end` to the next; they are sorted by name.
            let mut k = lo;
            let mut hit = None;
            while k < hi {
                match self.name(k).cmp(comp) {
                    std::cmp::Ordering::Equal => {
                        hit = Some(k);
                        break;
                    }
                    std::cmp::Ordering::Greater => break,
                    std::cmp::Ordering::Less => k = self.entries[k].end as usize,
                }
            }
            let k = hit?;
            found = Some(k);
            lo = k + 1;
            hi = self.entries[k].end as usize;
        }
        found
    }

    /// Iterates over the indices of the direct children of `parent`
    /// (`None` for the root), in name order.
    pub fn children(&self, parent: Option<usize>) -> Children<'_> {
        let (start, end) = match parent {
            Some(p) => (p + 1, self.entries[p].end as usize),
            None => (0, self.entries.len()),
        };
        Children {
            tree: self,
            next: start,
            end,
        }
    }
}

/// Iterator over the direct children of one directory (see [`Tree::children`]).
pub struct Children<'a> {
    tree: &'a Tree,
    next: usize,
    end: usize,
}

impl Iterator for Children<'_> {
    type Item = usize;
    fn next(&mut self) -> Option<usize> {
        if self.next >= self.end {
            return None;
        }
        let k = self.next;
        self.next = self.tree.entries[k].end as usize;
        Some(k)
    }
}

/// Incrementally builds the absolute path of each entry while walking a tree
/// in order, with one buffer instead of one allocation per entry.
#[derive(Default)]
pub struct PathCursor {
    buf: Vec<u8>,
    /// The chain of entries whose path `buf` holds: (entry index, path length).
    stack: Vec<(u32, usize)>,
}

impl PathCursor {
    /// Returns the path of entry `i`. Cheap when entries are visited in tree
    /// order (only the last component changes); correct in any order.
    pub fn path<'a>(&'a mut self, tree: &Tree, i: usize) -> &'a [u8] {
        let parent = tree.entries[i].parent;
        while let Some(&(top, _)) = self.stack.last() {
            if top == parent {
                break;
            }
            self.stack.pop();
        }
        if self.stack.is_empty() && parent != NONE {
            // Jumped elsewhere: rebuild the chain of ancestors.
            let mut chain = Vec::new();
            let mut cur = parent;
            while cur != NONE {
                chain.push(cur);
                cur = tree.entries[cur as usize].parent;
            }
            self.buf.clear();
            for &k in chain.iter().rev() {
                self.buf.push(b'/');
                self.buf.extend_from_slice(tree.name(k as usize));
                self.stack.push((k, self.buf.len()));
            }
        }
        let base = self.stack.last().map_or(0, |&(_, len)| len);
        self.buf.truncate(base);
        self.buf.push(b'/');
        self.buf.extend_from_slice(tree.name(i));
        self.stack.push((i as u32, self.buf.len()));
        &self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustix::io::Errno;

    #[test]
    fn an_entry_takes_64_bytes() {
        assert!(std::mem::size_of::<Entry>() <= 64);
    }

    #[test]
    fn devices_come_from_the_nearest_change_above() {
        // /a (dir, dev 7) { /a/b (dir) { /a/b/c }, /a/m (mount, dev 9) }, /z
        let mut t = Tree {
            root_dev: 1,
            ..Tree::default()
        };
        let rows = [
            (NONE, 4, Kind::Dir),
            (0, 3, Kind::Dir),
            (1, 3, Kind::File),
            (0, 4, Kind::Dir),
            (NONE, 5, Kind::File),
        ];
        for (k, (parent, end, kind)) in rows.into_iter().enumerate() {
            t.entries.push(Entry {
                parent,
                end,
                kind,
                name_off: k as u32,
                name_len: 1,
                ..Entry::default()
            });
            t.names.push(b'a' + k as u8);
        }
        t.devs = vec![(0, 7), (3, 9)];
        let devs: Vec<u64> = (0..t.len()).map(|i| t.dev(i)).collect();
        assert_eq!(devs, [7, 7, 7, 9, 1]);
    }

    #[test]
    fn error_kinds_come_from_the_errno() {
        for (errno, kind) in [
            (Errno::ACCESS, ErrorKind::PermissionDenied),
            (Errno::PERM, ErrorKind::PermissionDenied),
            (Errno::NOENT, ErrorKind::Vanished),
            (Errno::NOTDIR, ErrorKind::NotADirectory),
            (Errno::NAMETOOLONG, ErrorKind::TooLong),
            (Errno::LOOP, ErrorKind::Loop),
            (Errno::IO, ErrorKind::Io),
            (Errno::NOMEM, ErrorKind::Other),
        ] {
            assert_eq!(ErrorKind::from_errno(errno), kind, "{errno:?}");
            assert_eq!(ErrorKind::from_io(&std::io::Error::from(errno)), kind);
        }
        assert_eq!(
            ErrorKind::from_io(&std::io::Error::other("replaced")),
            ErrorKind::Other
        );
        for k in ErrorKind::ALL {
            assert_eq!(ErrorKind::from_u8(k as u8), Some(k));
        }
        assert_eq!(ErrorKind::from_u8(ErrorKind::ALL.len() as u8), None);
    }
}
