//! An [`Explanation`] for people (one block per step, names escaped) and for
//! programs (`darlings-explain/1`, one object, field names as in
//! docs/report-schema.md; docs/explain.md lists them).

use std::io::Write;

use serde::Serialize;

use super::{EntryFacts, Explanation, Fact, SCHEMA, SuggestionFacts};
use crate::audit::Audit;
use crate::check::render::FindingJson;
use crate::diff::{Change, What};
use crate::json::{text_and_b64, to_json};
use crate::resolve::Ending;
use crate::scan::hash::to_hex;
use crate::text::{escape_bytes, escape_message, human_bytes, rfc3339};

fn ending_str(e: Ending) -> &'static str {
    match e {
        Ending::Exists => "exists",
        Ending::Missing => "missing",
        Ending::Loop => "loop",
    }
}

#[derive(Serialize)]
struct Doc<'a> {
    schema: &'static str,
    generator: String,
    root: String,
    baseline: BaselineJson,
    path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    path_b64: Option<String>,
    on_root: bool,
    #[serde(flatten)]
    entry: EntryJson,
    change: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    what: Option<Vec<&'static str>>,
    before: Option<EntryJson>,
    class: &'static str,
    reason: &'a str,
    warning: Option<&'a str>,
    dismissed: bool,
    rule: RuleJson,
    knowledge: Option<KnowledgeJson<'a>>,
    advice: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    advice_reason: Option<&'a str>,
    advice_from: Option<&'static str>,
    owner: Option<OwnerJson<'a>>,
    findings: Vec<FindingJson>,
    findings_below: Vec<FindingJson>,
    findings_skipped: Vec<SkippedJson<'a>>,
    suggestion: Option<SuggestionJson<'a>>,
    suggestions_below: Vec<SuggestionJson<'a>>,
    not_suggested: Option<&'static str>,
}

#[derive(Serialize)]
struct BaselineJson {
    kind: &'static str,
    path: Option<String>,
}

/// The entry fields of the report (docs/report-schema.md), with names.
#[derive(Serialize)]
struct EntryJson {
    kind: &'static str,
    size: u64,
    mode: String,
    uid: u32,
    gid: u32,
    user: String,
    group: String,
    mtime: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    target: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    target_b64: Option<String>,
    blake3: Option<String>,
    mount: Option<MountJson>,
}

#[derive(Serialize)]
struct MountJson {
    fstype: String,
    source: String,
}

impl EntryJson {
    fn of(e: &EntryFacts) -> EntryJson {
        let (target, target_b64) = match &e.target {
            Some(t) => {
                let (s, b) = text_and_b64(t);
                (Some(s), b)
            }
            None => (None, None),
        };
        EntryJson {
            kind: e.kind.as_str(),
            size: e.size,
            mode: format!("{:04o}", e.mode),
            uid: e.uid,
            gid: e.gid,
            user: e.user.clone(),
            group: e.group.clone(),
            mtime: rfc3339(e.mtime_ns),
            target,
            target_b64,
            blake3: e.blake3.as_ref().map(to_hex),
            mount: e.mount.as_ref().map(|(fstype, source)| MountJson {
                fstype: fstype.clone(),
                source: source.clone(),
            }),
        }
    }
}

#[derive(Serialize)]
struct RuleJson {
    name: &'static str,
    description: &'static str,
    at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    at_b64: Option<String>,
    evidence: Vec<FactJson>,
}

/// A path as the pair of fields JSON gives every path.
#[derive(Serialize)]
struct PathJson {
    path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    path_b64: Option<String>,
}

impl PathJson {
    fn of(p: &[u8]) -> PathJson {
        let (path, path_b64) = text_and_b64(p);
        PathJson { path, path_b64 }
    }
}

#[derive(Serialize)]
struct HopJson {
    text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    text_b64: Option<String>,
    lands: Option<String>,
}

#[derive(Serialize)]
struct HeldJson {
    #[serde(flatten)]
    path: PathJson,
    class: &'static str,
}

#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
enum FactJson {
    StorageRoot {
        #[serde(flatten)]
        path: PathJson,
    },
    ConfigEntry {
        #[serde(flatten)]
        path: PathJson,
        file: Option<String>,
        location: Option<String>,
        origin: String,
        storage: Option<String>,
        source: Option<String>,
        how: Option<&'static str>,
        is_file: Option<bool>,
    },
    Backing {
        #[serde(flatten)]
        path: PathJson,
        how: &'static str,
        source: String,
    },
    Mount {
        #[serde(flatten)]
        path: PathJson,
        fstype: String,
        source: String,
        fs_root: String,
        dev: String,
    },
    SymlinkChain {
        #[serde(flatten)]
        path: PathJson,
        hops: Vec<HopJson>,
        ending: &'static str,
        resolved: String,
    },
    EtcStatic {
        #[serde(flatten)]
        path: PathJson,
        exists: bool,
        resolved: String,
    },
    EtcClean {
        file: &'static str,
        line: String,
    },
    Tmpfiles {
        file: String,
    },
    DynamicUser {
        unit: String,
    },
    Userborn {
        location: String,
        evidence: String,
    },
    Holds {
        paths: Vec<HeldJson>,
        count: usize,
    },
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

impl FactJson {
    fn of(f: &Fact) -> FactJson {
        match f {
            Fact::StorageRoot { path } => FactJson::StorageRoot {
                path: PathJson::of(path),
            },
            Fact::ConfigEntry {
                path,
                file,
                location,
                origin,
                storage,
                source,
                symlink,
                is_file,
            } => FactJson::ConfigEntry {
                path: PathJson::of(path),
                file: file.as_ref().map(|p| p.to_string_lossy().into_owned()),
                location: location.clone(),
                origin: origin.clone(),
                storage: storage.as_deref().map(lossy),
                source: source.as_deref().map(lossy),
                how: symlink.map(|s| if s { "symlink" } else { "bind-mount" }),
                is_file: *is_file,
            },
            Fact::Backing { path, source, link } => FactJson::Backing {
                path: PathJson::of(path),
                how: if *link { "symlink" } else { "bind-mount" },
                source: lossy(source),
            },
            Fact::Mount {
                path,
                fstype,
                source,
                fs_root,
                dev,
            } => FactJson::Mount {
                path: PathJson::of(path),
                fstype: fstype.clone(),
                source: source.clone(),
                fs_root: lossy(fs_root),
                dev: format!("{}:{}", dev.0, dev.1),
            },
            Fact::Chain {
                path,
                hops,
                ending,
                resolved,
            } => FactJson::SymlinkChain {
                path: PathJson::of(path),
                hops: hops
                    .iter()
                    .map(|h| {
                        let (text, text_b64) = text_and_b64(&h.text);
                        HopJson {
                            text,
                            text_b64,
                            lands: h.lands.as_deref().map(lossy),
                        }
                    })
                    .collect(),
                ending: ending_str(*ending),
                resolved: lossy(resolved),
            },
            Fact::EtcStatic {
                path,
                exists,
                resolved,
            } => FactJson::EtcStatic {
                path: PathJson::of(path),
                exists: *exists,
                resolved: lossy(resolved),
            },
            Fact::EtcClean { line } => FactJson::EtcClean {
                file: "/etc/.clean",
                line: lossy(line),
            },
            Fact::Tmpfiles { file } => FactJson::Tmpfiles { file: file.clone() },
            Fact::DynamicUser { unit } => FactJson::DynamicUser { unit: unit.clone() },
            Fact::Userborn { location, evidence } => FactJson::Userborn {
                location: lossy(location),
                evidence: evidence.clone(),
            },
            Fact::Holds { paths, count } => FactJson::Holds {
                paths: paths
                    .iter()
                    .map(|(p, c)| HeldJson {
                        path: PathJson::of(p),
                        class: c.as_str(),
                    })
                    .collect(),
                count: *count,
            },
        }
    }
}

/// A kind of finding the check could not look for (as the report's `findings_skipped`).
#[derive(Serialize)]
struct SkippedJson<'a> {
    kind: &'static str,
    reason: &'a str,
}

#[derive(Serialize)]
struct KnowledgeJson<'a> {
    pattern: &'a str,
    unit: Option<&'a str>,
    advice: &'static str,
    reason: &'a str,
    note: Option<&'a str>,
    source: &'a [String],
    applies: bool,
}

#[derive(Serialize)]
struct OwnerJson<'a> {
    unit: Option<&'a str>,
    units: &'a [String],
    user: Option<&'a str>,
    evidence: &'a str,
    state: bool,
}

#[derive(Serialize)]
struct SuggestionJson<'a> {
    path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    path_b64: Option<String>,
    kind: &'static str,
    entries: u64,
    bytes: u64,
    advice: Option<&'static str>,
    reason: &'a str,
}

impl<'a> SuggestionJson<'a> {
    fn of(s: &'a SuggestionFacts) -> SuggestionJson<'a> {
        let (path, path_b64) = text_and_b64(&s.path);
        SuggestionJson {
            path,
            path_b64,
            kind: s.kind.as_str(),
            entries: s.entries,
            bytes: s.bytes,
            advice: s.advice.map(|a| a.as_str()),
            reason: &s.reason,
        }
    }
}

/// Writes `darlings-explain/1` (one line).
pub fn write_json(audit: &Audit, x: &Explanation, w: &mut dyn Write) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let (path, path_b64) = text_and_b64(&x.path);
    let (at, at_b64) = match &x.rule_at {
        Some(p) => {
            let (s, b) = text_and_b64(p);
            (Some(s), b)
        }
        None => (None, None),
    };
    let doc = Doc {
        schema: SCHEMA,
        generator: format!("darlings {}", env!("CARGO_PKG_VERSION")),
        root: text_and_b64(audit.cur().root.as_os_str().as_bytes()).0,
        baseline: BaselineJson {
            kind: audit.baseline().kind(),
            path: audit
                .baseline()
                .path()
                .map(|p| p.to_string_lossy().into_owned()),
        },
        path,
        path_b64,
        on_root: x.on_root,
        entry: EntryJson::of(&x.entry),
        change: x.change.as_str(),
        what: (x.change == Change::Modified).then(|| x.what.names().collect()),
        before: x.before.as_ref().map(EntryJson::of),
        class: x.class.as_str(),
        reason: &x.reason,
        warning: x.warning.as_deref(),
        dismissed: x.dismissed,
        rule: RuleJson {
            name: x.rule.as_str(),
            description: x.rule.describe(),
            at,
            at_b64,
            evidence: x.facts.iter().map(FactJson::of).collect(),
        },
        knowledge: x.knowledge.as_ref().map(|k| KnowledgeJson {
            pattern: &k.rule.pattern,
            unit: k.rule.unit.as_deref(),
            advice: k.rule.advice.as_str(),
            reason: &k.rule.reason,
            note: k.rule.note.as_deref(),
            source: &k.rule.source,
            applies: k.applies,
        }),
        advice: x.advice.map(|a| a.as_str()),
        advice_reason: x.advice_reason.as_deref(),
        advice_from: x.advice_from.map(|a| a.as_str()),
        owner: x.owner.as_ref().map(|o| OwnerJson {
            unit: o.unit.as_deref(),
            units: &o.units,
            user: o.user.as_deref(),
            evidence: &o.evidence,
            state: o.state,
        }),
        findings: x.findings.iter().map(FindingJson::of).collect(),
        findings_below: x.findings_below.iter().map(FindingJson::of).collect(),
        findings_skipped: x
            .findings_skipped
            .iter()
            .map(|k| SkippedJson {
                kind: k.kind.as_str(),
                reason: &k.reason,
            })
            .collect(),
        suggestion: x.suggestion.as_ref().map(SuggestionJson::of),
        suggestions_below: x.suggestions_below.iter().map(SuggestionJson::of).collect(),
        not_suggested: x.not_suggested,
    };
    to_json(w, &doc)?;
    w.write_all(b"\n")
}

/// How many suggestions and findings below a directory the text lists.
const BELOW_SHOWN: usize = 10;

/// Width of the step names in the text.
const LABEL: usize = 12;

/// Writes the explanation for people: one step per block, in the order of
/// docs/explain.md. Every name and every text from the root is escaped.
pub fn write_text(x: &Explanation, w: &mut dyn Write) -> std::io::Result<()> {
    let esc = |s: &str| escape_message(s, false);
    let line = |w: &mut dyn Write, label: &str, text: &str| -> std::io::Result<()> {
        writeln!(w, "{label:<LABEL$}{text}")
    };
    let more = |w: &mut dyn Write, text: &str| -> std::io::Result<()> {
        writeln!(w, "{:LABEL$}{text}", "")
    };
    writeln!(w, "{}", escape_bytes(&x.path))?;

    // The entry.
    let where_ = if x.on_root {
        ""
    } else {
        " (only in the baseline)"
    };
    line(w, "entry", &format!("{}{where_}", entry_text(&x.entry)))?;
    if let Some(t) = &x.entry.target {
        more(w, &format!("-> {}", escape_bytes(t)))?;
    }
    if let Some((fstype, source)) = &x.entry.mount {
        more(w, &format!("mount point: {} {}", esc(fstype), esc(source)))?;
    }

    // The change.
    let change = match x.change {
        Change::Added => "added: not in the baseline".to_string(),
        Change::Removed => "removed: only in the baseline".to_string(),
        Change::Unchanged => "unchanged against the baseline".to_string(),
        Change::Modified => format!(
            "modified: {}",
            x.what.names().collect::<Vec<_>>().join(", ")
        ),
    };
    line(w, "change", &change)?;
    if let Some(b) = &x.before {
        for d in differences(b, &x.entry, x.what) {
            more(w, &d)?;
        }
    }

    // The class and the rule.
    let dismissed = if x.dismissed {
        " (dismissed by the --ignore rules)"
    } else {
        ""
    };
    line(
        w,
        "class",
        &format!("{}{dismissed}: {}", x.class.as_str(), esc(&x.reason)),
    )?;
    if let Some(warn) = &x.warning {
        more(w, &format!("warning: {}", esc(warn)))?;
    }
    let at = match &x.rule_at {
        Some(p) => format!(" (decided at {})", escape_bytes(p)),
        None => String::new(),
    };
    line(
        w,
        "rule",
        &format!("{}{at}: {}", x.rule.as_str(), x.rule.describe()),
    )?;
    for f in &x.facts {
        for (k, t) in fact_text(f).into_iter().enumerate() {
            more(w, &format!("{}{t}", if k == 0 { "- " } else { "  " }))?;
        }
    }

    // The knowledge base and the advice.
    match &x.knowledge {
        Some(k) => {
            let unit = match &k.rule.unit {
                Some(u) => format!(", and the state of {}", esc(u)),
                None => String::new(),
            };
            line(
                w,
                "knowledge",
                &format!(
                    "{}{unit} ({})",
                    esc(&k.rule.pattern),
                    k.rule.advice.as_str()
                ),
            )?;
            more(w, &esc(&k.rule.reason))?;
            if let Some(n) = &k.rule.note {
                more(w, &format!("note: {}", esc(n)))?;
            }
            for s in &k.rule.source {
                more(w, &format!("source: {}", esc(s)))?;
            }
            if !k.applies && x.advice_from.is_none() {
                more(
                    w,
                    &format!(
                        "(advice is for stray paths; this one is {})",
                        x.class.as_str()
                    ),
                )?;
            }
        }
        None => line(w, "knowledge", "no rule of the knowledge base matches")?,
    }
    if let Some(a) = x.advice {
        // The knowledge base's reason was just shown: not twice.
        let text = match x.advice_from {
            Some(super::AdviceFrom::ClassRule) => format!(
                "{}, from the class rule: {}",
                a.as_str(),
                esc(x.advice_reason.as_deref().unwrap_or(""))
            ),
            _ => format!("{}, from the knowledge-base rule above", a.as_str()),
        };
        line(w, "advice", &text)?;
    }

    // The owner.
    match &x.owner {
        Some(o) => {
            let who = match (&o.unit, &o.user) {
                (Some(u), Some(user)) => format!("{} (user {})", esc(u), esc(user)),
                (Some(u), None) => esc(u),
                (None, Some(user)) => format!("user {}", esc(user)),
                (None, None) => "unknown".into(),
            };
            line(w, "owner", &who)?;
            more(w, &esc(&o.evidence))?;
            if o.units.len() > 1 || (o.unit.is_none() && !o.units.is_empty()) {
                let units: Vec<String> = o.units.iter().map(|u| esc(u)).collect();
                more(w, &format!("units: {}", units.join(", ")))?;
            }
        }
        None => line(w, "owner", "no unit or service user keeps state here")?,
    }

    // The check's findings.
    if x.findings.is_empty() {
        line(w, "findings", "none on this path")?;
    }
    for (n, f) in x.findings.iter().enumerate() {
        let label = if n == 0 { "findings" } else { "" };
        let on = if f.path == x.path {
            String::new()
        } else {
            format!(" (on {})", escape_bytes(&f.path))
        };
        line(
            w,
            label,
            &format!("{} {}{on}", f.severity().as_str(), f.kind.as_str()),
        )?;
        more(w, &format!("  {}", esc(&f.message)))?;
        if let Some(e) = &f.entry {
            more(w, &format!("  entry: {}", esc(&e.origin)))?;
        }
        more(w, &format!("  fix: {}", esc(&f.fix)))?;
    }
    if !x.findings_below.is_empty() {
        more(
            w,
            &format!("{} below it:", count(x.findings_below.len(), "finding")),
        )?;
        for f in x.findings_below.iter().take(BELOW_SHOWN) {
            more(
                w,
                &format!(
                    "  {} {} {}",
                    f.severity().as_str(),
                    f.kind.as_str(),
                    escape_bytes(&f.path)
                ),
            )?;
        }
        if x.findings_below.len() > BELOW_SHOWN {
            more(
                w,
                &format!("  ... and {} more", x.findings_below.len() - BELOW_SHOWN),
            )?;
        }
    }

    for k in &x.findings_skipped {
        more(
            w,
            &format!("not looked for: {}: {}", k.kind.as_str(), esc(&k.reason)),
        )?;
    }

    // The suggestion.
    match (&x.suggestion, x.not_suggested) {
        (Some(s), _) => {
            let whole = if s.path == x.path {
                "this path"
            } else {
                "covered by"
            };
            line(w, "suggestion", &format!("{whole}: {}", suggestion_text(s)))?;
            // Its reason, unless it was just said (the advice's or the class's).
            if x.advice_reason.as_deref() != Some(s.reason.as_str()) && x.reason != s.reason {
                more(w, &esc(&s.reason))?;
            }
        }
        (None, Some(why)) => line(w, "suggestion", &format!("none: {why}"))?,
        (None, None) => line(
            w,
            "suggestion",
            &format!(
                "none: the path itself is not lost at the wipe ({})",
                x.class.as_str()
            ),
        )?,
    }
    if !x.suggestions_below.is_empty() {
        more(
            w,
            &format!(
                "{} below it:",
                count(x.suggestions_below.len(), "suggestion")
            ),
        )?;
        for s in x.suggestions_below.iter().take(BELOW_SHOWN) {
            more(w, &format!("  {}", suggestion_text(s)))?;
        }
        if x.suggestions_below.len() > BELOW_SHOWN {
            more(
                w,
                &format!("  ... and {} more", x.suggestions_below.len() - BELOW_SHOWN),
            )?;
        }
    }
    Ok(())
}

fn count(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

fn entry_text(e: &EntryFacts) -> String {
    // The ids too, unless the names are the ids (not in ROOT's /etc/passwd).
    let ids = if e.user == e.uid.to_string() && e.group == e.gid.to_string() {
        String::new()
    } else {
        format!(" ({}:{})", e.uid, e.gid)
    };
    format!(
        "{}, {}, owner {}:{}{ids}, mode {:04o}, mtime {}",
        e.kind.as_str(),
        human_bytes(e.size),
        escape_message(&e.user, false),
        escape_message(&e.group, false),
        e.mode,
        rfc3339(e.mtime_ns)
    )
}

fn suggestion_text(s: &SuggestionFacts) -> String {
    format!(
        "{} ({} {}, {}){}",
        escape_bytes(&s.path),
        s.entries,
        if s.entries == 1 { "entry" } else { "entries" },
        human_bytes(s.bytes),
        s.advice
            .map_or(String::new(), |a| format!(": {}", a.as_str()))
    )
}

/// Each attribute that differs, before → after.
fn differences(b: &EntryFacts, a: &EntryFacts, what: What) -> Vec<String> {
    let mut out = Vec::new();
    if what.contains(What::KIND) {
        out.push(format!("kind: {} -> {}", b.kind.as_str(), a.kind.as_str()));
    }
    if what.contains(What::SIZE) {
        out.push(format!(
            "size: {} -> {}",
            human_bytes(b.size),
            human_bytes(a.size)
        ));
    }
    if what.contains(What::CONTENT) {
        out.push(match (&b.blake3, &a.blake3) {
            (Some(x), Some(y)) => format!(
                "content: blake3 {} -> {}",
                &to_hex(x)[..16],
                &to_hex(y)[..16]
            ),
            _ => "content: differs (the sizes differ)".to_string(),
        });
    }
    if what.contains(What::TARGET) {
        let t = |e: &EntryFacts| e.target.as_deref().map(escape_bytes).unwrap_or_default();
        out.push(format!("target: {} -> {}", t(b), t(a)));
    }
    if what.contains(What::MODE) {
        out.push(format!("mode: {:04o} -> {:04o}", b.mode, a.mode));
    }
    if what.contains(What::OWNER) {
        out.push(format!(
            "owner: {}:{} -> {}:{}",
            escape_message(&b.user, false),
            escape_message(&b.group, false),
            escape_message(&a.user, false),
            escape_message(&a.group, false)
        ));
    }
    if what.contains(What::MTIME) {
        out.push(format!(
            "mtime: {} -> {}",
            rfc3339(b.mtime_ns),
            rfc3339(a.mtime_ns)
        ));
    }
    out
}

/// A fact in lines of text.
fn fact_text(f: &Fact) -> Vec<String> {
    let esc = |s: &str| escape_message(s, false);
    match f {
        Fact::StorageRoot { path } => vec![format!("storage root {}", escape_bytes(path))],
        Fact::ConfigEntry {
            file,
            location,
            origin,
            source,
            symlink,
            ..
        } => {
            let mut v = vec![match (file, location) {
                (Some(file), Some(loc)) => format!(
                    "listed at {} in {}",
                    esc(loc),
                    crate::text::quote_path(file)
                ),
                _ => format!("listed by {}", esc(origin)),
            }];
            let how = match symlink {
                Some(true) => ", by a symlink",
                _ => "",
            };
            if let Some(s) = source {
                v.push(format!("its copy in storage: {}{how}", escape_bytes(s)));
            }
            v
        }
        Fact::Backing { path, source, link } => vec![format!(
            "the live system backs {} by {} {}",
            escape_bytes(path),
            if *link {
                "a symlink into"
            } else {
                "a bind mount from"
            },
            escape_bytes(source)
        )],
        Fact::Mount {
            path,
            fstype,
            source,
            fs_root,
            dev,
        } => {
            let from = if fs_root.as_slice() == b"/" {
                String::new()
            } else {
                format!(", its directory {}", escape_bytes(fs_root))
            };
            vec![format!(
                "mount at {}: {} {}{from} (device {}:{}, from mountinfo)",
                escape_bytes(path),
                esc(fstype),
                esc(source),
                dev.0,
                dev.1
            )]
        }
        Fact::Chain {
            path,
            hops,
            ending,
            resolved,
        } => {
            let mut v = vec![format!(
                "symlink chain of {} inside ROOT:",
                escape_bytes(path)
            )];
            for h in hops {
                let lands = match &h.lands {
                    Some(l) => format!(" (lands at {})", escape_bytes(l)),
                    None => String::new(),
                };
                v.push(format!("  -> {}{lands}", escape_bytes(&h.text)));
            }
            v.push(match ending {
                Ending::Exists => format!("  = {} (exists)", escape_bytes(resolved)),
                Ending::Missing => format!("  = {} (missing)", escape_bytes(resolved)),
                Ending::Loop => "  = a loop (too many links)".to_string(),
            });
            v
        }
        Fact::EtcStatic {
            path,
            exists,
            resolved,
        } => vec![format!(
            "{} {} ({})",
            escape_bytes(path),
            if *exists { "exists" } else { "is missing" },
            escape_bytes(resolved)
        )],
        Fact::EtcClean { line } => vec![format!(
            "/etc/.clean lists {} (activation copied it)",
            escape_bytes(line)
        )],
        Fact::Tmpfiles { file } => vec![format!("systemd-tmpfiles rule in {}", esc(file))],
        Fact::DynamicUser { unit } => vec![format!("made when {} starts", esc(unit))],
        Fact::Userborn { location, evidence } => vec![format!(
            "userborn keeps its files in {} ({})",
            escape_bytes(location),
            esc(evidence)
        )],
        Fact::Holds { paths, count } => {
            let mut v = vec![format!(
                "holds {count} kept {}:",
                if *count == 1 { "path" } else { "paths" }
            )];
            for (p, c) in paths {
                v.push(format!("  {} ({})", escape_bytes(p), c.as_str()));
            }
            if *count > paths.len() {
                v.push(format!("  ... and {} more", count - paths.len()));
            }
            v
        }
    }
}
