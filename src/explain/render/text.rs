//! An [`Explanation`] for people: one block per step, in the order of
//! docs/explain.md, every name escaped.

use std::io::Write;

use crate::diff::{Change, What};
use crate::explain::{AdviceFrom, EntryFacts, Explanation, Fact, SuggestionFacts};
use crate::resolve::Ending;
use crate::scan::hash::to_hex;
use crate::text::{escape_bytes, escape_message, human_bytes, rfc3339};

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
    let dismissed = match (&x.ignore_rule, x.dismissed) {
        (Some(r), _) => {
            let place = match (&r.file, r.line) {
                (Some(f), Some(n)) => format!(" ({}:{n})", crate::text::quote_path(f)),
                (Some(f), None) => format!(" (in {})", crate::text::quote_path(f)),
                (None, _) => String::new(),
            };
            format!(
                " (dismissed by the --ignore rule '{}'{place})",
                esc(&r.pattern)
            )
        }
        (None, true) => " (dismissed by the --ignore rules)".to_string(),
        (None, false) => String::new(),
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
            Some(AdviceFrom::ClassRule) => format!(
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
