//! The check for people (one block per finding: what, where it is listed,
//! the fix) and for programs (`darlings-check/1`, docs/check.md). Names are
//! escaped in both: messages are composed from escaped names, and the JSON
//! path is the exact bytes (with `path_b64` when they are not UTF-8).

use std::io::Write;

use serde::Serialize;

use super::{Checked, Finding, SCHEMA, Severity};
use crate::json::{text_and_b64, to_json};
use crate::text::{escape_bytes, escape_str, human_bytes};

/// One finding as `darlings-check/1` and the report's `findings` write it.
#[derive(Clone, Debug, Serialize)]
pub struct FindingJson {
    kind: &'static str,
    severity: &'static str,
    path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    path_b64: Option<String>,
    entry: Option<EntryJson>,
    bytes: u64,
    message: String,
    fix: String,
}

#[derive(Clone, Debug, Serialize)]
struct EntryJson {
    file: Option<String>,
    location: Option<String>,
    origin: String,
}

/// A kind the check could not look for, as JSON.
#[derive(Clone, Debug, Serialize)]
pub struct SkippedJson {
    kind: &'static str,
    reason: String,
}

#[derive(Serialize)]
struct CheckJson<'a> {
    schema: &'static str,
    generator: String,
    root: String,
    counts: Counts,
    findings: &'a [FindingJson],
    skipped: &'a [SkippedJson],
}

#[derive(Serialize)]
struct Counts {
    errors: usize,
    warnings: usize,
}

impl FindingJson {
    /// The JSON form of `f`.
    pub fn of(f: &Finding) -> FindingJson {
        let (path, path_b64) = text_and_b64(&f.path);
        FindingJson {
            kind: f.kind.as_str(),
            severity: f.severity().as_str(),
            path,
            path_b64,
            entry: f.entry.as_ref().map(|e| EntryJson {
                file: e.file.as_ref().map(|p| p.to_string_lossy().into_owned()),
                location: e.location.clone(),
                origin: e.origin.clone(),
            }),
            bytes: f.bytes,
            message: f.message.clone(),
            fix: f.fix.clone(),
        }
    }
}

/// Every finding of `checked` as JSON.
pub fn findings_json(checked: &Checked) -> Vec<FindingJson> {
    checked.findings.iter().map(FindingJson::of).collect()
}

/// The kinds `checked` could not look for, as JSON.
pub fn skipped_json(checked: &Checked) -> Vec<SkippedJson> {
    checked
        .skipped
        .iter()
        .map(|s| SkippedJson {
            kind: s.kind.as_str(),
            reason: s.reason.clone(),
        })
        .collect()
}

/// Writes `darlings-check/1` (one line).
pub fn write_json(checked: &Checked, w: &mut dyn Write) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let findings = findings_json(checked);
    let skipped = skipped_json(checked);
    let doc = CheckJson {
        schema: SCHEMA,
        generator: format!("darlings {}", env!("CARGO_PKG_VERSION")),
        root: text_and_b64(checked.root.as_os_str().as_bytes()).0,
        counts: Counts {
            errors: checked.count(Severity::Error),
            warnings: checked.count(Severity::Warning),
        },
        findings: &findings,
        skipped: &skipped,
    };
    to_json(w, &doc)?;
    w.write_all(b"\n")
}

/// How findings are printed for people.
#[derive(Clone, Copy, Debug)]
pub struct TextOptions {
    /// ANSI colours.
    pub color: bool,
    /// Print at most this many findings.
    pub limit: usize,
    /// Spaces before every line.
    pub indent: usize,
}

fn paint(color: bool, code: &str, s: &str) -> String {
    if color {
        format!("\x1b[{code}m{s}\x1b[0m")
    } else {
        s.to_string()
    }
}

/// "2 errors, 1 warning".
pub fn tally(checked: &Checked) -> String {
    let n = |count: usize, one: &str| {
        if count == 1 {
            format!("1 {one}")
        } else {
            format!("{count} {one}s")
        }
    };
    format!(
        "{}, {}",
        n(checked.count(Severity::Error), "error"),
        n(checked.count(Severity::Warning), "warning")
    )
}

/// Writes the findings, one block each: severity, kind, path and bytes;
/// the message; where the entry is listed; the fix. Then what was not
/// looked for.
pub fn write_findings(checked: &Checked, o: TextOptions, w: &mut dyn Write) -> std::io::Result<()> {
    let pad = " ".repeat(o.indent);
    for f in checked.findings.iter().take(o.limit) {
        let (code, sev) = match f.severity() {
            Severity::Error => ("31;1", "error  "),
            Severity::Warning => ("33;1", "warning"),
        };
        let bytes = if f.bytes > 0 {
            format!("  ({})", human_bytes(f.bytes))
        } else {
            String::new()
        };
        writeln!(
            w,
            "{pad}{} {:<15} {}{bytes}",
            paint(o.color, code, sev),
            f.kind.as_str(),
            paint(o.color, "1", &escape_bytes(&f.path))
        )?;
        // Composed from escaped names already: escaping its backslashes
        // again showed `weird\\nname` under a heading of `weird\nname`.
        writeln!(
            w,
            "{pad}        {}",
            crate::text::escape_message(&f.message, false)
        )?;
        if let Some(e) = &f.entry {
            writeln!(w, "{pad}        entry: {}", escape_str(&e.origin))?;
        }
        writeln!(
            w,
            "{pad}        {} {}",
            paint(o.color, "32", "fix:"),
            // Its names are escaped and its commands shell-quoted already
            // (text::shell_quote's `\xNN`): escaping the backslashes again
            // would make the command mean another name.
            crate::text::escape_message(&f.fix, false)
        )?;
    }
    if checked.findings.len() > o.limit {
        writeln!(
            w,
            "{pad}... and {} more (see `darlings check`)",
            checked.findings.len() - o.limit
        )?;
    }
    for s in &checked.skipped {
        writeln!(
            w,
            "{pad}{} {} not checked: {}",
            paint(o.color, "2", "note:"),
            s.kind.as_str(),
            escape_str(&s.reason)
        )?;
    }
    Ok(())
}

/// Writes `darlings check`'s human output.
pub fn write_text(
    checked: &Checked,
    storage: &[std::path::PathBuf],
    color: bool,
    w: &mut dyn Write,
) -> std::io::Result<()> {
    let root = crate::text::quote_path(&checked.root);
    let storage: Vec<String> = storage.iter().map(|p| crate::text::quote_path(p)).collect();
    writeln!(
        w,
        "{}",
        paint(color, "1", &format!("darlings check of {root}"))
    )?;
    if !storage.is_empty() {
        writeln!(w, "  storage: {}", storage.join(", "))?;
    }
    writeln!(w)?;
    let o = TextOptions {
        color,
        limit: usize::MAX,
        indent: 0,
    };
    write_findings(checked, o, w)?;
    if !checked.findings.is_empty() || !checked.skipped.is_empty() {
        writeln!(w)?;
    }
    if checked.findings.is_empty() {
        writeln!(w, "No problems found with the whitelist in effect.")?;
    } else {
        writeln!(w, "{}.", tally(checked))?;
    }
    Ok(())
}
