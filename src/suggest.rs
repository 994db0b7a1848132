//! What the user acts on, computed from an audit: the suggestions (the
//! smallest set of paths that covers everything stray the wipe would lose,
//! split where the knowledge base's advice changes) and the totals by class
//! and change that the report and the summary print.

use crate::audit::Audit;
use crate::classify::Class;
use crate::diff::Change;
use crate::scan::Kind;

/// One path to promote (or dismiss) that covers a whole stray subtree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Suggestion {
    /// The pair suggested.
    pub pair: usize,
    /// Entries it covers, itself included.
    pub entries: u64,
    /// Bytes of the regular files it covers.
    pub bytes: u64,
}

/// Totals by class and change, computed from the same entries the report lists.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    /// Entries counted.
    pub entries: u64,
    /// Bytes of regular files counted.
    pub bytes: u64,
    /// (entries, bytes) per class, in `Class::ALL` order: every entry
    /// counted, a removed one under the class of its baseline entry (as the
    /// report lists it).
    pub classes: [(u64, u64); 3],
    /// (entries, bytes) per class of the counted entries that are on ROOT:
    /// what the next wipe deals with (a removed path is no longer there to
    /// keep or lose; `changes` counts it).
    pub on_root: [(u64, u64); 3],
    /// Entries per change, in `Change::ALL` order.
    pub changes: [u64; 4],
    /// Stray, not dismissed, not advised ephemeral, added or modified: what
    /// the summary asks the user to review.
    pub unresolved_stray: u64,
    /// The same, unchanged against the baseline: not counted above (see
    /// `unchanged_stray`), but stray all the same, so `--fail-on-stray`
    /// counts them with `unresolved_stray`.
    pub unchanged_unresolved: u64,
    /// Stray and dismissed.
    pub dismissed: u64,
    /// (entries, bytes) that are stray, not dismissed, and the same as in the
    /// baseline: never counted above. A blank snapshot brings them back at
    /// rollback; against an older scan or root of this machine they are lost
    /// at the wipe too, so the summary says how many there are.
    pub unchanged_stray: (u64, u64),
}

impl Totals {
    /// Counts every pair of `audit` (unchanged ones only when `include_unchanged`).
    pub fn of(audit: &Audit, include_unchanged: bool) -> Totals {
        let mut t = Totals::default();
        for i in 0..audit.len() {
            let change = audit.change(i).0;
            let (tree, k) = audit.entry(i);
            let e = &tree.entries[k];
            let bytes = if e.kind == Kind::File { e.size } else { 0 };
            if change == Change::Unchanged {
                if audit.is_open_stray(i) {
                    t.unchanged_stray.0 += 1;
                    t.unchanged_stray.1 += bytes;
                    if audit.verdict(i).advice != Some(crate::classify::Advice::Ephemeral) {
                        t.unchanged_unresolved += 1;
                    }
                }
                if !include_unchanged {
                    continue;
                }
            }
            let v = audit.verdict(i);
            t.entries += 1;
            t.bytes += bytes;
            let ci = Class::ALL.iter().position(|c| *c == v.class).unwrap_or(2);
            t.classes[ci].0 += 1;
            t.classes[ci].1 += bytes;
            if change != Change::Removed {
                t.on_root[ci].0 += 1;
                t.on_root[ci].1 += bytes;
            }
            let chi = Change::ALL.iter().position(|c| *c == change).unwrap_or(0);
            t.changes[chi] += 1;
            if v.class == Class::Stray && change != Change::Removed && change != Change::Unchanged {
                if v.dismissed {
                    t.dismissed += 1;
                } else if v.advice != Some(crate::classify::Advice::Ephemeral) {
                    t.unresolved_stray += 1;
                }
            }
        }
        t
    }
}

/// The minimal cover of stray, non-dismissed paths that the wipe would
/// lose (added or modified): a directory is suggested instead of its
/// entries only when everything below it is such a path under the same
/// knowledge-base rule (so advice stays accurate per suggestion). Returns pair
/// indices in path order with their (entries, bytes) totals.
pub fn suggestions(audit: &Audit) -> Vec<Suggestion> {
    let n = audit.len();
    // covered[i]: pair i and its whole subtree are open strays that would be lost.
    let mut covered = vec![false; n];
    let mut totals = vec![(0u64, 0u64); n];
    for i in (0..n).rev() {
        let lost = audit.is_open_stray(i) && audit.change(i).0 != Change::Unchanged;
        let (t, k) = audit.entry(i);
        let own_bytes = if t.entries[k].kind == Kind::File {
            t.entries[k].size
        } else {
            0
        };
        let mut all = lost;
        let mut tot = (1u64, own_bytes);
        let mut c = i + 1;
        let own_rule = audit.verdict(i).rule;
        while c < audit.merge().end(i) {
            if audit.change(c).0 != Change::Removed {
                // A child under a different knowledge-base rule is its own
                // suggestion: `/var` is never proposed over `/var/lib/nixos`
                // (persist) and `/var/cache` (ephemeral) at once. A path with
                // advice of its own (a `result` link) keeps its place's rule.
                all &= covered[c] && audit.verdict(c).rule == own_rule;
                tot.0 += totals[c].0;
                tot.1 += totals[c].1;
            }
            c = audit.merge().end(c);
        }
        covered[i] = all;
        totals[i] = tot;
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < n {
        if covered[i] {
            out.push(Suggestion {
                pair: i,
                entries: totals[i].0,
                bytes: totals[i].1,
            });
            i = audit.merge().end(i);
        } else {
            if audit.is_open_stray(i) && audit.change(i).0 != Change::Unchanged {
                // A directory with some kept content: suggest the entry itself only
                // when it is not a directory (its lost children are found below).
                let (t, k) = audit.entry(i);
                if t.entries[k].kind != Kind::Dir {
                    out.push(Suggestion {
                        pair: i,
                        entries: totals[i].0,
                        bytes: totals[i].1,
                    });
                }
            }
            i += 1;
        }
    }
    let mut keyed: Vec<(Vec<u8>, Suggestion)> =
        out.into_iter().map(|s| (audit.path(s.pair), s)).collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    keyed.into_iter().map(|(_, s)| s).collect()
}
