//! The `darlings` binary: parse the command line, run, map the outcome to
//! the exit codes of the README's 'Commands' (0 success, 1 check failed, 2 bad input).

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = match darlings::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version are successes; every usage error is exit 2.
            if !e.use_stderr() {
                let _ = e.print();
                return ExitCode::SUCCESS;
            }
            // A usage error quotes the offending argument, which may be a file
            // name from a shell glob: escape it like every other name.
            let text = darlings::text::escape_message(&e.render().to_string(), true);
            // The hint first: clap's own words name the wrong word as the
            // subcommand. Written with errors ignored: a closed stderr
            // (`2>&1 | head`) is no reason to panic.
            let mut err = std::io::stderr().lock();
            if let Some(hint) = misplaced_command_hint(&e) {
                let _ = writeln!(err, "{hint}");
            }
            let _ = write!(err, "{text}");
            return ExitCode::from(2);
        }
    };
    // `darlings --persistence p.json check`: clap takes `check` for ROOT (the
    // TUI's), which would review ./check or fail to find it.
    if cli.command.is_none()
        && let Some(root) = cli.root.as_deref().and_then(|r| r.to_str())
        && let Some(name) = command_named(root)
    {
        let _ = writeln!(
            std::io::stderr(),
            "darlings: error: `{name}` after options is read as ROOT: options go after the command (darlings {name} [ROOT] [OPTIONS]); to review a directory named {name}, write ./{name}"
        );
        return ExitCode::from(2);
    }
    match darlings::run(cli) {
        Ok(darlings::Outcome::Success) => ExitCode::SUCCESS,
        Ok(darlings::Outcome::CheckFailed) => ExitCode::from(1),
        Err(e) => {
            // Only a refusal to edit a whitelist spans lines: the lines to paste.
            let lines = matches!(e, darlings::Error::NoSafeEdit { .. });
            let msg = darlings::text::escape_message(&e.to_string(), lines);
            let _ = writeln!(std::io::stderr(), "darlings: error: {msg}");
            ExitCode::from(2)
        }
    }
}

/// `darlings --persistence p.json check r`: options and ROOT before a command
/// belong to the default TUI, so clap refuses them (in its own words, which
/// name the wrong word as the subcommand); say where they go.
fn misplaced_command_hint(e: &clap::Error) -> Option<String> {
    if e.kind() != clap::error::ErrorKind::ArgumentConflict {
        return None;
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (at, name) = args
        .iter()
        .enumerate()
        .skip(1)
        .find_map(|(i, a)| command_named(a).map(|name| (i, name)))?;
    let before = darlings::text::escape_message(&args[..at].join(" "), false);
    Some(format!(
        "darlings: `{before}` comes before the command `{name}`: options and ROOT go after it (darlings {name} [ROOT] [OPTIONS]; see darlings {name} --help)"
    ))
}

/// The command whose name is exactly `word`, if any.
fn command_named(word: &str) -> Option<String> {
    use clap::CommandFactory;
    darlings::cli::Cli::command()
        .get_subcommands()
        .find(|c| c.get_name() == word)
        .map(|c| c.get_name().to_string())
}
