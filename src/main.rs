//! The `darlings` binary: parse the command line, run, map the outcome to
//! the exit codes of SPEC §3 (0 success, 1 check failed, 2 bad input).

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = match darlings::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // --help and --version are successes; every usage error is exit 2.
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match darlings::run(cli) {
        Ok(darlings::Outcome::Success) => ExitCode::SUCCESS,
        Ok(darlings::Outcome::CheckFailed) => ExitCode::from(1),
        Err(e) => {
            eprintln!("darlings: error: {e}");
            ExitCode::from(2)
        }
    }
}
