//! Turns the parsed command line into the library's options, validating
//! what can be checked before any work starts (fd's Opts → Config split).

use std::path::{Path, PathBuf};

use crate::audit::{AuditOptions, Baseline, HashMode};
use crate::cli::{FlavorArg, HashArg, ScanArgs};
use crate::scan::ScanOptions;
use crate::whitelist::Flavor;
use crate::{Error, Result};

impl From<FlavorArg> for Flavor {
    fn from(f: FlavorArg) -> Self {
        match f {
            FlavorArg::Impermanence => Flavor::Impermanence,
            FlavorArg::Preservation => Flavor::Preservation,
        }
    }
}

impl From<HashArg> for HashMode {
    fn from(h: HashArg) -> Self {
        match h {
            HashArg::Auto => HashMode::Auto,
            HashArg::All => HashMode::All,
            HashArg::None => HashMode::None,
        }
    }
}

/// The default worker count: four per core. A first scan of a real disk is
/// cold, and there the number of requests in flight, not the CPU, sets the
/// pace (measured on a 2-core VM with a virtio disk: 16 threads walked cold
/// trees of 130k-200k entries 2.3-4.1x faster than 2); on a warm cache the
/// extra threads cost next to nothing.
pub fn default_threads() -> usize {
    4 * cores()
}

/// The default reserve of the walk (`ScanOptions::reserve_threads`): up to
/// 16 threads per core in all, at least 32 and at most 64, woken only when
/// the walk waits on the disk. On a disk answering in 200 us, 32-64 threads
/// walked 1.3-1.4x faster than 8 (bench/slow-disk.sh); on a warm cache they
/// would only contend, so they stay asleep there.
pub fn default_reserve_threads() -> usize {
    (16 * cores())
        .clamp(32, 64)
        .saturating_sub(default_threads())
}

/// [`crate::scan::cores`], but 2 when the system cannot say: the default
/// thread counts assume a small machine, not a single core.
fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// Checks that ROOT exists and is a directory, and makes it canonical:
/// every path shown under it (`/tmp/x/../r` + `/var/lib/foo`) then reads
/// as one clean path (`/tmp/r/var/lib/foo`), and it compares equal to the
/// mount points of `/proc/self/mountinfo`, which are canonical too.
pub fn resolve_root(root: Option<&Path>) -> Result<PathBuf> {
    let root = root.map_or_else(|| PathBuf::from("/"), Path::to_path_buf);
    let meta = std::fs::metadata(&root).map_err(|e| Error::io("cannot scan root", &root, e))?;
    if !meta.is_dir() {
        return Err(Error::bad_input(
            &root,
            "the root to scan is not a directory",
        ));
    }
    std::fs::canonicalize(&root).map_err(|e| Error::io("cannot resolve", &root, e))
}

/// Validates a `--storage` value against ROOT: it must be absolute, as seen
/// inside ROOT (`/persist`, not `persist`); when nothing is there a warning
/// goes to stderr (before a first migration it may rightly not exist yet).
pub fn storage_root(root: &Path, storage: &Path) -> Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let bytes = storage.as_os_str().as_bytes();
    if !bytes.starts_with(b"/") {
        return Err(Error::Usage(format!(
            "--storage '{}': give the storage root as an absolute path as seen inside ROOT, \
             like /persist",
            crate::text::quote_path(storage)
        )));
    }
    let host = crate::resolve::HostBeyond {
        root: root.to_path_buf(),
    };
    if host.resolve(bytes).ending != crate::resolve::Ending::Exists {
        eprintln!(
            "darlings: warning: --storage '{}' does not exist in ROOT '{}' (fine if it is \
             created later, before a first migration)",
            crate::text::quote_path(storage),
            crate::text::quote_path(root)
        );
    }
    Ok(())
}

/// Interprets a `--against` value: `empty`, a scan file (by its magic), or a directory.
pub fn parse_baseline(value: &str) -> Result<Baseline> {
    if value == "empty" {
        return Ok(Baseline::Empty);
    }
    let p = PathBuf::from(value);
    let meta = std::fs::metadata(&p).map_err(|e| Error::io("cannot use baseline", &p, e))?;
    if meta.is_dir() {
        Ok(Baseline::Directory(p))
    } else if !meta.is_file() {
        // Never opened: a fifo would block, a device's open can have effects.
        Err(Error::bad_input(
            &p,
            "not a regular file, a directory or `empty` (a fifo, socket or device is never opened)",
        ))
    } else if crate::snapshot::is_scan_file(&p) {
        Ok(Baseline::ScanFile(p))
    } else {
        Err(Error::bad_input(
            &p,
            "not a darlings scan file (wrong magic bytes) and not a directory",
        ))
    }
}

/// Builds the audit options of a scanning command.
pub fn audit_options(root: Option<&Path>, args: &ScanArgs) -> Result<AuditOptions> {
    Ok(audit_and_config(root, args)?.0)
}

/// Builds the audit options of a scanning command, and returns the
/// `--persistence` files as read, for the check.
pub fn audit_and_config(
    root: Option<&Path>,
    args: &ScanArgs,
) -> Result<(AuditOptions, Vec<crate::check::ConfigFile>)> {
    let root = resolve_root(root)?;
    let threads = threads(args.threads)?;
    // `--threads N` is the user's count; without it the walk may wake more.
    let reserve_threads = match args.threads {
        Some(_) => 0,
        None => default_reserve_threads(),
    };
    let baseline = parse_baseline(&args.against)?;
    if let Baseline::Directory(b) = &baseline
        && std::fs::canonicalize(b).ok() == std::fs::canonicalize(&root).ok()
    {
        return Err(Error::Usage(format!(
            "the baseline '{}' is the root itself; compare with a blank snapshot, an old root or a scan file",
            crate::text::quote_path(b)
        )));
    }
    for s in &args.storage {
        storage_root(&root, s)?;
    }
    if let Some(f) = &args.ignore {
        ignore_dir(f)?;
    }
    let config = load_config(&root, &args.persistence)?;
    let listed = crate::check::listed(&config);
    // A location that lists nothing is a storage root too: its contents are persisted.
    let mut storage = args.storage.clone();
    storage.extend(
        config
            .iter()
            .flat_map(|c| c.whitelist.storage_roots.iter().cloned()),
    );
    let opts = AuditOptions {
        scan: ScanOptions {
            root,
            threads,
            reserve_threads,
            exclude: excludes(&args.exclude),
            hash_all: false,
        },
        baseline,
        hash: args.hash.into(),
        storage,
        listed,
        ignore: args.ignore.clone(),
    };
    Ok((opts, config))
}

/// The `--exclude` patterns as the walk matches them. A pattern with a
/// `/` is matched against whole in-root paths, which start with `/`; one
/// without the leading `/` (`home/alice/.cache`) is taken from ROOT, as
/// the rules of `--ignore` are, instead of silently matching nothing.
pub fn excludes(patterns: &[String]) -> Vec<String> {
    patterns
        .iter()
        .map(|p| {
            if p.contains('/') && !p.starts_with('/') && !p.starts_with("**") {
                format!("/{p}")
            } else {
                p.clone()
            }
        })
        .collect()
}

/// Refuses an `--ignore` file that cannot exist: one whose directory is
/// missing (the TUI could never create it there).
fn ignore_dir(file: &Path) -> Result<()> {
    let dir = match file.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    match std::fs::symlink_metadata(file) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !dir.is_dir() => Err(
            Error::bad_input(file, "--ignore file does not exist, nor does its directory"),
        ),
        _ => Ok(()),
    }
}

/// Refuses an `--ignore` file that does not exist, for the commands that
/// only read it (`summary`, `report`, `explain`): a mistyped name would silently
/// dismiss nothing. The TUI creates the file at its first dismissal.
pub fn ignore_exists(args: &ScanArgs) -> Result<()> {
    match &args.ignore {
        Some(f) if matches!(std::fs::metadata(f), Err(e) if e.kind() == std::io::ErrorKind::NotFound) => {
            Err(Error::bad_input(
                f,
                "--ignore file does not exist (only the TUI creates it, at its first dismissal)",
            ))
        }
        _ => Ok(()),
    }
}

/// Validates `--threads`.
pub fn threads(n: Option<usize>) -> Result<usize> {
    match n {
        Some(0) => Err(Error::Usage("--threads must be at least 1".into())),
        Some(n) if n > 1024 => Err(Error::Usage(format!("--threads {n} is more than 1024"))),
        Some(n) => Ok(n),
        None => Ok(default_threads()),
    }
}

/// Splits `--persistence USER=FILE` (the user a Home Manager export belongs
/// to) into its parts; a file that exists under the whole name, or a name
/// that is not a user name, is just a file.
fn owner_and_file(arg: &Path) -> (Option<&str>, &Path) {
    let split = arg
        .to_str()
        .and_then(|s| s.split_once('='))
        .filter(|(user, file)| {
            let mut chars = user.chars();
            chars
                .next()
                .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
                && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_-.".contains(c))
                && !file.is_empty()
        });
    match split {
        Some((user, file)) if !arg.exists() => (Some(user), Path::new(file)),
        _ => (None, arg),
    }
}

/// The error of `--persistence USER=FILE` with a USER that ROOT's
/// `/etc/passwd` does not know, naming a few of the users it does know.
fn unknown_user(root: &Path, name: &str, file: &Path, users: &crate::users::Users) -> Error {
    const SHOWN: usize = 8;
    let people = users.people();
    let names: Vec<&str> = if people.is_empty() {
        users.accounts().iter().map(|a| a.name.as_str()).collect()
    } else {
        people.iter().map(|(n, _)| n.as_str()).collect()
    };
    let what = if people.is_empty() { "users" } else { "people" };
    let mut known: Vec<String> = names
        .iter()
        .take(SHOWN)
        .map(|n| crate::text::escape_str(n))
        .collect();
    if names.len() > SHOWN {
        known.push(format!("and {} more", names.len() - SHOWN));
    }
    Error::Usage(format!(
        "--persistence {}={}: ROOT '{}' has no user '{}' in its /etc/passwd (its {what}: {}), \
         so the home of this Home Manager export is unknown; name the user it belongs to: USER=FILE",
        crate::text::escape_str(name),
        crate::text::quote_path(file),
        crate::text::quote_path(root),
        crate::text::escape_str(name),
        known.join(", ")
    ))
}

/// Refuses an output file that would land inside the baseline (darlings
/// never writes into the baseline it compares with: README, 'Commands').
pub fn check_output(output: &Path, baseline: &Baseline) -> Result<()> {
    if let Some(b) = baseline.path() {
        // Where the write lands, a symlink followed (as the writer does).
        let output = crate::output::follow(output)?;
        let output = output.as_path();
        let b_dir = if b.is_dir() {
            b
        } else {
            b.parent().unwrap_or(b)
        };
        if (b.is_dir() && crate::output::is_inside(output, b_dir))
            || crate::paths::same_file(output, b)
        {
            return Err(Error::Usage(format!(
                "refusing to write '{}' inside the baseline '{}'",
                crate::text::quote_path(output),
                crate::text::quote_path(b)
            )));
        }
    }
    Ok(())
}

/// Reads every `--persistence` file (`FILE`, or `USER=FILE` for a Home
/// Manager export of USER), each entry with its file and location; the
/// homes of `users.NAME` entries come from ROOT's `/etc/passwd`. A broken
/// file, or a USER that ROOT's `/etc/passwd` does not list, stops the
/// command (exit 2) with the file and the entry (or user) named.
pub fn load_config(root: &Path, files: &[PathBuf]) -> Result<Vec<crate::check::ConfigFile>> {
    load(root, files, true)
}

/// As [`load_config`], but a USER that ROOT does not know takes
/// `/home/USER`: only for a guess (which argument of `migrate` is ROOT,
/// read with the homes of the host), never for what a command acts on.
pub fn load_config_for_guess(
    root: &Path,
    files: &[PathBuf],
) -> Result<Vec<crate::check::ConfigFile>> {
    load(root, files, false)
}

fn load(
    root: &Path,
    files: &[PathBuf],
    known_users: bool,
) -> Result<Vec<crate::check::ConfigFile>> {
    if files.is_empty() {
        return Ok(Vec::new());
    }
    let users = crate::users::Users::read(root);
    let opts = crate::persistence::LoadOptions::for_users(&users);
    let mut config = Vec::new();
    for arg in files {
        let (owner, f) = owner_and_file(arg);
        let mut opts = opts.clone();
        if let Some(name) = owner {
            let dir = match users.home_of(name) {
                Some(home) => home.to_path_buf(),
                // A root with no accounts at all (no /etc/passwd: a bare
                // test root, a partial copy) cannot say where homes are:
                // the usual /home/NAME stands in, without a word.
                None if users.accounts().is_empty() || !known_users => {
                    crate::persistence::default_home(name)
                }
                // A user ROOT does not know would put the export's paths
                // in a home nothing on ROOT is in: every one of them would
                // match nothing, and the command would look fine.
                None => return Err(unknown_user(root, name, f, &users)),
            };
            opts.home_manager_user = Some(crate::persistence::UserHome {
                name: name.to_string(),
                dir,
            });
        }
        config.push(crate::check::ConfigFile {
            file: f.to_path_buf(),
            arg: arg.clone(),
            whitelist: crate::persistence::load_with(f, &opts)?,
        });
    }
    Ok(config)
}
