//! One whitelisted path as a tree of entries with everything the persistent
//! copy must keep (kind, permission bits, owner, mtime in nanoseconds, size,
//! symlink text, device number, extended attributes, hard-link identity),
//! walked through directory descriptors without following a symlink,
//! without leaving the path's file system and without touching an atime.
//!
//! The same walk describes the source on ROOT, a copy already in storage and
//! the staged copy, so comparing two walks is how both "already in storage"
//! and the verification of a copy are decided.

use std::ffi::OsStr;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

use rustix::fs::{AtFlags, Mode, OFlags, StatxFlags};

use super::fsx;

/// The kind of an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A directory.
    Dir,
    /// A regular file.
    File,
    /// A symbolic link (copied as a link, never followed).
    Symlink,
    /// A named pipe (created anew, never opened).
    Fifo,
    /// A character device node.
    CharDev,
    /// A block device node.
    BlockDev,
    /// A unix socket: not copied (a socket is recreated by the program that listens on it).
    Socket,
}

impl Kind {
    fn from_mode(mode: u32) -> Kind {
        match mode & 0o170000 {
            0o040000 => Kind::Dir,
            0o100000 => Kind::File,
            0o120000 => Kind::Symlink,
            0o010000 => Kind::Fifo,
            0o020000 => Kind::CharDev,
            0o060000 => Kind::BlockDev,
            _ => Kind::Socket,
        }
    }

    /// The word used in messages.
    pub fn word(self) -> &'static str {
        match self {
            Kind::Dir => "directory",
            Kind::File => "file",
            Kind::Symlink => "symlink",
            Kind::Fifo => "fifo",
            Kind::CharDev => "character device",
            Kind::BlockDev => "block device",
            Kind::Socket => "socket",
        }
    }
}

/// Why an entry found in the tree is not copied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Skip {
    /// A unix socket.
    Socket,
    /// A mount point: another file system (or a bind mount) inside the path.
    MountPoint,
}

/// One entry of a walked tree.
#[derive(Clone, Debug)]
pub struct Node {
    /// Index of the parent directory; the top has none.
    pub parent: Option<u32>,
    /// The name in its directory (the top: the whitelisted path's last component).
    pub name: Vec<u8>,
    /// What it is.
    pub kind: Kind,
    /// Permission bits including setuid, setgid and sticky (`st_mode & 07777`).
    pub perm: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Apparent size in bytes.
    pub size: u64,
    /// Allocated 512-byte blocks (a file with fewer than its size is sparse).
    pub blocks: u64,
    /// Modification time: seconds and nanoseconds.
    pub mtime: (i64, u32),
    /// Access time (copied, never compared).
    pub atime: (i64, u32),
    /// Change time, to notice a change made while copying (never compared
    /// between two trees).
    pub ctime: (i64, u32),
    /// Device and inode number: the identity of hard links.
    pub id: (u64, u64),
    /// Hard-link count.
    pub nlink: u32,
    /// Device number of a device node.
    pub rdev: u64,
    /// Link text of a symlink.
    pub target: Vec<u8>,
    /// Extended attributes, sorted by name.
    pub xattrs: fsx::Xattrs,
    /// BLAKE3 of a regular file's content, when the walk read it.
    pub digest: Option<super::compare::Digest>,
    /// Set when the entry is not copied.
    pub skip: Option<Skip>,
    /// Children of a directory: indices `children.0 .. children.1`, sorted by name.
    pub children: (u32, u32),
}

/// A walked tree: node 0 is the top (the whitelisted path itself).
#[derive(Clone, Debug, Default)]
pub struct Tree {
    /// Entries: every directory's children are contiguous and sorted by name.
    pub nodes: Vec<Node>,
}

/// How far a walk got before an error.
#[derive(Debug)]
pub struct WalkError {
    /// The path (relative to the walked tree's parent) where it failed.
    pub rel: Vec<u8>,
    /// The operating system's reason.
    pub error: std::io::Error,
}

impl std::fmt::Display for WalkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {}",
            crate::text::escape_bytes(&self.rel),
            self.error
        )
    }
}

impl Tree {
    /// The path of node `i` relative to the directory holding the top
    /// (`name`, `name/sub/file`).
    pub fn rel(&self, i: usize) -> Vec<u8> {
        let mut parts = Vec::new();
        let mut cur = Some(i as u32);
        while let Some(c) = cur {
            let n = &self.nodes[c as usize];
            parts.push(n.name.as_slice());
            cur = n.parent;
        }
        let mut out = Vec::new();
        for p in parts.iter().rev() {
            if !out.is_empty() {
                out.push(b'/');
            }
            out.extend_from_slice(p);
        }
        out
    }

    /// The path of node `i` below the top (`` for the top, `sub/file`).
    pub fn inner(&self, i: usize) -> Vec<u8> {
        let rel = self.rel(i);
        let top = self.nodes[0].name.len();
        if rel.len() > top {
            rel[top + 1..].to_vec()
        } else {
            Vec::new()
        }
    }

    /// The children of directory node `i`.
    pub fn children(&self, i: usize) -> std::ops::Range<usize> {
        let (a, b) = self.nodes[i].children;
        a as usize..b as usize
    }

    /// Entries that are copied (everything not skipped).
    pub fn copied(&self) -> impl Iterator<Item = (usize, &Node)> {
        self.nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.skip.is_none())
    }

    /// Entries that are copied, and bytes of regular files (each hard-linked
    /// file counted once).
    pub fn totals(&self) -> (u64, u64) {
        let mut seen = std::collections::HashSet::new();
        let mut bytes = 0;
        let mut entries = 0;
        for (_, n) in self.copied() {
            entries += 1;
            if n.kind == Kind::File && (n.nlink < 2 || seen.insert(n.id)) {
                bytes += n.size;
            }
        }
        (entries, bytes)
    }
}

/// The statx fields a walk needs.
const STATX_WANT: StatxFlags = StatxFlags::BASIC_STATS.union(StatxFlags::MNT_ID);

/// The result of statting one entry.
pub struct Stat {
    node: Node,
    mnt_id: u64,
}

/// Stats the entry `name` of `dir` without following it.
pub fn stat_at(dir: BorrowedFd<'_>, name: &[u8]) -> rustix::io::Result<Stat> {
    let st = rustix::fs::statx(
        dir,
        OsStr::from_bytes(name),
        AtFlags::SYMLINK_NOFOLLOW | AtFlags::NO_AUTOMOUNT,
        STATX_WANT,
    )?;
    let mode = u32::from(st.stx_mode);
    let kind = Kind::from_mode(mode);
    Ok(Stat {
        mnt_id: st.stx_mnt_id,
        node: Node {
            parent: None,
            name: name.to_vec(),
            kind,
            perm: mode & 0o7777,
            uid: st.stx_uid,
            gid: st.stx_gid,
            size: st.stx_size,
            blocks: st.stx_blocks,
            mtime: (st.stx_mtime.tv_sec, st.stx_mtime.tv_nsec),
            atime: (st.stx_atime.tv_sec, st.stx_atime.tv_nsec),
            ctime: (st.stx_ctime.tv_sec, st.stx_ctime.tv_nsec),
            id: (
                rustix::fs::makedev(st.stx_dev_major, st.stx_dev_minor),
                st.stx_ino,
            ),
            nlink: st.stx_nlink,
            rdev: rustix::fs::makedev(st.stx_rdev_major, st.stx_rdev_minor),
            target: Vec::new(),
            xattrs: Vec::new(),
            digest: None,
            skip: (kind == Kind::Socket).then_some(Skip::Socket),
            children: (0, 0),
        },
    })
}

impl Stat {
    /// The mount the entry is on.
    pub fn mnt_id(&self) -> u64 {
        self.mnt_id
    }

    /// The node.
    pub fn node(&self) -> &Node {
        &self.node
    }
}

/// What a walk reads besides `statx`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Read {
    /// Extended attributes and symlink texts (a change to either also
    /// changes the ctime, so a walk that only looks for changes skips them).
    pub details: bool,
    /// BLAKE3 of every regular file, read as the walk goes.
    pub contents: bool,
}

impl Read {
    /// Everything the copy keeps.
    pub const META: Read = Read {
        details: true,
        contents: false,
    };
    /// Everything, contents hashed.
    pub const ALL: Read = Read {
        details: true,
        contents: true,
    };
    /// Only what a change would alter (`statx`).
    pub const STAT: Read = Read {
        details: false,
        contents: false,
    };
}

/// One directory's entries as walked, before they are numbered.
struct Listing {
    /// The directory's own extended attributes (read through its descriptor).
    xattrs: fsx::Xattrs,
    nodes: Vec<Node>,
    /// For each entry that is a walked directory: its own listing.
    subdirs: Vec<(usize, Listing)>,
}

/// Walks the entry `name` of the directory `parent` (which must be an
/// `O_PATH` or readable descriptor). Entries on another mount than the top's
/// (mount points inside the path) and sockets are recorded but not entered.
/// Directories are walked in parallel, one task each, through their own
/// descriptors (a component swapped for a symlink makes the walk fail).
pub fn walk(parent: BorrowedFd<'_>, name: &[u8], read: Read) -> Result<Tree, WalkError> {
    walk_counting(parent, name, read, &std::sync::atomic::AtomicU64::new(0))
}

/// [`walk`], adding the bytes it hashes to `done` as it goes.
pub fn walk_counting(
    parent: BorrowedFd<'_>,
    name: &[u8],
    read: Read,
    done: &std::sync::atomic::AtomicU64,
) -> Result<Tree, WalkError> {
    let werr = |rel: Vec<u8>, e: rustix::io::Errno| WalkError {
        rel,
        error: e.into(),
    };
    let top = stat_at(parent, name).map_err(|e| werr(name.to_vec(), e))?;
    let mnt = top.mnt_id;
    let mut node = top.node;
    fill(parent, &mut node, read, done).map_err(|e| WalkError {
        rel: name.to_vec(),
        error: e,
    })?;
    let mut tree = Tree { nodes: vec![node] };
    if tree.nodes[0].kind == Kind::Dir {
        let dir = open_dir(parent, name).map_err(|e| werr(name.to_vec(), e))?;
        let listing = walk_dir(&dir, mnt, read, done).map_err(|mut e| {
            e.rel = prefixed(name, &e.rel);
            e
        })?;
        number(&mut tree, 0, listing);
    }
    Ok(tree)
}

fn prefixed(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = a.to_vec();
    if !b.is_empty() {
        out.push(b'/');
        out.extend_from_slice(b);
    }
    out
}

/// Appends `listing` as the contiguous children of node `i`, then each
/// subdirectory's own children, depth first.
fn number(tree: &mut Tree, i: usize, listing: Listing) {
    tree.nodes[i].xattrs = listing.xattrs;
    let start = tree.nodes.len() as u32;
    for mut n in listing.nodes {
        n.parent = Some(i as u32);
        tree.nodes.push(n);
    }
    tree.nodes[i].children = (start, tree.nodes.len() as u32);
    for (k, sub) in listing.subdirs {
        number(tree, start as usize + k, sub);
    }
}

/// Opens a directory for listing, without following a symlink and without
/// touching its atime.
fn open_dir(parent: BorrowedFd<'_>, name: &[u8]) -> rustix::io::Result<OwnedFd> {
    fsx::open_beneath(
        parent,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::NOATIME,
        Mode::empty(),
    )
}

/// Reads what a stat does not give: a symlink's text, the xattrs, the
/// content's digest. A directory's xattrs come with its listing, a hashed
/// file's from the descriptor it is read through (no `/proc` path lookup).
fn fill(
    dir: BorrowedFd<'_>,
    node: &mut Node,
    read: Read,
    done: &std::sync::atomic::AtomicU64,
) -> std::io::Result<()> {
    if node.skip.is_some() {
        return Ok(());
    }
    if node.kind == Kind::File && read.contents {
        let fd = super::content::open_file(dir, &node.name, node.id)?;
        if read.details {
            node.xattrs = fsx::fread_xattrs(fd.as_fd())?;
        }
        let sparse = node.blocks * 512 < node.size;
        let (digest, len) = super::content::pump(&fd, None, node.size, sparse, done)?;
        if len != node.size {
            return Err(std::io::Error::other(
                "its length changed while it was read",
            ));
        }
        node.digest = Some(digest);
        return Ok(());
    }
    if !read.details {
        return Ok(());
    }
    if node.kind == Kind::Symlink {
        let name = OsStr::from_bytes(&node.name);
        node.target = rustix::fs::readlinkat(dir, name, Vec::new())?.into_bytes();
    }
    if node.kind != Kind::Dir {
        node.xattrs = fsx::read_xattrs(dir, &node.name)?;
    }
    Ok(())
}

fn walk_dir(
    dir: &OwnedFd,
    mnt: u64,
    read: Read,
    done: &std::sync::atomic::AtomicU64,
) -> Result<Listing, WalkError> {
    use rayon::prelude::*;
    let at = |name: &[u8], e: std::io::Error| WalkError {
        rel: name.to_vec(),
        error: e,
    };
    let xattrs = if read.details {
        fsx::fread_xattrs(dir.as_fd()).map_err(|e| at(b"", e.into()))?
    } else {
        Vec::new()
    };
    let mut names = fsx::list_names(dir.as_fd()).map_err(|e| at(b"", e.into()))?;
    names.sort();
    let mut nodes = Vec::with_capacity(names.len());
    for name in names {
        let st = match stat_at(dir.as_fd(), &name) {
            Ok(st) => st,
            // Removed between the listing and the stat: it is not there.
            Err(rustix::io::Errno::NOENT) => continue,
            Err(e) => return Err(at(&name, e.into())),
        };
        let mut node = st.node;
        if st.mnt_id != mnt {
            node.skip = Some(Skip::MountPoint);
        }
        fill(dir.as_fd(), &mut node, read, done).map_err(|e| at(&name, e))?;
        nodes.push(node);
    }
    let subdirs = nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| n.kind == Kind::Dir && n.skip.is_none())
        .map(|(k, _)| k)
        .collect::<Vec<_>>()
        .into_par_iter()
        .map(|k| {
            let name = &nodes[k].name;
            let sub = open_dir(dir.as_fd(), name).map_err(|e| at(name, e.into()))?;
            let listing = walk_dir(&sub, mnt, read, done).map_err(|mut e| {
                e.rel = prefixed(name, &e.rel);
                e
            })?;
            Ok((k, listing))
        })
        .collect::<Result<Vec<_>, WalkError>>()?;
    Ok(Listing {
        xattrs,
        nodes,
        subdirs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_walk_sorts_children_and_keeps_links_as_links() {
        let dir = tempfile::tempdir().unwrap();
        let top = dir.path().join("top");
        std::fs::create_dir_all(top.join("b/deep")).unwrap();
        std::fs::write(top.join("a"), b"hello").unwrap();
        std::fs::write(top.join("b/deep/f"), b"x").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", top.join("c")).unwrap();
        std::fs::hard_link(top.join("a"), top.join("b/a2")).unwrap();
        let p = rustix::fs::open(dir.path(), OFlags::PATH, Mode::empty()).unwrap();
        let t = walk(p.as_fd(), b"top", Read::ALL).unwrap();
        let rels: Vec<String> = (0..t.nodes.len())
            .map(|i| String::from_utf8(t.rel(i)).unwrap())
            .collect();
        assert_eq!(
            rels,
            [
                "top",
                "top/a",
                "top/b",
                "top/c",
                "top/b/a2",
                "top/b/deep",
                "top/b/deep/f"
            ]
        );
        assert_eq!(t.inner(4), b"b/a2");
        assert_eq!(t.nodes[3].kind, Kind::Symlink);
        assert_eq!(t.nodes[3].target, b"/etc/passwd");
        assert_eq!(t.nodes[1].id, t.nodes[4].id);
        assert_eq!(t.totals(), (7, 6), "the hard-linked file counts once");
        assert_eq!(t.nodes[1].digest, Some(*blake3::hash(b"hello").as_bytes()));
        assert_eq!(t.nodes[6].digest, Some(*blake3::hash(b"x").as_bytes()));
        assert_eq!(t.nodes[2].digest, None, "a directory has no digest");
    }
}
