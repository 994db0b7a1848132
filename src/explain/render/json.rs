//! The `darlings-explain/1` JSON of an [`Explanation`]: one object, field
//! names as in docs/report-schema.md (docs/explain.md lists them).

use std::io::Write;

use serde::Serialize;

use crate::audit::Audit;
use crate::check::render::FindingJson;
use crate::diff::Change;
use crate::explain::{EntryFacts, Explanation, Fact, SCHEMA, SuggestionFacts};
use crate::json::{text_and_b64, to_json};
use crate::resolve::Ending;
use crate::scan::hash::to_hex;
use crate::text::rfc3339;

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
    ignore_rule: Option<IgnoreRuleJson>,
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

/// The `--ignore` rule that dismissed the path.
#[derive(Serialize)]
struct IgnoreRuleJson {
    file: Option<String>,
    line: Option<usize>,
    pattern: String,
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
        ignore_rule: x.ignore_rule.as_ref().map(|r| IgnoreRuleJson {
            file: r.file.as_ref().map(|f| f.to_string_lossy().into_owned()),
            line: r.line,
            pattern: r.pattern.clone(),
        }),
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
