//! The command line (README, 'Commands'), as clap derive types. No logic here:
//! `settings` turns these into the library's options.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Find what on your NixOS root would be lost at the next wipe, and persist it.
///
/// Without a command, opens the interactive review of ROOT (default /).
#[derive(Debug, Parser)]
// Options and ROOT before a command would belong to the default TUI and be
// silently ignored by the command (`darlings --persistence p.json check r`
// checked without the config): clap refuses them instead (exit 2).
#[command(name = "darlings", version, about, long_about = None, after_help = EXIT_CODES)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// What to do (default: the TUI on ROOT).
    #[command(subcommand)]
    pub command: Option<Command>,
    /// The root to review when no command is given.
    #[arg(value_name = "ROOT")]
    pub root: Option<PathBuf>,
    /// Scan options for the default TUI.
    #[command(flatten)]
    pub scan: ScanArgs,
    /// Whitelist options for the default TUI.
    #[command(flatten)]
    pub write: WriteArgs,
    /// Options of the default TUI.
    #[command(flatten)]
    pub ui: UiArgs,
}

const EXIT_CODES: &str = "Exit codes: 0 success; 1 `summary --fail-on-stray` found unresolved stray paths, \
`check` found a problem of severity error, or `migrate --yes` refused some paths; 2 bad usage or unusable \
input (the message names the file and the problem).";

const MIGRATE_EXIT_CODES: &str = "Exit codes: 0 every path is in storage (or nothing was written \
without --yes); 1 some paths were refused (the others were migrated); 2 bad usage or unusable input.";

/// The subcommands (README, 'Commands').
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Browse stray state, promote or dismiss paths, write the whitelist.
    Tui {
        /// The root to review (default /).
        root: Option<PathBuf>,
        /// Scan options.
        #[command(flatten)]
        scan: ScanArgs,
        /// Whitelist options.
        #[command(flatten)]
        write: WriteArgs,
        /// Options of the TUI.
        #[command(flatten)]
        ui: UiArgs,
    },
    /// Print a one-screen summary of what the next wipe would lose.
    Summary {
        /// The root to audit (default /).
        root: Option<PathBuf>,
        /// Scan options.
        #[command(flatten)]
        scan: ScanArgs,
        /// Exit 1 when stray paths exist that are neither dismissed nor advised ephemeral (those
        /// unchanged against the baseline too: only you know whether it brings them back).
        #[arg(long)]
        fail_on_stray: bool,
        /// How many of the largest stray locations to list.
        #[arg(long, default_value_t = 10, value_name = "N")]
        top: usize,
    },
    /// Write the JSON report (schema darlings-report/1) to stdout or FILE.
    Report {
        /// The root to audit (default /).
        root: Option<PathBuf>,
        /// Scan options.
        #[command(flatten)]
        scan: ScanArgs,
        /// Write the report to FILE (atomically) instead of stdout.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// List unchanged entries too.
        #[arg(long)]
        include_unchanged: bool,
    },
    /// Find what is wrong with the whitelist in effect: data hidden under mounts, paths not in
    /// storage, replaced links, stale storage, entries over Nix-managed files, nested and
    /// duplicate entries, home paths without their owner, early-boot paths set up too late.
    ///
    /// Exits 1 when a finding has severity error: run it before `nixos-rebuild switch` or
    /// before enabling wipes. Schema of --json: darlings-check/1 (docs/check.md).
    Check {
        /// The root to check (default /).
        root: Option<PathBuf>,
        /// The whitelist in effect: JSON from `nix eval --json`, or a darlings .nix file; may
        /// repeat (default: what the live system shows: storage bind mounts, mount units,
        /// preservation's tmpfiles links).
        #[arg(long, value_name = "FILE")]
        persistence: Vec<PathBuf>,
        /// A persistent storage root, absolute as seen inside ROOT; may repeat (default: from the
        /// config, else /persist).
        #[arg(long, value_name = "PATH")]
        storage: Vec<PathBuf>,
        /// A previous scan or old root: a path that was a link into storage there and is not
        /// any more is a replaced link.
        #[arg(long, value_name = "BASELINE", default_value = "empty")]
        against: String,
        /// Skip paths matching GLOB: an in-root path if GLOB has a '/' (`/var/cache`; `home/*/.cache`
        /// is read from ROOT too), else a name (`*.tmp`); may repeat.
        #[arg(long, value_name = "GLOB")]
        exclude: Vec<String>,
        /// Worker threads (default: 4 per core, and up to 16 per core, 32-64 in all, once the walk waits on the disk).
        #[arg(long, value_name = "N")]
        threads: Option<usize>,
        /// Print JSON (schema darlings-check/1) instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Explain one path's verdict: its entry, its change, the rule that decided its class with
    /// the evidence, the knowledge base's advice, its owner, the check's findings and the
    /// suggestion covering it.
    ///
    /// PATH is read inside ROOT, as it is (links not followed). Schema of --json:
    /// darlings-explain/1 (docs/explain.md).
    Explain {
        /// The path, absolute as seen inside ROOT (`/etc/machine-id`).
        #[arg(value_name = "PATH")]
        path: PathBuf,
        /// The root it lives on (default /).
        #[arg(value_name = "ROOT")]
        root: Option<PathBuf>,
        /// Scan options (the same as summary and report, so the verdict is theirs).
        #[command(flatten)]
        scan: ScanArgs,
        /// Print JSON (schema darlings-explain/1) instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Save a scan of ROOT, to serve later as `--against FILE`.
    Scan {
        /// The root to scan (default /).
        root: Option<PathBuf>,
        /// Where to write the scan file (atomically).
        #[arg(short, long, value_name = "FILE", required = true)]
        output: PathBuf,
        /// When to read file contents: `all` makes a complete baseline.
        #[arg(long, value_enum, default_value_t = HashArg::Auto, value_name = "MODE")]
        hash: HashArg,
        /// Skip paths matching GLOB: an in-root path if GLOB has a '/' (`/var/cache`; `home/*/.cache`
        /// is read from ROOT too), else a name (`*.tmp`); may repeat.
        #[arg(long, value_name = "GLOB")]
        exclude: Vec<String>,
        /// Worker threads (default: 4 per core, and up to 16 per core, 32-64 in all, once the walk waits on the disk).
        #[arg(long, value_name = "N")]
        threads: Option<usize>,
    },
    /// Add paths to the whitelist file without the TUI.
    ///
    /// Refuses (exit 2, nothing written) paths no whitelist may list: inside or holding a
    /// storage root, under /nix or /etc/static, /etc itself or a directory of it holding files
    /// NixOS generates, links into the Nix store; each refusal says what to persist instead.
    Promote {
        /// Paths to persist (absolute, as on the root).
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// The root the paths live on (for their owner and mode; default /).
        #[arg(long, value_name = "ROOT")]
        root: Option<PathBuf>,
        /// Whitelist options.
        #[command(flatten)]
        write: WriteArgs,
        /// Storage root for the new entries (default: the file's, else /persist).
        #[arg(long, value_name = "PATH")]
        storage: Option<PathBuf>,
    },
    /// Copy the data of whitelisted paths from ROOT into storage, verified.
    ///
    /// Without --yes, prints the plan and writes nothing. ROOT is taken as the
    /// first argument unless that argument is itself a whitelisted path.
    #[command(after_help = MIGRATE_EXIT_CODES)]
    Migrate {
        /// The root holding the data (default /); paths and storage roots are resolved inside it.
        #[arg(value_name = "ROOT")]
        root: Option<PathBuf>,
        /// Whitelisted paths to migrate (default: every whitelisted path).
        #[arg(value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// The whitelist: JSON from `nix eval --json`, or a darlings .nix file; may repeat.
        #[arg(long, value_name = "FILE", conflicts_with = "whitelist")]
        persistence: Vec<PathBuf>,
        /// The whitelist file darlings wrote (default: ./persist.nix when it exists).
        #[arg(long, value_name = "FILE")]
        whitelist: Option<PathBuf>,
        /// Only the paths kept in this storage root (in-root path); may repeat.
        #[arg(long, value_name = "PATH")]
        storage: Vec<PathBuf>,
        /// Carry the plan out (copy, verify, rename into place).
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Build a sample NixOS-like root in a temporary directory and open the TUI on it.
    Demo {
        /// Options of the TUI.
        #[command(flatten)]
        ui: UiArgs,
    },
    /// Print shell completions for SHELL on stdout.
    ///
    /// bash: `darlings completions bash > ~/.local/share/bash-completion/completions/darlings`;
    /// zsh: into a directory of your `fpath` as `_darlings`;
    /// fish: `> ~/.config/fish/completions/darlings.fish`.
    /// On NixOS the package installs them for you.
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) on stdout: `darlings man | man -l -`.
    ///
    /// With --dir, write every page into DIR instead: darlings.1 and one per
    /// command (darlings-migrate.1, ...), as the SEE ALSO lists name them.
    Man {
        /// Write darlings.1 and darlings-COMMAND.1 into this directory.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

/// Options shared by the commands that scan and compare.
#[derive(Debug, Args, Clone, Default)]
pub struct ScanArgs {
    /// What ROOT is compared with: `empty`, a directory (blank snapshot, old root) or a scan file.
    #[arg(long, value_name = "BASELINE", default_value = "empty")]
    pub against: String,
    /// The whitelist in effect: JSON from `nix eval --json` (USER=FILE for a Home Manager export
    /// that does not say whose it is), or a .nix file; may repeat.
    #[arg(long, value_name = "[USER=]FILE")]
    pub persistence: Vec<PathBuf>,
    /// A persistent storage root, absolute as seen inside ROOT; may repeat (default: from the
    /// config, else /persist).
    #[arg(long, value_name = "PATH")]
    pub storage: Vec<PathBuf>,
    /// Gitignore-style rules (relative to ROOT) of stray paths accepted as ephemeral (the TUI
    /// creates the file at its first dismissal; summary and report need it to exist).
    #[arg(long, value_name = "FILE")]
    pub ignore: Option<PathBuf>,
    /// When to read file contents: only where metadata cannot decide, every file, or never.
    #[arg(long, value_enum, default_value_t = HashArg::Auto, value_name = "MODE")]
    pub hash: HashArg,
    /// Skip paths matching GLOB: an in-root path if GLOB has a '/' (`/var/cache`; `home/*/.cache`
    /// is read from ROOT too), else a name (`*.tmp`); may repeat.
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// Worker threads (default: 4 per core, and up to 16 per core, 32-64 in all, once the walk waits on the disk).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

/// Options of the commands that write the whitelist.
#[derive(Debug, Args, Clone, Default)]
pub struct WriteArgs {
    /// Where promoted paths are written.
    #[arg(long, value_name = "FILE", default_value = "persist.nix")]
    pub whitelist: PathBuf,
    /// The module to write for (default: the one the file uses, else impermanence).
    #[arg(long, value_enum)]
    pub flavor: Option<FlavorArg>,
}

/// Options of the interactive review.
#[derive(Debug, Args, Clone, Default)]
pub struct UiArgs {
    /// Press these keys first, as in 'jj l Space w y q': a word is a key
    /// (Space Enter Esc Tab Backspace Up Down Left Right PgUp PgDn Home End
    /// F1 Ctrl-C) or types its characters. Without a terminal the TUI runs
    /// headless and prints its last screen (size from COLUMNS and LINES).
    #[arg(long, value_name = "KEYS")]
    pub keys: Option<String>,
    /// On exit, print the paths still marked, one per line (names escaped
    /// as everywhere), for scripts; quitting does not ask about them.
    #[arg(long)]
    pub print_marked: bool,
}

/// `--hash` values.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq, Default)]
pub enum HashArg {
    /// Hash where size and mtime cannot decide.
    #[default]
    Auto,
    /// Hash every regular file.
    All,
    /// Never read file contents.
    None,
}

/// `--flavor` values.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq, Default)]
pub enum FlavorArg {
    /// nix-community/impermanence: `environment.persistence`.
    #[default]
    Impermanence,
    /// nix-community/preservation: `preservation.preserveAt`.
    Preservation,
}
