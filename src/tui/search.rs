//! Search as you type on a million paths: the first (or last) shown path
//! from a starting point whose path contains the typed text, in the time of
//! a keystroke.
//!
//! Paths are never built. [`SearchIndex`] keeps every item's name,
//! ASCII-lowercased, back to back in one buffer. The needle is cut at its
//! slashes into parts (`lib/dock` → `lib`, `dock`); an occurrence of it in a
//! path puts its last part in one name, and the item carrying that name is
//! an "endpoint": its name starts with the last part (or holds it, for a
//! needle without slash), its parent's name ends with the part before, and
//! so on up. Every path of an endpoint's subtree contains the needle (all
//! but the endpoint itself when the needle ends with a slash, `docker/`),
//! and every path that contains it lies in such a subtree. So a search
//! looks for the last part in the buffer with SIMD substring search
//! (`memchr::memmem`), checks the few names above each hit, and walks the
//! matching subtrees in order. When the needle has a longer part before the
//! last one (`d0500/f`), its hits first bound the subtrees worth looking in.
//!
//! Smart case: a needle without upper case matches any case (ASCII); with
//! upper case it must match exactly (the lowercased buffer finds the
//! candidates, the real names decide).

use std::ops::Range;

use memchr::memmem;

use super::tree::{Nodes, TreeView};

/// Every item's name, ASCII-lowercased, in item order.
#[derive(Debug)]
pub struct SearchIndex {
    folded: Vec<u8>,
    /// Where each item's name starts in `folded`; one more at the end.
    starts: Vec<usize>,
}

/// A needle prepared for one search.
struct Needle {
    /// The parts between slashes (one trailing empty part dropped),
    /// lowercased when `fold`.
    parts: Vec<Vec<u8>>,
    /// Whether names are compared lowercased.
    fold: bool,
    /// The needle ends with `/`: it ends right after an endpoint's name.
    slash_end: bool,
    /// The last part, lowercased: what the buffer is searched for.
    anchor: Vec<u8>,
    /// The longest part before the last, lowercased, when it is longer than
    /// the last: endpoints lie below a name holding it.
    region: Option<Vec<u8>>,
}

impl SearchIndex {
    /// Builds the index in one pass over the items.
    pub fn build(nodes: &impl Nodes) -> SearchIndex {
        let mut index = SearchIndex::with_capacity(nodes.len());
        for i in 0..nodes.len() {
            index.push(nodes.name(i));
        }
        index
    }

    /// An empty index with room for `n` items.
    pub fn with_capacity(n: usize) -> SearchIndex {
        let mut starts = Vec::with_capacity(n + 1);
        starts.push(0);
        SearchIndex {
            folded: Vec::with_capacity(n * 12),
            starts,
        }
    }

    /// Adds the next item's name.
    pub fn push(&mut self, name: &[u8]) {
        self.folded.extend(name.iter().map(u8::to_ascii_lowercase));
        self.starts.push(self.folded.len());
    }

    /// Returns true if and only if the index covers `n` items.
    pub fn covers(&self, n: usize) -> bool {
        self.starts.len() == n + 1
    }

    /// The first item from `from` (inclusive) going forward, or the last
    /// going backward, wrapping around, that the tree shows (itself or
    /// below it) and whose path contains `needle`.
    pub fn find(
        &self,
        nodes: &impl Nodes,
        tree: &TreeView,
        needle: &str,
        from: usize,
        forward: bool,
    ) -> Option<usize> {
        let n = nodes.len();
        if n == 0 || needle.is_empty() || !self.covers(n) {
            return None;
        }
        let from = from.min(n - 1);
        let scan = |needle| Scan {
            index: self,
            nodes,
            tree,
            needle,
        };
        if needle.bytes().all(|b| b == b'/') {
            // Every path starts with one slash; none holds two.
            if needle.len() > 1 {
                return None;
            }
            let s = scan(None);
            return if forward {
                s.first_shown(from..n).or_else(|| s.first_shown(0..from))
            } else {
                s.last_shown(0..from + 1)
                    .or_else(|| s.last_shown(from + 1..n))
            };
        }
        let s = scan(Some(Needle::new(needle)?));
        if forward {
            s.forward(from)
        } else {
            s.backward(0..from + 1).or_else(|| s.backward(from + 1..n))
        }
    }
}

impl Needle {
    /// `None` when no path can contain the needle (two slashes in a row).
    fn new(needle: &str) -> Option<Needle> {
        let fold = !needle.chars().any(char::is_uppercase);
        let text = if fold {
            needle.to_lowercase()
        } else {
            needle.to_string()
        };
        let slash_end = text.ends_with('/');
        let mut parts: Vec<Vec<u8>> = text.split('/').map(|p| p.as_bytes().to_vec()).collect();
        if slash_end {
            parts.pop();
        }
        // Names are never empty: only a leading empty part (the needle
        // starts with a slash) can be satisfied.
        if parts.iter().skip(1).any(Vec::is_empty) || parts.last()?.is_empty() {
            return None;
        }
        let last = parts.len() - 1;
        let anchor = parts[last].to_ascii_lowercase();
        let region = parts[..last]
            .iter()
            .max_by_key(|p| p.len())
            .filter(|p| p.len() > anchor.len())
            .map(|p| p.to_ascii_lowercase());
        Some(Needle {
            parts,
            fold,
            slash_end,
            anchor,
            region,
        })
    }

    /// Whether a name can carry part `j` of a path holding the needle.
    fn part_fits(&self, j: usize, name: &[u8]) -> bool {
        let p = &self.parts[j];
        match (j == 0, j + 1 == self.parts.len()) {
            (true, true) if self.slash_end => name.ends_with(p),
            (true, true) => memmem::find(name, p).is_some(),
            (true, false) => name.ends_with(p),
            (false, true) if self.slash_end => name == p.as_slice(),
            (false, true) => name.starts_with(p),
            (false, false) => name == p.as_slice(),
        }
    }
}

/// One search: the index, the tree, the needle.
struct Scan<'a, N: Nodes> {
    index: &'a SearchIndex,
    nodes: &'a N,
    tree: &'a TreeView,
    /// `None`: everything matches.
    needle: Option<Needle>,
}

impl<N: Nodes> Scan<'_, N> {
    fn first_shown(&self, r: Range<usize>) -> Option<usize> {
        r.into_iter().find(|&j| self.tree.holds_hits(j))
    }

    fn last_shown(&self, r: Range<usize>) -> Option<usize> {
        r.into_iter().rev().find(|&j| self.tree.holds_hits(j))
    }

    fn folded(&self, i: usize) -> &[u8] {
        let s = &self.index.starts;
        &self.index.folded[s[i]..s[i + 1]]
    }

    /// The item whose name holds byte `pos` of the buffer, looked for
    /// from item `hint` on (whose name starts at or before `pos`).
    fn item_from(&self, pos: usize, hint: usize) -> usize {
        let s = &self.index.starts;
        let (mut lo, mut step) = (hint, 1);
        let mut hi = lo + 1;
        while hi < s.len() && s[hi] <= pos {
            lo = hi;
            step *= 2;
            hi = lo + step;
        }
        let hi = hi.min(s.len());
        lo + s[lo..hi].partition_point(|&x| x <= pos) - 1
    }

    /// The items matched because item `e` is an endpoint (see the module doc).
    fn range(&self, e: usize) -> Option<Range<usize>> {
        let nd = self.needle.as_ref()?;
        let name = |i: usize| {
            if nd.fold {
                self.folded(i)
            } else {
                self.nodes.name(i)
            }
        };
        let last = nd.parts.len() - 1;
        if !nd.part_fits(last, name(e)) {
            return None;
        }
        let mut u = e;
        for j in (0..last).rev() {
            match self.nodes.parent(u) {
                Some(p) if nd.part_fits(j, name(p)) => u = p,
                Some(_) => return None,
                // Above a top item is the root, whose name is empty: only
                // the needle's leading slash fits there.
                None if j == 0 && nd.parts[0].is_empty() => break,
                None => return None,
            }
        }
        let end = self.nodes.end(e);
        Some(if nd.slash_end { e + 1..end } else { e..end })
    }

    /// The outermost endpoint among `a` and its ancestors, with its range.
    fn outermost(&self, a: usize) -> Option<(usize, Range<usize>)> {
        let mut best = None;
        let mut k = Some(a);
        while let Some(i) = k {
            if let Some(r) = self.range(i) {
                best = Some((i, r));
            }
            k = self.nodes.parent(i);
        }
        best
    }

    fn forward(&self, from: usize) -> Option<usize> {
        let n = self.nodes.len();
        // The subtree around `from` may match through an ancestor.
        let mut resume = from;
        if let Some((_, r)) = self.outermost(from) {
            if let Some(j) = self.first_shown(r.start.max(from)..r.end) {
                return Some(j);
            }
            resume = r.end.max(from);
        }
        self.regions(resume..n).or_else(|| self.regions(0..from))
    }

    /// The first shown match in `window`, looking only below names that
    /// hold the needle's region part, when it has one. Endpoints that are
    /// ancestors of the window's first item are the caller's.
    fn regions(&self, window: Range<usize>) -> Option<usize> {
        let nd = self.needle.as_ref()?;
        let Some(part) = &nd.region else {
            return self.endpoints(window);
        };
        let s = &self.index.starts;
        let holds = |i: usize| memmem::find(self.folded(i), part).is_some();
        let mut next = window.start;
        // A region may open above the window.
        let mut top = None;
        let mut k = self.nodes.parent(window.start);
        while let Some(i) = k {
            if holds(i) {
                top = Some(i);
            }
            k = self.nodes.parent(i);
        }
        if let Some(u) = top {
            let end = self.nodes.end(u).min(window.end);
            if let Some(j) = self.endpoints(window.start..end) {
                return Some(j);
            }
            next = end;
        }
        let finder = memmem::Finder::new(part);
        let stop = s[window.end];
        while next < window.end {
            let pos = s[next];
            let at = pos + finder.find(&self.index.folded[pos..stop])?;
            let c = self.item_from(at, next);
            if at + part.len() > s[c + 1] {
                next = c + 1; // straddles two names
                continue;
            }
            let end = self.nodes.end(c).min(window.end);
            if let Some(j) = self.endpoints(c..end) {
                return Some(j);
            }
            next = end;
        }
        None
    }

    /// The first shown match in `window` through an endpoint inside it.
    fn endpoints(&self, window: Range<usize>) -> Option<usize> {
        let nd = self.needle.as_ref()?;
        let s = &self.index.starts;
        let finder = memmem::Finder::new(&nd.anchor);
        let stop = s[window.end];
        let mut next = window.start;
        while next < window.end {
            let pos = s[next];
            let at = pos + finder.find(&self.index.folded[pos..stop])?;
            let c = self.item_from(at, next);
            if at + nd.anchor.len() > s[c + 1] {
                next = c + 1; // straddles two names
                continue;
            }
            let end = self.nodes.end(c).min(window.end);
            if !self.tree.holds_hits(c) {
                next = end; // nothing shown below: skip the subtree
                continue;
            }
            match self.range(c) {
                Some(r) => {
                    if let Some(j) = self.first_shown(r.start..r.end.min(window.end)) {
                        return Some(j);
                    }
                    next = end;
                }
                None => next = c + 1,
            }
        }
        None
    }

    /// The last shown match in `window`.
    fn backward(&self, window: Range<usize>) -> Option<usize> {
        if window.is_empty() {
            return None;
        }
        let nd = self.needle.as_ref()?;
        let s = &self.index.starts;
        let clip = |r: Range<usize>, hi: usize| r.start.max(window.start)..r.end.min(hi);
        let mut hi = window.end;
        // Matches through an ancestor of the window's last item.
        if let Some((_, r)) = self.outermost(window.end - 1) {
            let r = clip(r, hi);
            if let Some(j) = self.last_shown(r.clone()) {
                return Some(j);
            }
            hi = r.start.max(window.start);
        }
        let finder = memmem::FinderRev::new(&nd.anchor);
        let lo = s[window.start];
        while hi > window.start {
            let Some(off) = finder.rfind(&self.index.folded[lo..s[hi]]) else {
                break;
            };
            let at = lo + off;
            // A hit straddling two names only says to look at the first:
            // `outermost` decides on whole names.
            let c = self.index.starts.partition_point(|&x| x <= at) - 1;
            match self.outermost(c) {
                Some((t, r)) => {
                    if let Some(j) = self.last_shown(clip(r, hi)) {
                        return Some(j);
                    }
                    hi = t.max(window.start);
                }
                None => hi = c,
            }
        }
        // Matches through an ancestor of the window's first item, whose
        // name lies before the window.
        let (_, r) = self.outermost(window.start)?;
        self.last_shown(clip(r, hi))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::tree::tests::Paths;

    fn sample() -> Paths {
        Paths::new(&[
            ("etc/", 0, 0),
            ("etc/ssh/", 0, 0),
            ("etc/ssh/ssh_host_key", 1, 0),
            ("etc/ssh/ssh_host_key.pub", 1, 0),
            ("etc/machine-id", 1, 0),
            ("home/", 0, 0),
            ("home/Alice/", 0, 0),
            ("home/Alice/.cache/", 0, 0),
            ("home/Alice/.cache/docker/", 0, 0),
            ("home/Alice/.cache/docker/x", 1, 0),
            ("var/", 0, 0),
            ("var/lib/", 0, 0),
            ("var/lib/docker/", 0, 0),
            ("var/lib/docker/big", 1, 0),
            ("var/lib/docker/small", 1, 0),
            ("var/lib/dockerd", 1, 0),
            ("var/log/", 0, 0),
            ("var/log/messages", 1, 0),
        ])
    }

    /// What the search must return, the slow way: every path built.
    fn oracle(p: &Paths, t: &TreeView, needle: &str, from: usize, forward: bool) -> Option<usize> {
        let n = p.len();
        let fold = !needle.chars().any(char::is_uppercase);
        let hit = |i: usize| {
            let path = format!("/{}", p.path(i));
            if fold {
                path.to_ascii_lowercase().contains(&needle.to_lowercase())
            } else {
                path.contains(needle)
            }
        };
        (0..n)
            .map(|step| {
                if forward {
                    (from + step) % n
                } else {
                    (from + n - step) % n
                }
            })
            .find(|&i| t.holds_hits(i) && hit(i))
    }

    #[test]
    fn every_needle_from_every_start_finds_what_the_slow_search_finds() {
        let p = sample();
        let idx = SearchIndex::build(&p);
        let needles = [
            "docker",
            "dock",
            "docker/",
            "/docker",
            "lib/docker/s",
            "ker/",
            "r/l",
            "/",
            "//",
            "ssh/ssh",
            "ssh_host_key",
            ".pub",
            "alice",
            "Alice",
            "ALICE",
            "/home/alice/.cache/",
            "e/",
            "var/lib/dockerd",
            "zzz",
            "s",
            "/var",
            "var/",
            "cache/docker/x",
            "g/m",
        ];
        let filters: [(&str, &dyn Fn(usize) -> bool); 3] = [
            ("everything", &|_| true),
            ("docker files", &|i| p.path(i).contains("docker/")),
            ("nothing", &|_| false),
        ];
        for (what, f) in filters {
            let mut t = TreeView::default();
            t.refilter(&p, f);
            for needle in needles {
                for from in 0..p.len() {
                    for forward in [true, false] {
                        assert_eq!(
                            idx.find(&p, &t, needle, from, forward),
                            oracle(&p, &t, needle, from, forward),
                            "{needle:?} from {} ({}) with {what}",
                            p.path(from),
                            if forward { "next" } else { "previous" }
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn random_trees_and_needles_agree_with_the_slow_search() {
        // A small alphabet makes names share parts, prefixes and suffixes.
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut rnd = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let alphabet = [b'a', b'b', b'A', b'.'];
        for _round in 0..60 {
            let mut items: Vec<String> = Vec::new();
            let mut stack: Vec<String> = Vec::new();
            for _ in 0..40 {
                let depth = rnd(stack.len() as u64 + 1) as usize;
                stack.truncate(depth);
                let len = 1 + rnd(3) as usize;
                let name: String = (0..len)
                    .map(|_| alphabet[rnd(4) as usize] as char)
                    .collect();
                let path = match stack.last() {
                    Some(p) => format!("{p}/{name}"),
                    None => name,
                };
                if items.contains(&path) {
                    continue;
                }
                items.push(path.clone());
                stack.push(path);
            }
            let list: Vec<(&str, u64, i64)> = items.iter().map(|p| (p.as_str(), 1, 0)).collect();
            let p = Paths::new(&list);
            let idx = SearchIndex::build(&p);
            let mut t = TreeView::default();
            let keep = rnd(3);
            t.refilter(&p, |i| keep == 0 || (i as u64 + keep).is_multiple_of(3));
            for _ in 0..40 {
                let len = 1 + rnd(5) as usize;
                let needle: String = (0..len)
                    .map(|_| b"abA./"[rnd(5) as usize] as char)
                    .collect();
                for from in 0..p.len() {
                    for forward in [true, false] {
                        assert_eq!(
                            idx.find(&p, &t, &needle, from, forward),
                            oracle(&p, &t, &needle, from, forward),
                            "{needle:?} from {} ({}) in {items:?}",
                            p.path(from),
                            if forward { "next" } else { "previous" }
                        );
                    }
                }
            }
        }
    }
}
