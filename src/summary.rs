//! `darlings summary`: the one-screen answer to "what would I lose?", the
//! problems with the whitelist in effect, and the next command to run. Names are escaped; colour only on a terminal and
//! never with `NO_COLOR`.

use std::io::Write;

use crate::audit::Audit;
use crate::check::{Checked, render};
use crate::classify::{Advice, Class};
use crate::suggest::{Suggestion, Totals};
use crate::text::{escape_bytes, human_bytes};

/// How the summary is printed.
#[derive(Clone, Copy, Debug, Default)]
pub struct SummaryOptions {
    /// Use ANSI colours.
    pub color: bool,
    /// How many of the largest stray locations to list.
    pub top: usize,
}

/// The user's own arguments, repeated in the commands the summary suggests
/// so that each runs as printed and looks at the same thing: the same ROOT,
/// baseline, whitelist, storage, ignore rules and exclusions. Every word is
/// already shell-quoted ([`crate::text::shell_quote`]).
#[derive(Clone, Debug, Default)]
pub struct Again {
    /// ROOT as a shell word; empty for `/` (the default).
    pub root: String,
    /// The options `tui` and `report` take (`--persistence=…`, `--ignore=…`).
    pub scan: Vec<String>,
    /// Those of them `check` takes (it has no `--ignore` and `--hash`).
    pub check: Vec<String>,
}

impl Again {
    /// `darlings COMMAND [ROOT] OPTIONS... TAIL`, exactly runnable.
    pub fn command(&self, command: &str, tail: &str) -> String {
        let mut s = format!("darlings {command}");
        if !self.root.is_empty() {
            s.push(' ');
            s.push_str(&self.root);
        }
        let opts = if command == "check" {
            &self.check
        } else {
            &self.scan
        };
        for o in opts {
            s.push(' ');
            s.push_str(o);
        }
        if !tail.is_empty() {
            s.push(' ');
            s.push_str(tail);
        }
        s
    }
}

/// Writes the summary of `audit` to `w`, with the problems `checked` found
/// in the whitelist when the check ran; the commands it suggests repeat the
/// arguments in `again`.
pub fn write(
    audit: &Audit,
    checked: Option<&Checked>,
    opts: SummaryOptions,
    again: &Again,
    w: &mut dyn Write,
) -> std::io::Result<()> {
    let paint = |code: &str, s: &str| {
        if opts.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    };
    let root = crate::text::quote_path(&audit.cur().root);
    let t = Totals::of(audit, false);
    writeln!(w, "{}", paint("1", &format!("darlings audit of {root}")))?;
    let baseline = match audit.baseline().path() {
        Some(p) => format!("{} {}", audit.baseline().kind(), crate::text::quote_path(p)),
        None => "empty (every path counts as new)".to_string(),
    };
    writeln!(w, "  baseline: {baseline}")?;
    if !audit.storage().is_empty() {
        let s: Vec<String> = audit
            .storage()
            .iter()
            .map(|p| crate::text::quote_path(p))
            .collect();
        writeln!(w, "  storage:  {}", s.join(", "))?;
    }
    writeln!(
        w,
        "  {} entries, {} differ from the baseline ({} in files)",
        audit.len(),
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
            t.on_root[k].0,
            human_bytes(t.on_root[k].1)
        )?;
    }
    if t.dismissed > 0 {
        writeln!(
            w,
            "  {:<34} {:>10} entries",
            "  of the stray ones, dismissed", t.dismissed
        )?;
    }
    if t.unchanged_stray.0 > 0 {
        // Only what differs is counted above. Whether the rest comes back
        // depends on what the baseline is, which darlings cannot tell.
        writeln!(
            w,
            "  not counted: {} stray {} ({}) the same as in the baseline: a blank snapshot brings them back at rollback, but against an older scan or root of this machine they are lost at the wipe too (see them with --against empty)",
            t.unchanged_stray.0,
            crate::text::plural(t.unchanged_stray.0, "entry", "entries"),
            human_bytes(t.unchanged_stray.1)
        )?;
    }
    if let Some(c) = checked
        && (!c.findings.is_empty() || !c.skipped.is_empty())
    {
        writeln!(w)?;
        let code = if c.has_errors() { "31;1" } else { "33;1" };
        writeln!(
            w,
            "{}",
            paint(
                code,
                &format!("Problems with the whitelist: {}", render::tally(c))
            )
        )?;
        let o = render::TextOptions {
            color: opts.color,
            limit: opts.top,
            indent: 2,
        };
        render::write_findings(c, o, w)?;
    }
    let suggestions = crate::suggest::suggestions(audit);
    // Grouped by advice, because that is the decision the user has to make:
    // what to persist first, what to look at, what can go.
    let groups: [(Option<Advice>, &str, &str); 4] = [
        (
            Some(Advice::Persist),
            "Persist these (losing them is harmful)",
            "31;1",
        ),
        (None, "No advice known: decide yourself", "1"),
        (
            Some(Advice::Review),
            "Review these (depends on how you use the machine)",
            "33;1",
        ),
        (
            Some(Advice::Ephemeral),
            "Safe to lose (rebuilt or temporary)",
            "2",
        ),
    ];
    for (advice, title, code) in groups {
        let mut group: Vec<Suggestion> = suggestions
            .iter()
            .copied()
            .filter(|s| audit.verdict(s.pair).advice == advice)
            .collect();
        if group.is_empty() {
            continue;
        }
        group.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(b.entries.cmp(&a.entries)));
        let bytes: u64 = group.iter().map(|g| g.bytes).sum();
        writeln!(w)?;
        writeln!(
            w,
            "{}",
            paint(
                code,
                &format!(
                    "{title}: {} {}, {}",
                    group.len(),
                    crate::text::plural(group.len() as u64, "path", "paths"),
                    human_bytes(bytes)
                )
            )
        )?;
        let shown = if advice == Some(Advice::Ephemeral) {
            opts.top.min(5)
        } else {
            opts.top
        };
        for &Suggestion {
            pair: i,
            entries,
            bytes,
        } in group.iter().take(shown)
        {
            let v = audit.verdict(i);
            writeln!(
                w,
                "  {:>10} {:>8} entries  {}",
                human_bytes(bytes),
                entries,
                escape_bytes(&audit.path(i))
            )?;
            if advice != Some(Advice::Ephemeral)
                && let Some(r) = audit.text(v.advice_reason)
            {
                writeln!(w, "  {:>27}  {}", "", crate::text::escape_str(r))?;
            }
            if let Some(o) = audit.owner(i) {
                let who = match (&o.unit, &o.user) {
                    (Some(u), _) => u.clone(),
                    (None, Some(user)) => format!("user {user}"),
                    (None, None) => "a service".into(),
                };
                writeln!(
                    w,
                    "  {:>27}  kept by {} ({})",
                    "",
                    crate::text::escape_str(&who),
                    crate::text::escape_str(&o.evidence)
                )?;
            }
        }
        if group.len() > shown {
            writeln!(
                w,
                "  ... and {} more (see `{}`)",
                group.len() - shown,
                again.command("report", "")
            )?;
        }
    }
    // A listed path nothing backs is both an evidence warning and, when it
    // holds data, a finding printed above: say it once, as the finding
    // (which has the fix). The report keeps both lists.
    let shown_findings = checked.map_or(&[][..], |c| &c.findings[..c.findings.len().min(opts.top)]);
    let said = |warn: &crate::evidence::Warning| {
        warn.kind == crate::evidence::WarningKind::NotBacked
            && shown_findings.iter().any(|f| {
                f.path == warn.path
                    && matches!(
                        f.kind,
                        crate::check::Kind::NotInStorage | crate::check::Kind::ReplacedLink
                    )
            })
    };
    let warnings: Vec<_> = audit.warnings().iter().filter(|w| !said(w)).collect();
    if !warnings.is_empty() {
        writeln!(w)?;
        writeln!(w, "{}", paint("33;1", "Warnings:"))?;
        for warn in warnings {
            writeln!(w, "  - {}", crate::text::escape_str(&warn.text))?;
        }
    }
    writeln!(w)?;
    if !audit.errors().is_empty() {
        writeln!(
            w,
            "{} {} could not be read (see `{}` for the list), e.g. {}: {}",
            audit.errors().len(),
            crate::text::plural(audit.errors().len() as u64, "path", "paths"),
            again.command("report", ""),
            escape_bytes(&audit.errors()[0].path),
            crate::text::escape_str(&audit.errors()[0].error)
        )?;
    }
    if checked.is_some_and(Checked::has_errors) {
        writeln!(
            w,
            "First: fix the problems with the whitelist above (all of them: `{}`); they lose data even for the paths you persist.",
            again.command("check", "")
        )?;
    }
    if t.unresolved_stray > 0 {
        writeln!(
            w,
            "Next: review and promote them with `{}`, or save the list with `{}`.",
            again.command("tui", ""),
            again.command("report", "-o report.json")
        )?;
    } else if t.unchanged_unresolved > 0 {
        writeln!(
            w,
            "Nothing unresolved that differs from the baseline would be lost at the next wipe, but {} unchanged stray {} not advised ephemeral {} not counted (see above): --fail-on-stray fails on them until they are persisted or dismissed.",
            t.unchanged_unresolved,
            crate::text::plural(t.unchanged_unresolved, "entry", "entries"),
            crate::text::plural(t.unchanged_unresolved, "is", "are"),
        )?;
    } else if t.unchanged_stray.0 > 0 {
        writeln!(
            w,
            "Nothing unresolved that differs from the baseline would be lost at the next wipe ({} unchanged stray {} not counted: see above).",
            t.unchanged_stray.0,
            crate::text::plural(t.unchanged_stray.0, "entry", "entries"),
        )?;
    } else {
        writeln!(w, "Nothing unresolved would be lost at the next wipe.")?;
    }
    Ok(())
}
