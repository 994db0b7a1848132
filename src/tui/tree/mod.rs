//! `TreeView`: the state of the tree pane as plain data, after gitui's
//! `filetreelist`: which directories are expanded, the visible rows, the
//! selection and how it moves, the sort of siblings, and the per-item
//! totals of what the filter shows ("hits"). It knows nothing of the audit,
//! the terminal or ratatui: it reads the tree through [`Nodes`] (items in
//! preorder, each subtree a contiguous range), so it is unit-tested on a
//! handful of paths.
//!
//! A chain of directories that the filter shows only for what they hold,
//! each with one shown child directory, folds into one row (`lib/docker/`,
//! as VS Code and GitHub fold them): the row stands for the last of the
//! chain. A directory the filter shows itself always has its own row, so
//! folding never hides something to decide on.
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
    /// The modification time of `i` itself (nanoseconds).
    fn mtime(&self, i: usize) -> i64;
}

/// The sort of sibling rows (`s`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortKey {
    /// Largest (bytes shown by the filter) first.
    Size,
    /// By name bytes.
    Name,
    /// Newest first: the latest mtime of what the filter shows in the
    /// subtree (a directory where something was just written comes first).
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
    /// The newest mtime among those items (`i64::MIN`: none); computed
    /// only while the tree is sorted by mtime.
    pub newest: Vec<i64>,
}

/// One visible row of the tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Row {
    /// The item shown (the last of a folded chain).
    pub item: u32,
    /// The first item of a folded chain (`item` when nothing is folded).
    pub head: u32,
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
    sort: SortKey,
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
    /// The sort of siblings.
    pub fn sort(&self) -> SortKey {
        self.sort
    }

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
            newest: Vec::new(),
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
        if self.sort == SortKey::Mtime {
            self.newest(nodes);
        }
        self.rebuild(nodes);
    }

    /// The newest mtime of what is shown in every subtree, in one reverse
    /// pass (children come after their parent in preorder).
    fn newest(&mut self, nodes: &impl Nodes) {
        let h = &mut self.hits;
        h.newest = (0..h.own.len())
            .map(|i| if h.own[i] { nodes.mtime(i) } else { i64::MIN })
            .collect();
        for i in (0..h.newest.len()).rev() {
            if let Some(p) = nodes.parent(i) {
                h.newest[p] = h.newest[p].max(h.newest[i]);
            }
        }
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
                let newest = |i: u32| h.newest.get(i as usize).copied().unwrap_or(i64::MIN);
                newest(y).cmp(&newest(x)).then_with(|| name(x).cmp(name(y)))
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
        if sort == SortKey::Mtime && self.hits.newest.len() != self.hits.own.len() {
            self.newest(nodes);
        }
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
        while let Some((head, depth)) = stack.pop() {
            let mut item = head;
            let mut kids = None;
            // Fold directories shown only for their one shown child directory.
            while !self.shows(item as usize) {
                let k = self.children(nodes, Some(item as usize));
                match k[..] {
                    [only] if self.has_children(only as usize) => item = only,
                    _ => {
                        kids = Some(k);
                        break;
                    }
                }
            }
            rows.push(Row { item, head, depth });
            if self.expanded.contains(&item) {
                let kids = kids.unwrap_or_else(|| self.children(nodes, Some(item as usize)));
                for k in kids.into_iter().rev() {
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

    /// The row of item `i` (or of the folded chain it is part of), if it
    /// is visible.
    pub fn row_of(&self, nodes: &impl Nodes, i: usize) -> Option<usize> {
        self.rows.iter().position(|r| {
            let item = r.item as usize;
            // In the chain: between its head and its item, and above the item.
            item == i || (r.head as usize <= i && i < item && item < nodes.end(i))
        })
    }

    /// Selects the row of item `i`, or of its nearest shown ancestor.
    pub fn select_item_or_ancestor(&mut self, nodes: &impl Nodes, i: usize) {
        let mut p = Some(i);
        while let Some(k) = p {
            if let Some(r) = self.row_of(nodes, k) {
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
        if let Some(r) = self.row_of(nodes, i) {
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
    /// selects the row above it in the tree (above its folded chain).
    pub fn collapse(&mut self, nodes: &impl Nodes) {
        let Some(row) = self.rows.get(self.selected).copied() else {
            return;
        };
        if self.expanded.remove(&row.item) {
            self.rebuild(nodes);
            return;
        }
        if let Some(r) = nodes
            .parent(row.head as usize)
            .and_then(|p| self.row_of(nodes, p))
        {
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
pub(crate) mod tests;
