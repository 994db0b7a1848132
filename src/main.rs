//! The `darlings` binary: parse the command line, run, map the outcome to
//! the exit codes of the README's 'Commands' (0 success, 1 check failed, 2 bad input).

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
            eprint!("{text}");
            return ExitCode::from(2);
        }
    };
    match darlings::run(cli) {
        Ok(darlings::Outcome::Success) => ExitCode::SUCCESS,
        Ok(darlings::Outcome::CheckFailed) => ExitCode::from(1),
        Err(e) => {
            // Only a refusal to edit a whitelist spans lines: the lines to paste.
            let lines = matches!(e, darlings::Error::NoSafeEdit { .. });
            let msg = darlings::text::escape_message(&e.to_string(), lines);
            eprintln!("darlings: error: {msg}");
            ExitCode::from(2)
        }
    }
}
