//! The JSON report of docs/report-schema.md, streamed entry by entry so a million-entry
//! report never exists twice in memory. Paths that are not UTF-8 are written
//! lossily in `path` with their exact bytes in `path_b64` (like ripgrep's JSON
//! printer's text/bytes pair). It ends with the whitelist check's `findings`
//! (docs/check.md).

use std::io::Write;

use serde::Serialize;

use crate::audit::Audit;
use crate::check::{Checked, render};
use crate::diff::Change;
use crate::json::{text_and_b64, to_json};
use crate::scan::hash::to_hex;
use crate::suggest::{self, Totals};
use crate::text::rfc3339;

/// The schema identifier readers check.
pub const SCHEMA: &str = "darlings-report/1";

/// Options of `darlings report`.
#[derive(Clone, Copy, Debug, Default)]
pub struct ReportOptions {
    /// List unchanged entries too (`--include-unchanged`).
    pub include_unchanged: bool,
}

#[derive(Serialize)]
struct Header<'a> {
    schema: &'static str,
    generator: String,
    root: String,
    baseline: BaselineJson,
    storage: Vec<String>,
    summary: SummaryJson,
    hashing: HashingJson,
    warnings: Vec<&'a str>,
}

#[derive(Serialize)]
struct BaselineJson {
    kind: &'static str,
    path: Option<String>,
}

#[derive(Serialize)]
struct SummaryJson {
    entries: u64,
    bytes: u64,
    classes: ClassesJson,
    changes: ChangesJson,
    errors: u64,
}

#[derive(Serialize)]
struct Count {
    entries: u64,
    bytes: u64,
}

#[derive(Serialize)]
struct ClassesJson {
    persisted: Count,
    #[serde(rename = "nix-managed")]
    nix_managed: Count,
    stray: Count,
}

#[derive(Serialize)]
struct ChangesJson {
    added: u64,
    modified: u64,
    removed: u64,
    unchanged: u64,
}

/// Counters of the hashing stage: proof that a rescan reused hashes.
#[derive(Serialize)]
struct HashingJson {
    files_read: u64,
    bytes_read: u64,
    reused: u64,
}

#[derive(Serialize)]
struct EntryJson<'a> {
    path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    path_b64: Option<String>,
    kind: &'static str,
    change: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    what: Option<Vec<&'static str>>,
    class: &'static str,
    reason: &'a str,
    advice: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    advice_reason: Option<&'a str>,
    dismissed: bool,
    warning: Option<&'a str>,
    mount: Option<MountJson<'a>>,
    size: u64,
    mode: String,
    uid: u32,
    gid: u32,
    mtime: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    target: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    target_b64: Option<String>,
    blake3: Option<String>,
    owner: Option<OwnerJson<'a>>,
}

/// Who keeps state in a service directory (`docs/report-schema.md`).
#[derive(Serialize)]
struct OwnerJson<'a> {
    unit: Option<&'a str>,
    user: Option<&'a str>,
    evidence: &'a str,
}

impl<'a> OwnerJson<'a> {
    fn of(audit: &'a Audit, i: usize) -> Option<OwnerJson<'a>> {
        audit.owner(i).map(|o| OwnerJson {
            unit: o.unit.as_deref(),
            user: o.user.as_deref(),
            evidence: &o.evidence,
        })
    }
}

#[derive(Serialize)]
struct MountJson<'a> {
    fstype: &'a str,
    source: &'a str,
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
    #[serde(skip_serializing_if = "Option::is_none")]
    owner: Option<OwnerJson<'a>>,
}

#[derive(Serialize)]
struct ErrorJson {
    path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    path_b64: Option<String>,
    error: String,
    kind: &'static str,
}

/// Writes the report (docs/report-schema.md) of `audit` to `w`, with the findings of the
/// whitelist check when it ran (docs/check.md).
pub fn write_json(
    audit: &Audit,
    checked: Option<&Checked>,
    opts: ReportOptions,
    w: &mut dyn Write,
) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let _t = crate::timing::phase("report");
    let totals = Totals::of(audit, opts.include_unchanged);
    let count = |k: usize| Count {
        entries: totals.classes[k].0,
        bytes: totals.classes[k].1,
    };
    let header = Header {
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
        storage: audit
            .storage()
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect(),
        summary: SummaryJson {
            entries: totals.entries,
            bytes: totals.bytes,
            classes: ClassesJson {
                persisted: count(0),
                nix_managed: count(1),
                stray: count(2),
            },
            changes: ChangesJson {
                added: totals.changes[0],
                modified: totals.changes[1],
                removed: totals.changes[2],
                unchanged: totals.changes[3],
            },
            errors: audit.errors().len() as u64,
        },
        hashing: HashingJson {
            files_read: audit.hash_stats().files_read,
            bytes_read: audit.hash_stats().bytes_read,
            reused: audit.hash_stats().reused,
        },
        warnings: audit.warnings().iter().map(|w| w.text.as_str()).collect(),
    };
    // The header object without its closing brace, then the big arrays.
    let mut head = Vec::new();
    to_json(&mut head, &header)?;
    w.write_all(&head[..head.len() - 1])?;
    w.write_all(b",\"entries\":[")?;
    // docs/report-schema.md: entries sorted by path bytes (see `for_each_in_path_order`).
    let mut n = 0usize;
    let any_listed =
        opts.include_unchanged || (0..audit.len()).any(|i| audit.change(i).0 != Change::Unchanged);
    // A rescan of an unchanged tree lists nothing: skip the ordering walk.
    let walk = |f: &mut dyn FnMut(usize, &[u8]) -> std::io::Result<()>| {
        if any_listed {
            audit.for_each_in_path_order(f)
        } else {
            Ok(())
        }
    };
    walk(&mut |i, path| {
        if audit.change(i).0 == Change::Unchanged && !opts.include_unchanged {
            return Ok(());
        }
        if n > 0 {
            w.write_all(b",")?;
        }
        n += 1;
        write_entry(audit, i, path, w)
    })?;
    w.write_all(b"],\"suggestions\":[")?;
    for (n, s) in suggest::suggestions(audit).into_iter().enumerate() {
        let suggest::Suggestion {
            pair: i,
            entries,
            bytes,
        } = s;
        if n > 0 {
            w.write_all(b",")?;
        }
        let (t, k) = audit.entry(i);
        let v = &audit.verdict(i);
        let (path, path_b64) = text_and_b64(&audit.path(i));
        let s = SuggestionJson {
            path,
            path_b64,
            kind: t.entries[k].kind.as_str(),
            entries,
            bytes,
            advice: v.advice.map(|a| a.as_str()),
            reason: audit
                .text(v.advice_reason)
                .or(audit.text(v.reason))
                .unwrap_or(""),
            owner: OwnerJson::of(audit, i),
        };
        to_json(&mut *w, &s)?;
    }
    if let Some(c) = checked {
        w.write_all(b"],\"findings\":")?;
        to_json(&mut *w, &render::findings_json(c))?;
        w.write_all(b",\"findings_skipped\":")?;
        to_json(&mut *w, &render::skipped_json(c))?;
        w.write_all(b",\"errors\":[")?;
    } else {
        w.write_all(b"],\"errors\":[")?;
    }
    for (n, e) in audit.errors().iter().enumerate() {
        if n > 0 {
            w.write_all(b",")?;
        }
        let (path, path_b64) = text_and_b64(&e.path);
        let j = ErrorJson {
            path,
            path_b64,
            error: e.error.clone(),
            kind: e.kind.as_str(),
        };
        to_json(&mut *w, &j)?;
    }
    w.write_all(b"]}\n")
}

fn write_entry(audit: &Audit, i: usize, path: &[u8], w: &mut dyn Write) -> std::io::Result<()> {
    let (t, k) = audit.entry(i);
    let e = &t.entries[k];
    let (change, what) = audit.change(i);
    let v = &audit.verdict(i);
    let (path, path_b64) = text_and_b64(path);
    let (target, target_b64) = match t.target(k) {
        Some(b) => {
            let (s, b64) = text_and_b64(b);
            (Some(s), b64)
        }
        None => (None, None),
    };
    let j = EntryJson {
        path,
        path_b64,
        kind: e.kind.as_str(),
        change: change.as_str(),
        what: (change == Change::Modified).then(|| what.names().collect()),
        class: v.class.as_str(),
        reason: audit.text(v.reason).unwrap_or(""),
        advice: v.advice.map(|a| a.as_str()),
        advice_reason: audit.text(v.advice_reason),
        dismissed: v.dismissed,
        warning: audit.text(v.warning),
        mount: t.mount(k).map(|m| MountJson {
            fstype: &m.fstype,
            source: &m.source,
        }),
        size: e.size,
        mode: format!("{:04o}", e.mode),
        uid: e.uid,
        gid: e.gid,
        mtime: rfc3339(e.mtime_ns),
        target,
        target_b64,
        blake3: t.hash(k).map(to_hex),
        owner: OwnerJson::of(audit, i),
    };
    to_json(&mut *w, &j)
}
