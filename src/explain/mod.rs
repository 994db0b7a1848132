//! `darlings explain PATH`: everything behind one path's verdict, gathered
//! from an [`Audit`] that already ran (docs/explain.md). Nothing here
//! classifies again: the class, reason and advice are the audit's own, the
//! rule that decided them is the one classification recorded
//! ([`crate::classify::ClassRule`]), and the evidence is read back from what
//! classification read (the configuration entries, the live backing, the
//! mount, the symlink chain inside ROOT, `/etc/static`). Pure: it reads no
//! file, so the TUI can explain the selected path too.
//!
//! - `facts`: the evidence behind the rule that decided the class ([`Fact`]s).
//! - [`render`]: the text for people and the `darlings-explain/1` JSON.

mod facts;
pub mod render;

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::audit::Audit;
use crate::check::{Checked, ConfigFile, Finding, Skipped};
use crate::classify::{Advice, Class, ClassRule};
use crate::diff::{Change, What};
use crate::knowledge::Rule;
use crate::owners::Owner;
use crate::paths::is_under;
use crate::resolve::{Ending, Hop};
use crate::scan::{Kind, NONE, Tree};
use crate::users::Users;
use crate::{Error, Result};

/// The schema identifier of `darlings explain --json`.
pub const SCHEMA: &str = "darlings-explain/1";

/// What explaining reads besides the audit.
pub struct Input<'a> {
    /// The audit of ROOT.
    pub audit: &'a Audit,
    /// The whitelist check of the same audit, when it ran.
    pub checked: Option<&'a Checked>,
    /// The `--persistence` files as read (for each entry's file and location).
    pub config: &'a [ConfigFile],
    /// ROOT's accounts, for owner and group names.
    pub users: &'a Users,
    /// The `--ignore` file and its text as read (to name the line of the
    /// rule that dismissed a path); `None` without `--ignore`.
    pub ignore: Option<(&'a Path, &'a str)>,
}

/// The `--ignore` rule that dismissed a path: the last rule matching it or
/// one of its directories, as gitignore decides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IgnoreRule {
    /// The ignore file.
    pub file: Option<PathBuf>,
    /// Its line (from 1), when the file still holds the rule (the TUI's
    /// dismissals of this session are not read back).
    pub line: Option<usize>,
    /// The rule as written (`/var/cache/`, `*.tmp`).
    pub pattern: String,
}

/// The rule of the audit's ignore rules that matches pair `i`, with its
/// place in `input.ignore`.
fn ignore_rule(input: &Input<'_>, path: &[u8], is_dir: bool) -> Option<IgnoreRule> {
    let rules = input.audit.evidence().ignore.as_ref()?;
    let as_path = Path::new(std::ffi::OsStr::from_bytes(path));
    let ignore::Match::Ignore(glob) = rules.matched_path_or_any_parents(as_path, is_dir) else {
        return None;
    };
    let pattern = glob.original().to_string();
    // The parser drops trailing spaces and comment lines; of identical
    // rules the last one decides (gitignore's order).
    let line = input.ignore.and_then(|(_, text)| {
        text.lines()
            .enumerate()
            .filter(|(_, l)| !l.starts_with('#'))
            .filter(|(_, l)| {
                l.strip_prefix(pattern.as_str())
                    .is_some_and(|rest| rest.bytes().all(|b| b == b' '))
            })
            .map(|(n, _)| n + 1)
            .last()
    });
    Some(IgnoreRule {
        file: input.ignore.map(|(f, _)| f.to_path_buf()),
        line,
        pattern,
    })
}

/// The metadata of one entry, as the report lists it, with names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryFacts {
    /// The kind.
    pub kind: Kind,
    /// Bytes (for a symlink, the length of its text).
    pub size: u64,
    /// Permission bits.
    pub mode: u16,
    /// Owner id as stored.
    pub uid: u32,
    /// Group id as stored.
    pub gid: u32,
    /// The owner's name in ROOT's `/etc/passwd` (the number when unknown).
    pub user: String,
    /// The group's name in ROOT's `/etc/group` (the number when unknown).
    pub group: String,
    /// Modification time, ns since the epoch.
    pub mtime_ns: i64,
    /// A symlink's text, as stored.
    pub target: Option<Vec<u8>>,
    /// The BLAKE3 of the content, when it was hashed.
    pub blake3: Option<[u8; 32]>,
    /// The mount met at this path: (fstype, source).
    pub mount: Option<(String, String)>,
}

impl EntryFacts {
    fn of(tree: &Tree, k: usize, users: &Users) -> EntryFacts {
        let e = &tree.entries[k];
        EntryFacts {
            kind: e.kind,
            size: e.size,
            mode: e.mode,
            uid: e.uid,
            gid: e.gid,
            user: users.user(e.uid),
            group: users.group(e.gid),
            mtime_ns: e.mtime_ns,
            target: tree.target(k).map(<[u8]>::to_vec),
            blake3: tree.hash(k).copied(),
            mount: tree.mount(k).map(|m| (m.fstype.clone(), m.source.clone())),
        }
    }
}

/// One fact behind the rule that decided the class.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fact {
    /// A persistent storage root (the path is it, or lies inside it).
    StorageRoot {
        /// The storage root (in-root path).
        path: Vec<u8>,
    },
    /// An entry of the whitelist that lists the kept path: from a
    /// `--persistence` file, or what the live system shows (a mount unit, a
    /// tmpfiles rule: no file then).
    ConfigEntry {
        /// The kept path the entry names.
        path: Vec<u8>,
        /// The `--persistence` file (`None` for the live system's listings).
        file: Option<PathBuf>,
        /// The option path in the file (`environment.persistence."/persist".files[0]`).
        location: Option<String>,
        /// Both in words, as the reasons say it.
        origin: String,
        /// The storage root it names, when it does.
        storage: Option<Vec<u8>>,
        /// Where its data lives in storage, when the listing says.
        source: Option<Vec<u8>>,
        /// Kept by a symlink into storage (else a bind mount), when known.
        symlink: Option<bool>,
        /// A file entry (else a directory), when known.
        is_file: Option<bool>,
    },
    /// How the live system backs the kept path.
    Backing {
        /// The kept path.
        path: Vec<u8>,
        /// Where its data lives (in-root path).
        source: Vec<u8>,
        /// A symlink into storage (else a bind mount from it).
        link: bool,
    },
    /// The mount at a path, as `/proc/self/mountinfo` gave it during the scan.
    Mount {
        /// The mount point (in-root path).
        path: Vec<u8>,
        /// The file system type.
        fstype: String,
        /// The mount source (device, or the bind source's file system).
        source: String,
        /// The directory of the source file system mounted here (a bind mount's origin).
        fs_root: Vec<u8>,
        /// The device, major and minor.
        dev: (u32, u32),
    },
    /// A symlink followed hop by hop inside ROOT (never the host's).
    Chain {
        /// The symlink.
        path: Vec<u8>,
        /// Each link's text and where it lands.
        hops: Vec<Hop>,
        /// How the chain ended.
        ending: Ending,
        /// The path it resolves to.
        resolved: Vec<u8>,
    },
    /// This generation's `/etc/static` entry for an `/etc` path.
    EtcStatic {
        /// `/etc/static/REL`.
        path: Vec<u8>,
        /// Whether it exists (inside ROOT, through `/etc/static`'s link).
        exists: bool,
        /// Where it resolves to (in the Nix store).
        resolved: Vec<u8>,
    },
    /// The line of `/etc/.clean` that lists the path.
    EtcClean {
        /// The line (the path relative to `/etc`).
        line: Vec<u8>,
    },
    /// A systemd-tmpfiles `L` rule that makes this link at every boot.
    Tmpfiles {
        /// The tmpfiles.d file holding the rule.
        file: String,
    },
    /// The `DynamicUser=` unit whose start makes this link.
    DynamicUser {
        /// The unit.
        unit: String,
    },
    /// userborn keeps its allocated ids in this file.
    Userborn {
        /// userborn's location for the files (in-root path).
        location: Vec<u8>,
        /// How darlings knows.
        evidence: String,
    },
    /// The kept paths a directory holds (what makes it recreated).
    Holds {
        /// Its direct children that are persisted, Nix-managed or hold such (the first few).
        paths: Vec<(Vec<u8>, Class)>,
        /// How many there are.
        count: usize,
    },
}

/// The knowledge-base rule a path falls under.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KnowledgeFacts {
    /// The rule as the catalogue has it.
    pub rule: Rule,
    /// Whether its advice is the path's (a stray path without advice of its own).
    pub applies: bool,
}

/// Where the advice of a stray path comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdviceFrom {
    /// The knowledge-base rule the path falls under.
    Knowledge,
    /// The classification rule itself (a `result` link, userborn's files).
    ClassRule,
}

impl AdviceFrom {
    /// The JSON spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            AdviceFrom::Knowledge => "knowledge-base",
            AdviceFrom::ClassRule => "class-rule",
        }
    }
}

/// A suggestion of the audit, as explain shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SuggestionFacts {
    /// The suggested path.
    pub path: Vec<u8>,
    /// Its kind.
    pub kind: Kind,
    /// Entries it covers.
    pub entries: u64,
    /// Bytes of regular files it covers.
    pub bytes: u64,
    /// Its advice.
    pub advice: Option<Advice>,
    /// Why (the advice's reason, else the class reason).
    pub reason: String,
}

/// Everything behind one path's verdict (docs/explain.md), in the order it is told.
#[derive(Clone, Debug)]
pub struct Explanation {
    /// The in-root path.
    pub path: Vec<u8>,
    /// Its pair in the audit.
    pub pair: usize,
    /// The path exists on ROOT (else it is only in the baseline).
    pub on_root: bool,
    /// The entry: ROOT's, or the baseline's for a removed path.
    pub entry: EntryFacts,
    /// The change against the baseline.
    pub change: Change,
    /// What differs, for a modified path.
    pub what: What,
    /// The baseline's entry, when the baseline has the path and ROOT does too.
    pub before: Option<EntryFacts>,
    /// The class, as the report gives it.
    pub class: Class,
    /// The reason, as the report gives it.
    pub reason: String,
    /// The warning, as the report gives it.
    pub warning: Option<String>,
    /// Accepted as lost by the `--ignore` rules.
    pub dismissed: bool,
    /// The `--ignore` rule that dismissed it.
    pub ignore_rule: Option<IgnoreRule>,
    /// The rule that decided the class.
    pub rule: ClassRule,
    /// For a rule inherited from an ancestor: the ancestor where it applies.
    pub rule_at: Option<Vec<u8>>,
    /// The evidence behind the rule, in the order it is told.
    pub facts: Vec<Fact>,
    /// The knowledge-base rule the path falls under, whatever its class.
    pub knowledge: Option<KnowledgeFacts>,
    /// The advice, as the report gives it.
    pub advice: Option<Advice>,
    /// The advice's reason, as the report gives it.
    pub advice_reason: Option<String>,
    /// Where the advice comes from.
    pub advice_from: Option<AdviceFrom>,
    /// Who keeps state there.
    pub owner: Option<Owner>,
    /// The check's findings on the path or on a path containing it.
    pub findings: Vec<Finding>,
    /// The check's findings on paths inside it.
    pub findings_below: Vec<Finding>,
    /// The kinds of findings the check could not look for, and why.
    pub findings_skipped: Vec<Skipped>,
    /// The suggestion covering the path.
    pub suggestion: Option<SuggestionFacts>,
    /// The suggestions inside it (for a directory not suggested as a whole).
    pub suggestions_below: Vec<SuggestionFacts>,
    /// Why a stray path is not suggested, when it is not.
    pub not_suggested: Option<&'static str>,
}

/// Checks PATH as given on the command line: absolute, without `..`, not
/// ROOT itself. Returns it normalised (`//`, `.` and a trailing `/` dropped).
pub fn parse_path(path: &Path) -> Result<Vec<u8>> {
    let bytes = path.as_os_str().as_bytes();
    let shown = crate::text::escape_bytes(bytes);
    if !bytes.starts_with(b"/") {
        return Err(Error::Usage(format!(
            "'{shown}' is relative: give the path as seen inside ROOT, starting with '/' (/{shown})"
        )));
    }
    if crate::paths::components(bytes).any(|c| c == b"..") {
        return Err(Error::Usage(format!(
            "'{shown}' contains '..': give the path without it (a '..' after a symlink \
             leads elsewhere than it reads)"
        )));
    }
    let p = crate::paths::normalize(bytes);
    if p == b"/" {
        return Err(Error::Usage(
            "'/' is ROOT itself, which has no verdict: name a path inside it".into(),
        ));
    }
    Ok(p)
}

/// The pair of the in-root `path`, or a message saying how far the scan
/// got and why it has no such entry.
pub fn find(audit: &Audit, path: &[u8]) -> Result<usize> {
    let merge = audit.merge();
    let mut parent = None;
    let mut walked: Vec<u8> = Vec::new();
    for name in crate::paths::components(path) {
        let hit = merge.children(parent).find(|&c| {
            let (t, k) = audit.entry(c);
            t.name(k) == name
        });
        let Some(i) = hit else {
            return Err(Error::Usage(not_found(audit, path, parent, &walked, name)));
        };
        walked.push(b'/');
        walked.extend_from_slice(name);
        parent = Some(i);
    }
    parent.ok_or_else(|| Error::Usage("'/' is ROOT itself, which has no verdict".into()))
}

/// The message for a path the audit does not have.
fn not_found(
    audit: &Audit,
    path: &[u8],
    parent: Option<usize>,
    walked: &[u8],
    name: &[u8],
) -> String {
    let root = crate::text::quote_path(&audit.cur().root);
    let shown = crate::text::escape_bytes(path);
    let mut msg = format!("'{shown}' is not in ROOT '{root}'");
    let dir = if walked.is_empty() { b"/" } else { walked };
    match parent {
        None => msg.push_str(&format!(
            ": ROOT has no entry '{}'",
            crate::text::escape_bytes(name)
        )),
        Some(i) => {
            let (t, k) = audit.entry(i);
            let e = &t.entries[k];
            msg.push_str(&format!(
                ": '{}' has no entry '{}'",
                crate::text::escape_bytes(dir),
                crate::text::escape_bytes(name)
            ));
            if e.kind == Kind::Symlink {
                msg.push_str(&format!(
                    " ('{}' is a symlink; explain names a path as it is, links not followed: \
                     explain the link, or the path it leads to)",
                    crate::text::escape_bytes(dir)
                ));
            } else if e.is_mount && t.children(Some(k)).next().is_none() {
                msg.push_str(&format!(
                    " ('{}' is the mount point of another file system, which the scan does not enter)",
                    crate::text::escape_bytes(dir)
                ));
            } else if e.kind != Kind::Dir {
                msg.push_str(&format!(
                    " ('{}' is a {}, not a directory)",
                    crate::text::escape_bytes(dir),
                    e.kind.as_str()
                ));
            }
        }
    }
    if let Some(err) = audit.errors().iter().find(|e| is_under(path, &e.path)) {
        msg.push_str(&format!(
            "; the scan could not read '{}': {}",
            crate::text::escape_bytes(&err.path),
            err.error
        ));
    }
    // A host path given with ROOT in front: say the in-root one.
    let root_bytes = audit.cur().root.as_os_str().as_bytes();
    if root_bytes != b"/"
        && let Some(rest) = path.strip_prefix(root_bytes.strip_suffix(b"/").unwrap_or(root_bytes))
        && rest.starts_with(b"/")
    {
        msg.push_str(&format!(
            "; PATH is read inside ROOT: did you mean '{}'?",
            crate::text::escape_bytes(rest)
        ));
    }
    msg
}

/// Explains pair `i` (found with [`find`]).
pub fn explain(input: &Input<'_>, i: usize) -> Explanation {
    let audit = input.audit;
    let path = audit.path(i);
    let (tree, k) = audit.entry(i);
    let on_root = audit.on_root(i);
    let (change, what) = audit.change(i);
    let v = *audit.verdict(i);
    let before = match (on_root, audit.base(), audit.merge().pairs()[i].base) {
        (true, Some(b), base) if base != NONE => {
            Some(EntryFacts::of(b, base as usize, input.users))
        }
        _ => None,
    };
    let rule_at = v.by.covered_by().and_then(|top| {
        ancestors(audit, i)
            .find(|&a| audit.verdict(a).by == top)
            .map(|a| audit.path(a))
    });
    let facts = facts::facts(input, i, &path, v.by, rule_at.as_deref());
    let kb = audit.kb_rule(i).cloned();
    let own_advice = v.advice.is_some() && v.advice_reason != v.rule;
    let knowledge = kb.map(|rule| KnowledgeFacts {
        rule,
        applies: v.class == Class::Stray && !own_advice && v.advice.is_some(),
    });
    let advice_from = v.advice.map(|_| {
        if own_advice {
            AdviceFrom::ClassRule
        } else {
            AdviceFrom::Knowledge
        }
    });
    let (findings, findings_below) = match input.checked {
        Some(c) => (
            c.findings
                .iter()
                .filter(|f| is_under(&path, &f.path))
                .cloned()
                .collect(),
            c.findings
                .iter()
                .filter(|f| f.path != path && is_under(&f.path, &path))
                .cloned()
                .collect(),
        ),
        None => (Vec::new(), Vec::new()),
    };
    let mut suggestion = None;
    let mut suggestions_below = Vec::new();
    for s in crate::suggest::suggestions(audit) {
        let at = audit.path(s.pair);
        if is_under(&path, &at) {
            suggestion = Some(suggestion_facts(audit, s, at));
        } else if is_under(&at, &path) {
            suggestions_below.push(suggestion_facts(audit, s, at));
        }
    }
    let not_suggested = (v.class == Class::Stray && suggestion.is_none()).then(|| {
        if v.dismissed {
            "dismissed by the --ignore rules: accepted as lost"
        } else if change == Change::Removed {
            "removed: it is only in the baseline, there is nothing left to keep"
        } else if change == Change::Unchanged {
            "unchanged against the baseline: only added and modified paths are suggested"
        } else if tree.entries[k].kind == Kind::Dir {
            "not everything below it is lost under one knowledge-base rule (some of it is \
             unchanged, dismissed, kept or advised otherwise): the paths below are suggested \
             on their own"
        } else {
            "no suggestion covers it"
        }
    });
    let ignore_rule = if v.dismissed {
        ignore_rule(input, &path, tree.entries[k].kind == Kind::Dir)
    } else {
        None
    };
    Explanation {
        entry: EntryFacts::of(tree, k, input.users),
        path,
        pair: i,
        on_root,
        change,
        what,
        before,
        class: v.class,
        reason: audit.text(v.reason).unwrap_or("").to_string(),
        warning: audit.text(v.warning).map(str::to_string),
        dismissed: v.dismissed,
        ignore_rule,
        rule: v.by,
        rule_at,
        facts,
        knowledge,
        advice: v.advice,
        advice_reason: audit.text(v.advice_reason).map(str::to_string),
        advice_from,
        owner: audit.owner(i).cloned(),
        findings,
        findings_below,
        findings_skipped: input.checked.map(|c| c.skipped.clone()).unwrap_or_default(),
        suggestion,
        suggestions_below,
        not_suggested,
    }
}

/// The ancestors of pair `i`, nearest first.
fn ancestors(audit: &Audit, i: usize) -> impl Iterator<Item = usize> + '_ {
    std::iter::successors(audit.merge().parent(i), |&a| audit.merge().parent(a))
}

fn suggestion_facts(
    audit: &Audit,
    s: crate::suggest::Suggestion,
    path: Vec<u8>,
) -> SuggestionFacts {
    let (t, k) = audit.entry(s.pair);
    let v = audit.verdict(s.pair);
    SuggestionFacts {
        path,
        kind: t.entries[k].kind,
        entries: s.entries,
        bytes: s.bytes,
        advice: v.advice,
        // As the report's suggestion says it.
        reason: audit
            .text(v.advice_reason)
            .or(audit.text(v.reason))
            .unwrap_or("")
            .to_string(),
    }
}
