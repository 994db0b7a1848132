//! `darlings completions SHELL` and `darlings man`: generated from the
//! command line's own definition (clap_complete, clap_mangen), so they can
//! never disagree with `--help`.

use std::io::Write;

use clap::CommandFactory;

use super::{Outcome, ignore_broken_pipe};
use crate::Result;
use crate::cli::Cli;

/// Writes the completion script for `shell` to stdout.
pub fn completions(shell: clap_complete::Shell) -> Result<Outcome> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "darlings", &mut out);
    let mut stdout = std::io::stdout().lock();
    ignore_broken_pipe(stdout.write_all(&out).and_then(|()| stdout.flush()))?;
    Ok(Outcome::Success)
}

/// Writes the man page (section 1, roff) to stdout.
pub fn man() -> Result<Outcome> {
    let cmd = Cli::command();
    let mut out = Vec::new();
    let page = clap_mangen::Man::new(cmd)
        .section("1")
        .manual("darlings manual")
        .source(format!("darlings {}", env!("CARGO_PKG_VERSION")));
    // Writing into a Vec cannot fail.
    let _ = page.render(&mut out);
    let mut stdout = std::io::stdout().lock();
    ignore_broken_pipe(stdout.write_all(&out).and_then(|()| stdout.flush()))?;
    Ok(Outcome::Success)
}
