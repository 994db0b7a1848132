//! Symlink resolution *inside* the scanned root, as `chroot` would see it:
//! scanning `/mnt/oldroot` must never follow a link into the host's
//! `/nix/store`. Paths are looked up in the scanned [`Tree`]; below a mount
//! point the scan did not enter (typically `/nix`), a [`Beyond`] oracle
//! answers instead (the host file system under ROOT, or nothing in tests).

use std::borrow::Cow;

use crate::paths::components;
pub use crate::paths::is_under;
use crate::scan::{Kind, NONE, Tree};

/// At most this many links are followed (the kernel's own limit is 40).
pub const MAX_HOPS: usize = 40;

/// Where a path component found by the [`Beyond`] oracle is (not an entry).
const BEYOND: usize = usize::MAX;

/// One component looked up: where it is (an entry or [`BEYOND`]), its kind
/// and its link text.
type Step<'a> = (usize, Kind, Option<Cow<'a, [u8]>>);

/// Answers lookups below mount points the scan did not descend into.
/// Shared by the threads that classify subtrees at once, hence `Sync`.
pub trait Beyond: Sync {
    /// The kind of the entry at the in-root path, and its link text if a symlink.
    fn lstat(&self, path: &[u8]) -> Option<(Kind, Option<Vec<u8>>)>;
}

/// A [`Beyond`] that knows nothing: paths below mount points are unknown.
pub struct NothingBeyond;

impl Beyond for NothingBeyond {
    fn lstat(&self, _: &[u8]) -> Option<(Kind, Option<Vec<u8>>)> {
        None
    }
}

/// How a resolution ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    /// The final path exists (in the scan or beyond it).
    Exists,
    /// A component does not exist: the link dangles.
    Missing,
    /// More than [`MAX_HOPS`] links: a loop.
    Loop,
}

/// The result of resolving a path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolution {
    /// The final absolute path, normalised (no `.`, `..` or links where known).
    pub path: Vec<u8>,
    /// The in-root paths of the links followed, in order.
    pub via: Vec<Vec<u8>>,
    /// How it ended.
    pub ending: Ending,
}

/// A directory resolved once ([`Resolver::resolve_dir`]): where it ends up,
/// and the entries along that path.
#[derive(Clone, Debug)]
pub struct ResolvedDir {
    r: Resolution,
    at: Vec<usize>,
}

/// Each directory's children in name order (8 bytes per entry), so a lookup
/// is a binary search per component: a root with 100,000 names in one
/// directory (`/nix/store`) stays fast. Owned, so an audit builds it once
/// and every stage (evidence, classification, the TUI) resolves with it.
#[derive(Clone, Debug, Default)]
pub struct ChildIndex {
    /// `kids[start[d]..start[d + 1]]` are the children of entry `d`; the root is `d = len`.
    start: Vec<u32>,
    kids: Vec<u32>,
}

impl ChildIndex {
    /// Indexes `tree`.
    pub fn new(tree: &Tree) -> ChildIndex {
        let n = tree.entries.len();
        let slot = |p: u32| if p == NONE { n } else { p as usize };
        // Counting sort by parent slot: start[s]..start[s + 1] are slot s's children.
        let mut start = vec![0u32; n + 2];
        for e in &tree.entries {
            start[slot(e.parent) + 1] += 1;
        }
        for s in 1..start.len() {
            start[s] += start[s - 1];
        }
        // Entries come in tree order, so each directory's children are
        // appended already sorted by name.
        let mut next = start.clone();
        let mut kids = vec![0u32; n];
        for (i, e) in tree.entries.iter().enumerate() {
            let at = &mut next[slot(e.parent)];
            kids[*at as usize] = i as u32;
            *at += 1;
        }
        ChildIndex { start, kids }
    }
}

/// Resolves paths of one tree with its [`ChildIndex`], asking `beyond` below
/// mount points the scan did not enter.
pub struct Resolver<'a> {
    tree: &'a Tree,
    beyond: &'a dyn Beyond,
    index: Cow<'a, ChildIndex>,
}

impl<'a> Resolver<'a> {
    /// Indexes `tree` for lookups (for one-off use; an audit keeps its index).
    pub fn new(tree: &'a Tree, beyond: &'a dyn Beyond) -> Resolver<'a> {
        Resolver {
            tree,
            beyond,
            index: Cow::Owned(ChildIndex::new(tree)),
        }
    }

    /// A resolver over `tree` with the `index` built for it.
    pub fn with_index(
        tree: &'a Tree,
        beyond: &'a dyn Beyond,
        index: &'a ChildIndex,
    ) -> Resolver<'a> {
        Resolver {
            tree,
            beyond,
            index: Cow::Borrowed(index),
        }
    }

    /// The tree this resolver indexes.
    pub fn tree(&self) -> &'a Tree {
        self.tree
    }

    /// Finds the entry at the absolute in-root path `path`, if scanned.
    pub fn lookup(&self, path: &[u8]) -> Option<usize> {
        let n = self.tree.entries.len();
        let mut dir = n;
        let mut found = None;
        let ChildIndex { start, kids } = &*self.index;
        for comp in components(path) {
            let kids = &kids[start[dir] as usize..start[dir + 1] as usize];
            let at = kids
                .binary_search_by(|&k| self.tree.name(k as usize).cmp(comp))
                .ok()?;
            let k = kids[at] as usize;
            found = Some(k);
            dir = k;
        }
        found
    }

    /// Looks up one absolute normalised path, in the tree or beyond it.
    fn lstat(&self, path: &[u8]) -> Option<(Kind, Option<Vec<u8>>)> {
        if path == b"/" || path.is_empty() {
            return Some((Kind::Dir, None));
        }
        let tree = self.tree;
        match self.lookup(path) {
            Some(k) => Some((tree.entries[k].kind, tree.target(k).map(<[u8]>::to_vec))),
            None => {
                // Only ask beyond when the nearest scanned ancestor is a mount
                // point the scan stopped at.
                let mut p = path;
                while let Some(cut) = p.iter().rposition(|&b| b == b'/') {
                    p = &p[..cut];
                    if p.is_empty() {
                        return None;
                    }
                    if let Some(k) = self.lookup(p) {
                        return if tree.entries[k].is_mount {
                            self.beyond.lstat(path)
                        } else {
                            None
                        };
                    }
                }
                None
            }
        }
    }

    /// Resolves `path` (absolute, in-root), following every symlink including
    /// the last component.
    pub fn resolve<'p>(&self, path: &'p [u8]) -> Resolution
    where
        'a: 'p,
    {
        // Components still to walk, next last: borrowed from `path` and from
        // the tree's link texts, owned only for texts read beyond the tree.
        let todo: Vec<Cow<'p, [u8]>> = components(path).rev().map(Cow::Borrowed).collect();
        self.walk(todo, Vec::new(), Vec::new(), Ending::Exists).0
    }

    /// Resolves the directory `path` once, for [`Resolver::resolve_below`].
    pub fn resolve_dir(&self, path: &[u8]) -> ResolvedDir {
        let todo = components(path).rev().map(Cow::Borrowed).collect();
        let (r, at) = self.walk(todo, Vec::new(), Vec::new(), Ending::Exists);
        ResolvedDir { r, at }
    }

    /// [`Resolver::resolve`] of `dir`'s path joined with `rel`, without
    /// resolving `dir` again: classification asks for `/etc/static/REL` for
    /// every `/etc/REL`.
    pub fn resolve_below(&self, dir: &ResolvedDir, rel: &[u8]) -> Resolution {
        if dir.r.ending == Ending::Loop {
            // The walk stopped at the loop: nothing below it is looked at.
            return dir.r.clone();
        }
        let mut cur = dir.r.path.clone();
        if cur == b"/" {
            cur.clear();
        }
        let todo = components(rel).rev().map(Cow::Borrowed).collect();
        let (mut r, _) = self.walk(todo, cur, dir.at.clone(), dir.r.ending);
        let mut via = dir.r.via.clone();
        via.append(&mut r.via);
        r.via = via;
        r
    }

    /// [`Resolver::resolve`] of entry `k` of the tree, whose path is `path`:
    /// its directories are known by their indices, so only the entry itself
    /// (and where its links lead) is looked up. Classification resolves
    /// every symlink and every `/etc` entry: from the root, each of them cost
    /// one binary search per directory above it.
    pub fn resolve_entry(&self, k: usize, path: &[u8]) -> Resolution {
        let tree = self.tree;
        let mut at = Vec::with_capacity(usize::from(tree.entries[k].depth));
        let mut p = tree.entries[k].parent;
        while p != NONE {
            at.push(p as usize);
            p = tree.entries[p as usize].parent;
        }
        at.reverse();
        let name = tree.name(k);
        let cur = path[..path.len().saturating_sub(name.len() + 1)].to_vec();
        debug_assert_eq!(
            [cur.as_slice(), b"/", name].concat(),
            path,
            "the path of entry {k}"
        );
        self.walk(vec![Cow::Borrowed(name)], cur, at, Ending::Exists)
            .0
    }

    /// Walks the components `todo` (next last) from `cur`, whose components
    /// are at `at`, following links; `ending` is how the walk to `cur` went
    /// (below a missing component only the text is built).
    fn walk<'p>(
        &self,
        mut todo: Vec<Cow<'p, [u8]>>,
        mut cur: Vec<u8>,
        mut at: Vec<usize>,
        mut ending: Ending,
    ) -> (Resolution, Vec<usize>)
    where
        'a: 'p,
    {
        // `at`: where each component of `cur` is (an entry, or BEYOND): the
        // next component is one binary search among its directory's children,
        // not a walk from the root (links deep in a tree were quadratic).
        let mut via = Vec::new();
        let mut hops = 0;
        while let Some(comp) = todo.pop() {
            match &*comp {
                b"." | b"" => continue,
                b".." => {
                    let cut = cur.iter().rposition(|&b| b == b'/').unwrap_or(0);
                    cur.truncate(cut);
                    at.pop();
                    continue;
                }
                _ => {}
            }
            let before = cur.len();
            cur.push(b'/');
            cur.extend_from_slice(&comp);
            if ending == Ending::Missing {
                at.push(BEYOND);
                continue; // below a missing component: only build the text
            }
            let dir = at.last().copied().unwrap_or(self.tree.entries.len());
            match self.step(dir, &comp, &cur) {
                None => {
                    ending = Ending::Missing;
                    at.push(BEYOND);
                }
                Some((_, Kind::Symlink, Some(target))) => {
                    hops += 1;
                    if hops > MAX_HOPS {
                        return (
                            Resolution {
                                path: cur,
                                via,
                                ending: Ending::Loop,
                            },
                            at,
                        );
                    }
                    via.push(cur.clone());
                    cur.truncate(before);
                    if target.first() == Some(&b'/') {
                        cur.clear();
                        at.clear();
                    }
                    match target {
                        Cow::Borrowed(t) => todo.extend(components(t).rev().map(Cow::Borrowed)),
                        Cow::Owned(t) => {
                            todo.extend(components(&t).rev().map(|c| Cow::Owned(c.to_vec())));
                        }
                    }
                }
                Some((place, _, _)) => at.push(place),
            }
        }
        if cur.is_empty() {
            cur.push(b'/');
        }
        (
            Resolution {
                path: cur,
                via,
                ending,
            },
            at,
        )
    }

    /// The entry named `name` in `dir` (an entry, the tree's length for the
    /// root, or BEYOND), whose whole path is `path`: where it is, its kind
    /// and its link text. Below a mount point the scan did not enter, the
    /// oracle answers (as [`Resolver::lstat`] does).
    fn step(&self, dir: usize, name: &[u8], path: &[u8]) -> Option<Step<'a>> {
        let tree = self.tree;
        if dir != BEYOND {
            let ChildIndex { start, kids } = &*self.index;
            let kids = &kids[start[dir] as usize..start[dir + 1] as usize];
            if let Ok(i) = kids.binary_search_by(|&k| tree.name(k as usize).cmp(name)) {
                let k = kids[i] as usize;
                return Some((k, tree.entries[k].kind, tree.target(k).map(Cow::Borrowed)));
            }
            if dir == tree.entries.len() || !tree.entries[dir].is_mount {
                return None;
            }
        }
        let (kind, target) = self.beyond.lstat(path)?;
        Some((BEYOND, kind, target.map(Cow::Owned)))
    }

    /// Resolves the directories of `path` but not its last component (what
    /// `lstat` sees): the in-root path of the entry itself.
    pub fn resolve_parent(&self, path: &[u8]) -> Resolution {
        resolve_parent_by(&|p| self.lstat(p), path)
    }

    /// The chain of the symlink at `path`, hop by hop as `readlink` shows
    /// it: each link's text, and where it lands (its directories resolved
    /// inside the root) when that differs from the text.
    pub fn chain(&self, path: &[u8]) -> Chain {
        let mut hops = Vec::new();
        let mut cur = crate::paths::normalize(path);
        let mut ending = Ending::Exists;
        while let Some((Kind::Symlink, Some(text))) = self.lstat(&cur) {
            if hops.len() >= MAX_HOPS {
                ending = Ending::Loop;
                break;
            }
            let dest = crate::paths::link_destination(&cur, &text);
            let r = self.resolve_parent(&dest);
            let lexical = crate::paths::normalize_lexically(&dest);
            hops.push(Hop {
                text,
                lands: (r.path != lexical).then(|| r.path.clone()),
            });
            if r.ending != Ending::Exists {
                ending = r.ending;
                break;
            }
            cur = r.path;
        }
        Chain { hops, ending }
    }
}

/// Looks up one absolute normalised in-root path: its kind, and its link
/// text if a symlink.
type Lstat<'a> = dyn Fn(&[u8]) -> Option<(Kind, Option<Vec<u8>>)> + 'a;

/// Resolves `path` (absolute, in-root) with `lstat` answering for each
/// path, following every symlink including the last component.
fn resolve_by(lstat: &Lstat, path: &[u8]) -> Resolution {
    let mut todo: Vec<Vec<u8>> = components(path).rev().map(<[u8]>::to_vec).collect();
    let mut cur: Vec<u8> = Vec::new();
    let mut via = Vec::new();
    let mut hops = 0;
    let mut ending = Ending::Exists;
    while let Some(comp) = todo.pop() {
        match comp.as_slice() {
            b"." | b"" => continue,
            b".." => {
                let cut = cur.iter().rposition(|&b| b == b'/').unwrap_or(0);
                cur.truncate(cut);
                continue;
            }
            _ => {}
        }
        let before = cur.len();
        cur.push(b'/');
        cur.extend_from_slice(&comp);
        if ending == Ending::Missing {
            continue; // below a missing component: only build the text
        }
        match lstat(&cur) {
            None => ending = Ending::Missing,
            Some((Kind::Symlink, Some(target))) => {
                hops += 1;
                if hops > MAX_HOPS {
                    return Resolution {
                        path: cur,
                        via,
                        ending: Ending::Loop,
                    };
                }
                via.push(cur.clone());
                cur.truncate(before);
                if target.first() == Some(&b'/') {
                    cur.clear();
                }
                for c in components(&target).rev() {
                    todo.push(c.to_vec());
                }
            }
            Some(_) => {}
        }
    }
    if cur.is_empty() {
        cur.push(b'/');
    }
    Resolution {
        path: cur,
        via,
        ending,
    }
}

/// Resolves the directories of `path` but not its last component, with
/// `lstat` answering for each path.
fn resolve_parent_by(lstat: &Lstat, path: &[u8]) -> Resolution {
    let Some(name) = components(path).next_back() else {
        return resolve_by(lstat, b"/");
    };
    let mut r = resolve_by(lstat, crate::paths::parent(path));
    if name == b".." || name == b"." {
        return resolve_by(lstat, path);
    }
    if r.path != b"/" {
        r.path.push(b'/');
    }
    r.path.extend_from_slice(name);
    if r.ending == Ending::Exists && lstat(&r.path).is_none() {
        r.ending = Ending::Missing;
    }
    r
}

/// One link followed by [`Resolver::chain`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hop {
    /// The link's text, as stored.
    pub text: Vec<u8>,
    /// Where it lands, when that differs from the text read lexically
    /// (a relative text, or a link among its directories).
    pub lands: Option<Vec<u8>>,
}

/// A symlink's chain: its hops and how it ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chain {
    /// The links followed, first to last.
    pub hops: Vec<Hop>,
    /// `Exists`: the last hop lands on an entry of the root; `Missing`: it
    /// dangles (or leaves what is known of the root); `Loop`: too many hops.
    pub ending: Ending,
}

/// A [`Beyond`] that looks at the host below ROOT, for mount points the scan
/// did not enter (`/nix` on a live system). It only lstats and reads links.
#[derive(Clone, Debug)]
pub struct HostBeyond {
    /// The scanned root on the host.
    pub root: std::path::PathBuf,
}

impl HostBeyond {
    /// Resolves `path` (absolute, in-root) on the host below ROOT without a
    /// scan, every link followed inside ROOT (an absolute link text starts
    /// at ROOT, `..` stops at it), for commands that look at a few paths.
    pub fn resolve(&self, path: &[u8]) -> Resolution {
        resolve_by(&|p| self.lstat_root(p), path)
    }

    /// Resolves the directories of `path` but not its last component, as
    /// [`HostBeyond::resolve`] does: where `lstat` of `path` lands in ROOT.
    pub fn resolve_parent(&self, path: &[u8]) -> Resolution {
        resolve_parent_by(&|p| self.lstat_root(p), path)
    }

    fn lstat_root(&self, path: &[u8]) -> Option<(Kind, Option<Vec<u8>>)> {
        if path == b"/" || path.is_empty() {
            return Some((Kind::Dir, None));
        }
        self.lstat(path)
    }
}

impl Beyond for HostBeyond {
    fn lstat(&self, path: &[u8]) -> Option<(Kind, Option<Vec<u8>>)> {
        use std::os::unix::ffi::OsStrExt;
        let host = self
            .root
            .join(std::ffi::OsStr::from_bytes(path.strip_prefix(b"/")?));
        let st = rustix::fs::lstat(&host).ok()?;
        let kind = Kind::from_mode(st.st_mode)?;
        let target = if kind == Kind::Symlink {
            Some(rustix::fs::readlink(&host, Vec::new()).ok()?.into_bytes())
        } else {
            None
        };
        Some((kind, target))
    }
}

/// Resolves one path of `tree` (indexes the tree: for many paths, keep a [`Resolver`]).
pub fn resolve(tree: &Tree, beyond: &dyn Beyond, path: &[u8]) -> Resolution {
    Resolver::new(tree, beyond).resolve(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::{Progress, ScanOptions, scan};

    fn tree_of(f: impl FnOnce(&std::path::Path)) -> (tempfile::TempDir, Tree) {
        let d = tempfile::tempdir().unwrap();
        f(d.path());
        let t = scan(
            &ScanOptions {
                root: d.path().to_path_buf(),
                threads: 1,
                reserve_threads: 0,
                exclude: vec![],
                hash_all: false,
            },
            &Progress::default(),
        )
        .unwrap();
        (d, t)
    }

    #[test]
    fn chains_relative_targets_loops_and_dangling() {
        use std::os::unix::fs::symlink;
        let (_d, t) = tree_of(|r| {
            std::fs::create_dir_all(r.join("nix/store/abc-etc/etc")).unwrap();
            std::fs::write(r.join("nix/store/abc-etc/etc/hosts"), "h").unwrap();
            std::fs::create_dir_all(r.join("etc")).unwrap();
            symlink("/nix/store/abc-etc/etc", r.join("etc/static")).unwrap();
            symlink("/etc/static/hosts", r.join("etc/hosts")).unwrap();
            symlink("../etc/./static/../hosts", r.join("etc/rel")).unwrap();
            symlink("loop2", r.join("etc/loop1")).unwrap();
            symlink("loop1", r.join("etc/loop2")).unwrap();
            symlink("/nix/store/gone", r.join("etc/dangling")).unwrap();
        });
        let r = resolve(&t, &NothingBeyond, b"/etc/hosts");
        assert_eq!(r.path, b"/nix/store/abc-etc/etc/hosts");
        assert_eq!(r.via, vec![b"/etc/hosts".to_vec(), b"/etc/static".to_vec()]);
        assert_eq!(r.ending, Ending::Exists);
        // `..` after a link goes to the parent of the link's target, as in the kernel.
        let r = resolve(&t, &NothingBeyond, b"/etc/rel");
        assert_eq!(r.path, b"/nix/store/abc-etc/hosts");
        assert_eq!(r.ending, Ending::Missing);
        assert_eq!(
            resolve(&t, &NothingBeyond, b"/etc/loop1").ending,
            Ending::Loop
        );
        let r = resolve(&t, &NothingBeyond, b"/etc/dangling");
        assert_eq!(
            (r.path.as_slice(), r.ending),
            (&b"/nix/store/gone"[..], Ending::Missing)
        );
    }

    /// An oracle for the paths below a mount point, which records what it is asked.
    type Known = (&'static [u8], Kind, Option<&'static [u8]>);

    struct Fake {
        known: Vec<Known>,
        asked: std::sync::Mutex<Vec<Vec<u8>>>,
    }

    impl Beyond for Fake {
        fn lstat(&self, path: &[u8]) -> Option<(Kind, Option<Vec<u8>>)> {
            self.asked.lock().unwrap().push(path.to_vec());
            let (_, kind, target) = self.known.iter().find(|(p, _, _)| *p == path)?;
            Some((*kind, target.map(<[u8]>::to_vec)))
        }
    }

    #[test]
    fn below_a_mount_point_the_oracle_answers_and_links_lead_back_into_the_tree() {
        let (_d, mut t) = tree_of(|r| {
            std::fs::create_dir_all(r.join("nix")).unwrap();
            std::fs::create_dir_all(r.join("etc")).unwrap();
            std::fs::write(r.join("etc/hosts"), "h").unwrap();
        });
        let nix = (0..t.len()).find(|&k| t.name(k) == b"nix").unwrap();
        t.entries[nix].is_mount = true;
        let fake = Fake {
            known: vec![
                (b"/nix/store", Kind::Dir, None),
                (b"/nix/store/x", Kind::Symlink, Some(b"../../etc/hosts")),
                (b"/nix/var", Kind::Symlink, Some(b"/etc")),
            ],
            asked: Default::default(),
        };
        let res = Resolver::new(&t, &fake);
        let r = res.resolve(b"/nix/store/x");
        assert_eq!(r.path, b"/etc/hosts");
        assert_eq!(r.via, vec![b"/nix/store/x".to_vec()]);
        assert_eq!(r.ending, Ending::Exists);
        let r = res.resolve(b"/nix/var/hosts");
        assert_eq!(
            (r.path.as_slice(), r.ending),
            (&b"/etc/hosts"[..], Ending::Exists)
        );
        let r = res.resolve(b"/nix/store/../store/gone/a");
        assert_eq!(r.path, b"/nix/store/gone/a");
        assert_eq!(r.ending, Ending::Missing);
        // Below a directory the scan entered, a missing name is missing: the
        // oracle is only asked below the mount point.
        let r = res.resolve(b"/etc/nothing/x");
        assert_eq!(r.ending, Ending::Missing);
        assert!(
            fake.asked
                .lock()
                .unwrap()
                .iter()
                .all(|p| p.starts_with(b"/nix/")),
            "{:?}",
            fake.asked.lock().unwrap()
        );
    }

    #[test]
    fn a_link_to_the_hosts_root_stays_inside_the_scanned_root() {
        let (_d, t) = tree_of(|r| {
            std::os::unix::fs::symlink("/../../../etc/passwd", r.join("escape")).unwrap();
        });
        let r = resolve(&t, &NothingBeyond, b"/escape");
        assert_eq!(r.path, b"/etc/passwd");
        assert_eq!(
            r.ending,
            Ending::Missing,
            "the host's /etc/passwd is not looked at"
        );
    }

    #[test]
    fn the_host_below_root_is_resolved_without_a_scan_and_never_left() {
        use std::os::unix::fs::symlink;
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        std::fs::create_dir_all(r.join("nix/store/abc-etc/etc/ssh")).unwrap();
        std::fs::write(r.join("nix/store/abc-etc/etc/ssh/sshd_config"), "c").unwrap();
        std::fs::create_dir_all(r.join("etc/ssh")).unwrap();
        symlink("/nix/store/abc-etc/etc", r.join("etc/static")).unwrap();
        symlink("/etc/static/ssh/sshd_config", r.join("etc/ssh/sshd_config")).unwrap();
        symlink("../../../../etc/passwd", r.join("etc/up")).unwrap();
        let host = HostBeyond {
            root: r.to_path_buf(),
        };
        let got = host.resolve(b"/etc/ssh/sshd_config");
        assert_eq!(got.path, b"/nix/store/abc-etc/etc/ssh/sshd_config");
        assert_eq!(got.ending, Ending::Exists);
        assert_eq!(got.via.len(), 2);
        let parent = host.resolve_parent(b"/etc/ssh/sshd_config");
        assert_eq!(parent.path, b"/etc/ssh/sshd_config", "the link itself");
        let up = host.resolve(b"/etc/up");
        assert_eq!(
            (up.path.as_slice(), up.ending),
            (&b"/etc/passwd"[..], Ending::Missing),
            "`..` stops at ROOT: the host's /etc/passwd is not looked at"
        );
    }

    #[test]
    fn resolving_an_entry_or_below_a_resolved_directory_equals_resolving_its_path() {
        use std::os::unix::fs::symlink;
        let (_d, t) = tree_of(|r| {
            std::fs::create_dir_all(r.join("nix/store/abc-etc/etc/ssh")).unwrap();
            std::fs::write(r.join("nix/store/abc-etc/etc/ssh/sshd_config"), "c").unwrap();
            std::fs::write(r.join("nix/store/abc-etc/etc/hosts"), "h").unwrap();
            std::fs::create_dir_all(r.join("etc/ssh")).unwrap();
            std::fs::create_dir_all(r.join("a/b/c")).unwrap();
            symlink("/nix/store/abc-etc/etc", r.join("etc/static")).unwrap();
            symlink("/etc/static/hosts", r.join("etc/hosts")).unwrap();
            symlink("/etc/static/ssh/sshd_config", r.join("etc/ssh/sshd_config")).unwrap();
            symlink("../../etc/./static/../hosts", r.join("a/b/rel")).unwrap();
            symlink("c/../../b/c", r.join("a/b/back")).unwrap();
            symlink("loop2", r.join("a/loop1")).unwrap();
            symlink("loop1", r.join("a/loop2")).unwrap();
            symlink("/nix/store/gone", r.join("a/b/c/dangling")).unwrap();
            symlink("/", r.join("a/root")).unwrap();
            symlink("dangling/x", r.join("a/b/c/below-dangling")).unwrap();
        });
        let res = Resolver::new(&t, &NothingBeyond);
        let mut paths = crate::scan::PathCursor::default();
        for k in 0..t.len() {
            let path = paths.path(&t, k).to_vec();
            assert_eq!(
                res.resolve_entry(k, &path),
                res.resolve(&path),
                "{}",
                String::from_utf8_lossy(&path)
            );
        }
        let dirs: [&[u8]; 7] = [
            b"/etc/static",
            b"/",
            b"/a/b",
            b"/a/root",
            b"/a/loop1",
            b"/a/b/c/dangling",
            b"/nope",
        ];
        let rels: [&[u8]; 6] = [
            b"hosts",
            b"ssh/sshd_config",
            b"../etc/hosts",
            b"rel",
            b"x/y",
            b"back/../c",
        ];
        for dir in dirs {
            let resolved = res.resolve_dir(dir);
            for rel in rels {
                let whole = [dir, b"/", rel].concat();
                assert_eq!(
                    res.resolve_below(&resolved, rel),
                    res.resolve(&whole),
                    "{}",
                    String::from_utf8_lossy(&whole)
                );
            }
        }
    }
}
