//! `darlings completions SHELL` and `darlings man`: generated from the
//! command line's own definition (clap_complete, clap_mangen), so they can
//! never disagree with `--help`.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::CommandFactory;

use super::{Outcome, ignore_broken_pipe};
use crate::cli::Cli;
use crate::{Error, Result, output, text};

/// Writes the completion script for `shell` to stdout.
pub fn completions(shell: clap_complete::Shell) -> Result<Outcome> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "darlings", &mut out);
    let mut stdout = std::io::stdout().lock();
    ignore_broken_pipe(stdout.write_all(&out).and_then(|()| stdout.flush()))?;
    Ok(Outcome::Success)
}

/// The command line as the man pages show it. Without clap's `help`
/// subcommand: it has no page of its own, so no page may point to one.
fn man_command() -> clap::Command {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    // Sets each subcommand's display name (`darlings-migrate`): the page
    // names the SEE ALSO and SUBCOMMANDS sections point to.
    cmd.build();
    cmd
}

/// The page (section 1, roff) of `cmd`.
fn render(cmd: clap::Command) -> Vec<u8> {
    let mut out = Vec::new();
    let page = clap_mangen::Man::new(cmd)
        .section("1")
        .manual("darlings manual")
        .source(format!("darlings {}", env!("CARGO_PKG_VERSION")));
    // Writing into a Vec cannot fail.
    let _ = page.render(&mut out);
    out
}

/// Every page: (file name, roff), the top page first, then one per command
/// (and per nested command, were there any).
pub fn pages() -> Vec<(String, Vec<u8>)> {
    fn walk(cmd: &clap::Command, out: &mut Vec<(String, Vec<u8>)>) {
        let name = cmd.get_display_name().unwrap_or_else(|| cmd.get_name());
        out.push((format!("{name}.1"), render(cmd.clone())));
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            walk(sub, out);
        }
    }
    let mut out = Vec::new();
    walk(&man_command(), &mut out);
    out
}

/// Writes the top man page to stdout, or with `dir` every page into `dir`
/// (each atomically), naming the files written.
pub fn man(dir: Option<&Path>) -> Result<Outcome> {
    let Some(dir) = dir else {
        let out = render(man_command());
        let mut stdout = std::io::stdout().lock();
        ignore_broken_pipe(stdout.write_all(&out).and_then(|()| stdout.flush()))?;
        return Ok(Outcome::Success);
    };
    if !std::fs::metadata(dir).is_ok_and(|m| m.is_dir()) {
        return Err(Error::bad_input(
            dir,
            "--dir must be an existing directory (the man pages are written into it)",
        ));
    }
    let mut written: Vec<PathBuf> = Vec::new();
    for (name, roff) in pages() {
        let path = dir.join(name);
        output::write_atomic(&path, false, |w| w.write_all(&roff))?;
        written.push(path);
    }
    let mut stdout = std::io::stdout().lock();
    let list: String = written
        .iter()
        .map(|p| format!("{}\n", text::quote_path(p)))
        .collect();
    ignore_broken_pipe(
        stdout
            .write_all(list.as_bytes())
            .and_then(|()| stdout.flush()),
    )?;
    Ok(Outcome::Success)
}
