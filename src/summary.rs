//! `darlings summary`: the one-screen answer to "what would I lose?", with
//! the next command to run. Names are escaped; colour only on a terminal and
//! never with `NO_COLOR`.

use std::io::Write;

use crate::audit::Audit;
use crate::classify::Class;
use crate::report::Totals;
use crate::text::escape_bytes;

/// How the summary is printed.
#[derive(Clone, Copy, Debug, Default)]
pub struct SummaryOptions {
    /// Use ANSI colours.
    pub color: bool,
    /// How many of the largest stray locations to list.
    pub top: usize,
}

/// Human-readable byte count (`1.5 GiB`).
pub fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// Writes the summary of `audit` to `w`.
pub fn write(audit: &Audit, opts: SummaryOptions, w: &mut dyn Write) -> std::io::Result<()> {
    let paint = |code: &str, s: &str| {
        if opts.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    };
    let root = crate::text::quote_path(&audit.cur.root);
    let t = Totals::of(audit, false);
    writeln!(w, "{}", paint("1", &format!("darlings audit of {root}")))?;
    let baseline = match audit.baseline.path() {
        Some(p) => format!("{} {}", audit.baseline.kind(), crate::text::quote_path(p)),
        None => "empty (every path counts as new)".to_string(),
    };
    writeln!(w, "  baseline: {baseline}")?;
    if !audit.storage.is_empty() {
        let s: Vec<String> = audit
            .storage
            .iter()
            .map(|p| crate::text::quote_path(p))
            .collect();
        writeln!(w, "  storage:  {}", s.join(", "))?;
    }
    writeln!(
        w,
        "  {} entries, {} differ from the baseline ({} in files)",
        audit.pairs.len(),
        t.entries,
        human_bytes(t.bytes)
    )?;
    writeln!(
        w,
        "  changes:  {} added, {} modified, {} removed",
        t.changes[0], t.changes[1], t.changes[2]
    )?;
    writeln!(w)?;
    let colors = ["32", "34", "31"];
    let labels = [
        "persisted    (survives the wipe)",
        "nix-managed  (recreated by NixOS)",
        "stray        (lost at the wipe)",
    ];
    for (k, class) in Class::ALL.iter().enumerate() {
        let _ = class;
        writeln!(
            w,
            "  {} {:>10} entries {:>11}",
            paint(colors[k], &format!("{:<34}", labels[k])),
            t.classes[k].0,
            human_bytes(t.classes[k].1)
        )?;
    }
    if t.dismissed > 0 {
        writeln!(
            w,
            "  {:<34} {:>10} entries",
            "  of the stray ones, dismissed", t.dismissed
        )?;
    }
    let suggestions = audit.suggestions();
    if !suggestions.is_empty() {
        writeln!(w)?;
        let mut largest = suggestions.clone();
        largest.sort_by(|a, b| b.2.cmp(&a.2).then(b.1.cmp(&a.1)));
        writeln!(
            w,
            "{}",
            paint(
                "1",
                &format!(
                    "Largest stray locations ({} of {}):",
                    largest.len().min(opts.top),
                    suggestions.len()
                )
            )
        )?;
        for &(i, entries, bytes) in largest.iter().take(opts.top) {
            let v = &audit.verdicts.verdicts[i];
            let advice = v.advice.map_or("unknown", |a| a.as_str());
            let advice = match v.advice {
                Some(crate::classify::Advice::Persist) => paint("31;1", advice),
                Some(crate::classify::Advice::Ephemeral) => paint("2", advice),
                _ => advice.to_string(),
            };
            writeln!(
                w,
                "  {:>10} {:>8} entries  {:<9} {}",
                human_bytes(bytes),
                entries,
                advice,
                escape_bytes(&audit.path(i))
            )?;
            if let Some(r) = audit.verdicts.text(v.advice_reason) {
                writeln!(w, "  {:>29}  {}", "", crate::text::escape_str(r))?;
            }
        }
    }
    if !audit.warnings.is_empty() {
        writeln!(w)?;
        writeln!(w, "{}", paint("33;1", "Warnings:"))?;
        for warn in &audit.warnings {
            writeln!(w, "  - {}", crate::text::escape_str(warn))?;
        }
    }
    writeln!(w)?;
    if !audit.errors.is_empty() {
        writeln!(
            w,
            "{} paths could not be read (see `darlings report` for the list), e.g. {}: {}",
            audit.errors.len(),
            escape_bytes(&audit.errors[0].path),
            crate::text::escape_str(&audit.errors[0].error)
        )?;
    }
    let root_arg = if audit.cur.root.as_os_str() == "/" {
        String::new()
    } else {
        format!(" {root}")
    };
    if t.unresolved_stray > 0 {
        writeln!(
            w,
            "Next: review and promote them with `darlings tui{root_arg}`, or save the list with `darlings report{root_arg} -o report.json`."
        )?;
    } else {
        writeln!(w, "Nothing unresolved would be lost at the next wipe.")?;
    }
    Ok(())
}
