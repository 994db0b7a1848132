//! The knowledge base: well-known paths of NixOS systems, their services and
//! their users' homes, with advice (persist / review / ephemeral), a reason a
//! user can act on and the source of each rule. The catalogue is data
//! (`assets/knowledge.toml`, format in `docs/knowledge-base.md`), compiled in;
//! this module only parses it and answers "what is known about this path?"
//! and "what is known about this unit's state?".

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The catalogue shipped with darlings.
const BUILTIN: &str = include_str!("../../assets/knowledge.toml");

/// Where the built-in catalogue comes from, for error messages.
const BUILTIN_NAME: &str = "assets/knowledge.toml";

/// What to do with a stray path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Advice {
    /// Losing it is harmful: put it in the whitelist.
    Persist,
    /// Whether it matters depends on the user.
    Review,
    /// Safe to lose at every boot.
    Ephemeral,
}

impl Advice {
    /// The report's spelling (`persist`, `review`, `ephemeral`).
    pub fn as_str(self) -> &'static str {
        match self {
            Advice::Persist => "persist",
            Advice::Review => "review",
            Advice::Ephemeral => "ephemeral",
        }
    }
}

/// One entry of the catalogue, after home patterns are expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Absolute pattern; `*` matches any run of bytes inside one component.
    pub pattern: String,
    /// The systemd unit whose `StateDirectory=` directories get this rule
    /// wherever they are (`vaultwarden.service`).
    pub unit: Option<String>,
    /// Where the rule comes from (URLs pinned to a commit).
    pub source: Vec<String>,
    /// The advice for the matched path and everything below it.
    pub advice: Advice,
    /// One line a user can act on.
    pub reason: String,
    /// Special handling when persisting it (timing, mode, what not to persist).
    pub note: Option<String>,
}

/// The parsed catalogue, indexed for lookups during a scan.
#[derive(Debug)]
pub struct Knowledge {
    rules: Vec<Rule>,
    /// Parsed form of each rule's pattern, same order as `rules`.
    compiled: Vec<Vec<Component>>,
    /// Specificity of each rule: (components, literal bytes); higher wins.
    scores: Vec<(usize, usize)>,
    /// (bytes, components) of the longest pattern: paths beyond it only inherit.
    deepest_pattern: usize,
    /// Rule indices by last pattern component: a scan asks millions of times,
    /// and a path's own name rules out all but one or two of a thousand
    /// patterns (`/home/*/.config/gh` can only match a path named `gh`).
    by_last: HashMap<Vec<u8>, Vec<usize>>,
    /// Rules whose last component has a wildcard, by their number of components.
    wild_last: Vec<Vec<usize>>,
    /// The rule of each unit named by a rule's `unit`.
    by_unit: HashMap<String, usize>,
}

/// One component of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Component {
    /// Must equal the path component.
    Literal(Vec<u8>),
    /// Split on `*`: the path component must start with the first piece, end
    /// with the last, and contain the others in order.
    Wild(Vec<Vec<u8>>),
}

/// The TOML file as written by hand.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    rule: Vec<RawRule>,
}

/// One `[[rule]]` table.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    path: String,
    #[serde(default)]
    home: bool,
    unit: Option<String>,
    advice: Advice,
    reason: String,
    note: Option<String>,
    source: Option<Source>,
}

/// `source = "URL"` or `source = ["URL", ...]`.
#[derive(Deserialize)]
#[serde(untagged)]
enum Source {
    One(String),
    Many(Vec<String>),
}

impl Knowledge {
    /// The catalogue compiled into darlings, parsed once.
    pub fn builtin() -> &'static Knowledge {
        static BUILTIN_KB: OnceLock<Knowledge> = OnceLock::new();
        BUILTIN_KB.get_or_init(|| {
            // The unit test `builtin_asset_parses` proves this cannot fail.
            Knowledge::from_toml(BUILTIN, BUILTIN_NAME)
                .expect("the embedded knowledge base is checked by a unit test")
        })
    }

    /// Parses a catalogue in the format of `assets/knowledge.toml`; `name` is
    /// used in error messages.
    pub fn from_toml(text: &str, name: &str) -> Result<Knowledge> {
        let file: File = toml::from_str(text).map_err(|e| Error::bad_input(name, e.to_string()))?;
        let mut rules = Vec::new();
        for (i, raw) in file.rule.into_iter().enumerate() {
            let at = |problem: String| {
                Error::bad_input(name, format!("rule[{i}] ({}): {problem}", raw.path))
            };
            if raw.reason.trim().is_empty() || raw.reason.contains('\n') {
                return Err(at("reason must be one non-empty line".into()));
            }
            if raw
                .note
                .as_deref()
                .is_some_and(|n| n.trim().is_empty() || n.contains('\n'))
            {
                return Err(at("note must be one non-empty line".into()));
            }
            let source = match raw.source {
                Some(Source::One(s)) => vec![s],
                Some(Source::Many(v)) => v,
                None => Vec::new(),
            };
            if source.is_empty()
                || source
                    .iter()
                    .any(|s| s.trim().is_empty() || s.contains('\n'))
            {
                return Err(at(
                    "source must name where the rule comes from (a URL pinned to a commit)".into(),
                ));
            }
            if let Some(unit) = &raw.unit {
                if raw.home {
                    return Err(at("a home rule cannot name a system unit".into()));
                }
                if unit.is_empty() || unit.contains(['/', '*', ' ']) || !unit.contains('.') {
                    return Err(at(format!(
                        "unit {unit} is not a unit name like vaultwarden.service"
                    )));
                }
            }
            let patterns = if raw.home {
                if raw.path.starts_with('/') {
                    return Err(at("a home rule's path is relative to the home".into()));
                }
                // Homes of NixOS users: root's, and normal users' under /home.
                vec![
                    format!("/root/{}", raw.path),
                    format!("/home/*/{}", raw.path),
                ]
            } else {
                vec![raw.path.clone()]
            };
            for pattern in patterns {
                compile(&pattern).map_err(at)?;
                rules.push(Rule {
                    pattern,
                    unit: raw.unit.clone(),
                    source: source.clone(),
                    advice: raw.advice,
                    reason: raw.reason.clone(),
                    note: raw.note.clone(),
                });
            }
        }
        // A service rule on /var/lib/NAME also covers its DynamicUser= layout,
        // /var/lib/private/NAME, unless the catalogue says something else there.
        let listed: std::collections::HashSet<String> =
            rules.iter().map(|r| r.pattern.clone()).collect();
        let mut private = Vec::new();
        for r in &rules {
            let Some(name) = r.pattern.strip_prefix("/var/lib/") else {
                continue;
            };
            if r.unit.is_none() || name.contains('/') || name == "private" {
                continue;
            }
            let pattern = format!("/var/lib/private/{name}");
            if !listed.contains(&pattern) {
                private.push(Rule {
                    pattern,
                    unit: None,
                    ..r.clone()
                });
            }
        }
        rules.extend(private);
        let mut by_unit = HashMap::new();
        for (i, r) in rules.iter().enumerate() {
            if let Some(u) = &r.unit
                && let Some(first) = by_unit.insert(u.clone(), i)
            {
                return Err(Error::bad_input(
                    name,
                    format!(
                        "unit {u} is named by two rules ({} and {})",
                        rules[first].pattern, r.pattern
                    ),
                ));
            }
        }
        let mut seen = HashMap::new();
        for (i, r) in rules.iter().enumerate() {
            if let Some(first) = seen.insert(r.pattern.clone(), i) {
                return Err(Error::bad_input(
                    name,
                    format!(
                        "pattern {} is listed twice (rules {first} and {i} after expansion)",
                        r.pattern
                    ),
                ));
            }
        }
        if u32::try_from(rules.len()).is_err() {
            return Err(Error::bad_input(name, "more than 2^32 - 1 rules"));
        }
        Ok(Knowledge::index(rules, by_unit))
    }

    fn index(rules: Vec<Rule>, by_unit: HashMap<String, usize>) -> Knowledge {
        let mut compiled = Vec::with_capacity(rules.len());
        let mut scores = Vec::with_capacity(rules.len());
        let mut by_last: HashMap<Vec<u8>, Vec<usize>> = HashMap::new();
        let mut wild_last: Vec<Vec<usize>> = Vec::new();
        for (i, rule) in rules.iter().enumerate() {
            // Validated in `from_toml`; an invalid pattern cannot get here.
            let comps = compile(&rule.pattern).unwrap_or_default();
            match comps.last() {
                Some(Component::Literal(last)) => by_last.entry(last.clone()).or_default().push(i),
                _ => {
                    if wild_last.len() <= comps.len() {
                        wild_last.resize(comps.len() + 1, Vec::new());
                    }
                    wild_last[comps.len()].push(i);
                }
            }
            scores.push((comps.len(), comps.iter().map(Component::literal_len).sum()));
            compiled.push(comps);
        }
        let deepest_pattern = compiled.iter().map(Vec::len).max().unwrap_or(0);
        Knowledge {
            rules,
            compiled,
            deepest_pattern,
            scores,
            by_last,
            wild_last,
            by_unit,
        }
    }

    /// Every rule, in catalogue order, home rules expanded.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The most specific rule matching `path` (absolute, as seen inside the
    /// scanned root) or one of its ancestors; None when nothing is known.
    ///
    /// Specificity: more components first, then more literal bytes, so
    /// `/var/lib/systemd/coredump` beats `/var/lib/systemd`, and
    /// `/home/*/.cache/nix` beats `/home/*/.cache`.
    pub fn lookup(&self, path: &[u8]) -> Option<&Rule> {
        if path.first() != Some(&b'/') {
            return None;
        }
        self.best_match(path, None, None).map(|i| &self.rules[i])
    }

    /// The best-scoring rule matching `path` among those whose pattern has
    /// `depth` components (any depth when `None`), or `start` if none beats it.
    fn best_match(&self, path: &[u8], depth: Option<usize>, start: Option<usize>) -> Option<usize> {
        // Components without allocating: a scan asks for every stray path.
        let names = || path.split(|&b| b == b'/').filter(|c| !c.is_empty());
        let mut best = start.map(|i| (self.scores[i], i));
        let depths = match depth {
            Some(d) => d..d + 1,
            None => 1..names().count().min(self.deepest_pattern) + 1,
        };
        for d in depths {
            // The pattern's last component meets the path's d-th name.
            let Some(last) = names().nth(d - 1) else {
                break;
            };
            let candidates = self
                .by_last
                .get(last)
                .into_iter()
                .flatten()
                .chain(self.wild_last.get(d).into_iter().flatten());
            for &i in candidates {
                if self.compiled[i].len() != d {
                    continue;
                }
                let mut rest = names();
                if !self.compiled[i]
                    .iter()
                    .all(|p| rest.next().is_some_and(|c| p.matches(c)))
                {
                    continue;
                }
                let score = self.scores[i];
                if best.is_none_or(|(b, _)| score > b) {
                    best = Some((score, i));
                }
            }
        }
        best.map(|(_, i)| i)
    }
}

/// A rule's position in the catalogue, for incremental lookups. Stored
/// plus one, so that `Option<RuleId>` is four bytes: classification keeps
/// one per path for `darlings explain`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RuleId(std::num::NonZeroU32);

impl RuleId {
    /// The id of the rule at `index` of [`Knowledge::rules`] (a catalogue has
    /// far fewer than 2^32 rules; `from_toml` refuses one that has more).
    fn at(index: usize) -> RuleId {
        RuleId(std::num::NonZeroU32::MIN.saturating_add(index as u32))
    }

    /// The rule's index in [`Knowledge::rules`].
    pub fn index(self) -> usize {
        (self.0.get() - 1) as usize
    }
}

impl Knowledge {
    /// The rule with id `id`.
    pub fn rule(&self, id: RuleId) -> &Rule {
        &self.rules[id.index()]
    }

    /// [`Knowledge::lookup`] for a walk in tree order: given the answer for
    /// the parent directory, only patterns with exactly as many components
    /// as `path` can do better, so deep paths cost nothing. Returns the same
    /// rule as `lookup(path)` when `parent` is the answer for the parent.
    /// `depth` is the number of components of `path`: the tree knows it
    /// (`Entry::depth`), and counting them again was a fifth of the
    /// classification's time on a 200,000-entry root.
    pub fn lookup_child(
        &self,
        parent: Option<RuleId>,
        path: &[u8],
        depth: usize,
    ) -> Option<RuleId> {
        debug_assert_eq!(
            depth,
            path.split(|&b| b == b'/').filter(|c| !c.is_empty()).count()
        );
        // Deeper than every pattern: nothing can beat the parent's answer.
        if depth > self.deepest_pattern {
            return parent;
        }
        self.best_match(path, Some(depth), parent.map(RuleId::index))
            .map(RuleId::at)
    }
}

impl Knowledge {
    /// The rule a unit's state gets (`unit = "vaultwarden.service"`), if any.
    pub fn unit_rule(&self, unit: &str) -> Option<RuleId> {
        self.by_unit.get(unit).copied().map(RuleId::at)
    }

    /// The number of components of rule `id`'s pattern.
    pub fn depth(&self, id: RuleId) -> usize {
        self.compiled[id.index()].len()
    }
}

impl Component {
    fn matches(&self, name: &[u8]) -> bool {
        match self {
            Component::Literal(lit) => lit == name,
            Component::Wild(pieces) => wild_match(pieces, name),
        }
    }

    fn literal_len(&self) -> usize {
        match self {
            Component::Literal(lit) => lit.len(),
            Component::Wild(pieces) => pieces.iter().map(Vec::len).sum(),
        }
    }
}

/// Matches `name` against `*`-separated `pieces` (at least two of them).
fn wild_match(pieces: &[Vec<u8>], name: &[u8]) -> bool {
    let (Some(head), Some(tail)) = (pieces.first(), pieces.last()) else {
        return false;
    };
    if name.len() < head.len() + tail.len() || !name.starts_with(head) || !name.ends_with(tail) {
        return false;
    }
    let mut rest = &name[head.len()..name.len() - tail.len()];
    for piece in pieces[1..pieces.len() - 1].iter().filter(|p| !p.is_empty()) {
        match rest
            .windows(piece.len())
            .position(|w| w == piece.as_slice())
        {
            Some(at) => rest = &rest[at + piece.len()..],
            None => return false,
        }
    }
    true
}

/// Parses and validates one absolute pattern.
fn compile(pattern: &str) -> std::result::Result<Vec<Component>, String> {
    let Some(rest) = pattern.strip_prefix('/') else {
        return Err(format!("pattern {pattern} is not absolute"));
    };
    if rest.is_empty() {
        return Err("the pattern / would match everything".into());
    }
    let mut out = Vec::new();
    for comp in rest.split('/') {
        if comp.is_empty() || comp == "." || comp == ".." {
            return Err(format!("pattern {pattern} has an empty, . or .. component"));
        }
        if comp.contains(['?', '[', ']', '{', '}', '\\']) || comp.contains("**") {
            return Err(format!(
                "pattern {pattern}: only `*` inside one component is supported"
            ));
        }
        if comp.contains('*') {
            out.push(Component::Wild(
                comp.split('*').map(|p| p.as_bytes().to_vec()).collect(),
            ));
        } else {
            out.push(Component::Literal(comp.as_bytes().to_vec()));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
