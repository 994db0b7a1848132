//! Comparing two walked trees entry by entry: what differs between the data
//! on ROOT and a copy (in storage already, or just staged), in the words of
//! `explain` (content, mode, owner, mtime, target, xattrs, hard links, and
//! entries found on one side only). Atime and ctime are never compared; a
//! directory's size is the file system's business and is not compared either.

use std::os::fd::BorrowedFd;
use std::sync::atomic::AtomicU64;

use rayon::prelude::*;

use super::fsx;
use super::tree::{Kind, Tree};

/// A BLAKE3 digest.
pub type Digest = [u8; 32];

/// One attribute that differs between side A (ROOT) and side B (the copy).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum What {
    /// Present on A only.
    OnlyA(Kind),
    /// Present on B only.
    OnlyB(Kind),
    /// Different kinds.
    Kind(Kind, Kind),
    /// Different content (size or BLAKE3).
    Content,
    /// Different permission bits.
    Mode(u32, u32),
    /// Different owner or group: (uid, gid) on each side.
    Owner((u32, u32), (u32, u32)),
    /// Different modification time.
    Mtime((i64, u32), (i64, u32)),
    /// Different symlink text.
    Target(Vec<u8>, Vec<u8>),
    /// Extended attributes that differ (by name).
    Xattrs(Vec<Vec<u8>>),
    /// Different device numbers.
    Rdev(u64, u64),
    /// Hard-linked on one side and not (or otherwise) on the other.
    Links,
    /// The content could not be read to be compared.
    Unreadable(String),
}

/// Everything that differs for one entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Difference {
    /// The entry's path below the whitelisted path (empty: the path itself).
    pub inner: Vec<u8>,
    /// What differs.
    pub what: Vec<What>,
}

/// The entries of A and B matched by path.
#[derive(Debug, Default)]
pub struct Pairing {
    /// (node of A, node of B) with the same path; skipped entries left out.
    pub pairs: Vec<(usize, usize)>,
    /// Nodes of A without a counterpart (their subtrees are not listed).
    pub only_a: Vec<usize>,
    /// Nodes of B without a counterpart.
    pub only_b: Vec<usize>,
}

/// Matches the entries of `a` and `b` by path. Sockets and mount points on
/// either side are not compared (they are not copied).
pub fn pair(a: &Tree, b: &Tree) -> Pairing {
    let mut out = Pairing::default();
    if a.nodes.is_empty() || b.nodes.is_empty() {
        return out;
    }
    let mut stack = vec![(0usize, 0usize)];
    while let Some((ia, ib)) = stack.pop() {
        let (na, nb) = (&a.nodes[ia], &b.nodes[ib]);
        if na.skip.is_some() || nb.skip.is_some() {
            continue;
        }
        out.pairs.push((ia, ib));
        if na.kind != Kind::Dir || nb.kind != Kind::Dir {
            continue;
        }
        let (mut ca, mut cb) = (a.children(ia).peekable(), b.children(ib).peekable());
        loop {
            match (ca.peek().copied(), cb.peek().copied()) {
                (None, None) => break,
                (Some(x), None) => {
                    only(a, x, &mut out.only_a);
                    ca.next();
                }
                (None, Some(y)) => {
                    only(b, y, &mut out.only_b);
                    cb.next();
                }
                (Some(x), Some(y)) => match a.nodes[x].name.cmp(&b.nodes[y].name) {
                    std::cmp::Ordering::Less => {
                        only(a, x, &mut out.only_a);
                        ca.next();
                    }
                    std::cmp::Ordering::Greater => {
                        only(b, y, &mut out.only_b);
                        cb.next();
                    }
                    std::cmp::Ordering::Equal => {
                        stack.push((x, y));
                        ca.next();
                        cb.next();
                    }
                },
            }
        }
    }
    out.pairs.sort_unstable();
    out
}

fn only(t: &Tree, i: usize, into: &mut Vec<usize>) {
    if t.nodes[i].skip.is_none() {
        into.push(i);
    }
}

/// The pairs of regular files whose content must be hashed to be compared
/// (same size on both sides).
pub fn content_pairs(a: &Tree, b: &Tree, p: &Pairing) -> Vec<(usize, usize)> {
    p.pairs
        .iter()
        .copied()
        .filter(|&(x, y)| {
            let (na, nb) = (&a.nodes[x], &b.nodes[y]);
            na.kind == Kind::File && nb.kind == Kind::File && na.size == nb.size
        })
        .collect()
}

/// Lists what differs. `same_content(x, y)` answers for the pairs of
/// [`content_pairs`]: `Ok(true)` when the digests agree.
pub fn differences(
    a: &Tree,
    b: &Tree,
    p: &Pairing,
    same_content: &dyn Fn(usize, usize) -> Result<bool, String>,
) -> Vec<Difference> {
    let mut out = Vec::new();
    for &(x, y) in &p.pairs {
        let (na, nb) = (&a.nodes[x], &b.nodes[y]);
        let mut what = Vec::new();
        if na.kind != nb.kind {
            what.push(What::Kind(na.kind, nb.kind));
        } else {
            match na.kind {
                Kind::File => {
                    if na.size != nb.size {
                        what.push(What::Content);
                    } else {
                        match same_content(x, y) {
                            Ok(true) => {}
                            Ok(false) => what.push(What::Content),
                            Err(e) => what.push(What::Unreadable(e)),
                        }
                    }
                }
                Kind::Symlink if na.target != nb.target => {
                    what.push(What::Target(na.target.clone(), nb.target.clone()));
                }
                Kind::CharDev | Kind::BlockDev if na.rdev != nb.rdev => {
                    what.push(What::Rdev(na.rdev, nb.rdev));
                }
                _ => {}
            }
            // A symlink's permission bits are always 0777 and meaningless.
            if na.kind != Kind::Symlink && na.perm != nb.perm {
                what.push(What::Mode(na.perm, nb.perm));
            }
        }
        if (na.uid, na.gid) != (nb.uid, nb.gid) {
            what.push(What::Owner((na.uid, na.gid), (nb.uid, nb.gid)));
        }
        if na.mtime != nb.mtime {
            what.push(What::Mtime(na.mtime, nb.mtime));
        }
        if na.xattrs != nb.xattrs {
            what.push(What::Xattrs(xattr_names_differing(&na.xattrs, &nb.xattrs)));
        }
        if !what.is_empty() {
            out.push(Difference {
                inner: a.inner(x),
                what,
            });
        }
    }
    for &x in &p.only_a {
        out.push(Difference {
            inner: a.inner(x),
            what: vec![What::OnlyA(a.nodes[x].kind)],
        });
    }
    for &y in &p.only_b {
        out.push(Difference {
            inner: b.inner(y),
            what: vec![What::OnlyB(b.nodes[y].kind)],
        });
    }
    link_differences(a, b, p, &mut out);
    out.sort_by(|d, e| d.inner.cmp(&e.inner));
    out
}

fn xattr_names_differing(a: &fsx::Xattrs, b: &fsx::Xattrs) -> Vec<Vec<u8>> {
    let mut names: Vec<Vec<u8>> = Vec::new();
    for (k, v) in a {
        if b.iter().find(|(k2, _)| k2 == k).map(|(_, v2)| v2) != Some(v) {
            names.push(k.clone());
        }
    }
    for (k, _) in b {
        if !a.iter().any(|(k2, _)| k2 == k) {
            names.push(k.clone());
        }
    }
    names.sort();
    names
}

/// Hard links: files that share an inode on one side must share one on the
/// other, and no more.
fn link_differences(a: &Tree, b: &Tree, p: &Pairing, out: &mut Vec<Difference>) {
    use std::collections::HashMap;
    let files: Vec<(usize, usize)> = p
        .pairs
        .iter()
        .copied()
        .filter(|&(x, y)| a.nodes[x].kind == Kind::File && b.nodes[y].kind == Kind::File)
        .filter(|&(x, y)| a.nodes[x].nlink > 1 || b.nodes[y].nlink > 1)
        .collect();
    let mut a_to_b: HashMap<(u64, u64), (u64, u64)> = HashMap::new();
    let mut b_to_a: HashMap<(u64, u64), (u64, u64)> = HashMap::new();
    let mut bad = std::collections::BTreeSet::new();
    for &(x, y) in &files {
        let (ia, ib) = (a.nodes[x].id, b.nodes[y].id);
        if *a_to_b.entry(ia).or_insert(ib) != ib || *b_to_a.entry(ib).or_insert(ia) != ia {
            bad.insert(x);
        }
    }
    // Name every member of a group that is split or joined differently.
    if bad.is_empty() {
        return;
    }
    let bad_ids: std::collections::HashSet<(u64, u64)> =
        bad.iter().map(|&x| a.nodes[x].id).collect();
    for &(x, _) in &files {
        if bad_ids.contains(&a.nodes[x].id) || bad.contains(&x) {
            let inner = a.inner(x);
            match out.iter_mut().find(|d| d.inner == inner) {
                Some(d) => d.what.push(What::Links),
                None => out.push(Difference {
                    inner,
                    what: vec![What::Links],
                }),
            }
        }
    }
}

/// BLAKE3 of node `i` of `t`, a regular file below `top`.
pub fn hash_node(
    top: BorrowedFd<'_>,
    t: &Tree,
    i: usize,
    done: &AtomicU64,
) -> std::io::Result<Digest> {
    let n = &t.nodes[i];
    super::content::hash(top, &t.rel(i), n.id, n.size, n.blocks, done)
}

/// Hashes node `i`'s file of each pair on both sides, in parallel, and
/// answers whether they agree.
pub fn hash_pairs(
    a_top: BorrowedFd<'_>,
    a: &Tree,
    b_top: BorrowedFd<'_>,
    b: &Tree,
    pairs: &[(usize, usize)],
) -> std::collections::HashMap<(usize, usize), Result<bool, String>> {
    let done = AtomicU64::new(0);
    pairs
        .par_iter()
        .map(|&(x, y)| {
            let ha = hash_node(a_top, a, x, &done);
            let hb = hash_node(b_top, b, y, &done);
            let r = match (ha, hb) {
                (Ok(ha), Ok(hb)) => Ok(ha == hb),
                (Err(e), _) => Err(format!("cannot read on ROOT: {e}")),
                (_, Err(e)) => Err(format!("cannot read the copy: {e}")),
            };
            ((x, y), r)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsFd;

    use rustix::fs::{Mode, OFlags};

    use super::super::tree::{Read, walk};
    use super::*;

    fn trees(build_b: impl Fn(&std::path::Path)) -> Vec<Difference> {
        let dir = tempfile::tempdir().unwrap();
        for side in ["a", "b"] {
            let t = dir.path().join(side).join("top");
            std::fs::create_dir_all(t.join("d")).unwrap();
            std::fs::write(t.join("same"), b"1234").unwrap();
            std::fs::write(t.join("d/f"), b"abcd").unwrap();
            std::fs::hard_link(t.join("same"), t.join("d/link")).unwrap();
            std::os::unix::fs::symlink("x", t.join("l")).unwrap();
        }
        build_b(&dir.path().join("b/top"));
        for side in ["a", "b"] {
            let t = dir.path().join(side).join("top");
            for p in ["same", "d/f", "l", "d", ""] {
                filetime::set_symlink_file_times(
                    t.join(p),
                    filetime::FileTime::from_unix_time(1000, 5),
                    filetime::FileTime::from_unix_time(1000, 5),
                )
                .unwrap();
            }
        }
        let pa = rustix::fs::open(dir.path().join("a"), OFlags::PATH, Mode::empty()).unwrap();
        let pb = rustix::fs::open(dir.path().join("b"), OFlags::PATH, Mode::empty()).unwrap();
        let (a, b) = (
            walk(pa.as_fd(), b"top", Read::META).unwrap(),
            walk(pb.as_fd(), b"top", Read::META).unwrap(),
        );
        let p = pair(&a, &b);
        let hashed = hash_pairs(pa.as_fd(), &a, pb.as_fd(), &b, &content_pairs(&a, &b, &p));
        differences(&a, &b, &p, &|x, y| hashed[&(x, y)].clone())
    }

    #[test]
    fn equal_trees_have_no_differences() {
        assert_eq!(trees(|_| {}), vec![]);
    }

    #[test]
    fn every_kind_of_difference_is_named() {
        let d = trees(|b| {
            std::fs::write(b.join("d/f"), b"abcX").unwrap();
            std::fs::remove_file(b.join("l")).unwrap();
            std::os::unix::fs::symlink("y", b.join("l")).unwrap();
            std::fs::write(b.join("extra"), b"").unwrap();
            std::fs::remove_file(b.join("d/link")).unwrap();
            std::fs::write(b.join("d/link"), b"1234").unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(b.join("d"), std::fs::Permissions::from_mode(0o700)).unwrap();
        });
        let find = |p: &str| d.iter().find(|x| x.inner == p.as_bytes()).map(|x| &x.what);
        assert_eq!(find("d/f"), Some(&vec![What::Content]));
        assert_eq!(
            find("l"),
            Some(&vec![What::Target(b"x".to_vec(), b"y".to_vec())])
        );
        assert_eq!(find("extra"), Some(&vec![What::OnlyB(Kind::File)]));
        assert!(matches!(find("d").unwrap()[0], What::Mode(_, 0o700)));
        // A file hard-linked on ROOT but a separate copy in storage.
        assert!(find("d/link").unwrap().contains(&What::Links));
        assert!(find("same").unwrap().contains(&What::Links));
        assert_eq!(find(""), None, "the top directory itself is equal");
    }
}
