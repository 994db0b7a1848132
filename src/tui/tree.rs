//! `TreeView`: the state of the tree pane as plain data, after gitui's
//! `filetreelist`: which directories are expanded, the visible rows, the
//! selection and how it moves, the sort of siblings, and the per-item
//! totals of what the filter shows ("hits"). It knows nothing of the audit,
//! the terminal or ratatui: it reads the tree through [`Nodes`] (items in
//! preorder, each subtree a contiguous range), so it is unit-tested on a
//! handful of paths.
//!
//! Built for a million items: totals are one O(n) pass per filter change,
//! and only the expanded part of the tree becomes rows.

use std::collections::HashSet;

/// The items of a tree in preorder: item `i`'s subtree is `i..end(i)`.
pub trait Nodes {
    /// The number of items.
    fn len(&self) -> usize;
    /// Returns true if and only if there are no items.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// One past the last item of `i`'s subtree.
    fn end(&self, i: usize) -> usize;
    /// The parent of `i` (`None` for a child of the root).
    fn parent(&self, i: usize) -> Option<usize>;
    /// The name of `i` (its last path component).
    fn name(&self, i: usize) -> &[u8];
    /// Bytes `i` counts for itself (a regular file's size, else 0).
    fn own_bytes(&self, i: usize) -> u64;
    /// The newest modification time in `i`'s subtree (the sort by mtime).
    fn newest(&self, i: usize) -> i64;
}

/// The sort of sibling rows (`s`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortKey {
    /// Largest (bytes shown by the filter) first.
    Size,
    /// By name bytes.
    Name,
    /// Most recently modified (anywhere below) first.
    Mtime,
    /// Most entries shown by the filter first.
    Entries,
}

impl SortKey {
    /// The next sort in the `s` cycle.
    pub fn next(self) -> SortKey {
        match self {
            SortKey::Size => SortKey::Name,
            SortKey::Name => SortKey::Mtime,
            SortKey::Mtime => SortKey::Entries,
            SortKey::Entries => SortKey::Size,
        }
    }
    /// How the header names it.
    pub fn label(self) -> &'static str {
        match self {
            SortKey::Size => "size",
            SortKey::Name => "name",
            SortKey::Mtime => "mtime",
            SortKey::Entries => "entries",
        }
    }
}

/// Per-item totals of what the filter shows.
#[derive(Debug, Default)]
pub struct Hits {
    /// Whether the filter shows the item itself.
    pub own: Vec<bool>,
    /// Items shown in the subtree, itself included.
    pub entries: Vec<u32>,
    /// Bytes of those items.
    pub bytes: Vec<u64>,
}

/// One visible row of the tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Row {
    /// The item shown.
    pub item: u32,
    /// Nesting depth (0 for children of the root).
    pub depth: u16,
}

/// A cursor movement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Move {
    /// One row up.
    Up,
    /// One row down.
    Down,
    /// One screen up.
    PageUp,
    /// One screen down.
    PageDown,
    /// The first row.
    Top,
    /// The last row.
    Bottom,
}

impl Move {
    /// The cursor `s` of a list of `len` rows after this movement.
    pub fn apply(self, s: usize, page: usize, len: usize) -> usize {
        let last = len.saturating_sub(1);
        match self {
            Move::Up => s.saturating_sub(1),
            Move::Down => (s + 1).min(last),
            Move::PageUp => s.saturating_sub(page),
            Move::PageDown => (s + page).min(last),
            Move::Top => 0,
            Move::Bottom => last,
        }
    }
}

/// What `expand` did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expanded {
    /// The directory opened (with its chain of single directories).
    Opened,
    /// It was open: the selection stepped onto its first child.
    SteppedIn,
    /// Nothing shown below the selection.
    Leaf,
}

/// The tree pane's state.
#[derive(Debug)]
pub struct TreeView {
    /// The sort of siblings.
    pub sort: SortKey,
    /// Expanded items.
    pub expanded: HashSet<u32>,
    rows: Vec<Row>,
    selected: usize,
    hits: Hits,
}

impl Default for TreeView {
    fn default() -> Self {
        TreeView {
            sort: SortKey::Size,
            expanded: HashSet::new(),
            rows: Vec::new(),
            selected: 0,
            hits: Hits::default(),
        }
    }
}

impl TreeView {
    /// The visible rows.
    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    /// Index of the selected row.
    pub fn selected(&self) -> usize {
        self.selected
    }

    /// The selected item, if any row is shown.
    pub fn selected_item(&self) -> Option<usize> {
        self.rows.get(self.selected).map(|r| r.item as usize)
    }

    /// Selects row `r` (clamped to the rows).
    pub fn select_row(&mut self, r: usize) {
        self.selected = r.min(self.rows.len().saturating_sub(1));
    }

    /// The totals of what the filter shows.
    pub fn hits(&self) -> &Hits {
        &self.hits
    }

    /// Returns true if and only if the filter shows item `i` itself.
    pub fn shows(&self, i: usize) -> bool {
        self.hits.own.get(i).copied().unwrap_or(false)
    }

    /// Returns true if and only if item `i` or something below it is shown.
    pub fn holds_hits(&self, i: usize) -> bool {
        self.hits.entries.get(i).is_some_and(|&h| h > 0)
    }

    /// Returns true if and only if item `i` has shown children.
    pub fn has_children(&self, i: usize) -> bool {
        // Own hit excluded: any hit left comes from below.
        self.hits.entries.get(i).copied().unwrap_or(0) > u32::from(self.shows(i))
    }

    /// Returns true if and only if item `i` is expanded.
    pub fn is_expanded(&self, i: usize) -> bool {
        self.expanded.contains(&(i as u32))
    }

    /// Recomputes the totals for the items `shown` picks (a filter change,
    /// a dismissal), then the rows, keeping the selection where it can.
    pub fn refilter(&mut self, nodes: &impl Nodes, shown: impl Fn(usize) -> bool) {
        let n = nodes.len();
        let mut h = Hits {
            own: vec![false; n],
            entries: vec![0; n],
            bytes: vec![0; n],
        };
        for i in 0..n {
            if shown(i) {
                h.own[i] = true;
                h.entries[i] = 1;
                h.bytes[i] = nodes.own_bytes(i);
            }
        }
        // Children come after their parent in preorder, so each is complete
        // before it is added to its parent.
        for i in (0..n).rev() {
            if let Some(p) = nodes.parent(i) {
                h.entries[p] += h.entries[i];
                h.bytes[p] += h.bytes[i];
            }
        }
        self.hits = h;
        self.rebuild(nodes);
    }

    /// The shown children of `parent` (`None`: the root), sorted.
    pub fn children(&self, nodes: &impl Nodes, parent: Option<usize>) -> Vec<u32> {
        let (mut c, stop) = match parent {
            Some(p) => (p + 1, nodes.end(p)),
            None => (0, nodes.len()),
        };
        let mut out = Vec::new();
        while c < stop {
            if self.holds_hits(c) {
                out.push(c as u32);
            }
            c = nodes.end(c);
        }
        let h = &self.hits;
        let name = |i: u32| nodes.name(i as usize);
        match self.sort {
            SortKey::Size => out.sort_by(|&x, &y| {
                h.bytes[y as usize]
                    .cmp(&h.bytes[x as usize])
                    .then_with(|| name(x).cmp(name(y)))
            }),
            SortKey::Name => out.sort_by(|&x, &y| name(x).cmp(name(y))),
            SortKey::Mtime => out.sort_by(|&x, &y| {
                nodes
                    .newest(y as usize)
                    .cmp(&nodes.newest(x as usize))
                    .then_with(|| name(x).cmp(name(y)))
            }),
            SortKey::Entries => out.sort_by(|&x, &y| {
                h.entries[y as usize]
                    .cmp(&h.entries[x as usize])
                    .then_with(|| name(x).cmp(name(y)))
            }),
        }
        out
    }

    /// Changes the sort and rebuilds the rows, keeping the selection.
    pub fn set_sort(&mut self, nodes: &impl Nodes, sort: SortKey) {
        self.sort = sort;
        self.rebuild(nodes);
    }

    /// Rebuilds the visible rows from the expanded set, keeping the
    /// selection on the same item (or its nearest shown ancestor).
    pub fn rebuild(&mut self, nodes: &impl Nodes) {
        let keep = self.selected_item();
        let mut rows = Vec::new();
        let mut stack: Vec<(u32, u16)> = self
            .children(nodes, None)
            .into_iter()
            .rev()
            .map(|c| (c, 0))
            .collect();
        while let Some((c, depth)) = stack.pop() {
            rows.push(Row { item: c, depth });
            if self.expanded.contains(&c) {
                for k in self.children(nodes, Some(c as usize)).into_iter().rev() {
                    stack.push((k, depth + 1));
                }
            }
        }
        self.rows = rows;
        self.selected = 0;
        if let Some(p) = keep {
            self.select_item_or_ancestor(nodes, p);
        }
    }

    /// The row of item `i`, if it is visible.
    pub fn row_of(&self, i: usize) -> Option<usize> {
        self.rows.iter().position(|r| r.item as usize == i)
    }

    /// Selects the row of item `i`, or of its nearest shown ancestor.
    pub fn select_item_or_ancestor(&mut self, nodes: &impl Nodes, i: usize) {
        let mut p = Some(i);
        while let Some(k) = p {
            if let Some(r) = self.row_of(k) {
                self.selected = r;
                return;
            }
            p = nodes.parent(k);
        }
        self.selected = self.selected.min(self.rows.len().saturating_sub(1));
    }

    /// Expands every ancestor of item `i` and selects it (if the filter
    /// shows it; else the selection stays where it was).
    pub fn reveal(&mut self, nodes: &impl Nodes, i: usize) {
        let mut p = nodes.parent(i);
        while let Some(k) = p {
            self.expanded.insert(k as u32);
            p = nodes.parent(k);
        }
        let old = self.selected_item();
        self.rebuild(nodes);
        if let Some(r) = self.row_of(i) {
            self.selected = r;
        } else if let Some(o) = old {
            self.select_item_or_ancestor(nodes, o);
        }
    }

    /// Moves the selection; returns true if and only if it moved.
    pub fn move_cursor(&mut self, mv: Move, page: usize) -> bool {
        let s = self.selected;
        self.selected = mv.apply(s, page, self.rows.len());
        self.selected != s
    }

    /// Expands the selected directory with its chain of single directories
    /// (var → lib → docker in one go), or steps into it when already open.
    pub fn expand(&mut self, nodes: &impl Nodes) -> Expanded {
        let Some(i) = self.selected_item() else {
            return Expanded::Leaf;
        };
        if !self.has_children(i) {
            return Expanded::Leaf;
        }
        if self.is_expanded(i) {
            if self.selected + 1 < self.rows.len() {
                self.selected += 1;
            }
            return Expanded::SteppedIn;
        }
        let mut cur = i;
        loop {
            self.expanded.insert(cur as u32);
            let kids = self.children(nodes, Some(cur));
            if kids.len() != 1 || !self.has_children(kids[0] as usize) {
                break;
            }
            cur = kids[0] as usize;
        }
        self.rebuild(nodes);
        Expanded::Opened
    }

    /// Collapses the selected directory, or, when it is not expanded,
    /// selects its parent.
    pub fn collapse(&mut self, nodes: &impl Nodes) {
        let Some(i) = self.selected_item() else {
            return;
        };
        if self.expanded.remove(&(i as u32)) {
            self.rebuild(nodes);
            return;
        }
        if let Some(r) = nodes.parent(i).and_then(|p| self.row_of(p)) {
            self.selected = r;
        }
    }

    /// Opens the directories leading to the first shown item (by the
    /// sort: the largest) that the filter shows itself, and selects it, so
    /// the first screen starts at the biggest decision, not at `/var`.
    pub fn open_first(&mut self, nodes: &impl Nodes) {
        let mut parent = None;
        let mut target = None;
        for _ in 0..64 {
            let Some(&first) = self.children(nodes, parent).first() else {
                break;
            };
            if self.shows(first as usize) {
                target = Some(first as usize);
                break;
            }
            self.expanded.insert(first);
            parent = Some(first as usize);
        }
        self.rebuild(nodes);
        if let Some(t) = target.or(parent) {
            self.reveal(nodes, t);
        }
    }

    /// Collapses everything and selects the first row (tests start there).
    pub fn collapse_all(&mut self, nodes: &impl Nodes) {
        self.expanded.clear();
        self.rebuild(nodes);
        self.selected = 0;
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A tree of paths given in preorder (`"a/"` is a directory).
    pub(crate) struct Paths {
        names: Vec<String>,
        parents: Vec<Option<usize>>,
        ends: Vec<usize>,
        bytes: Vec<u64>,
        mtimes: Vec<i64>,
    }

    impl Paths {
        /// `(path, bytes, mtime)` in preorder.
        pub(crate) fn new(items: &[(&str, u64, i64)]) -> Paths {
            let mut t = Paths {
                names: Vec::new(),
                parents: Vec::new(),
                ends: Vec::new(),
                bytes: Vec::new(),
                mtimes: Vec::new(),
            };
            let paths: Vec<&str> = items.iter().map(|i| i.0.trim_end_matches('/')).collect();
            for (k, &(_, b, m)) in items.iter().enumerate() {
                let p = paths[k];
                let (parent, name) = match p.rfind('/') {
                    Some(s) => (paths[..k].iter().rposition(|q| *q == &p[..s]), &p[s + 1..]),
                    None => (None, p),
                };
                t.names.push(name.to_string());
                t.parents.push(parent);
                t.bytes.push(b);
                t.mtimes.push(m);
                let prefix = format!("{p}/");
                let end = (k + 1..items.len())
                    .find(|&j| !paths[j].starts_with(&prefix))
                    .unwrap_or(items.len());
                t.ends.push(end);
            }
            // Newest below, as the audit's aggregates give it.
            for i in (0..t.names.len()).rev() {
                if let Some(p) = t.parents[i] {
                    t.mtimes[p] = t.mtimes[p].max(t.mtimes[i]);
                }
            }
            t
        }

        pub(crate) fn find(&self, path: &str) -> usize {
            (0..self.names.len())
                .find(|&i| self.path(i) == path)
                .unwrap()
        }

        pub(crate) fn path(&self, i: usize) -> String {
            match self.parents[i] {
                Some(p) => format!("{}/{}", self.path(p), self.names[i]),
                None => self.names[i].clone(),
            }
        }
    }

    impl Nodes for Paths {
        fn len(&self) -> usize {
            self.names.len()
        }
        fn end(&self, i: usize) -> usize {
            self.ends[i]
        }
        fn parent(&self, i: usize) -> Option<usize> {
            self.parents[i]
        }
        fn name(&self, i: usize) -> &[u8] {
            self.names[i].as_bytes()
        }
        fn own_bytes(&self, i: usize) -> u64 {
            self.bytes[i]
        }
        fn newest(&self, i: usize) -> i64 {
            self.mtimes[i]
        }
    }

    fn sample() -> Paths {
        Paths::new(&[
            ("etc/", 0, 1),
            ("etc/machine-id", 5, 9),
            ("home/", 0, 1),
            ("home/alice/", 0, 1),
            ("home/alice/.bash_history", 3, 5),
            ("var/", 0, 1),
            ("var/lib/", 0, 1),
            ("var/lib/docker/", 0, 1),
            ("var/lib/docker/big", 5000, 2),
            ("var/lib/docker/small", 1, 3),
            ("var/log/", 0, 1),
            ("var/log/messages", 5, 4),
        ])
    }

    fn shown(t: &TreeView, p: &Paths) -> Vec<String> {
        t.rows()
            .iter()
            .map(|r| {
                format!(
                    "{}{}",
                    "  ".repeat(r.depth as usize),
                    p.path(r.item as usize)
                )
            })
            .collect()
    }

    fn everything(p: &Paths) -> TreeView {
        let mut t = TreeView::default();
        t.refilter(p, |_| true);
        t
    }

    #[test]
    fn hits_add_up_every_subtree() {
        let p = sample();
        let mut t = TreeView::default();
        let var = p.find("var");
        t.refilter(&p, |_| true);
        assert_eq!(
            t.hits().entries[var],
            7,
            "var, lib, docker, big, small, log, messages"
        );
        assert_eq!(t.hits().bytes[var], 5000 + 1 + 5);
        // Only the docker files: var holds two hits but shows nothing itself.
        t.refilter(&p, |i| p.path(i).starts_with("var/lib/docker/"));
        assert_eq!(t.hits().entries[var], 2);
        assert!(!t.shows(var) && t.has_children(var) && t.holds_hits(var));
        assert!(!t.holds_hits(p.find("etc")));
        assert_eq!(shown(&t, &p), ["var"], "only what holds hits is a row");
    }

    #[test]
    fn rows_sort_by_size_name_mtime_and_entries() {
        let p = sample();
        let mut t = everything(&p);
        assert_eq!(shown(&t, &p), ["var", "etc", "home"], "largest first");
        t.set_sort(&p, SortKey::Name);
        assert_eq!(shown(&t, &p), ["etc", "home", "var"]);
        t.set_sort(&p, SortKey::Mtime);
        assert_eq!(
            shown(&t, &p),
            ["etc", "home", "var"],
            "etc holds the newest (9)"
        );
        t.set_sort(&p, SortKey::Entries);
        assert_eq!(shown(&t, &p), ["var", "home", "etc"], "7, 3, 2 entries");
    }

    #[test]
    fn expanding_opens_single_directory_chains_and_keeps_the_selection() {
        let p = sample();
        let mut t = everything(&p);
        assert_eq!(t.selected_item(), Some(p.find("var")));
        assert_eq!(t.expand(&p), Expanded::Opened);
        assert_eq!(
            shown(&t, &p),
            ["var", "  var/lib", "  var/log", "etc", "home"],
            "var has two children: the chain stops there"
        );
        assert_eq!(t.expand(&p), Expanded::SteppedIn);
        assert_eq!(t.selected_item(), Some(p.find("var/lib")));
        // lib → docker is a chain of one directory: both open at once.
        assert_eq!(t.expand(&p), Expanded::Opened);
        assert!(t.is_expanded(p.find("var/lib/docker")));
        t.set_sort(&p, SortKey::Name);
        assert_eq!(
            t.selected_item(),
            Some(p.find("var/lib")),
            "a sort keeps the selection"
        );
        t.collapse(&p);
        assert!(!t.is_expanded(p.find("var/lib")));
        t.collapse(&p);
        assert_eq!(
            t.selected_item(),
            Some(p.find("var")),
            "← on a closed row goes to the parent"
        );
        assert!(t.move_cursor(Move::Bottom, 10));
        assert!(!t.move_cursor(Move::PageDown, 10), "the last row stays");
        assert_eq!(t.selected_item(), Some(p.find("var/log")));
        let small = p.find("var/lib/docker/small");
        t.reveal(&p, small);
        assert_eq!(t.selected_item(), Some(small));
        assert!(t.is_expanded(p.find("var/lib")));
        assert_eq!(t.expand(&p), Expanded::Leaf, "a file has nothing to open");
    }

    #[test]
    fn the_first_screen_opens_the_way_to_the_first_shown_item() {
        let p = sample();
        let mut t = TreeView::default();
        t.refilter(&p, |i| p.path(i).starts_with("var/lib/docker"));
        t.open_first(&p);
        assert_eq!(t.selected_item(), Some(p.find("var/lib/docker")));
        assert_eq!(shown(&t, &p), ["var", "  var/lib", "    var/lib/docker"]);
        // The filter drops the selected item: the selection falls back on
        // its nearest shown ancestor.
        t.reveal(&p, p.find("var/lib/docker/big"));
        t.refilter(&p, |i| p.path(i) == "var/log/messages");
        assert_eq!(t.selected_item(), Some(p.find("var")));
    }
}
