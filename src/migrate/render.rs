//! The text `darlings migrate` prints: the plan (or its results), what
//! stopped each refused path and what to do about it, and the next steps.
//! Every name goes through [`crate::text::escape_bytes`].

use std::io::Write;
use std::os::unix::ffi::OsStrExt;

use super::compare::{Difference, What};
use super::tree::{Kind, Skip};
use super::{PathPlan, Plan, Refusal, State};
use crate::text::{self, escape_bytes, human_bytes, quote_path};

/// At most this many differences are listed for one conflict.
const MAX_DIFFERENCES: usize = 20;

fn label(s: &State) -> &'static str {
    match s {
        State::ToCopy => "copy",
        State::Copied(_) => "copied",
        State::InStorage(_) => "in storage",
        State::NothingOnRoot => "nothing",
        State::Mounted => "mounted",
        State::Linked => "linked",
        State::Covered(_) => "covered",
        State::Refused(_) => "REFUSED",
    }
}

fn entries(n: u64) -> String {
    format!("{n} {}", crate::text::plural(n, "entry", "entries"))
}

/// Prints the plan, or after `execute` (`done`) the results, then the
/// totals and what comes next. `again` is the command line to run the plan
/// (empty: say nothing about how to run it, the TUI has its own key).
pub fn report(out: &mut dyn Write, plan: &Plan, done: bool, again: &str) -> std::io::Result<()> {
    if done {
        writeln!(out, "Migration of {}:", quote_path(&plan.root))?;
    } else {
        writeln!(
            out,
            "Migration plan for {} (nothing is written without --yes):",
            quote_path(&plan.root)
        )?;
    }
    for (si, s) in plan.storages.iter().enumerate() {
        writeln!(out)?;
        let same = if s.same_fs_as_root {
            " (on ROOT's file system)"
        } else {
            ""
        };
        writeln!(
            out,
            "Storage {} at {}{same}: {} free",
            escape_bytes(&s.inroot),
            quote_path(&s.host),
            human_bytes(s.free)
        )?;
        for p in plan.paths.iter().filter(|p| p.storage == si) {
            path(out, plan, p)?;
        }
        if s.same_fs_as_root {
            writeln!(
                out,
                "  warning: {} is on the same file system as ROOT: make sure the wipe keeps it \
                 (a separate subvolume, dataset or partition usually is what you want)",
                quote_path(&s.host)
            )?;
        }
        if !done && !s.leftovers.is_empty() {
            for l in &s.leftovers {
                writeln!(
                    out,
                    "  note: {} was left by an interrupted migration; --yes removes it first",
                    quote_path(&s.host.join(std::ffi::OsStr::from_bytes(l)))
                )?;
            }
        }
    }
    for (p, n) in &plan.removed {
        writeln!(
            out,
            "Removed {} left by an interrupted migration ({}).",
            quote_path(p),
            entries(*n)
        )?;
    }
    if !plan.writers_complete {
        writeln!(
            out,
            "note: not running as root, so files other users' processes have open could not be checked"
        )?;
    }
    writeln!(out)?;
    totals(out, plan, done)?;
    if done {
        next_steps(out, plan, again)
    } else {
        let to_copy = plan.paths.iter().any(|p| matches!(p.state, State::ToCopy));
        if to_copy && !again.is_empty() {
            writeln!(out, "Nothing was written. To copy: {again} --yes")?;
        } else {
            writeln!(out, "Nothing was written.")?;
        }
        Ok(())
    }
}

fn path(out: &mut dyn Write, plan: &Plan, p: &PathPlan) -> std::io::Result<()> {
    let name = escape_bytes(&p.entry.path);
    let dest = quote_path(&p.dest_host);
    let pad = "             ";
    match &p.state {
        State::ToCopy => {
            // Say that something is there already, and why it is not a conflict.
            let over = match &p.source {
                Some(s) if s.over_empty && p.entry.is_file => {
                    " (in place of storage's empty file, which holds nothing)"
                }
                Some(s) if s.over_empty => " (in place of storage's empty directory)",
                _ => "",
            };
            writeln!(
                out,
                "  {:<10} {name}  ({}, {}) → {dest}{over}",
                label(&p.state),
                entries(p.entries),
                human_bytes(p.bytes)
            )?
        }
        State::Copied(m) => {
            let how = if m.cloned > 0 && m.written == 0 {
                ", cloned"
            } else if m.cloned > 0 {
                ", partly cloned"
            } else {
                ""
            };
            writeln!(
                out,
                "  {:<10} {name}  ({}, {}, verified{how}) → {dest}",
                label(&p.state),
                entries(p.entries),
                human_bytes(p.bytes)
            )?
        }
        State::InStorage(why) => {
            writeln!(out, "  {:<10} {name}  ({why}) at {dest}", label(&p.state))?
        }
        State::NothingOnRoot => writeln!(
            out,
            "  {:<10} {name}  (not on ROOT: nothing to copy)",
            label(&p.state)
        )?,
        State::Mounted => writeln!(
            out,
            "  {:<10} {name}  (a mount point on ROOT: its data is not on ROOT's file system)",
            label(&p.state)
        )?,
        State::Linked => writeln!(
            out,
            "  {:<10} {name}  (already a link to {dest})",
            label(&p.state)
        )?,
        State::Covered(by) => writeln!(
            out,
            "  {:<10} {name}  (inside {}: copied with it)",
            label(&p.state),
            escape_bytes(by)
        )?,
        State::Refused(r) => {
            writeln!(out, "  {:<10} {name}", label(&p.state))?;
            refusal(out, plan, p, r, pad)?;
        }
    }
    if !p.skipped.is_empty() && matches!(p.state, State::ToCopy | State::Copied(_)) {
        skipped(out, &p.skipped, pad)?;
    }
    Ok(())
}

fn skipped(out: &mut dyn Write, skipped: &[(Vec<u8>, Skip)], pad: &str) -> std::io::Result<()> {
    for (what, kind) in [("socket", Skip::Socket), ("mount point", Skip::MountPoint)] {
        let names: Vec<String> = skipped
            .iter()
            .filter(|(_, k)| *k == kind)
            .map(|(n, _)| escape_bytes(n))
            .collect();
        if names.is_empty() {
            continue;
        }
        let shown: Vec<&str> = names.iter().take(3).map(String::as_str).collect();
        let more = if names.len() > 3 {
            format!(", and {} more", names.len() - 3)
        } else {
            String::new()
        };
        let why = match kind {
            Skip::Socket => "a program recreates its sockets",
            Skip::MountPoint => "another file system: copy it separately if it must persist",
        };
        writeln!(
            out,
            "{pad}not copied: {} {what}{} ({why}): {}{more}",
            names.len(),
            if names.len() == 1 { "" } else { "s" },
            shown.join(", ")
        )?;
    }
    Ok(())
}

fn refusal(
    out: &mut dyn Write,
    plan: &Plan,
    p: &PathPlan,
    r: &Refusal,
    pad: &str,
) -> std::io::Result<()> {
    let dest = quote_path(&p.dest_host);
    match r {
        Refusal::Conflict(d) => {
            writeln!(out, "{pad}storage already holds different data at {dest}:")?;
            for line in difference_lines(d, "on ROOT", "in storage")
                .iter()
                .take(MAX_DIFFERENCES)
            {
                writeln!(out, "{pad}  {line}")?;
            }
            if d.len() > MAX_DIFFERENCES {
                writeln!(out, "{pad}  ... and {} more", d.len() - MAX_DIFFERENCES)?;
            }
            writeln!(
                out,
                "{pad}nothing was overwritten: compare the two, move {dest} aside (or merge by hand), then run again"
            )
        }
        Refusal::Writers(w) => {
            writeln!(out, "{pad}files under it are being written:")?;
            for (inner, wr) in w.iter().take(MAX_DIFFERENCES) {
                let unit = wr
                    .unit
                    .as_deref()
                    .map(|u| format!(", {}", text::escape_str(u)))
                    .unwrap_or_default();
                writeln!(
                    out,
                    "{pad}  {}: {} by pid {} ({}{unit})",
                    inner_name(inner),
                    wr.how,
                    wr.pid,
                    text::escape_str(&wr.command)
                )?;
            }
            let mut stop: Vec<String> = w
                .iter()
                .map(|(_, wr)| match &wr.unit {
                    Some(u) if u.ends_with(".service") => {
                        format!("systemctl stop {}", text::escape_str(u))
                    }
                    _ => format!("pid {} ({})", wr.pid, text::escape_str(&wr.command)),
                })
                .collect();
            stop.sort();
            stop.dedup();
            writeln!(
                out,
                "{pad}stop it first ({}), then run again",
                stop.join(", ")
            )
        }
        Refusal::Kept(k) => {
            for k in k {
                writeln!(
                    out,
                    "{pad}the running unit {} keeps its state in {} ({})",
                    text::escape_str(&k.unit),
                    escape_bytes(&k.dir),
                    text::escape_str(&k.evidence)
                )?;
            }
            let units: Vec<String> = k.iter().map(|k| text::escape_str(&k.unit)).collect();
            writeln!(
                out,
                "{pad}stop it first (systemctl stop {}), then run again",
                units.join(" ")
            )
        }
        Refusal::NoRoom { need, free } => writeln!(
            out,
            "{pad}not enough room in {}: the copies need {}, {} free; nothing was copied",
            quote_path(&plan.storages[p.storage].host),
            human_bytes(*need),
            human_bytes(*free)
        ),
        Refusal::Unusable(s) => writeln!(out, "{pad}{s}"),
        Refusal::Unreadable(s) => writeln!(out, "{pad}cannot read it on ROOT: {s}"),
        Refusal::Changed(s) => writeln!(out, "{pad}{s}"),
        Refusal::Failed(s) => writeln!(out, "{pad}{s}"),
        Refusal::Appeared => writeln!(
            out,
            "{pad}something appeared at {dest} while the copy was made; nothing was overwritten: run again"
        ),
    }
}

fn inner_name(inner: &[u8]) -> String {
    if inner.is_empty() {
        "(the path itself)".into()
    } else {
        escape_bytes(inner)
    }
}

fn mode(m: u32) -> String {
    format!("{m:04o}")
}

fn mtime(t: (i64, u32)) -> String {
    text::rfc3339(
        t.0.saturating_mul(1_000_000_000)
            .saturating_add(i64::from(t.1)),
    )
}

fn kind_word(k: Kind) -> &'static str {
    k.word()
}

/// One line per differing entry: `db/x: content differs`,
/// `db: mode 0750 on ROOT, 0700 in storage`, `new.log: only on ROOT (file)`.
pub fn difference_lines(d: &[Difference], a: &str, b: &str) -> Vec<String> {
    d.iter()
        .map(|d| {
            let what: Vec<String> = d
                .what
                .iter()
                .map(|w| match w {
                    What::OnlyA(k) => format!("only {a} ({})", kind_word(*k)),
                    What::OnlyB(k) => format!("only {b} ({})", kind_word(*k)),
                    What::Kind(x, y) => {
                        format!("a {} {a}, a {} {b}", kind_word(*x), kind_word(*y))
                    }
                    What::Content => "content differs".into(),
                    What::Mode(x, y) => format!("mode {} {a}, {} {b}", mode(*x), mode(*y)),
                    What::Owner(x, y) => {
                        format!("owner {}:{} {a}, {}:{} {b}", x.0, x.1, y.0, y.1)
                    }
                    What::Mtime(x, y) => format!("mtime {} {a}, {} {b}", mtime(*x), mtime(*y)),
                    What::Target(x, y) => format!(
                        "link to {} {a}, to {} {b}",
                        escape_bytes(x),
                        escape_bytes(y)
                    ),
                    What::Xattrs(n) => format!(
                        "extended attributes differ ({})",
                        n.iter()
                            .map(|n| escape_bytes(n))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    What::Rdev(x, y) => format!("device {x:#x} {a}, {y:#x} {b}"),
                    What::Links => "hard links differ".into(),
                    What::Unreadable(e) => text::escape_str(e),
                })
                .collect();
            format!("{}: {}", inner_name(&d.inner), what.join(", "))
        })
        .collect()
}

/// The first differences in one line (for a failed verification).
pub fn differences_inline(d: &[Difference]) -> String {
    let lines = difference_lines(d, "on ROOT", "in the copy");
    let mut s = lines.iter().take(3).cloned().collect::<Vec<_>>().join("; ");
    if lines.len() > 3 {
        s.push_str(&format!("; and {} more", lines.len() - 3));
    }
    s
}

fn totals(out: &mut dyn Write, plan: &Plan, done: bool) -> std::io::Result<()> {
    let count = |f: fn(&State) -> bool| plan.paths.iter().filter(|p| f(&p.state)).count();
    let copy = count(|s| matches!(s, State::ToCopy));
    let copied = count(|s| matches!(s, State::Copied(_)));
    let stored = count(|s| matches!(s, State::InStorage(_) | State::Linked | State::Covered(_)));
    let nothing = count(|s| matches!(s, State::NothingOnRoot | State::Mounted));
    let refused = count(|s| matches!(s, State::Refused(_)));
    let mut parts = Vec::new();
    if done {
        parts.push(format!("{copied} copied and verified"));
    } else {
        let bytes = plan.bytes_to_copy();
        parts.push(format!("{copy} to copy ({})", human_bytes(bytes)));
    }
    parts.push(format!("{stored} already in storage"));
    parts.push(format!("{nothing} with nothing to copy"));
    parts.push(format!("{refused} refused"));
    writeln!(
        out,
        "{} whitelisted path{}: {}.",
        plan.paths.len(),
        if plan.paths.len() == 1 { "" } else { "s" },
        parts.join(", ")
    )?;
    if !done {
        for (si, s) in plan.storages.iter().enumerate() {
            let (need, _) = plan.need(si);
            if need > 0 && plan.first_on_fs(si) {
                writeln!(
                    out,
                    "Room in {}: the copies need at most {}, {} free.",
                    quote_path(&s.host),
                    human_bytes(need),
                    human_bytes(s.free)
                )?;
            }
        }
    }
    Ok(())
}

/// The systemd unit name of a mount on `path` (`systemd-escape --path`).
pub fn mount_unit(path: &[u8]) -> String {
    let trimmed: Vec<&[u8]> = crate::paths::components(path).collect();
    if trimmed.is_empty() {
        return "-.mount".into();
    }
    let mut out = String::new();
    for (ci, c) in trimmed.iter().enumerate() {
        if ci > 0 {
            out.push('-');
        }
        for (bi, &b) in c.iter().enumerate() {
            let plain = b.is_ascii_alphanumeric()
                || b == b':'
                || b == b'_'
                || (b == b'.' && !(ci == 0 && bi == 0));
            if plain {
                out.push(b as char);
            } else {
                out.push_str(&format!("\\x{b:02x}"));
            }
        }
    }
    out.push_str(".mount");
    out
}

/// How to run the migration again: the command line given (with the same
/// ROOT and whitelist, not `/` and `./persist.nix`), or the TUI's key.
fn run_again(again: &str) -> String {
    if again.is_empty() {
        "the migration (m)".to_string()
    } else {
        format!("`{again} --yes`")
    }
}

fn next_steps(out: &mut dyn Write, plan: &Plan, again: &str) -> std::io::Result<()> {
    let in_storage: Vec<&PathPlan> = plan
        .paths
        .iter()
        .filter(|p| {
            matches!(
                p.state,
                State::Copied(_) | State::InStorage(_) | State::Covered(_)
            )
        })
        .collect();
    let refused = plan
        .paths
        .iter()
        .filter(|p| matches!(p.state, State::Refused(_)))
        .count();
    if refused > 0 {
        // No "reboot" step while data is still only on ROOT: the boot with
        // the whitelist hides it under the mount, and the wipe deletes it.
        writeln!(
            out,
            "Refused paths are not in storage: their data is still only on ROOT. Fix what is said \
             above and run {} again before you reboot.",
            run_again(again)
        )?;
        writeln!(out)?;
        writeln!(out, "Next steps:")?;
        writeln!(
            out,
            "  1. Fix what stops the {refused} refused {} (above), then run {} again.",
            crate::text::plural(refused as u64, "path", "paths"),
            run_again(again)
        )?;
        writeln!(
            out,
            "  2. Do not boot a generation with the whitelist until it says every path is in \
             storage: a refused path's data is hidden by the mount at that boot, and the wipe \
             deletes it."
        )?;
        return Ok(());
    }
    writeln!(out)?;
    writeln!(out, "Next steps:")?;
    writeln!(
        out,
        "  1. Import the whitelist in your NixOS configuration (if it is not yet) and build the \
         next generation with it: nixos-rebuild boot (or nixos-install for a new system)."
    )?;
    writeln!(
        out,
        "  2. Reboot. From then on each path is served from storage{}",
        if in_storage.is_empty() { "." } else { ":" }
    )?;
    let width = in_storage
        .iter()
        .map(|p| escape_bytes(&p.entry.path).chars().count())
        .max()
        .unwrap_or(0);
    for p in &in_storage {
        let name = escape_bytes(&p.entry.path);
        let src = escape_bytes(&p.dest);
        let how = if p.entry.by_symlink {
            format!("a symlink to {src}")
        } else if p.entry.is_file {
            format!("a bind mount of the file {src}")
        } else {
            // The unit name is printable ASCII by construction (systemd's
            // own escaping): printed as systemctl shows it.
            format!("a bind mount of {src} ({})", mount_unit(&p.entry.path))
        };
        writeln!(out, "       {name:<width$}  {how}")?;
    }
    writeln!(
        out,
        "  The old copies on ROOT were left as they are: the wipe at the next boot removes them."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_units_are_named_as_systemd_escapes_paths() {
        assert_eq!(
            mount_unit(b"/var/lib/postgresql"),
            "var-lib-postgresql.mount"
        );
        assert_eq!(mount_unit(b"/home/bird/.ssh"), "home-bird-.ssh.mount");
        assert_eq!(mount_unit(b"/var/lib/my-app"), "var-lib-my\\x2dapp.mount");
        assert_eq!(mount_unit(b"/.cache"), "\\x2ecache.mount");
        assert_eq!(mount_unit(b"/"), "-.mount");
    }

    #[test]
    fn differences_read_like_explain() {
        let d = vec![
            Difference {
                inner: b"db".to_vec(),
                what: vec![What::Mode(0o750, 0o700)],
            },
            Difference {
                inner: b"new\nlog".to_vec(),
                what: vec![What::OnlyA(Kind::File)],
            },
            Difference {
                inner: Vec::new(),
                what: vec![What::Mtime((0, 5), (1, 0))],
            },
        ];
        assert_eq!(
            difference_lines(&d, "on ROOT", "in storage"),
            [
                "db: mode 0750 on ROOT, 0700 in storage",
                "new\\nlog: only on ROOT (file)",
                "(the path itself): mtime 1970-01-01T00:00:00.000000005Z on ROOT, 1970-01-01T00:00:01Z in storage",
            ]
        );
    }
}
