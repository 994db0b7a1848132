//! `Data`: the loaded audit and what the TUI derives from it when it
//! arrives, in one pass over the pairs (the first frame waits for it): the
//! packed facts the filters read, prefix sums that give any subtree's
//! totals in O(1) (a subtree is a range of pairs), and the search index.

use crate::audit::Audit;
use crate::classify::Class;
use crate::diff::Change;
use crate::scan::{Kind, NONE};
use crate::users::Users;

use super::model::ClassFilter;
use super::search::SearchIndex;
use super::tree::Nodes;

/// The loaded audit and everything derived from it.
#[derive(Debug)]
pub struct Data {
    /// The pipeline's result.
    pub audit: Audit,
    /// Accounts of the scanned root (owner names, homes).
    pub users: Users,
    /// The names of every pair, for search as you type.
    pub index: SearchIndex,
    /// What the filters read, packed.
    pub facts: Facts,
    /// Running totals of the pairs on the root, one more than the pairs.
    prefix: Vec<Running>,
    /// Each pair's own mtime (the sort by newest).
    mtime: Vec<i64>,
}

/// Totals of a subtree: the entries on the root, their bytes, their classes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    /// Entries (the subtree's top included).
    pub entries: u64,
    /// Bytes of regular files.
    pub bytes: u64,
    /// Entries of each class (`Class as usize`).
    pub classes: [u64; 3],
}

/// Totals of the pairs before one pair.
#[derive(Clone, Copy, Debug, Default)]
struct Running {
    entries: u32,
    classes: [u32; 3],
    bytes: u64,
}

impl Data {
    /// Derives everything from the audit in one pass over its pairs.
    pub fn new(audit: Audit, users: Users) -> Data {
        let n = audit.len();
        let mut facts = Facts {
            flags: Vec::with_capacity(n),
            bytes: Vec::with_capacity(n),
        };
        let mut prefix = Vec::with_capacity(n + 1);
        let mut mtime = Vec::with_capacity(n);
        let mut index = SearchIndex::with_capacity(n);
        let mut run = Running::default();
        prefix.push(run);
        for (i, pair) in audit.merge().pairs().iter().enumerate() {
            let (t, k) = audit.entry(i);
            let e = &t.entries[k];
            let v = audit.verdict(i);
            let on_root = pair.cur != NONE;
            let own = if e.kind == Kind::File { e.size } else { 0 };
            facts.flags.push(
                v.class as u8
                    | if v.dismissed { DISMISSED } else { 0 }
                    | (audit.change(i).0 as u8) << 3
                    | if on_root { ON_ROOT } else { 0 },
            );
            facts.bytes.push(own);
            mtime.push(e.mtime_ns);
            if on_root {
                run.entries += 1;
                run.bytes += own;
                run.classes[v.class as usize] += 1;
            }
            prefix.push(run);
            index.push(t.name(k));
        }
        Data {
            audit,
            users,
            index,
            facts,
            prefix,
            mtime,
        }
    }

    /// Pair `i`'s class: the audit's, or the one the whitelist written in
    /// this session gives it ([`Data::relist`]).
    pub fn class(&self, i: usize) -> Class {
        Facts::class(self.facts.flags[i])
    }

    /// Pair `i`'s class when the whitelist written in this session changed
    /// it (persisted: listed there; Nix-managed: a directory holding such
    /// a path), else `None`.
    pub fn relisted(&self, i: usize) -> Option<Class> {
        (self.facts.flags[i] & RELISTED != 0).then(|| self.class(i))
    }

    /// Takes in the in-root paths a whitelist written in this session lists
    /// (read back from the file as the next run reads it), so classes and
    /// totals are what the next run shows: as the classifier does for a
    /// listed path nothing backs yet (rules `listed` and `inside-listed` in
    /// `docs/explain.md`), every pair at or below one becomes persisted, and
    /// a stray directory on the root above one becomes Nix-managed (rule
    /// `holds-kept-paths`: it is recreated to hold it). Pairs already persisted keep their
    /// verdict; paths not in the tree are skipped. Returns how many pairs
    /// changed class.
    pub fn relist(&mut self, listed: &[Vec<u8>]) -> usize {
        let mut changed = 0;
        for path in listed {
            let Some(top) = self.find(path) else { continue };
            for i in top..self.audit.merge().end(top) {
                let f = &mut self.facts.flags[i];
                if Facts::class(*f) != Class::Persisted {
                    *f = (*f & !(3 | DISMISSED)) | Class::Persisted as u8 | RELISTED;
                    changed += 1;
                }
            }
            if self.facts.flags[top] & ON_ROOT == 0 {
                continue; // a removed path holds nothing on the root
            }
            let mut up = self.audit.merge().parent(top);
            while let Some(p) = up {
                let f = &mut self.facts.flags[p];
                let (t, k) = self.audit.entry(p);
                if Facts::class(*f) == Class::Stray
                    && *f & ON_ROOT != 0
                    && t.entries[k].kind == Kind::Dir
                {
                    *f = (*f & !(3 | DISMISSED)) | Class::NixManaged as u8 | RELISTED;
                    changed += 1;
                }
                up = self.audit.merge().parent(p);
            }
        }
        if changed > 0 {
            self.recount();
        }
        changed
    }

    /// The pair of the in-root path `path` (absolute), if the tree has it.
    pub fn find(&self, path: &[u8]) -> Option<usize> {
        let mut at: Option<usize> = None;
        for name in path.split(|&b| b == b'/').filter(|n| !n.is_empty()) {
            at = Some(
                self.audit
                    .merge()
                    .children(at)
                    .find(|&c| Nodes::name(self, c) == name)?,
            );
        }
        at
    }

    /// Running totals again from the facts (after [`Data::relist`]).
    fn recount(&mut self) {
        let mut run = Running::default();
        self.prefix.clear();
        self.prefix.push(run);
        for (&f, &own) in self.facts.flags.iter().zip(&self.facts.bytes) {
            if f & ON_ROOT != 0 {
                run.entries += 1;
                run.bytes += own;
                run.classes[Facts::class(f) as usize] += 1;
            }
            self.prefix.push(run);
        }
    }

    /// The totals of pair `i`'s subtree.
    pub fn totals(&self, i: usize) -> Totals {
        Data::between(self.prefix[i], self.prefix[self.audit.merge().end(i)])
    }

    /// The totals of the whole root.
    pub fn all(&self) -> Totals {
        Data::between(Running::default(), self.prefix[self.prefix.len() - 1])
    }

    fn between(a: Running, b: Running) -> Totals {
        Totals {
            entries: u64::from(b.entries - a.entries),
            bytes: b.bytes - a.bytes,
            classes: [0, 1, 2].map(|c| u64::from(b.classes[c] - a.classes[c])),
        }
    }
}

impl Nodes for Data {
    fn len(&self) -> usize {
        self.audit.len()
    }
    fn end(&self, i: usize) -> usize {
        self.audit.merge().end(i)
    }
    fn parent(&self, i: usize) -> Option<usize> {
        self.audit.merge().parent(i)
    }
    fn name(&self, i: usize) -> &[u8] {
        let (t, k) = self.audit.entry(i);
        t.name(k)
    }
    fn own_bytes(&self, i: usize) -> u64 {
        self.facts.bytes[i]
    }
    fn mtime(&self, i: usize) -> i64 {
        self.mtime[i]
    }
}

/// What the filters read of each pair, packed, so a filter change reads 9
/// bytes a pair instead of the trees' entries and the verdicts.
#[derive(Debug, Default)]
pub struct Facts {
    /// Class (bits 0–1), dismissed (bit 2), change (bits 3–4), on the root
    /// (bit 5), class changed by a written whitelist (bit 6).
    flags: Vec<u8>,
    /// Own bytes of the pair's entry (a regular file's size, else 0).
    bytes: Vec<u64>,
}

const DISMISSED: u8 = 1 << 2;
const ON_ROOT: u8 = 1 << 5;
/// The class comes from the whitelist written in this session, not the audit.
const RELISTED: u8 = 1 << 6;

impl Facts {
    fn class(flags: u8) -> Class {
        match flags & 3 {
            0 => Class::Persisted,
            1 => Class::NixManaged,
            _ => Class::Stray,
        }
    }

    fn change(flags: u8) -> Change {
        match (flags >> 3) & 3 {
            0 => Change::Added,
            1 => Change::Modified,
            2 => Change::Removed,
            _ => Change::Unchanged,
        }
    }

    /// Returns true if and only if pair `i` is shown by `filter` and `change`.
    pub fn matches(&self, i: usize, filter: ClassFilter, change: Option<Change>) -> bool {
        let f = self.flags[i];
        if change.is_some_and(|c| Facts::change(f) != c) {
            return false;
        }
        let class = Facts::class(f);
        let dismissed = f & DISMISSED != 0;
        match filter {
            ClassFilter::Stray => {
                class == Class::Stray && !dismissed && Facts::change(f) != Change::Removed
            }
            ClassFilter::All => true,
            ClassFilter::Persisted => class == Class::Persisted,
            ClassFilter::NixManaged => class == Class::NixManaged,
            ClassFilter::Dismissed => class == Class::Stray && dismissed,
        }
    }

    /// Follows the audit's dismissal (or its undoing) of `pairs`.
    pub fn set_dismissed(&mut self, pairs: &[u32], dismissed: bool) {
        for &p in pairs {
            let f = &mut self.flags[p as usize];
            if dismissed {
                *f |= DISMISSED;
            } else {
                *f &= !DISMISSED;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::model::tests::model;

    #[test]
    fn aggregates_add_up_every_subtree() {
        let (_d, m) = model();
        let d = m.data.as_ref().unwrap();
        let var = d.audit.cur().lookup(b"/var").unwrap();
        // Against `empty`, pairs and root entries coincide.
        let t = d.totals(var);
        assert_eq!(t.entries, 7, "var, lib, docker, big, small, log, messages");
        assert_eq!(t.bytes, 5000 + 1 + 5);
        assert_eq!(
            t.classes.iter().sum::<u64>(),
            7,
            "every entry has one class"
        );
        assert_eq!(
            d.all().entries,
            7 + 2 + 3,
            "var's 7; etc, machine-id; home, alice, .bash_history"
        );
        assert!(
            m.tree.hits().bytes[var] >= 5000,
            "the docker data is open stray"
        );
    }

    #[test]
    fn packed_facts_filter_as_the_verdicts_say() {
        let (_d, mut m) = model();
        let d = m.data.as_mut().unwrap();
        // A dismissed subtree, so every filter has something to say.
        let docker = d.audit.cur().lookup(b"/var/lib/docker").unwrap();
        let pairs = d.audit.dismiss(docker);
        d.facts.set_dismissed(&pairs, true);
        let a = &d.audit;
        for filter in [
            ClassFilter::Stray,
            ClassFilter::All,
            ClassFilter::Persisted,
            ClassFilter::NixManaged,
            ClassFilter::Dismissed,
        ] {
            for change in [None, Some(Change::Added), Some(Change::Removed)] {
                for i in 0..a.len() {
                    let v = a.verdict(i);
                    let want = change.is_none_or(|c| a.change(i).0 == c)
                        && match filter {
                            ClassFilter::Stray => a.is_open_stray(i),
                            ClassFilter::All => true,
                            ClassFilter::Persisted => v.class == Class::Persisted,
                            ClassFilter::NixManaged => v.class == Class::NixManaged,
                            ClassFilter::Dismissed => v.class == Class::Stray && v.dismissed,
                        };
                    assert_eq!(
                        d.facts.matches(i, filter, change),
                        want,
                        "{filter:?} {change:?} {i}"
                    );
                }
            }
        }
        assert_eq!(pairs.len(), 3, "docker, big, small");
    }

    /// The classifier run again with the paths listed, as the next run
    /// does: every pair's class must be what [`Data::relist`] says.
    #[test]
    fn relisting_gives_the_classes_the_classifier_gives_a_listed_path() {
        use crate::audit::{AuditOptions, Baseline, HashMode};
        use crate::scan::{Progress, ScanOptions};
        let (dir, _m) = model();
        let listed: Vec<Vec<u8>> = vec![
            b"/var/lib/docker".to_vec(),
            b"/home/alice/.bash_history".to_vec(),
            b"/not/there".to_vec(),
        ];
        let fresh = crate::audit::run(
            &AuditOptions {
                scan: ScanOptions {
                    root: dir.path().join("root"),
                    threads: 1,
                    reserve_threads: 0,
                    exclude: Vec::new(),
                    hash_all: false,
                },
                baseline: Baseline::Empty,
                hash: HashMode::Auto,
                storage: Vec::new(),
                listed: listed
                    .iter()
                    .map(|p| crate::evidence::Listed {
                        path: p.clone(),
                        storage: b"/persist".to_vec(),
                        is_file: !p.ends_with(b"docker"),
                        by_symlink: false,
                        origin: "persist.nix".into(),
                        what: None,
                    })
                    .collect(),
                ignore: None,
            },
            &Progress::default(),
        )
        .unwrap();
        let (_d2, mut m) = model();
        let d = m.data.as_mut().unwrap();
        let before = d.all().classes;
        let changed = d.relist(&listed);
        assert!(changed >= 4, "docker, big, small, .bash_history: {changed}");
        assert_eq!(fresh.len(), d.audit.len());
        for i in 0..d.audit.len() {
            assert_eq!(d.audit.path(i), fresh.path(i));
            assert_eq!(
                d.class(i),
                fresh.verdict(i).class,
                "{}",
                String::from_utf8_lossy(&fresh.path(i))
            );
        }
        let after = d.all().classes;
        assert_eq!(
            after[Class::Persisted as usize],
            before[Class::Persisted as usize] + 4
        );
        assert_eq!(after.iter().sum::<u64>(), before.iter().sum::<u64>());
        let docker = d.find(b"/var/lib/docker").unwrap();
        assert_eq!(d.relisted(docker), Some(Class::Persisted));
        assert_eq!(d.totals(docker).classes[Class::Persisted as usize], 3);
        assert_eq!(d.relist(&listed), 0, "a second time changes nothing");
    }
}
