//! Classification: the verdict for every path: persisted, Nix-managed or
//! stray, with a reason naming the rule and its evidence, for stray paths
//! the knowledge base's advice, and for service directories their owner.
//! Pure: it reads the trees and the evidence gathered before it, and touches
//! no file.
//!
//! A store link is Nix-managed only where something recreates it at boot or
//! activation (`/etc` through `/etc/static`, `/bin/sh`, `/usr/bin/env`, the
//! ELF loader, systemd-tmpfiles' `L` rules, home-manager's links in a home);
//! anywhere else (a `result` link, a copied tree) nothing brings it back, so
//! it is stray, and it never makes its parents Nix-managed.

use std::os::unix::ffi::OsStrExt;

use crate::diff::Pair;
use crate::evidence::Evidence;
use crate::knowledge::{Knowledge, RuleId};
use crate::resolve::{Beyond, Ending, ResolvedDir, Resolver, is_under};
use crate::scan::{Kind, NONE, PathCursor, Tree};

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
    /// The report's spelling.
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

mod class_rule;
pub use class_rule::ClassRule;

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
    /// The knowledge-base rule the path falls under (the index of its text
    /// in [`Verdicts::texts`], or `NONE`): suggestions split where it
    /// changes. Usually the text of `advice_reason`; a path with advice of
    /// its own (a `result` link) keeps its place's rule, so it never splits
    /// a suggestion.
    pub rule: u32,
    /// Index of the owner in [`Verdicts::owners`], or `NONE`.
    pub owner: u32,
    /// The rule that decided the class (one byte, in the struct's padding).
    pub by: ClassRule,
}

/// Verdicts for every pair of the merged trees, in the same order.
#[derive(Clone, Debug, Default)]
pub struct Verdicts {
    /// One verdict per pair.
    pub verdicts: Vec<Verdict>,
    /// Interned reason, advice and warning texts.
    pub texts: Vec<String>,
    /// Owners of service directories (the unit or user keeping state there).
    pub owners: Vec<crate::owners::Owner>,
    /// The knowledge-base rule each pair falls under, whatever its class
    /// (empty when the verdicts were decided elsewhere).
    pub kb: Vec<Option<RuleId>>,
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

    /// The owner at `i`, or `None` for `NONE`.
    pub fn owner(&self, i: u32) -> Option<&crate::owners::Owner> {
        self.owners.get(i as usize)
    }

    /// The knowledge-base rule pair `i` falls under, if any.
    pub fn kb_rule(&self, i: usize) -> Option<RuleId> {
        self.kb.get(i).copied().flatten()
    }
}

impl Verdict {
    /// A stray verdict with `reason` and nothing else known.
    pub fn stray(reason: u32) -> Verdict {
        Verdict {
            class: Class::Stray,
            reason,
            advice: None,
            advice_reason: NONE,
            dismissed: false,
            warning: NONE,
            rule: NONE,
            owner: NONE,
            by: ClassRule::NoRule,
        }
    }
}

/// What classification reads besides the pairs.
pub struct ClassifyInput<'a> {
    /// The root's tree, with its resolver (built once per audit).
    pub cur: &'a Resolver<'a>,
    /// The baseline's tree.
    pub base: Option<&'a Tree>,
    /// The merged trees.
    pub pairs: &'a [Pair],
    /// Parent pair of each pair (`NONE` at the top).
    pub parent: &'a [u32],
    /// Whether each pair exists on the root (not removed).
    pub present: &'a [bool],
    /// Storage, whitelist, `/etc/.clean`, ignore rules.
    pub evidence: &'a Evidence,
    /// Lookups below mount points the scan did not enter.
    pub beyond: &'a dyn Beyond,
    /// The knowledge base.
    pub knowledge: &'a Knowledge,
    /// Threads classifying subtrees at once (`--threads`; 1: none started).
    pub threads: usize,
}

/// Paths activation and stage 2 regenerate at every boot.
const REGENERATED: &[(&str, &str)] = &[
    (
        "/etc/passwd",
        "rewritten by activation from users.users (update-users-groups); with users.mutableUsers = true, passwords set by `passwd` live only here",
    ),
    (
        "/etc/group",
        "rewritten by activation from users.groups (update-users-groups)",
    ),
    (
        "/etc/shadow",
        "rewritten by activation from users.users (update-users-groups); with users.mutableUsers = true, passwords set by `passwd` live only here",
    ),
    (
        "/etc/gshadow",
        "rewritten by activation from users.groups (update-users-groups)",
    ),
    (
        "/etc/subuid",
        "rewritten by activation (update-users-groups)",
    ),
    (
        "/etc/subgid",
        "rewritten by activation (update-users-groups)",
    ),
    ("/etc/NIXOS", "marker created by activation at every boot"),
    (
        "/etc/.clean",
        "list of copied /etc files, rewritten by activation",
    ),
    (
        "/etc/.updated",
        "systemd's /etc update stamp, recreated at boot",
    ),
    (
        "/var/.updated",
        "systemd's /var update stamp, recreated at boot",
    ),
    (
        "/etc/.pwd.lock",
        "password database lock file, recreated on use",
    ),
    ("/etc/mtab", "symlink to /proc/mounts, recreated by stage 2"),
    (
        "/etc/static",
        "link to this generation's /etc in the Nix store, recreated by activation",
    ),
    (
        "/var/empty",
        "empty immutable directory recreated by activation",
    ),
];

/// Directories stage 2 and activation create at every boot:
/// the directory itself is recreated; what is inside is classified on its own.
const BOOT_DIRS: &[&str] = &[
    "/bin", "/etc", "/home", "/root", "/tmp", "/usr", "/usr/bin", "/var", "/var/db", "/var/lib",
];

/// Mounted file systems that exist only while running (recreated at boot).
const VOLATILE_FS: &[&str] = &["tmpfs", "ramfs", "overlay", "squashfs", "erofs"];

/// A rule that covers a whole subtree.
#[derive(Clone, Copy)]
struct Region {
    class: Class,
    /// The rule at the top path (paths below get its [`ClassRule::inside`]).
    by: ClassRule,
    /// Reason for the region's top path.
    top: u32,
    /// Reason for paths below it.
    below: u32,
    /// Warning on the top path, or NONE.
    warning: u32,
}

/// Classifies every pair. Rules, in order: regions (persistent storage,
/// whitelisted paths, `/nix`), mount points, symlinks resolved inside ROOT
/// (recreated, into storage, or a store link nothing recreates), userborn's
/// password files, `/etc` declared by NixOS, regenerated artefacts, else
/// stray with the knowledge base's advice; then directories holding
/// persisted or Nix-managed paths become Nix-managed (they are recreated to
/// hold them). Service directories get their owner on the way. Subtrees are
/// classified in parallel (parts.rs); the result does not depend on the
/// number of threads.
pub fn classify(input: &ClassifyInput<'_>) -> Verdicts {
    let mut v = parts::classify_in_parts(input, parts::PART_SIZE);
    let _t = crate::timing::phase("hold rule");
    hold_rule(&mut v, input);
    v
}

mod parts;

/// What a pair hands down to its children: the region rule covering it,
/// its knowledge-base rule and its owner.
#[derive(Clone, Copy)]
struct Inherited {
    region: Option<Region>,
    rule: Option<RuleId>,
    owner: u32,
}

impl Inherited {
    /// What the top-level pairs inherit: nothing.
    const TOP: Inherited = Inherited {
        region: None,
        rule: None,
        owner: NONE,
    };
}

/// The rules applied to one pair at a time, with the tables they add to.
/// One judge classifies one part of the tree (parts.rs); its text and owner
/// ids are its own until the parts are merged.
struct Judge<'a> {
    input: &'a ClassifyInput<'a>,
    base_res: Option<&'a Resolver<'a>>,
    /// Interned texts (only `texts` and its index are used here).
    v: Verdicts,
    owners: crate::owners::Owners,
    owner_depth: usize,
    /// The text of each knowledge-base rule's reason, once interned.
    kb_reason: std::collections::HashMap<RuleId, u32>,
    no_rule: u32,
    cur_paths: PathCursor,
    base_paths: PathCursor,
    /// `/etc/static` resolved once in each tree (the `/etc` rule asks below it).
    etc_static: ResolvedDir,
    base_etc_static: Option<ResolvedDir>,
}

impl<'a> Judge<'a> {
    fn new(
        input: &'a ClassifyInput<'a>,
        base_res: Option<&'a Resolver<'a>>,
        mut v: Verdicts,
        owners: crate::owners::Owners,
    ) -> Judge<'a> {
        let no_rule = v.intern("no rule matched");
        Judge {
            input,
            base_res,
            v,
            owner_depth: owners.max_depth(),
            owners,
            kb_reason: std::collections::HashMap::new(),
            no_rule,
            cur_paths: PathCursor::default(),
            base_paths: PathCursor::default(),
            etc_static: input.cur.resolve_dir(b"/etc/static"),
            base_etc_static: base_res.map(|b| b.resolve_dir(b"/etc/static")),
        }
    }

    /// The verdict on pair `i`, given what its parent hands down, and what
    /// it hands down to its own children.
    fn judge(&mut self, i: usize, up: Inherited) -> (Verdict, Inherited) {
        let input = self.input;
        let p = input.pairs[i];
        let (res, k, path, etc_static) = match (self.base_res, p.cur, &self.base_etc_static) {
            (Some(b), NONE, Some(st)) => {
                let k = p.base as usize;
                (b, k, self.base_paths.path(b.tree(), k), st)
            }
            _ => {
                let k = p.cur as usize;
                let path = self.cur_paths.path(input.cur.tree(), k);
                (input.cur, k, path, &self.etc_static)
            }
        };
        let v = &mut self.v;
        let tree = res.tree();
        let e = &tree.entries[k];
        let own = region_of(v, input, path);
        let mut verdict = Verdict::stray(self.no_rule);
        let mut own_advice = None;
        if let Some(r) = own {
            verdict.class = r.class;
            verdict.reason = r.top;
            verdict.warning = r.warning;
            verdict.by = r.by;
        } else if let Some(r) = up.region {
            verdict.class = r.class;
            verdict.reason = r.below;
            verdict.by = r.by.inside();
        } else if let Some(found) = entry_rule(v, input, res, k, path, etc_static) {
            verdict.class = found.class;
            verdict.reason = found.reason;
            verdict.by = found.by;
            own_advice = found.advice;
        }
        // The owner: a unit naming this directory, else (for a service
        // directory) its owning user; below it, the parent's. Only shallow
        // paths are looked up: a unit's directories are a few levels deep.
        let owners = &mut self.owners;
        let mut owner_here = None;
        if (e.depth as usize) <= self.owner_depth && matches!(e.kind, Kind::Dir | Kind::Symlink) {
            owner_here = owners.of_dir(path);
            if owner_here.is_none() && up.owner == NONE {
                owner_here = owners.of_uid(path, e.uid);
            }
        }
        verdict.owner = owner_here.unwrap_or(up.owner);
        let mut rule = input
            .knowledge
            .lookup_child(up.rule, path, usize::from(e.depth));
        // A unit's state gets the rule keyed on that unit wherever its
        // StateDirectory= points, unless a pattern names this very path.
        if let Some(o) = owner_here.map(|id| owners.get(id))
            && o.state
            && let Some(unit_rule) = o.unit.as_deref().and_then(|u| input.knowledge.unit_rule(u))
            && rule.is_none_or(|r| input.knowledge.depth(r) != e.depth as usize)
        {
            rule = Some(unit_rule);
        }
        if verdict.class == Class::Stray {
            if let Some(id) = rule {
                let r = input.knowledge.rule(id);
                verdict.advice = Some(r.advice);
                verdict.advice_reason = match self.kb_reason.get(&id) {
                    Some(&t) => t,
                    None => {
                        let text = match &r.note {
                            Some(note) => format!("{} ({note})", r.reason),
                            None => r.reason.clone(),
                        };
                        let t = v.intern(&text);
                        self.kb_reason.insert(id, t);
                        t
                    }
                };
                verdict.rule = verdict.advice_reason;
            }
            if let Some((advice, text)) = own_advice {
                verdict.advice = Some(advice);
                verdict.advice_reason = text;
            }
            if let Some(ig) = &input.evidence.ignore {
                let is_dir = e.kind == Kind::Dir;
                let as_path = std::path::Path::new(std::ffi::OsStr::from_bytes(path));
                verdict.dismissed = ig.matched_path_or_any_parents(as_path, is_dir).is_ignore();
            }
        }
        let down = Inherited {
            region: own.or(up.region),
            rule,
            owner: verdict.owner,
        };
        (verdict, down)
    }
}

/// The warning on a whitelisted path nothing backs yet: what the next boot
/// does with the data on ROOT, by how the path is kept (a bind mount hides
/// it, a link replaces it) and whether storage already holds a copy.
fn not_backed_warning(
    ev: &crate::evidence::Evidence,
    path: &[u8],
    stored: Option<&[u8]>,
) -> String {
    let link = ev
        .listed
        .iter()
        .find(|l| l.path == path)
        .is_some_and(|l| l.by_symlink);
    let then = match (stored, link) {
        (Some(copy), _) => format!(
            "storage already holds a copy ({}), which the next boot {} here, and the wipe deletes this one (`darlings check` says whether they differ)",
            String::from_utf8_lossy(copy),
            if link { "links" } else { "mounts" },
        ),
        (None, true) => "this data sits on the root, the wipe deletes it and activation puts a \
                         link to storage in its place; move it to storage first"
            .to_string(),
        (None, false) => "this data sits on the root and will be hidden once the bind mount is \
                          made; move it to storage first"
            .to_string(),
    };
    format!("whitelisted but not backed by persistent storage yet: {then}")
}

/// The region rule whose top is exactly `path`, if any.
fn region_of(v: &mut Verdicts, input: &ClassifyInput<'_>, path: &[u8]) -> Option<Region> {
    let ev = input.evidence;
    if let Some(s) = ev.storage.iter().find(|s| s.as_slice() == path) {
        let s = String::from_utf8_lossy(s);
        return Some(Region {
            class: Class::Persisted,
            by: ClassRule::Storage,
            top: v.intern(&format!("persistent storage {s}")),
            below: v.intern(&format!("inside persistent storage {s}")),
            warning: NONE,
        });
    }
    if let Some(kept) = ev.kept.get(path) {
        let shown = String::from_utf8_lossy(path);
        return Some(match (&kept.live, &kept.listed) {
            (Some(live), _) => {
                let live = live.describe();
                Region {
                    class: Class::Persisted,
                    by: ClassRule::Kept,
                    top: v.intern(&live),
                    below: v.intern(&format!("inside {shown}, {live}")),
                    warning: NONE,
                }
            }
            (None, Some(listed)) => Region {
                class: Class::Persisted,
                by: ClassRule::Listed,
                top: v.intern(&format!("listed in {listed}")),
                below: v.intern(&format!(
                    "inside {shown}, listed in {listed} (not mounted yet)"
                )),
                warning: if kept.holds_nothing {
                    NONE
                } else {
                    v.intern(&not_backed_warning(ev, path, kept.stored.as_deref()))
                },
            },
            (None, None) => return None,
        });
    }
    if path == b"/nix" {
        return Some(Region {
            class: Class::NixManaged,
            by: ClassRule::Nix,
            top: v.intern(
                "/nix: the Nix store, database and profiles (kept on their own file system)",
            ),
            below: v.intern("under /nix: the Nix store, database and profiles"),
            warning: NONE,
        });
    }
    None
}

mod links;

/// What the rules about one entry found: its class and reason, and advice
/// of its own (a `result` link, userborn's files) beside the knowledge base's.
struct Found {
    class: Class,
    reason: u32,
    advice: Option<(Advice, u32)>,
    by: ClassRule,
}

impl Found {
    fn new(by: ClassRule, class: Class, reason: u32) -> Option<Found> {
        Some(Found {
            class,
            reason,
            advice: None,
            by,
        })
    }
}

/// The rules that look at one entry (not a whole subtree).
fn entry_rule(
    v: &mut Verdicts,
    input: &ClassifyInput<'_>,
    res: &Resolver<'_>,
    k: usize,
    path: &[u8],
    etc_static: &ResolvedDir,
) -> Option<Found> {
    let tree = res.tree();
    let e = &tree.entries[k];
    if e.is_mount {
        let m = tree.mount(k);
        let fstype = m.map_or("unknown", |m| m.fstype.as_str());
        let source = m.map_or("", |m| m.source.as_str());
        return if crate::mountinfo::PSEUDO_FS.contains(&fstype) || VOLATILE_FS.contains(&fstype) {
            Found::new(
                ClassRule::VolatileMount,
                Class::NixManaged,
                v.intern(&format!("{fstype} mount, recreated at boot")),
            )
        } else {
            Found::new(
                ClassRule::SeparateFs,
                Class::Persisted,
                v.intern(&format!(
                    "separate file system ({fstype} {source}), not wiped with the root"
                )),
            )
        };
    }
    if e.kind == Kind::Symlink {
        if let Some(found) = links::link_rule(v, input, res, (k, path), etc_static) {
            return Some(found);
        }
    } else if let Some(ub) = &input.evidence.userborn
        && ub.keeps(path)
    {
        // userborn's password files are its only record of the ids it gave.
        let reason = v.intern(&format!(
            "userborn keeps the uids and gids it allocated in this file ({})",
            ub.evidence
        ));
        let advice = v.intern(
            "userborn's record of allocated uids and gids: without it users and groups get new \
             ids and lose their files; set services.userborn.passwordFilesLocation to a directory \
             in persistent storage (or persist the file)",
        );
        return Some(Found {
            class: Class::Stray,
            reason,
            advice: Some((Advice::Persist, advice)),
            by: ClassRule::Userborn,
        });
    }
    if let Some(found) = etc_rule(v, input, res, path, etc_static) {
        return Some(found);
    }
    // The fixed lists name paths at most two levels deep.
    if e.depth > 2 {
        return None;
    }
    if let Some((p, why)) = REGENERATED.iter().find(|(p, _)| p.as_bytes() == path) {
        // The account files are only regenerated without mutable users; the
        // root's generation says which (evidence/accounts.rs). Without one
        // that says so (a root mounted without its /nix), NixOS's default
        // holds: mutable, and what `passwd` changed would be lost.
        if crate::evidence::accounts::FILES.contains(p) {
            let Some(acc) = &input.evidence.accounts else {
                return Found::new(
                    ClassRule::MutableAccounts,
                    Class::Stray,
                    v.intern(
                        "activation merges users.users into this file and keeps the rest unless users.mutableUsers = false, and no users-groups.json of the root's generation says so (NixOS's default is true): what passwd, useradd or chsh changed lives only here",
                    ),
                );
            };
            return if acc.mutable {
                Found::new(
                    ClassRule::MutableAccounts,
                    Class::Stray,
                    v.intern(&format!(
                        "activation merges users.users into this file and keeps the rest: what passwd, useradd or chsh changed lives only here ({})",
                        acc.evidence
                    )),
                )
            } else {
                Found::new(
                    ClassRule::Regenerated,
                    Class::NixManaged,
                    v.intern(&format!(
                        "rewritten by activation from users.users ({})",
                        acc.evidence
                    )),
                )
            };
        }
        return Found::new(ClassRule::Regenerated, Class::NixManaged, v.intern(why));
    }
    if e.kind == Kind::Dir && BOOT_DIRS.iter().any(|d| d.as_bytes() == path) {
        return Found::new(
            ClassRule::BootDir,
            Class::NixManaged,
            v.intern("directory created at every boot; what is inside is classified on its own"),
        );
    }
    None
}

/// `/etc/REL` declared by NixOS: copied by activation (`/etc/.clean`), or
/// present in this generation's `/etc/static`.
fn etc_rule(
    v: &mut Verdicts,
    input: &ClassifyInput<'_>,
    res: &Resolver<'_>,
    path: &[u8],
    etc_static: &ResolvedDir,
) -> Option<Found> {
    let rel = path.strip_prefix(b"/etc/")?;
    if rel == b"static" {
        return None;
    }
    if input.evidence.etc_clean.contains(path) {
        return Found::new(
            ClassRule::EtcClean,
            Class::NixManaged,
            v.intern("copied into /etc by activation, listed in /etc/.clean"),
        );
    }
    // `/etc/static/REL`, from `/etc/static` resolved once.
    if res.resolve_below(etc_static, rel).ending == Ending::Exists {
        return Found::new(
            ClassRule::EtcStatic,
            Class::NixManaged,
            v.intern("declared in environment.etc (/etc/static has it)"),
        );
    }
    None
}

/// A stray directory that holds persisted or Nix-managed paths is recreated
/// to hold them: it is Nix-managed, and only its stray content is at stake.
fn hold_rule(v: &mut Verdicts, input: &ClassifyInput<'_>) {
    let n = input.pairs.len();
    let mut holds = vec![false; n];
    let reason = v.intern("holds persisted or Nix-managed paths, so it is recreated to hold them");
    for i in (0..n).rev() {
        if !input.present[i] {
            continue;
        }
        let verdict = &mut v.verdicts[i];
        if holds[i] && verdict.class == Class::Stray {
            let (tree, k) = if input.pairs[i].cur != NONE {
                (input.cur.tree(), input.pairs[i].cur as usize)
            } else {
                continue;
            };
            if tree.entries[k].kind == Kind::Dir {
                verdict.class = Class::NixManaged;
                verdict.reason = reason;
                verdict.by = ClassRule::Holds;
                verdict.advice = None;
                verdict.advice_reason = NONE;
                verdict.dismissed = false;
            }
        }
        let kept = verdict.class != Class::Stray || holds[i];
        let q = input.parent[i];
        if kept && q != NONE {
            holds[q as usize] = true;
        }
    }
}
