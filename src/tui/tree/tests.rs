//! Unit tests of the tree view on plain paths, and the fixture other
//! modules test with ([`Paths`]).

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
    fn mtime(&self, i: usize) -> i64 {
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
    assert_eq!(
        shown(&t, &p),
        ["var/lib/docker"],
        "only what holds hits is a row (var and lib fold into docker's)"
    );
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
    assert_eq!(shown(&t, &p), ["var/lib/docker"]);
    // The filter drops the selected item: the selection falls back on
    // its nearest shown ancestor.
    t.reveal(&p, p.find("var/lib/docker/big"));
    t.refilter(&p, |i| p.path(i) == "var/log/messages");
    assert_eq!(
        t.selected_item(),
        Some(p.find("var/log")),
        "var's row now folds var into log"
    );
}

#[test]
fn chains_of_directories_shown_only_for_what_they_hold_fold_into_one_row() {
    let p = sample();
    let mut t = TreeView::default();
    let history = p.find("home/alice/.bash_history");
    t.refilter(&p, |i| {
        i == history || p.path(i).starts_with("var/lib/docker/")
    });
    let heads: Vec<String> = t.rows().iter().map(|r| p.path(r.head as usize)).collect();
    assert_eq!(
        shown(&t, &p),
        ["var/lib/docker", "home/alice"],
        "var → lib → docker: one row for docker; home → alice: one row for alice"
    );
    assert_eq!(heads, ["var", "home"]);
    // A directory shown itself ends a chain: lib keeps a row of its own
    // above docker.
    let lib = p.find("var/lib");
    t.refilter(&p, |i| i == lib || p.path(i).starts_with("var/lib/docker/"));
    assert_eq!(shown(&t, &p), ["var/lib"]);
    assert_eq!(t.expand(&p), Expanded::Opened);
    assert_eq!(
        shown(&t, &p),
        [
            "var/lib",
            "  var/lib/docker",
            "    var/lib/docker/big",
            "    var/lib/docker/small"
        ],
        "lib opens with its chain of one directory"
    );
    t.refilter(&p, |i| {
        i == history || p.path(i).starts_with("var/lib/docker/")
    });
    t.collapse_all(&p);
    // Every item of a chain finds its row; ← from below climbs above it.
    let alice = p.find("home/alice");
    assert_eq!(t.row_of(&p, p.find("home")), Some(1));
    assert_eq!(t.row_of(&p, alice), Some(1));
    t.reveal(&p, history);
    assert_eq!(shown(&t, &p)[2], "  home/alice/.bash_history");
    t.collapse(&p);
    assert_eq!(t.selected_item(), Some(alice));
    t.collapse(&p);
    assert!(!t.is_expanded(alice));
    t.collapse(&p);
    assert_eq!(t.selected_item(), Some(alice), "nothing above home");
    t.select_item_or_ancestor(&p, p.find("var/lib"));
    assert_eq!(t.selected_item(), Some(p.find("var/lib/docker")));
}

#[test]
fn the_mtime_sort_puts_first_where_the_newest_shown_item_is() {
    // a: an old stray file next to a new file the filter hides; b: a
    // stray file of middle age.
    let p = Paths::new(&[
        ("a/", 0, 1),
        ("a/old", 1, 2),
        ("a/new", 1, 9),
        ("b/", 0, 1),
        ("b/mid", 1, 5),
    ]);
    let hidden = p.find("a/new");
    let mut t = TreeView::default();
    t.refilter(&p, |_| true);
    t.set_sort(&p, SortKey::Mtime);
    assert_eq!(
        shown(&t, &p),
        ["a", "b"],
        "everything: a holds the newest (9)"
    );
    t.refilter(&p, |i| i != hidden);
    assert_eq!(
        shown(&t, &p),
        ["b", "a"],
        "what is shown: b's 5 beats a's 2"
    );
    assert_eq!(t.hits().newest[p.find("a")], 2);
}
