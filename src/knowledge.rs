//! The knowledge base of SPEC §5: well-known paths of NixOS systems and common
//! services, with advice (persist / review / ephemeral) and a reason a user can
//! act on. The catalogue is data (`assets/knowledge.toml`), compiled in; this
//! module only parses it and answers "what is known about this path?".

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The catalogue shipped with darlings.
const BUILTIN: &str = include_str!("../assets/knowledge.toml");

/// Where the built-in catalogue comes from, for error messages.
const BUILTIN_NAME: &str = "assets/knowledge.toml";

/// What to do with a stray path, as SPEC §1 names it.
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
    /// The SPEC §1 spelling (`persist`, `review`, `ephemeral`).
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
    longest_pattern: (usize, usize),
    /// Rule indices by first pattern component; a scan asks millions of times,
    /// and almost every pattern starts with a literal (`etc`, `var`, `home`).
    by_first: HashMap<Vec<u8>, Vec<usize>>,
    /// Rules whose first component has a wildcard: always tried.
    wild_first: Vec<usize>,
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
    advice: Advice,
    reason: String,
    note: Option<String>,
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
                    advice: raw.advice,
                    reason: raw.reason.clone(),
                    note: raw.note.clone(),
                });
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
        Ok(Knowledge::index(rules))
    }

    fn index(rules: Vec<Rule>) -> Knowledge {
        let mut compiled = Vec::with_capacity(rules.len());
        let mut scores = Vec::with_capacity(rules.len());
        let mut by_first: HashMap<Vec<u8>, Vec<usize>> = HashMap::new();
        let mut wild_first = Vec::new();
        for (i, rule) in rules.iter().enumerate() {
            // Validated in `from_toml`; an invalid pattern cannot get here.
            let comps = compile(&rule.pattern).unwrap_or_default();
            match comps.first() {
                Some(Component::Literal(first)) => {
                    by_first.entry(first.clone()).or_default().push(i)
                }
                _ => wild_first.push(i),
            }
            scores.push((comps.len(), comps.iter().map(Component::literal_len).sum()));
            compiled.push(comps);
        }
        let longest_pattern = (
            rules.iter().map(|r| r.pattern.len()).max().unwrap_or(0),
            compiled.iter().map(Vec::len).max().unwrap_or(0),
        );
        Knowledge {
            rules,
            compiled,
            longest_pattern,
            scores,
            by_first,
            wild_first,
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
        let Some(first) = names().next() else {
            return start;
        };
        let candidates = self
            .by_first
            .get(first)
            .into_iter()
            .flatten()
            .chain(self.wild_first.iter());
        let mut best = start.map(|i| (self.scores[i], i));
        for &i in candidates {
            if depth.is_some_and(|d| self.compiled[i].len() != d) {
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
        best.map(|(_, i)| i)
    }
}

/// A rule's position in the catalogue, for incremental lookups.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RuleId(usize);

impl Knowledge {
    /// The rule with id `id`.
    pub fn rule(&self, id: RuleId) -> &Rule {
        &self.rules[id.0]
    }

    /// [`Knowledge::lookup`] for a walk in tree order: given the answer for
    /// the parent directory, only patterns with exactly as many components
    /// as `path` can do better, so deep paths cost nothing. Returns the same
    /// rule as `lookup(path)`.
    pub fn lookup_child(&self, parent: Option<RuleId>, path: &[u8]) -> Option<RuleId> {
        let names = || path.split(|&b| b == b'/').filter(|c| !c.is_empty());
        // Deeper than every pattern: nothing can beat the parent's answer.
        if path.len() > self.longest_pattern.0 && names().nth(self.longest_pattern.1).is_some() {
            return parent;
        }
        let depth = names().count();
        self.best_match(path, Some(depth), parent.map(|p| p.0))
            .map(RuleId)
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
mod tests {
    use super::*;

    fn advice(path: &str) -> Option<Advice> {
        Knowledge::builtin()
            .lookup(path.as_bytes())
            .map(|r| r.advice)
    }

    #[test]
    fn lookup_child_walked_from_the_root_equals_lookup() {
        let kb = Knowledge::builtin();
        let mut samples: Vec<String> = kb
            .rules()
            .iter()
            .map(|r| format!("{}/deeper/still", r.pattern.replace('*', "x")))
            .collect();
        samples.extend(
            [
                "/usr/lib/x",
                "/home/alice/.cache/nix/y",
                "/var/lib/systemd/coredump/c",
            ]
            .map(String::from),
        );
        for sample in samples {
            let mut path = String::new();
            let mut id = None;
            for comp in sample.split('/').filter(|c| !c.is_empty()) {
                path.push('/');
                path.push_str(comp);
                id = kb.lookup_child(id, path.as_bytes());
                assert_eq!(
                    id.map(|i| &kb.rule(i).pattern),
                    kb.lookup(path.as_bytes()).map(|r| &r.pattern),
                    "{path}"
                );
            }
        }
    }

    #[test]
    fn builtin_asset_parses_and_every_pattern_is_valid() {
        let kb = Knowledge::from_toml(BUILTIN, BUILTIN_NAME).expect("asset parses");
        assert!(kb.rules().len() >= 60, "only {} patterns", kb.rules().len());
        for rule in kb.rules() {
            assert!(compile(&rule.pattern).is_ok(), "{}", rule.pattern);
            // Every pattern must find itself (with `*` standing for a name).
            let sample = rule.pattern.replace('*', "x");
            let hit = kb
                .lookup(sample.as_bytes())
                .expect("a pattern matches its own sample");
            assert_eq!(hit.pattern, rule.pattern, "{sample} is shadowed");
        }
    }

    #[test]
    fn identity_state_is_persisted_with_spec_reason() {
        let nixos = Knowledge::builtin()
            .lookup(b"/var/lib/nixos/uid-map")
            .expect("known");
        assert_eq!(nixos.advice, Advice::Persist);
        assert_eq!(nixos.pattern, "/var/lib/nixos");
        assert!(nixos.reason.contains("uid/gid"), "{}", nixos.reason);
        assert_eq!(advice("/etc/machine-id"), Some(Advice::Persist));
        let key = Knowledge::builtin()
            .lookup(b"/etc/ssh/ssh_host_ed25519_key.pub")
            .expect("known");
        assert_eq!(key.advice, Advice::Persist);
        assert!(
            key.note
                .as_deref()
                .is_some_and(|n| n.contains("sshd_config"))
        );
        // The directory itself must not be advised as a whole.
        assert_eq!(advice("/etc/ssh/sshd_config"), Some(Advice::Review));
    }

    /// DOMAIN.md §5, row by row: the advice darlings gives for each path.
    #[test]
    fn domain_table_rows_have_the_expected_advice() {
        use Advice::{Ephemeral as E, Persist as P, Review as R};
        let rows: &[(&str, Advice)] = &[
            ("/etc/machine-id", P),
            ("/var/lib/nixos/gid-map", P),
            ("/var/log/journal/abc/system.journal", P),
            ("/var/lib/systemd/random-seed", R),
            ("/var/lib/systemd/timers/stamp-fstrim.timer", R),
            ("/etc/ssh/ssh_host_rsa_key", P),
            ("/etc/ssh", R),
            (
                "/etc/NetworkManager/system-connections/home.nmconnection",
                P,
            ),
            ("/var/lib/NetworkManager/secret_key", R),
            ("/var/lib/iwd/home.psk", P),
            ("/var/lib/bluetooth/00:11:22:33:44:55", P),
            ("/etc/wireguard/wg0.key", P),
            ("/var/lib/tailscale/tailscaled.state", P),
            ("/var/lib/acme/example.org/key.pem", P),
            ("/var/lib/colord/mapping.db", R),
            ("/var/lib/cups/printers.conf", R),
            ("/var/lib/fprint/alice", P),
            ("/var/lib/sbctl/keys", P),
            ("/etc/secureboot/keys", P),
            ("/var/lib/libvirt/images/vm.qcow2", P),
            ("/var/lib/docker/volumes", P),
            ("/var/lib/containers/storage", P),
            ("/var/lib/flatpak/app", R),
            ("/var/lib/private/ollama", R),
            ("/var/db/sudo/lectured/alice", E),
            ("/etc/nixos/configuration.nix", P),
            ("/etc/nix/id_rsa", P),
            ("/etc/zfs/zpool.cache", P),
            ("/etc/shadow", R),
            ("/home/alice/.gnupg/private-keys-v1.d", P),
            ("/home/alice/.local/share/keyrings/login.keyring", P),
            ("/home/alice/Documents/cv.odt", P),
            ("/home/alice/.mozilla/firefox", P),
            ("/home/alice/.config/chromium/Default", P),
            ("/home/alice/.local/share/Steam/steamapps", R),
            ("/home/alice/.local/share/direnv/allow", R),
            ("/home/alice/.local/state/nix/profiles", R),
            ("/home/alice/.zsh_history", R),
            ("/home/alice/.local/share/fish/fish_history", R),
            ("/tmp/x", E),
            ("/var/tmp/x", E),
            ("/var/cache/fwupd", E),
            ("/home/alice/.cache/mesa_shader_cache", E),
            ("/home/alice/.local/share/Trash/files/x", E),
            ("/var/lib/machines", R),
        ];
        for (path, expected) in rows {
            assert_eq!(advice(path), Some(*expected), "{path}");
        }
    }

    #[test]
    fn more_specific_rules_win() {
        assert_eq!(advice("/var/lib/systemd/linger"), Some(Advice::Review));
        assert_eq!(
            advice("/var/lib/systemd/coredump/core.1"),
            Some(Advice::Ephemeral)
        );
        assert_eq!(
            advice("/home/alice/.cache/fontconfig"),
            Some(Advice::Ephemeral)
        );
        assert_eq!(advice("/home/alice/.ssh/id_ed25519"), Some(Advice::Persist));
        assert_eq!(advice("/root/.ssh"), Some(Advice::Persist));
        assert_eq!(
            advice("/var/cache/powertop/saved_results.powertop"),
            Some(Advice::Review)
        );
        assert_eq!(advice("/var/cache/man/index.db"), Some(Advice::Ephemeral));
        let nix_cache = Knowledge::builtin()
            .lookup(b"/home/bob/.cache/nix/eval-cache-v5")
            .expect("known");
        assert_eq!(nix_cache.pattern, "/home/*/.cache/nix");
    }

    #[test]
    fn wildcards_stay_inside_one_component_and_bytes_need_not_be_utf8() {
        assert_eq!(
            Knowledge::builtin()
                .lookup(b"/tmp/\xff\xfe")
                .map(|r| r.advice),
            Some(Advice::Ephemeral)
        );
        assert_eq!(
            Knowledge::builtin()
                .lookup(b"/home/\xffuser/.gnupg")
                .map(|r| r.pattern.as_str()),
            Some("/home/*/.gnupg")
        );
        // `/home/*/.ssh` must not match a deeper `.ssh`.
        let deeper = Knowledge::builtin()
            .lookup(b"/home/a/b/.ssh")
            .map(|r| r.pattern.clone());
        assert_ne!(deeper.as_deref(), Some("/home/*/.ssh"));
        assert_eq!(Knowledge::builtin().lookup(b"relative/path"), None);
        assert_eq!(Knowledge::builtin().lookup(b"/opt/nothing-known"), None);
    }

    #[test]
    fn component_wildcards_match_prefix_suffix_and_infix() {
        let pieces = |p: &str| {
            p.split('*')
                .map(|s| s.as_bytes().to_vec())
                .collect::<Vec<_>>()
        };
        assert!(wild_match(&pieces("ssh_host_*"), b"ssh_host_rsa_key"));
        assert!(!wild_match(&pieces("ssh_host_*"), b"ssh_config"));
        assert!(wild_match(&pieces("*.pub"), b"key.pub"));
        assert!(wild_match(&pieces("a*b*c"), b"aXXbYYc"));
        assert!(!wild_match(&pieces("a*b*c"), b"ac"));
        assert!(!wild_match(&pieces("ab*ba"), b"aba"));
    }

    #[test]
    fn bad_catalogues_name_the_rule() {
        let bad = r#"
            [[rule]]
            path = "var/lib/x"
            advice = "persist"
            reason = "r"
        "#;
        let err = Knowledge::from_toml(bad, "kb.toml")
            .expect_err("relative pattern")
            .to_string();
        assert!(
            err.contains("rule[0]") && err.contains("not absolute"),
            "{err}"
        );
        let bad_advice = "[[rule]]\npath = \"/x\"\nadvice = \"keep\"\nreason = \"r\"\n";
        assert!(Knowledge::from_toml(bad_advice, "kb.toml").is_err());
        let bad_glob = "[[rule]]\npath = \"/x/**\"\nadvice = \"review\"\nreason = \"r\"\n";
        assert!(Knowledge::from_toml(bad_glob, "kb.toml").is_err());
    }

    #[test]
    fn advice_serialises_lowercase() {
        let json = serde_json::to_string(&[Advice::Persist, Advice::Review, Advice::Ephemeral])
            .expect("json");
        assert_eq!(json, r#"["persist","review","ephemeral"]"#);
    }
}
