//! `Marks`: the paths chosen for promotion, as an ordered set of absolute
//! in-root paths that never overlap: a path is refused when a marked
//! ancestor already covers it or when it would cover a marked descendant
//! (yazi's `selected.rs` rule). Pure data, no terminal and no file system.

use std::collections::BTreeMap;

/// One marked path with what it brings along.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mark {
    /// Index of the pair in the audit.
    pub pair: u32,
    /// Entries in the marked subtree (1 for a file).
    pub entries: u64,
    /// Bytes in the marked subtree.
    pub bytes: u64,
    /// Whether the path is a directory (persisted as a directory, not a file).
    pub is_dir: bool,
    /// Why the last `w` did not write it (the rule `darlings promote`
    /// applies too, [`crate::whitelist::Gate`]); it stays marked.
    pub refused: Option<crate::whitelist::Refusal>,
}

/// Why a path could not be marked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// A marked ancestor already covers the path.
    UnderMarked(Vec<u8>),
    /// The path would cover this many marked descendants (the first one given).
    OverMarked(Vec<u8>, usize),
}

/// The marked paths, ordered by path bytes.
#[derive(Clone, Debug, Default)]
pub struct Marks {
    by_path: BTreeMap<Vec<u8>, Mark>,
}

impl Marks {
    /// The number of marked paths.
    pub fn len(&self) -> usize {
        self.by_path.len()
    }

    /// Returns true if and only if nothing is marked.
    pub fn is_empty(&self) -> bool {
        self.by_path.is_empty()
    }

    /// The mark of `path` itself, if it is marked.
    pub fn get(&self, path: &[u8]) -> Option<&Mark> {
        self.by_path.get(path)
    }

    /// Returns true if and only if `path` itself is marked.
    pub fn contains(&self, path: &[u8]) -> bool {
        self.by_path.contains_key(path)
    }

    /// The marked ancestor covering `path` (or `path` itself), if any.
    pub fn covering(&self, path: &[u8]) -> Option<&[u8]> {
        if let Some((k, _)) = self.by_path.get_key_value(path) {
            return Some(k);
        }
        let mut end = path.len();
        while let Some(slash) = path[..end].iter().rposition(|&b| b == b'/') {
            if slash == 0 {
                // "/" itself is never marked: the root cannot be persisted.
                return None;
            }
            if let Some((k, _)) = self.by_path.get_key_value(&path[..slash]) {
                return Some(k);
            }
            end = slash;
        }
        None
    }

    /// Marked paths strictly below `path`.
    pub fn descendants<'a>(&'a self, path: &[u8]) -> impl Iterator<Item = &'a [u8]> + 'a {
        let mut prefix = path.to_vec();
        prefix.push(b'/');
        self.by_path
            .range(prefix.clone()..)
            .map(|(k, _)| k.as_slice())
            .take_while(move |k| k.starts_with(&prefix))
    }

    /// Marks `path`, refusing any overlap with marked paths.
    pub fn mark(&mut self, path: Vec<u8>, mark: Mark) -> Result<(), Refusal> {
        if let Some(anc) = self.covering(&path) {
            return Err(Refusal::UnderMarked(anc.to_vec()));
        }
        let below: Vec<&[u8]> = self.descendants(&path).collect();
        if let Some(first) = below.first() {
            return Err(Refusal::OverMarked(first.to_vec(), below.len()));
        }
        self.by_path.insert(path, mark);
        Ok(())
    }

    /// Unmarks `path`; returns true if and only if it was marked.
    pub fn unmark(&mut self, path: &[u8]) -> bool {
        self.by_path.remove(path).is_some()
    }

    /// Forgets every mark.
    pub fn clear(&mut self) {
        self.by_path.clear();
    }

    /// Records why `w` refused the marked `path` (it stays marked).
    pub fn refuse(&mut self, path: &[u8], why: crate::whitelist::Refusal) {
        if let Some(m) = self.by_path.get_mut(path) {
            m.refused = Some(why);
        }
    }

    /// The marks `w` refused, in path order.
    pub fn refused(&self) -> impl Iterator<Item = (&[u8], &crate::whitelist::Refusal)> {
        self.iter()
            .filter_map(|(p, m)| m.refused.as_ref().map(|r| (p, r)))
    }

    /// The marked paths in path order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &Mark)> {
        self.by_path.iter().map(|(k, v)| (k.as_slice(), v))
    }

    /// The `n`th marked path in path order.
    pub fn nth(&self, n: usize) -> Option<(&[u8], &Mark)> {
        self.iter().nth(n)
    }

    /// Total (entries, bytes) of every mark.
    pub fn totals(&self) -> (u64, u64) {
        self.by_path
            .values()
            .fold((0, 0), |(e, b), m| (e + m.entries, b + m.bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pair: u32) -> Mark {
        Mark {
            pair,
            entries: 2,
            bytes: 10,
            is_dir: true,
            refused: None,
        }
    }

    #[test]
    fn a_path_under_a_marked_directory_is_refused() {
        let mut marks = Marks::default();
        marks.mark(b"/var/lib/docker".to_vec(), m(1)).unwrap();
        assert_eq!(
            marks.mark(b"/var/lib/docker/volumes/x".to_vec(), m(2)),
            Err(Refusal::UnderMarked(b"/var/lib/docker".to_vec()))
        );
        assert_eq!(
            marks.mark(b"/var/lib/docker".to_vec(), m(1)),
            Err(Refusal::UnderMarked(b"/var/lib/docker".to_vec())),
            "marking the same path twice is an overlap too"
        );
    }

    #[test]
    fn a_directory_over_marked_paths_is_refused() {
        let mut marks = Marks::default();
        marks.mark(b"/etc/ssh/key".to_vec(), m(1)).unwrap();
        marks.mark(b"/etc/ssh/key.pub".to_vec(), m(2)).unwrap();
        assert_eq!(
            marks.mark(b"/etc/ssh".to_vec(), m(3)),
            Err(Refusal::OverMarked(b"/etc/ssh/key".to_vec(), 2))
        );
    }

    #[test]
    fn siblings_sharing_a_name_prefix_do_not_overlap() {
        let mut marks = Marks::default();
        marks.mark(b"/var/lib/docker".to_vec(), m(1)).unwrap();
        marks.mark(b"/var/lib/docker2".to_vec(), m(2)).unwrap();
        marks.mark(b"/var/lib/dock".to_vec(), m(3)).unwrap();
        assert_eq!(marks.len(), 3);
        assert_eq!(marks.totals(), (6, 30));
        assert!(marks.unmark(b"/var/lib/docker"));
        assert!(!marks.unmark(b"/var/lib/docker"));
        assert_eq!(
            marks.covering(b"/var/lib/docker2/x"),
            Some(&b"/var/lib/docker2"[..])
        );
        assert_eq!(marks.covering(b"/var/lib"), None);
    }
}
