//! `Model`: everything the TUI shows, as plain data: the audit with its
//! per-directory aggregates, the filters, the tree pane ([`TreeView`]), the
//! search, the marks and the status line. No drawing and no terminal; file
//! access is limited to what the runtime hands in (previews, write plans).
//! Aggregates are computed once in O(n) when the audit arrives.

use std::collections::HashSet;
use std::path::PathBuf;

use crate::audit::Audit;
use crate::diff::Change;
use crate::scan::NONE;
use crate::users::Users;

use super::keys::Mode;
use super::marks::Marks;
use super::preview::Preview;
use super::tree::TreeView;

pub use super::data::Data;
use crate::whitelist::{Flavor, Promotion};

pub use super::tree::SortKey;

/// Which paths the tree shows (the `f` key: README, 'The review TUI').
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClassFilter {
    /// Unreviewed stray state: stray, not dismissed, on the root.
    Stray,
    /// Everything.
    All,
    /// Persisted paths.
    Persisted,
    /// Nix-managed paths.
    NixManaged,
    /// Dismissed stray paths.
    Dismissed,
}

impl ClassFilter {
    /// The next filter in the `f` cycle.
    pub fn next(self) -> ClassFilter {
        match self {
            ClassFilter::Stray => ClassFilter::All,
            ClassFilter::All => ClassFilter::Persisted,
            ClassFilter::Persisted => ClassFilter::NixManaged,
            ClassFilter::NixManaged => ClassFilter::Dismissed,
            ClassFilter::Dismissed => ClassFilter::Stray,
        }
    }
    /// How the header names it.
    pub fn label(self) -> &'static str {
        match self {
            ClassFilter::Stray => "unreviewed stray",
            ClassFilter::All => "all",
            ClassFilter::Persisted => "persisted",
            ClassFilter::NixManaged => "nix-managed",
            ClassFilter::Dismissed => "dismissed",
        }
    }
}

/// The pane that receives movement keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Focus {
    /// The tree.
    Tree,
    /// The detail pane (scrolls the preview).
    Detail,
    /// The pane of marked paths.
    Marked,
}

/// What the TUI needs besides the audit: where it writes.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The whitelist file `w` writes.
    pub whitelist: PathBuf,
    /// The module the whitelist targets (`None`: the one the file uses).
    pub flavor: Option<Flavor>,
    /// `--storage`: the storage roots new entries may go to (empty: the
    /// file's own).
    pub storage: Vec<PathBuf>,
    /// The `--ignore` file dismissals are appended to, if given.
    pub ignore: Option<PathBuf>,
    /// The scanned root, as given.
    pub root: PathBuf,
}

/// A dismissal that `u` can undo.
#[derive(Clone, Debug)]
pub struct Dismissal {
    /// The path dismissed (absolute in-root).
    pub path: Vec<u8>,
    /// The pairs whose `dismissed` flag was set by it.
    pub pairs: Vec<u32>,
    /// The ignore file's content before the rule was appended (`None`: no
    /// file, or nothing was saved).
    pub previous: Option<Option<Vec<u8>>>,
}

/// What `w` is about to write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WritePlan {
    /// The file.
    pub path: PathBuf,
    /// Its text now, if it exists.
    pub old: Option<String>,
    /// Its text after the write.
    pub new: String,
    /// The line diff from old to new, as shown.
    pub diff: Vec<crate::linediff::DiffLine>,
    /// What the whitelist writer decided that is worth telling.
    pub notes: Vec<String>,
    /// Why nothing can be written, with the lines to add by hand (a file
    /// without a safe place for the marked paths).
    pub refused: Option<String>,
    /// The marked paths the plan writes, in path order.
    pub writes: Vec<Vec<u8>>,
    /// The marked paths no whitelist may list, each with the refusal
    /// `darlings promote` gives ([`crate::whitelist::Gate`]): left out of
    /// the write, they stay marked.
    pub refusals: Vec<(Vec<u8>, crate::whitelist::Refusal)>,
}

impl WritePlan {
    /// Returns true if and only if `y` would write the file: a safe place
    /// for the paths, at least one path not refused, and a change.
    pub fn writes_file(&self) -> bool {
        self.refused.is_none()
            && !self.writes.is_empty()
            && self.old.as_deref() != Some(self.new.as_str())
    }
}

/// Progress of the background scan, as last seen by the runtime.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Loading {
    /// Entries statted.
    pub entries: u64,
    /// Bytes hashed.
    pub bytes: u64,
    /// Files hashed.
    pub files: u64,
    /// Seconds since the scan started.
    pub secs: f64,
    /// Seconds since the counters last moved (the scan is over and the
    /// pipeline compares and classifies, which has no counter).
    pub idle: f64,
}

/// The whole state of the TUI.
#[derive(Debug)]
pub struct Model {
    /// What keys mean now.
    pub mode: Mode,
    /// The mode to go back to from help and questions.
    pub prev_mode: Mode,
    /// Which pane movement keys act on.
    pub focus: Focus,
    /// The audit once it arrived.
    pub data: Option<Data>,
    /// Scan progress while loading.
    pub loading: Loading,
    /// Where to write.
    pub settings: Settings,
    /// The class filter.
    pub filter: ClassFilter,
    /// The change-kind filter (`None`: any change).
    pub change: Option<Change>,
    /// The tree pane: expanded directories, rows, selection, sort, hits.
    pub tree: TreeView,
    /// The search text.
    pub search: String,
    /// The pair selected when the search started.
    pub search_origin: u32,
    /// The expanded set when the search started (restored between matches).
    pub search_expanded: HashSet<u32>,
    /// Paths marked for promotion.
    pub marks: Marks,
    /// Pairs written to the whitelist in this session.
    pub promoted: HashSet<u32>,
    /// Selected row of the marked pane.
    pub marked_sel: usize,
    /// Scroll offset of the detail pane.
    pub detail_scroll: u16,
    /// Scroll offset of the help screen, the write preview and the migration.
    pub popup_scroll: u16,
    /// Preview of the selected pair, loaded by the runtime.
    pub preview: Option<(u32, Preview)>,
    /// The write being confirmed.
    pub plan: Option<WritePlan>,
    /// Dismissals, last one last.
    pub dismissals: Vec<Dismissal>,
    /// The status line.
    pub status: String,
    /// Rows per screen of the tree (set by the runtime after drawing).
    pub page: usize,
    /// The marks are printed on exit (`--print-marked`): quitting does not
    /// ask about them.
    pub print_marked: bool,
    /// The `--persistence` configs given: what the findings view checks,
    /// with the whitelist file once it is written.
    pub config: Vec<crate::check::ConfigFile>,
    /// The problems with the whitelist (`!`).
    pub findings: super::findings::Findings,
    /// The last migration `m` started (its view shows in [`Mode::Migrate`]).
    pub migration: Option<super::migrate::Migration>,
}

impl Model {
    /// A model waiting for its audit.
    pub fn new(settings: Settings) -> Model {
        Model {
            mode: Mode::Loading,
            prev_mode: Mode::Browse,
            focus: Focus::Tree,
            data: None,
            loading: Loading::default(),
            settings,
            filter: ClassFilter::Stray,
            change: None,
            tree: TreeView::default(),
            search: String::new(),
            search_origin: 0,
            search_expanded: HashSet::new(),
            marks: Marks::default(),
            promoted: HashSet::new(),
            marked_sel: 0,
            detail_scroll: 0,
            popup_scroll: 0,
            preview: None,
            plan: None,
            dismissals: Vec::new(),
            status: String::new(),
            page: 20,
            print_marked: false,
            config: Vec::new(),
            findings: Default::default(),
            migration: None,
        }
    }

    /// Takes the audit: computes aggregates and the first rows.
    pub fn load(&mut self, audit: Audit, users: Users) {
        let t = crate::timing::phase("tui data");
        self.data = Some(Data::new(audit, users));
        drop(t);
        if self.mode == Mode::Loading {
            self.mode = Mode::Browse;
        }
        let t = crate::timing::phase("tui filter");
        self.refilter();
        drop(t);
        let _t = crate::timing::phase("tui rows");
        let Some(d) = self.data.as_ref() else { return };
        let n_open: u64 = (0..d.audit.len())
            .filter(|&i| d.audit.merge().parent(i).is_none())
            .map(|i| u64::from(self.tree.hits().entries[i]))
            .sum();
        self.tree.open_first(d);
        self.status = if n_open == 0 {
            "no unreviewed stray state: f shows other classes".into()
        } else {
            format!(
                "{n_open} unreviewed stray paths. → opens a directory, Space marks it, w writes, ? helps"
            )
        };
    }

    /// The selected pair, if any row is shown.
    pub fn selected_pair(&self) -> Option<usize> {
        self.tree.selected_item()
    }

    /// Returns true if and only if pair `i` is shown by the current filters.
    pub fn matches(&self, i: usize) -> bool {
        self.tree.shows(i)
    }

    /// Recomputes the filter totals (after a filter change or a dismissal) and the rows.
    pub fn refilter(&mut self) {
        if let Some(d) = self.data.as_ref() {
            let (filter, change) = (self.filter, self.change);
            self.tree
                .refilter(d, |i| d.facts.matches(i, filter, change));
        }
    }

    /// Expands every ancestor of `pair` and selects it (if the filter shows it).
    pub fn reveal(&mut self, pair: usize) {
        if let Some(d) = self.data.as_ref() {
            self.tree.reveal(d, pair);
        }
    }

    /// Rebuilds the rows after a change of the expanded set or the sort.
    pub fn rebuild_rows(&mut self) {
        if let Some(d) = self.data.as_ref() {
            self.tree.rebuild(d);
        }
    }

    /// Finds the next (or previous) pair whose path contains the search
    /// text, starting at `from` (inclusive), among pairs the filter shows;
    /// wraps around. Smart case: lower-case text matches any case.
    pub fn find(&self, from: usize, forward: bool) -> Option<usize> {
        let d = self.data.as_ref()?;
        d.index.find(d, &self.tree, &self.search, from, forward)
    }

    /// Promotions for the marked paths `keep` accepts, with owner and mode
    /// from the root.
    pub fn promotions(&self, keep: impl Fn(&[u8]) -> bool) -> Vec<Promotion> {
        let Some(d) = self.data.as_ref() else {
            return Vec::new();
        };
        self.marks
            .iter()
            .filter(|(path, _)| keep(path))
            .map(|(path, m)| {
                let (t, k) = d.audit.entry(m.pair as usize);
                let e = &t.entries[k];
                Promotion::new(
                    path.to_vec(),
                    m.is_dir,
                    d.users.user(e.uid),
                    d.users.group(e.gid),
                    u32::from(e.mode),
                )
            })
            .collect()
    }

    /// Whether pair `i` exists on the scanned root (not only in the baseline).
    pub fn on_root(&self, i: usize) -> bool {
        self.data
            .as_ref()
            .is_some_and(|d| d.audit.merge().pairs()[i].cur != NONE)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::audit::{AuditOptions, Baseline, HashMode};
    use crate::scan::{Progress, ScanOptions};

    /// Scans a small fixture root with a directory baseline.
    pub(crate) fn fixture() -> (tempfile::TempDir, Audit) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        let w = |rel: &str, data: &[u8]| {
            let p = root.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, data).unwrap();
        };
        w("var/lib/docker/big", &vec![7u8; 5000]);
        w("var/lib/docker/small", b"x");
        w("var/log/messages", b"boot\n");
        w("etc/machine-id", b"0123\n");
        w("home/alice/.bash_history", b"ls\n");
        let audit = crate::audit::run(
            &AuditOptions {
                scan: ScanOptions {
                    root: root.clone(),
                    threads: 1,
                    reserve_threads: 0,
                    exclude: Vec::new(),
                    hash_all: false,
                },
                baseline: Baseline::Empty,
                hash: HashMode::Auto,
                storage: Vec::new(),
                listed: Vec::new(),
                ignore: None,
            },
            &Progress::default(),
        )
        .unwrap();
        (dir, audit)
    }

    pub(crate) fn model() -> (tempfile::TempDir, Model) {
        let (dir, audit) = fixture();
        let mut m = Model::new(Settings {
            whitelist: dir.path().join("persist.nix"),
            flavor: Some(Flavor::Impermanence),
            storage: Vec::new(),
            ignore: None,
            root: dir.path().join("root"),
        });
        m.load(audit, Users::default());
        // The unit tests start from the collapsed tree.
        if let Some(d) = m.data.as_ref() {
            m.tree.collapse_all(d);
        }
        (dir, m)
    }

    #[test]
    fn the_first_screen_opens_the_way_to_the_largest_stray_path() {
        let (dir, audit) = fixture();
        let mut m = Model::new(Settings {
            whitelist: dir.path().join("persist.nix"),
            flavor: Some(Flavor::Impermanence),
            storage: Vec::new(),
            ignore: None,
            root: dir.path().join("root"),
        });
        m.load(audit, Users::default());
        let d = m.data.as_ref().unwrap();
        let sel = d.audit.path(m.selected_pair().unwrap());
        assert_eq!(
            String::from_utf8(sel).unwrap(),
            "/var/lib/docker",
            "/var and /var/lib are only context (Nix-managed parents)"
        );
    }

    fn path_of(m: &Model, row: usize) -> String {
        let d = m.data.as_ref().unwrap();
        String::from_utf8(d.audit.path(m.tree.rows()[row].item as usize)).unwrap()
    }

    #[test]
    fn top_rows_are_sorted_by_size_and_expand_on_demand() {
        let (_d, mut m) = model();
        let top: Vec<String> = (0..m.tree.rows().len()).map(|r| path_of(&m, r)).collect();
        assert_eq!(
            top,
            ["/var", "/etc", "/home/alice"],
            "home holds only alice"
        );
        let var = m.tree.rows()[0].item;
        m.tree.expanded.insert(var);
        m.rebuild_rows();
        assert_eq!(path_of(&m, 1), "/var/lib/docker", "lib holds only docker");
        assert_eq!(m.tree.rows()[1].depth, 1);
        m.tree.set_sort(m.data.as_ref().unwrap(), SortKey::Name);
        assert_eq!(path_of(&m, 0), "/etc");
        assert_eq!(
            m.selected_pair(),
            Some(var as usize),
            "the selection stays on the pair it was on"
        );
    }

    #[test]
    fn search_finds_paths_case_insensitively_and_wraps() {
        let (_d, mut m) = model();
        m.search = "DOCKER/s".into();
        assert_eq!(m.find(0, true), None, "upper case makes the search exact");
        m.search = "docker/s".into();
        let hit = m.find(0, true).unwrap();
        m.reveal(hit);
        assert_eq!(path_of(&m, m.tree.selected()), "/var/lib/docker/small");
        m.search = "machine".into();
        let back = m.find(hit, false).unwrap();
        assert_eq!(
            m.data.as_ref().unwrap().audit.path(back),
            b"/etc/machine-id"
        );
    }
}
