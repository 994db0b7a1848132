//! Shared test helpers: fixture trees built in temporary directories
//! (never the host's `/`), the binary under test, and metadata snapshots
//! that prove a command left a tree untouched.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// A fixture tree in a fresh temporary directory, removed on drop.
pub struct Fixture {
    pub dir: tempfile::TempDir,
}

impl Fixture {
    /// A new empty fixture root.
    pub fn new() -> Fixture {
        Fixture {
            dir: tempfile::Builder::new()
                .prefix("darlings-test")
                .tempdir()
                .expect("create temp dir"),
        }
    }

    /// The fixture's root directory.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// Absolute host path of an in-root path like `etc/ssh/key`.
    pub fn path(&self, rel: impl AsRef<Path>) -> PathBuf {
        self.root().join(rel)
    }

    /// Creates a file (and its parents) with `content`.
    pub fn file(&self, rel: impl AsRef<Path>, content: impl AsRef<[u8]>) -> &Self {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(&p, content).expect("write");
        self
    }

    /// Creates a directory (and its parents).
    pub fn dir(&self, rel: impl AsRef<Path>) -> &Self {
        std::fs::create_dir_all(self.path(rel)).expect("mkdir");
        self
    }

    /// Creates a symlink at `rel` whose link text is `target`.
    pub fn symlink(&self, target: impl AsRef<Path>, rel: impl AsRef<Path>) -> &Self {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::os::unix::fs::symlink(target, p).expect("symlink");
        self
    }

    /// Sets the permission bits of `rel`.
    pub fn chmod(&self, rel: impl AsRef<Path>, mode: u32) -> &Self {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(self.path(rel), std::fs::Permissions::from_mode(mode))
            .expect("chmod");
        self
    }

    /// Sets the mtime of `rel` (seconds since the epoch), without following links.
    pub fn mtime(&self, rel: impl AsRef<Path>, secs: i64) -> &Self {
        filetime::set_symlink_file_times(
            self.path(rel),
            filetime::FileTime::from_unix_time(secs, 0),
            filetime::FileTime::from_unix_time(secs, 0),
        )
        .expect("set mtime");
        self
    }
}

/// The darlings binary with a clean, colourless environment.
pub fn darlings() -> assert_cmd::Command {
    let mut c = assert_cmd::Command::new(env!("CARGO_BIN_EXE_darlings"));
    c.env("NO_COLOR", "1").env_remove("DARLINGS_LOG");
    c
}

/// Returns true if and only if the tests run as root (bind mounts, chown, setpriv).
pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// Skips the current test with a printed reason (returns from the caller).
#[macro_export]
macro_rules! skip_unless {
    ($cond:expr, $why:expr) => {
        if !$cond {
            eprintln!("SKIPPED: {}", $why);
            return;
        }
    };
}

/// Everything observable about a tree, path → (kind, size, mode, uid, gid,
/// mtime, ctime, atime, content hash or link text), to prove a command left
/// it untouched. It reads directories and files with `O_NOATIME` (always
/// honoured for root and for a file's owner), so taking the state does not
/// change the atimes it records. A symlink's atime is left out: the kernel
/// updates it on every `readlink`, and offers no way to avoid that.
pub fn tree_state(root: &Path) -> BTreeMap<Vec<u8>, String> {
    let mut out = BTreeMap::new();
    for e in walkdir_all(root) {
        let m = std::fs::symlink_metadata(&e).expect("lstat");
        let ft = m.file_type();
        let content = if ft.is_file() {
            format!("{}", blake3::hash(&read_noatime(&e)))
        } else if ft.is_symlink() {
            std::fs::read_link(&e)
                .map(|t| t.display().to_string())
                .unwrap_or_default()
        } else {
            String::new()
        };
        let atime = if ft.is_symlink() {
            "-".to_string()
        } else {
            format!("{}.{}", m.atime(), m.atime_nsec())
        };
        out.insert(
            e.as_os_str().as_bytes().to_vec(),
            format!(
                "{:o} {} {} {} {}.{} {}.{} {} {}",
                m.mode(),
                m.size(),
                m.uid(),
                m.gid(),
                m.mtime(),
                m.mtime_nsec(),
                m.ctime(),
                m.ctime_nsec(),
                atime,
                content
            ),
        );
    }
    out
}

fn open_noatime(p: &Path, dir: bool) -> Option<std::fs::File> {
    use rustix::fs::{Mode, OFlags};
    let mut flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
    if dir {
        flags |= OFlags::DIRECTORY;
    }
    let fd = match rustix::fs::open(p, flags | OFlags::NOATIME, Mode::empty()) {
        Err(rustix::io::Errno::PERM) => rustix::fs::open(p, flags, Mode::empty()),
        r => r,
    };
    fd.ok().map(std::fs::File::from)
}

/// A file's content, read without touching its atime where the kernel allows.
pub fn read_noatime(p: &Path) -> Vec<u8> {
    use std::io::Read;
    let mut buf = Vec::new();
    if let Some(mut f) = open_noatime(p, false) {
        let _ = f.read_to_end(&mut buf);
    }
    buf
}

/// Every path below `root` (not following links), depth first, read with
/// `O_NOATIME` so listing a directory does not change its atime.
pub fn walkdir_all(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Some(f) = open_noatime(&d, true) else {
            continue;
        };
        let mut buf = Vec::with_capacity(64 << 10);
        let mut dir = rustix::fs::RawDir::new(&f, buf.spare_capacity_mut());
        while let Some(Ok(e)) = dir.next() {
            let name = e.file_name().to_bytes();
            if name == b"." || name == b".." {
                continue;
            }
            let p = d.join(std::ffi::OsStr::from_bytes(name));
            if e.file_type() == rustix::fs::FileType::Directory {
                stack.push(p.clone());
            }
            out.push(p);
        }
    }
    out.sort();
    out
}

/// Parses a JSON report from command output.
pub fn json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes).expect("valid JSON report")
}

/// The report entry for `path`, if listed.
pub fn entry<'a>(report: &'a serde_json::Value, path: &str) -> Option<&'a serde_json::Value> {
    report["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .find(|e| e["path"] == path)
}

/// Runs `darlings report ROOT args...`, asserts exit 0 without a panic, and
/// returns the parsed report.
pub fn report(root: &Path, args: &[&str]) -> serde_json::Value {
    let out = darlings()
        .arg("report")
        .arg(root)
        .args(args)
        .timeout(std::time::Duration::from_secs(300))
        .output()
        .expect("run darlings");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "no panic: {stderr}");
    assert!(out.status.success(), "report failed: {stderr}");
    json(&out.stdout)
}

/// Bind-mounts each `(source, target)` (host paths) in a private mount
/// namespace, so nothing leaks to the host, and runs `darlings report ROOT
/// args...` there. Needs root; callers skip otherwise.
pub fn report_with_binds(
    root: &Path,
    binds: &[(PathBuf, PathBuf)],
    args: &[&str],
) -> serde_json::Value {
    let mut script = String::new();
    for (source, target) in binds {
        script.push_str(&format!(
            "mount --bind '{}' '{}' && ",
            source.display(),
            target.display()
        ));
    }
    script.push_str("exec \"$0\" report \"$@\"");
    let out = std::process::Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c", &script])
        .arg(env!("CARGO_BIN_EXE_darlings"))
        .arg(root)
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run unshare");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    json(&out.stdout)
}

/// Puts every atime (not symlinks') ten-odd years in the past, keeping
/// mtimes, so that any read without `O_NOATIME` would update it even under
/// relatime.
pub fn age_atimes(root: &Path) {
    let past = filetime::FileTime::from_unix_time(1_000_000_000, 0);
    let mut all = walkdir_all(root);
    all.push(root.to_path_buf());
    for p in all {
        let m = std::fs::symlink_metadata(&p).expect("lstat");
        if m.file_type().is_symlink() {
            continue;
        }
        filetime::set_symlink_file_times(
            &p,
            past,
            filetime::FileTime::from_last_modification_time(&m),
        )
        .expect("set times");
    }
}

/// Runs `setup` (shell commands, typically mounts) in a private mount
/// namespace, so nothing leaks to the host, then `darlings ARGS...` there,
/// as `nobody` when `as_nobody`. Needs root and unshare; callers skip
/// otherwise.
pub fn darlings_in_mount_ns(
    setup: &[String],
    as_nobody: bool,
    args: &[&std::ffi::OsStr],
) -> std::process::Output {
    let mut script = String::new();
    for cmd in setup {
        script.push_str(cmd);
        script.push_str(" && ");
    }
    if as_nobody {
        script.push_str("exec setpriv --reuid=65534 --regid=65534 --clear-groups \"$0\" \"$@\"");
    } else {
        script.push_str("exec \"$0\" \"$@\"");
    }
    std::process::Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c", &script])
        .arg(env!("CARGO_BIN_EXE_darlings"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run unshare")
}

/// `mount --bind SOURCE TARGET` for [`darlings_in_mount_ns`] (host paths).
pub fn bind(source: &Path, target: &Path) -> String {
    format!("mount --bind '{}' '{}'", source.display(), target.display())
}

/// `mount -t tmpfs` over `target` for [`darlings_in_mount_ns`].
pub fn tmpfs(target: &Path) -> String {
    format!("mount -t tmpfs darlings-test '{}'", target.display())
}

/// The paths whose state differs between two [`tree_state`]s, with both
/// states: what an assertion prints instead of two whole trees.
pub fn state_diff(a: &BTreeMap<Vec<u8>, String>, b: &BTreeMap<Vec<u8>, String>) -> Vec<String> {
    let mut out = Vec::new();
    for (k, v) in a {
        match b.get(k) {
            Some(w) if w == v => {}
            Some(w) => out.push(format!("{}: {v} -> {w}", String::from_utf8_lossy(k))),
            None => out.push(format!("{}: removed", String::from_utf8_lossy(k))),
        }
    }
    for k in b.keys().filter(|k| !a.contains_key(*k)) {
        out.push(format!("{}: created", String::from_utf8_lossy(k)));
    }
    out
}
