//! Classification: the verdict for every path (SPEC §1): persisted,
//! Nix-managed or stray, with a reason naming the rule and its evidence, and
//! for stray paths the knowledge base's advice. Pure: it reads the trees and
//! the evidence gathered before it, and touches no file.

use crate::diff::Pair;
use crate::scan::Tree;

/// Where a path stands at the next wipe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Class {
    /// Survives the wipe.
    Persisted,
    /// Lost at the wipe, but NixOS recreates it.
    NixManaged,
    /// Lost at the wipe and not recreated: the user must decide.
    Stray,
}

impl Class {
    /// The SPEC §1 spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Persisted => "persisted",
            Class::NixManaged => "nix-managed",
            Class::Stray => "stray",
        }
    }
    /// All classes, in report order.
    pub const ALL: [Class; 3] = [Class::Persisted, Class::NixManaged, Class::Stray];
}

pub use crate::knowledge::Advice;

/// The verdict on one path. Reasons and warnings are interned in
/// [`Verdicts::texts`] because millions of paths share a few hundred of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// The class.
    pub class: Class,
    /// Index of the reason in [`Verdicts::texts`].
    pub reason: u32,
    /// Knowledge-base advice (stray paths only).
    pub advice: Option<Advice>,
    /// Index of the advice's reason in [`Verdicts::texts`], or `NONE`.
    pub advice_reason: u32,
    /// Matched by the user's ignore rules.
    pub dismissed: bool,
    /// Index of a warning in [`Verdicts::texts`], or `NONE`.
    pub warning: u32,
}

/// Verdicts for every pair of the merged trees, in the same order.
#[derive(Clone, Debug, Default)]
pub struct Verdicts {
    /// One verdict per pair.
    pub verdicts: Vec<Verdict>,
    /// Interned reason, advice and warning texts.
    pub texts: Vec<String>,
    index: std::collections::HashMap<String, u32>,
}

impl Verdicts {
    /// Interns `text` and returns its index.
    pub fn intern(&mut self, text: &str) -> u32 {
        if let Some(&i) = self.index.get(text) {
            return i;
        }
        let i = self.texts.len() as u32;
        self.texts.push(text.to_string());
        self.index.insert(text.to_string(), i);
        i
    }

    /// The text at `i`, or `None` for `NONE`.
    pub fn text(&self, i: u32) -> Option<&str> {
        self.texts.get(i as usize).map(String::as_str)
    }
}

/// Classifies every pair. Until the rules land, every path is stray with the
/// honest reason that no rule matched.
pub fn classify(cur: &Tree, base: Option<&Tree>, pairs: &[Pair]) -> Verdicts {
    let _ = (cur, base);
    let mut v = Verdicts::default();
    let reason = v.intern("no rule matched");
    v.verdicts = vec![
        Verdict {
            class: Class::Stray,
            reason,
            advice: None,
            advice_reason: crate::scan::NONE,
            dismissed: false,
            warning: crate::scan::NONE,
        };
        pairs.len()
    ];
    v
}
