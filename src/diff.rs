//! Compares the root's tree with the baseline's: a merge of two trees in tree
//! order (children sorted by name), so it is one linear pass comparing names
//! only. `pair` finds which entries correspond; `changes` decides, for each
//! pair, whether and what changed. Both are pure: hashing the files that
//! metadata alone cannot decide happens in between (see `audit`).

use crate::scan::{Kind, NONE, Tree};

/// How an entry differs between the baseline and the root.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Change {
    /// Only on the root.
    Added,
    /// On both, with differences listed in `What`.
    Modified,
    /// Only in the baseline.
    Removed,
    /// On both, the same.
    Unchanged,
}

impl Change {
    /// The SPEC §2 spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Added => "added",
            Change::Modified => "modified",
            Change::Removed => "removed",
            Change::Unchanged => "unchanged",
        }
    }
    /// All changes, in report order.
    pub const ALL: [Change; 4] = [
        Change::Added,
        Change::Modified,
        Change::Removed,
        Change::Unchanged,
    ];
}

/// The attributes a modified entry differs in (a bit set, in SPEC §2 order).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct What(pub u8);

impl What {
    /// The entry changed type.
    pub const KIND: What = What(1);
    /// The size changed.
    pub const SIZE: What = What(2);
    /// The content hash changed.
    pub const CONTENT: What = What(4);
    /// The symlink target changed.
    pub const TARGET: What = What(8);
    /// The permission bits changed.
    pub const MODE: What = What(16);
    /// The owner or group changed.
    pub const OWNER: What = What(32);
    /// The modification time changed.
    pub const MTIME: What = What(64);
    const NAMES: [(What, &'static str); 7] = [
        (What::KIND, "kind"),
        (What::SIZE, "size"),
        (What::CONTENT, "content"),
        (What::TARGET, "target"),
        (What::MODE, "mode"),
        (What::OWNER, "owner"),
        (What::MTIME, "mtime"),
    ];

    /// Returns true if and only if no attribute differs.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    /// Returns true if and only if every attribute of `other` is in `self`.
    pub fn contains(self, other: What) -> bool {
        self.0 & other.0 == other.0
    }
    fn add(&mut self, other: What) {
        self.0 |= other.0;
    }
    /// The SPEC spellings of the attributes in the set, in SPEC order.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        What::NAMES
            .into_iter()
            .filter(move |(w, _)| self.contains(*w))
            .map(|(_, n)| n)
    }
}

/// One path of the merged trees: its entry on the root and in the baseline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pair {
    /// Index in the root's tree, or `NONE` when removed.
    pub cur: u32,
    /// Index in the baseline's tree, or `NONE` when added.
    pub base: u32,
}

/// Merges the two trees into pairs, in tree order. With no baseline, every
/// entry of `cur` is paired with nothing.
pub fn pair(cur: &Tree, base: Option<&Tree>) -> Vec<Pair> {
    let Some(base) = base else {
        return (0..cur.len() as u32)
            .map(|i| Pair { cur: i, base: NONE })
            .collect();
    };
    let mut out = Vec::with_capacity(cur.len().max(base.len()));
    // Each frame is a pair of sibling ranges still to merge: [a, a_end) of
    // `cur` and [b, b_end) of `base`. An explicit stack, not recursion, so a
    // very deep tree cannot overflow the stack.
    let mut stack = vec![(0usize, cur.len(), 0usize, base.len())];
    while let Some(top) = stack.last_mut() {
        let (a, a_end, b, b_end) = *top;
        let a_live = a < a_end;
        let b_live = b < b_end;
        if !a_live && !b_live {
            stack.pop();
            continue;
        }
        let ord = match (a_live, b_live) {
            (true, true) => cur.name(a).cmp(base.name(b)),
            (true, false) => std::cmp::Ordering::Less,
            _ => std::cmp::Ordering::Greater,
        };
        let (pa, pb) = match ord {
            std::cmp::Ordering::Less => (Some(a), None),
            std::cmp::Ordering::Greater => (None, Some(b)),
            std::cmp::Ordering::Equal => (Some(a), Some(b)),
        };
        if let Some(a) = pa {
            top.0 = cur.entries[a].end as usize;
        }
        if let Some(b) = pb {
            top.2 = base.entries[b].end as usize;
        }
        out.push(Pair {
            cur: pa.map_or(NONE, |a| a as u32),
            base: pb.map_or(NONE, |b| b as u32),
        });
        let ca = pa.map_or((0, 0), |a| (a + 1, cur.entries[a].end as usize));
        let cb = pb.map_or((0, 0), |b| (b + 1, base.entries[b].end as usize));
        if ca.0 < ca.1 || cb.0 < cb.1 {
            stack.push((ca.0, ca.1, cb.0, cb.1));
        }
    }
    out
}

/// Returns true if and only if the file entries' identity (device, inode,
/// size, mtime, ctime) is the same, so a stored hash can be trusted for both
/// without reading the file: the kernel updates ctime on every write.
pub fn same_identity(cur: &Tree, c: usize, base: &Tree, b: usize) -> bool {
    let (x, y) = (&cur.entries[c], &base.entries[b]);
    x.kind == Kind::File
        && y.kind == Kind::File
        && cur.dev(c) == base.dev(b)
        && x.ino == y.ino
        && x.size == y.size
        && x.mtime_ns == y.mtime_ns
        && x.ctime_ns == y.ctime_ns
}

/// Returns true if and only if `--hash auto` must compare contents for this
/// pair: two regular files of equal size whose mtimes differ (a rewrite or a touch).
pub fn needs_content_check(cur: &Tree, c: usize, base: &Tree, b: usize) -> bool {
    let (x, y) = (&cur.entries[c], &base.entries[b]);
    x.kind == Kind::File && y.kind == Kind::File && x.size == y.size && x.mtime_ns != y.mtime_ns
}

/// The two trees merged: every [`Pair`] in tree order (each directory
/// followed by its subtree), with each pair's parent and the end of its
/// subtree, so stages walk subtrees by index instead of by path.
#[derive(Clone, Debug, Default)]
pub struct Merge {
    pairs: Vec<Pair>,
    /// For each pair, the index of its parent pair, or `NONE`.
    parent: Vec<u32>,
    /// For each pair, one past the last pair of its subtree.
    end: Vec<u32>,
}

impl Merge {
    /// Merges `cur` with `base` (see [`pair`]) and links the pairs into a tree.
    pub fn new(cur: &Tree, base: Option<&Tree>) -> Merge {
        let pairs = pair(cur, base);
        let mut parent = vec![NONE; pairs.len()];
        let mut end = vec![0u32; pairs.len()];
        let mut stack: Vec<(u32, u32)> = Vec::new(); // (pair index, depth)
        for (i, p) in pairs.iter().enumerate() {
            let depth = u32::from(if p.cur != NONE {
                cur.entries[p.cur as usize].depth
            } else {
                base.map_or(1, |b| b.entries[p.base as usize].depth)
            });
            while let Some(&(k, d)) = stack.last() {
                if d < depth {
                    break;
                }
                end[k as usize] = i as u32;
                stack.pop();
            }
            parent[i] = stack.last().map_or(NONE, |&(k, _)| k);
            stack.push((i as u32, depth));
        }
        for (k, _) in stack {
            end[k as usize] = pairs.len() as u32;
        }
        Merge { pairs, parent, end }
    }

    /// The number of pairs.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// Returns true if and only if both trees are empty.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// Every pair, in tree order.
    pub fn pairs(&self) -> &[Pair] {
        &self.pairs
    }

    /// The parent pair of each pair (`NONE` at the top), in tree order.
    pub fn parents(&self) -> &[u32] {
        &self.parent
    }

    /// The parent pair of pair `i`.
    pub fn parent(&self, i: usize) -> Option<usize> {
        match self.parent[i] {
            NONE => None,
            p => Some(p as usize),
        }
    }

    /// One past the last pair of pair `i`'s subtree (`i + 1` for a leaf).
    pub fn end(&self, i: usize) -> usize {
        self.end[i] as usize
    }

    /// The direct children of pair `i` (of the top when `None`), in tree order.
    pub fn children(&self, i: Option<usize>) -> impl Iterator<Item = usize> + '_ {
        let (mut c, end) = match i {
            Some(i) => (i + 1, self.end(i)),
            None => (0, self.len()),
        };
        std::iter::from_fn(move || {
            (c < end).then(|| {
                let k = c;
                c = self.end(k);
                k
            })
        })
    }

    /// The tree and index that describe pair `i`: the root's entry, or the
    /// baseline's for a removed path.
    pub fn entry<'t>(&self, cur: &'t Tree, base: Option<&'t Tree>, i: usize) -> (&'t Tree, usize) {
        let p = self.pairs[i];
        if p.cur != NONE {
            (cur, p.cur as usize)
        } else {
            // A pair with neither side cannot be built by `pair`.
            (base.unwrap_or(cur), p.base as usize)
        }
    }

    /// Calls `f(pair, path)` for every pair in the order of its path's bytes
    /// (as the report lists them), without holding every path at once. Tree order (children
    /// by name, each directory followed by its subtree) differs from byte
    /// order only where a sibling's name continues another's with a byte
    /// below `/` (`a`, `a.conf`, `a/x`): so at each directory the children
    /// and their subtrees ("name/") are sorted as keys, and walked in that order.
    pub fn for_each_in_path_order(
        &self,
        cur: &Tree,
        base: Option<&Tree>,
        mut f: impl FnMut(usize, &[u8]) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        let name = |i: u32| {
            let (t, k) = self.entry(cur, base, i as usize);
            t.name(k)
        };
        // A key is a child (false) or its subtree (true, compared as "name/").
        let keys_of = |start: usize, end: usize| {
            let mut keys: Vec<(u32, bool)> = Vec::new();
            let mut c = start;
            while c < end {
                keys.push((c as u32, false));
                if self.end[c] as usize > c + 1 {
                    keys.push((c as u32, true));
                }
                c = self.end[c] as usize;
            }
            // Already in tree order; only a sibling that continues another's
            // name with a byte below '/' moves, so a stable sort is near linear.
            keys.sort_by(|&(a, sa), &(b, sb)| {
                let (x, y) = (name(a), name(b));
                let common = x.len().min(y.len());
                match x[..common].cmp(&y[..common]) {
                    std::cmp::Ordering::Equal => {}
                    unequal => return unequal,
                }
                // One name is a prefix of the other: compare what follows,
                // a subtree key continuing with '/', a plain key with nothing.
                let next = |n: &[u8], sub: bool| -> Option<u8> {
                    n.get(common).copied().or(sub.then_some(b'/'))
                };
                match next(x, sa).cmp(&next(y, sb)) {
                    std::cmp::Ordering::Equal if x.len() == y.len() => sa.cmp(&sb),
                    other => other,
                }
            });
            keys
        };
        let mut path = Vec::with_capacity(256);
        // Frame: the sorted keys of one directory, the next key, and the
        // length of the directory's path in `path`.
        let mut stack = vec![(keys_of(0, self.pairs.len()), 0usize, 0usize)];
        while let Some(top) = stack.last_mut() {
            let Some(&(c, sub)) = top.0.get(top.1) else {
                stack.pop();
                continue;
            };
            top.1 += 1;
            path.truncate(top.2);
            path.push(b'/');
            path.extend_from_slice(name(c));
            if sub {
                let keys = keys_of(c as usize + 1, self.end[c as usize] as usize);
                stack.push((keys, 0, path.len()));
            } else {
                f(c as usize, &path)?;
            }
        }
        Ok(())
    }
}

/// Decides the change of one pair.
pub fn change(cur: &Tree, base: Option<&Tree>, p: Pair) -> (Change, What) {
    let (Some(base), true, true) = (base, p.cur != NONE, p.base != NONE) else {
        return if p.cur == NONE {
            (Change::Removed, What::default())
        } else {
            (Change::Added, What::default())
        };
    };
    let (c, b) = (p.cur as usize, p.base as usize);
    let (x, y) = (&cur.entries[c], &base.entries[b]);
    let mut what = What::default();
    if x.kind != y.kind {
        what.add(What::KIND);
        return (Change::Modified, what);
    }
    if x.kind == Kind::File {
        if x.size != y.size {
            what.add(What::SIZE);
            what.add(What::CONTENT);
        } else if let (Some(hx), Some(hy)) = (cur.hash(c), base.hash(b))
            && hx != hy
        {
            what.add(What::CONTENT);
        }
    }
    if x.kind == Kind::Symlink && cur.target(c) != base.target(b) {
        what.add(What::TARGET);
    }
    if x.mode != y.mode && x.kind != Kind::Symlink {
        what.add(What::MODE);
    }
    if x.uid != y.uid || x.gid != y.gid {
        what.add(What::OWNER);
    }
    if x.mtime_ns != y.mtime_ns {
        what.add(What::MTIME);
    }
    if what.is_empty() {
        (Change::Unchanged, what)
    } else {
        (Change::Modified, what)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::Entry;

    /// Builds a tree from (path, kind) rows given in tree order.
    fn tree(rows: &[(&str, Kind)]) -> Tree {
        let mut t = Tree::default();
        let mut stack: Vec<(usize, usize)> = Vec::new(); // (entry, depth)
        for (path, kind) in rows {
            let comps: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
            let depth = comps.len();
            while stack.last().is_some_and(|&(_, d)| d >= depth) {
                let (e, _) = stack.pop().unwrap();
                t.entries[e].end = t.entries.len() as u32;
            }
            let name = comps[depth - 1].as_bytes();
            let idx = t.entries.len();
            t.entries.push(Entry {
                name_off: t.names.len() as u32,
                name_len: name.len() as _,
                parent: stack.last().map_or(NONE, |&(e, _)| e as u32),
                end: idx as u32 + 1,
                depth: depth as u16,
                kind: *kind,
                mode: 0o644,
                size: 1,
                ino: idx as u64,
                ..Entry::default()
            });
            t.names.extend_from_slice(name);
            stack.push((idx, depth));
        }
        while let Some((e, _)) = stack.pop() {
            t.entries[e].end = t.entries.len() as u32;
        }
        t
    }

    fn merged(cur: &Tree, base: &Tree) -> Vec<(String, Change)> {
        pair(cur, Some(base))
            .into_iter()
            .map(|p| {
                let path = if p.cur != NONE {
                    cur.path(p.cur as usize)
                } else {
                    base.path(p.base as usize)
                };
                (
                    String::from_utf8(path).unwrap(),
                    change(cur, Some(base), p).0,
                )
            })
            .collect()
    }

    #[test]
    fn merge_pairs_by_name_at_each_level() {
        use Kind::*;
        let base = tree(&[("/a", Dir), ("/a/x", File), ("/a/y", File), ("/b", File)]);
        let cur = tree(&[
            ("/a", Dir),
            ("/a/y", File),
            ("/a/z", Dir),
            ("/a/z/q", File),
            ("/c", File),
        ]);
        let got = merged(&cur, &base);
        let want = [
            ("/a", Change::Unchanged),
            ("/a/x", Change::Removed),
            ("/a/y", Change::Unchanged),
            ("/a/z", Change::Added),
            ("/a/z/q", Change::Added),
            ("/b", Change::Removed),
            ("/c", Change::Added),
        ];
        let want: Vec<(String, Change)> = want.iter().map(|(p, c)| (p.to_string(), *c)).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn a_directory_that_became_a_file_removes_its_children() {
        use Kind::*;
        let base = tree(&[("/d", Dir), ("/d/f", File)]);
        let cur = tree(&[("/d", File)]);
        let got = merged(&cur, &base);
        assert_eq!(got[0], ("/d".to_string(), Change::Modified));
        assert_eq!(got[1], ("/d/f".to_string(), Change::Removed));
        let p = pair(&cur, Some(&base))[0];
        assert_eq!(change(&cur, Some(&base), p).1, What::KIND);
    }

    #[test]
    fn what_lists_each_attribute() {
        use Kind::*;
        let base = tree(&[("/f", File)]);
        let mut cur = tree(&[("/f", File)]);
        cur.entries[0].mode = 0o600;
        cur.entries[0].uid = 1000;
        cur.entries[0].mtime_ns = 5;
        let p = pair(&cur, Some(&base))[0];
        let (c, w) = change(&cur, Some(&base), p);
        assert_eq!(c, Change::Modified);
        assert_eq!(w.names().collect::<Vec<_>>(), ["mode", "owner", "mtime"]);
        // Same size, different hash: content.
        let mut cur2 = tree(&[("/f", File)]);
        let mut base2 = tree(&[("/f", File)]);
        cur2.set_hash(0, [1; 32]);
        base2.set_hash(0, [2; 32]);
        let (_, w) = change(&cur2, Some(&base2), p);
        assert_eq!(w.names().collect::<Vec<_>>(), ["content"]);
    }
}
