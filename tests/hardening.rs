//! Hardening: darlings runs as root on the machine whose data it
//! protects, so it must never lose, change or leak anything, whatever the
//! input or the file system throws at it. One test crate, one module per
//! area; each later reader (persistence JSON, `.nix` whitelist, ignore rules)
//! adds its bad-input cases to `bad_input` and its fuzz check to `fuzz_checks`.
//!
//! Tests that need root (setpriv, mknod, other users' permissions) skip
//! with a printed reason when not run as root; CI runs as root.

#[path = "common/mod.rs"]
mod common;

#[path = "hardening/bad_input.rs"]
mod bad_input;
#[path = "hardening/crash.rs"]
mod crash;
#[path = "hardening/faults.rs"]
mod faults;
#[path = "hardening/fuzz_checks.rs"]
mod fuzz_checks;
#[path = "hardening/fuzz_corpus.rs"]
mod fuzz_corpus;
#[path = "hardening/read_only.rs"]
mod read_only;
#[path = "hardening/terminal.rs"]
mod terminal;

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

/// How long any single darlings run may take before a test calls it hung.
pub const HANG: Duration = Duration::from_secs(60);

/// The uid/gid of `nobody`, used to run darlings unprivileged.
pub const NOBODY: u32 = 65534;

/// darlings run as `nobody` (no groups) via setpriv, so permissions apply.
pub fn darlings_as_nobody() -> assert_cmd::Command {
    let mut c = assert_cmd::Command::new("setpriv");
    c.args([
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        env!("CARGO_BIN_EXE_darlings"),
    ]);
    c.env("NO_COLOR", "1").timeout(HANG);
    c
}

/// The names in `dir` (sorted).
pub fn names(dir: &Path) -> BTreeSet<OsString> {
    std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name())
        .collect()
}

/// Returns true if and only if `name` is a darlings temporary (`.darlings-*.tmp`).
pub fn is_darlings_tmp(name: &std::ffi::OsStr) -> bool {
    let n = name.to_string_lossy();
    n.starts_with(".darlings-") && n.ends_with(".tmp")
}

/// Asserts a run was refused as the README's exit codes say: exit 2, stderr naming every
/// one of `needles`, no panic, and nothing new in `out_dir`.
pub fn assert_refused(
    output: &Output,
    out_dir: &Path,
    before: &BTreeSet<OsString>,
    needles: &[&str],
) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(
        output.status.code(),
        Some(2),
        "exit code 2 expected; stderr: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "no panic: {stderr}");
    assert!(
        stderr.starts_with("darlings: error: ") || stderr.starts_with("error: "),
        "one error line: {stderr}"
    );
    for n in needles {
        assert!(stderr.contains(n), "stderr names {n:?}: {stderr}");
    }
    assert!(output.stdout.is_empty(), "nothing on stdout");
    let after = names(out_dir);
    assert_eq!(
        &after,
        before,
        "no file left behind in {}",
        out_dir.display()
    );
    stderr
}

/// Makes the fixture's root directory (a 0700 temp dir) traversable by nobody.
pub fn open_to_all(root: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// A fresh temporary directory for outputs, outside any fixture root.
pub fn out_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("darlings-out")
        .tempdir()
        .expect("out dir")
}

/// Saves a scan of `root` into `dir/name` and returns its path.
pub fn scan_to(root: &Path, dir: &Path, name: &str, extra: &[&str]) -> PathBuf {
    let f = dir.join(name);
    let out = common::darlings()
        .arg("scan")
        .arg(root)
        .arg("-o")
        .arg(&f)
        .args(extra)
        .timeout(HANG)
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "scan: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    f
}

/// Creates a fifo at `p`.
pub fn mkfifo(p: &Path) {
    rustix::fs::mknodat(
        rustix::fs::CWD,
        p,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o644),
        0,
    )
    .expect("mkfifo");
}

/// A writer blocked in `open(fifo, O_WRONLY)`: it only returns once some
/// process opens the fifo for reading, which is how a test proves darlings
/// never opened it. `opened()` tells; `release()` unblocks it.
pub struct FifoWitness {
    path: PathBuf,
    opened: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FifoWitness {
    /// Starts the blocked writer on the fifo at `path`.
    pub fn start(path: &Path) -> FifoWitness {
        let opened = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = std::sync::Arc::clone(&opened);
        let p = path.to_path_buf();
        let thread = std::thread::spawn(move || {
            let f = std::fs::OpenOptions::new().write(true).open(&p);
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
            drop(f);
        });
        std::thread::sleep(Duration::from_millis(50));
        FifoWitness {
            path: path.to_path_buf(),
            opened,
            thread: Some(thread),
        }
    }

    /// Returns true if and only if some reader opened the fifo.
    pub fn opened(&self) -> bool {
        std::thread::sleep(Duration::from_millis(100));
        self.opened.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl Drop for FifoWitness {
    fn drop(&mut self) {
        // Open the read end ourselves so the writer thread can finish.
        let _r = rustix::fs::open(
            &self.path,
            rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::NONBLOCK,
            rustix::fs::Mode::empty(),
        );
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A small xorshift generator: random delays and names without a dependency.
pub struct Rng(u64);

impl Rng {
    /// Seeded from the clock (printed by callers so a failure can be replayed).
    pub fn from_time() -> Rng {
        let s = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64);
        Rng(s | 1)
    }
    /// The seed or current state.
    pub fn state(&self) -> u64 {
        self.0
    }
    /// The next value.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// A value in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}
