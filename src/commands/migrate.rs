//! `darlings migrate [ROOT] [PATH...]`: the plan of copying whitelisted
//! data into storage, and with `--yes` the copy itself, with a progress bar
//! on stderr and the results and next steps on stdout.

use std::io::{IsTerminal, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::Outcome;
use crate::migrate::{self, Counters, PathPlan};
use crate::{Error, Result, paths, settings, text};

/// The command line of `migrate`.
#[derive(Debug, Clone, Default)]
pub struct Args {
    /// ROOT, or the first PATH when it is whitelisted.
    pub root: Option<PathBuf>,
    /// Whitelisted paths to migrate.
    pub paths: Vec<PathBuf>,
    /// `--persistence` files.
    pub persistence: Vec<PathBuf>,
    /// `--whitelist` file.
    pub whitelist: Option<PathBuf>,
    /// `--storage` roots.
    pub storage: Vec<PathBuf>,
    /// `--yes`.
    pub yes: bool,
}

/// The whitelist files to read: `--persistence`, else `--whitelist`, else
/// `./persist.nix` (where `promote` and the TUI write by default).
fn whitelist_files(a: &Args) -> Result<Vec<PathBuf>> {
    if !a.persistence.is_empty() {
        return Ok(a.persistence.clone());
    }
    if let Some(w) = &a.whitelist {
        return Ok(vec![w.clone()]);
    }
    let default = PathBuf::from("persist.nix");
    if default.is_file() {
        return Ok(vec![default]);
    }
    Err(Error::Usage(
        "no whitelist: give --persistence FILE (the JSON `nix eval --json` prints for your \
         persistence config) or --whitelist FILE (default ./persist.nix, which does not exist)"
            .into(),
    ))
}

/// An absolute in-root path given on the command line, normalised.
fn in_root(p: &Path, what: &str) -> Result<Vec<u8>> {
    let bytes = p.as_os_str().as_bytes();
    let dots = p.components().any(|c| {
        matches!(
            c,
            std::path::Component::ParentDir | std::path::Component::CurDir
        )
    });
    if !bytes.starts_with(b"/") || dots {
        return Err(Error::Usage(format!(
            "{what} '{}': give an absolute path as seen inside ROOT, without . or ..",
            text::quote_path(p)
        )));
    }
    Ok(paths::normalize(bytes))
}

/// Builds the request: which argument is ROOT, the whitelist, the selection.
pub fn request(a: &Args) -> Result<migrate::Request> {
    let files = whitelist_files(a)?;
    let mut given = a.paths.clone();
    // `migrate /var/lib/foo` names a whitelisted path on /; `migrate
    // /mnt/root` a ROOT. The whitelist (read with the homes of /) decides;
    // a USER= the host does not know may be ROOT's, so no error here.
    let host = settings::load_config_for_guess(Path::new("/"), &files)?;
    let host_listed = crate::check::listed(&host);
    let root = match &a.root {
        Some(first)
            if first.is_absolute()
                && host_listed
                    .iter()
                    .any(|e| e.path == paths::normalize(first.as_os_str().as_bytes())) =>
        {
            given.insert(0, first.clone());
            None
        }
        r => r.clone(),
    };
    let root = settings::resolve_root(root.as_deref())?;
    // Read again, with ROOT's users known or refused (even when ROOT is /).
    let config = settings::load_config(&root, &files)?;
    let only = given
        .iter()
        .map(|p| in_root(p, "PATH"))
        .collect::<Result<Vec<_>>>()?;
    let storage = a
        .storage
        .iter()
        .map(|p| in_root(p, "--storage"))
        .collect::<Result<Vec<_>>>()?;
    Ok(migrate::Request::new(
        root,
        crate::check::listed(&config),
        only,
        storage,
    ))
}

/// The command line that runs this plan (for "run again with --yes"):
/// every word shell-quoted, so it runs as printed.
fn again(a: &Args, req: &migrate::Request) -> String {
    let sh = |b: &[u8]| text::shell_quote(b);
    let mut s = String::from("darlings migrate");
    if req.root != Path::new("/") {
        s.push(' ');
        s.push_str(&sh(req.root.as_os_str().as_bytes()));
    }
    for p in &req.only {
        s.push(' ');
        s.push_str(&sh(p));
    }
    for f in &a.persistence {
        s.push_str(" --persistence ");
        s.push_str(&sh(f.as_os_str().as_bytes()));
    }
    if let Some(w) = &a.whitelist {
        s.push_str(" --whitelist ");
        s.push_str(&sh(w.as_os_str().as_bytes()));
    }
    for st in &req.storage {
        s.push_str(" --storage ");
        s.push_str(&sh(st));
    }
    s
}

/// `darlings migrate`.
pub fn run(a: &Args) -> Result<Outcome> {
    let req = request(a)?;
    let mut plan = migrate::plan(&req)?;
    let again = again(a, &req);
    let mut out = std::io::stdout().lock();
    if !a.yes {
        super::ignore_broken_pipe(migrate::render::report(&mut out, &plan, false, &again))?;
        return Ok(Outcome::Success);
    }
    let counters = Arc::new(Counters::default());
    {
        let mut bar = Bar::start(Arc::clone(&counters));
        migrate::execute(&mut plan, &counters, &mut bar)?;
    }
    super::ignore_broken_pipe(migrate::render::report(&mut out, &plan, true, &again))?;
    let _ = out.flush();
    Ok(if plan.all_in_storage() {
        Outcome::Success
    } else {
        Outcome::CheckFailed
    })
}

/// The progress bar on stderr (only when it is a terminal).
struct Bar {
    current: Arc<Mutex<(String, u64)>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Bar {
    fn start(counters: Arc<Counters>) -> Bar {
        let current = Arc::new(Mutex::new((String::new(), 0u64)));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        if !std::io::stderr().is_terminal() {
            return Bar {
                current,
                stop,
                handle: None,
            };
        }
        let (cur, flag) = (Arc::clone(&current), Arc::clone(&stop));
        let handle = std::thread::spawn(move || {
            let bar = indicatif::ProgressBar::new(0);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{msg} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec})",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            while !flag.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(100));
                let (name, total) = cur.lock().map(|g| g.clone()).unwrap_or_default();
                // Copy and verification each read every byte once.
                bar.set_length(total.saturating_mul(2));
                bar.set_position(
                    counters.bytes.load(Ordering::Relaxed)
                        + counters.verified.load(Ordering::Relaxed),
                );
                bar.set_message(name);
            }
            bar.finish_and_clear();
        });
        Bar {
            current,
            stop,
            handle: Some(handle),
        }
    }
}

impl migrate::Observer for Bar {
    fn start(&mut self, p: &PathPlan) {
        if let Ok(mut g) = self.current.lock() {
            g.0 = text::escape_bytes(&p.entry.path);
            g.1 += p.bytes;
        }
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(root: Option<&Path>, wl: &Path) -> Args {
        Args {
            root: root.map(Path::to_path_buf),
            persistence: vec![wl.to_path_buf()],
            ..Args::default()
        }
    }

    #[test]
    fn the_first_argument_is_root_unless_it_is_whitelisted() {
        let dir = tempfile::tempdir().unwrap();
        let wl = dir.path().join("wl.json");
        std::fs::write(
            &wl,
            r#"{"/persist": {"directories": ["/var/lib/darlings-test-app"]}}"#,
        )
        .unwrap();
        // A whitelisted path: ROOT is /, the path is selected (nothing is read there).
        let r = request(&args(Some(Path::new("/var/lib/darlings-test-app/")), &wl)).unwrap();
        assert_eq!(r.root, Path::new("/"));
        assert_eq!(r.only, [b"/var/lib/darlings-test-app".to_vec()]);
        // Anything else is ROOT.
        let r = request(&args(Some(dir.path()), &wl)).unwrap();
        assert_eq!(r.root, dir.path());
        assert!(r.only.is_empty());
        assert_eq!(r.listed.len(), 1);
        let missing = dir.path().join("missing");
        assert!(request(&args(Some(&missing), &wl)).is_err());
        let mut a = args(Some(dir.path()), &wl);
        a.paths = vec![PathBuf::from("relative/path")];
        assert!(request(&a).is_err());
    }
}
