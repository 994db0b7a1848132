//! `darlings migrate` on real file systems: ext4 and btrfs loop devices, as
//! root, with the storage root on ROOT's file system and on another one.
//! Tests that need root, loop devices or a tool skip with a printed reason;
//! CI runs them as root. Every loop file system is unmounted (and its loop
//! device detached) by a Drop guard, even when a test fails.
//!
//! The checks here do not reuse darlings' own comparison: they walk both
//! trees with `lstat`, `readlink` and `l*xattr` and compare what a user
//! would (`rsync -aHAX --dry-run` style), content by BLAKE3.

#[path = "common/mod.rs"]
mod common;

#[path = "migrate/bad_input.rs"]
mod bad_input;
#[path = "migrate/crash.rs"]
mod crash;
#[path = "migrate/fidelity.rs"]
mod fidelity;
#[path = "migrate/refusals.rs"]
mod refusals;

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

/// How long one darlings run may take before the test calls it hung.
pub const HANG: Duration = Duration::from_secs(300);

/// Why loop-device tests cannot run here, if they cannot.
pub fn loop_unavailable(fstype: &str) -> Option<String> {
    if !common::is_root() {
        return Some("needs root (loop devices, chown, mknod)".into());
    }
    if !Path::new("/dev/loop-control").exists() {
        return Some("no /dev/loop-control".into());
    }
    let mkfs = format!("mkfs.{fstype}");
    if which(&mkfs).is_none() {
        return Some(format!("{mkfs} is not installed"));
    }
    None
}

/// The path of a program on PATH (or in /sbin, /usr/sbin).
pub fn which(prog: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .map(|d| d.join(prog))
        .find(|p| p.is_file())
}

/// Skips the test with a printed reason when loop file systems of `fstype`
/// cannot be made.
#[macro_export]
macro_rules! need_loop {
    ($fstype:expr) => {
        if let Some(why) = $crate::loop_unavailable($fstype) {
            eprintln!("SKIPPED: {why}");
            return;
        }
    };
}

/// A file system in an image file, loop-mounted at `dir`; unmounted, its
/// loop device detached and its image deleted when dropped.
pub struct LoopFs {
    /// The mount point.
    pub dir: PathBuf,
    img: PathBuf,
    _tmp: tempfile::TempDir,
    /// The mount point was created by us (and is removed again).
    made_dir: bool,
}

impl LoopFs {
    /// A new `fstype` file system of `size` (`truncate -s` syntax) mounted
    /// at `at`, or at a fresh directory when `at` is None.
    pub fn new(size: &str, fstype: &str, at: Option<&Path>) -> LoopFs {
        let tmp = tempfile::Builder::new()
            .prefix("darlings-loop")
            .tempdir()
            .expect("temp dir");
        let img = tmp.path().join("img");
        run_ok(Command::new("truncate").args(["-s", size]).arg(&img));
        let mut mkfs = Command::new(format!("mkfs.{fstype}"));
        mkfs.arg("-q");
        if fstype == "ext4" {
            // No lost+found noise in listings is not possible with mkfs.ext4;
            // the tests skip it. 4 KiB blocks and enough inodes for the crash tree.
            mkfs.args(["-b", "4096", "-i", "8192"]);
        }
        run_ok(mkfs.arg(&img));
        let (dir, made_dir) = match at {
            Some(p) => {
                let made = !p.exists();
                std::fs::create_dir_all(p).expect("mount point");
                (p.to_path_buf(), made)
            }
            None => {
                let d = tmp.path().join("mnt");
                std::fs::create_dir(&d).expect("mount point");
                (d, false)
            }
        };
        run_ok(
            Command::new("mount")
                .args(["-o", "loop"])
                .arg(&img)
                .arg(&dir),
        );
        LoopFs {
            dir,
            img,
            _tmp: tmp,
            made_dir,
        }
    }

    /// Flushes this file system only (not the whole machine's).
    pub fn sync(&self) {
        let d = std::fs::File::open(&self.dir).expect("open");
        rustix::fs::syncfs(&d).expect("syncfs");
    }

    /// Bytes available on the file system.
    pub fn free(&self) -> u64 {
        let v = rustix::fs::statvfs(&self.dir).expect("statvfs");
        v.f_bavail * v.f_frsize
    }
}

impl Drop for LoopFs {
    fn drop(&mut self) {
        // Something may still be mounted below (a failed test's inner fs).
        let _ = Command::new("umount").arg("-R").arg(&self.dir).status();
        let still = std::fs::read_to_string("/proc/self/mountinfo")
            .map(|m| {
                m.lines()
                    .any(|l| l.split(' ').nth(4) == Some(&*self.dir.to_string_lossy()))
            })
            .unwrap_or(false);
        if still {
            let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
        }
        // `mount -o loop` detaches on umount; detach explicitly if not.
        if let Ok(out) = Command::new("losetup").arg("-j").arg(&self.img).output() {
            for line in String::from_utf8_lossy(&out.stdout).lines() {
                if let Some(dev) = line.split(':').next() {
                    let _ = Command::new("losetup").args(["-d", dev]).status();
                }
            }
        }
        if self.made_dir {
            let _ = std::fs::remove_dir(&self.dir);
        }
    }
}

/// Runs a command and panics with its stderr unless it succeeds.
pub fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("run a tool");
    assert!(
        out.status.success(),
        "{:?} failed: {}",
        cmd,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs `darlings migrate ROOT --persistence WL args...` in `cwd`.
pub fn migrate(root: &Path, wl: &Path, args: &[&str]) -> Output {
    let out = common::darlings()
        .current_dir(wl.parent().expect("whitelist dir"))
        .arg("migrate")
        .arg(root)
        .arg("--persistence")
        .arg(wl)
        .args(args)
        .timeout(HANG)
        .output()
        .expect("run darlings");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "no panic: {stderr}");
    out
}

/// stdout of a run, lossy.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Writes an impermanence-style whitelist (`nix eval --json` of
/// `environment.persistence`) into a fresh file and returns its path.
pub fn whitelist(dir: &Path, storage: &str, dirs: &[&str], files: &[&str]) -> PathBuf {
    let json = serde_json::json!({
        storage: {
            "enable": true,
            "persistentStoragePath": storage,
            "directories": dirs.iter().map(|d| serde_json::json!({"directory": d})).collect::<Vec<_>>(),
            "files": files,
        }
    });
    let p = dir.join("persistence.json");
    std::fs::write(&p, serde_json::to_vec_pretty(&json).expect("json")).expect("write whitelist");
    p
}

/// Everything about one entry a persistent copy must keep.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Meta {
    pub kind: u32,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub mtime: (i64, i64),
    pub size: u64,
    pub rdev: u64,
    pub content: String,
    pub xattrs: Vec<(Vec<u8>, Vec<u8>)>,
}

/// The inode (device, number) of every non-directory entry, by relative path.
pub type Inodes = BTreeMap<Vec<u8>, (u64, u64)>;

/// Every entry below `top` (relative path → metadata, and inode for hard
/// links); sockets left out (not copied).
pub fn snapshot(top: &Path) -> (BTreeMap<Vec<u8>, Meta>, Inodes) {
    let mut metas = BTreeMap::new();
    let mut inodes = BTreeMap::new();
    let mut paths = vec![top.to_path_buf()];
    paths.extend(common::walkdir_all(top));
    for p in paths {
        let m = std::fs::symlink_metadata(&p).expect("lstat");
        let ft = m.file_type();
        use std::os::unix::fs::FileTypeExt;
        if ft.is_socket() {
            continue;
        }
        let rel = p
            .strip_prefix(top)
            .expect("below top")
            .as_os_str()
            .as_bytes()
            .to_vec();
        let content = if ft.is_file() {
            file_digest(&p, m.size())
        } else if ft.is_symlink() {
            String::from_utf8_lossy(
                std::fs::read_link(&p)
                    .expect("readlink")
                    .as_os_str()
                    .as_bytes(),
            )
            .into_owned()
        } else {
            String::new()
        };
        metas.insert(
            rel.clone(),
            Meta {
                kind: m.mode() & 0o170000,
                mode: if ft.is_symlink() {
                    0
                } else {
                    m.mode() & 0o7777
                },
                uid: m.uid(),
                gid: m.gid(),
                mtime: (m.mtime(), m.mtime_nsec()),
                size: if ft.is_dir() { 0 } else { m.size() },
                rdev: m.rdev(),
                content,
                xattrs: xattrs(&p),
            },
        );
        if !ft.is_dir() {
            inodes.insert(rel, (m.dev(), m.ino()));
        }
    }
    (metas, inodes)
}

/// BLAKE3 of a file's logical content: its data segments read, its holes
/// (`SEEK_DATA` / `SEEK_HOLE`) fed as zeros without reading them, so a
/// sparse file and a dense copy of it hash alike and cost no page cache.
fn file_digest(p: &Path, size: u64) -> String {
    use std::os::unix::fs::FileExt;
    // O_NOATIME: the check itself must not change ROOT's atimes.
    let f = std::fs::File::from(
        rustix::fs::open(
            p,
            rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::NOATIME | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )
        .expect("open"),
    );
    let mut h = blake3::Hasher::new();
    let zeros = vec![0u8; 4 << 20];
    let feed_zeros = |h: &mut blake3::Hasher, mut n: u64| {
        while n > 0 {
            let k = n.min(zeros.len() as u64) as usize;
            h.update_rayon(&zeros[..k]);
            n -= k as u64;
        }
    };
    let mut buf = vec![0u8; 1 << 20];
    let mut off = 0u64;
    while off < size {
        let data =
            rustix::fs::seek(&f, rustix::fs::SeekFrom::Data(off)).map_or(size, |d| d.min(size));
        feed_zeros(&mut h, data - off);
        if data >= size {
            break;
        }
        let hole =
            rustix::fs::seek(&f, rustix::fs::SeekFrom::Hole(data)).map_or(size, |x| x.min(size));
        let mut at = data;
        while at < hole {
            let k = ((hole - at) as usize).min(buf.len());
            f.read_exact_at(&mut buf[..k], at).expect("read");
            h.update(&buf[..k]);
            at += k as u64;
        }
        off = hole;
    }
    h.finalize().to_string()
}

/// Every extended attribute of `p` (not following a final link), sorted.
pub fn xattrs(p: &Path) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut list = vec![0u8; 64 << 10];
    let n = match rustix::fs::llistxattr(p, &mut list[..]) {
        Ok(n) => n,
        Err(_) => return Vec::new(),
    };
    let mut out = Vec::new();
    for k in list[..n].split(|&b| b == 0).filter(|k| !k.is_empty()) {
        let mut v = vec![0u8; 64 << 10];
        let n = rustix::fs::lgetxattr(p, OsStr::from_bytes(k), &mut v[..]).expect("getxattr");
        out.push((k.to_vec(), v[..n].to_vec()));
    }
    out.sort();
    out
}

/// Asserts that `copy` holds exactly what `orig` holds: every entry with the
/// same kind, mode, owner, mtime, size, content, link text, device, xattrs,
/// and the same hard links.
pub fn assert_same_tree(orig: &Path, copy: &Path) {
    let (a, ai) = snapshot(orig);
    let (b, bi) = snapshot(copy);
    let only_a: Vec<_> = a.keys().filter(|k| !b.contains_key(*k)).collect();
    let only_b: Vec<_> = b.keys().filter(|k| !a.contains_key(*k)).collect();
    assert!(
        only_a.is_empty() && only_b.is_empty(),
        "{}: missing {:?}, extra {:?}",
        copy.display(),
        only_a
            .iter()
            .map(|k| String::from_utf8_lossy(k))
            .collect::<Vec<_>>(),
        only_b
            .iter()
            .map(|k| String::from_utf8_lossy(k))
            .collect::<Vec<_>>()
    );
    for (k, ma) in &a {
        assert_eq!(
            ma,
            &b[k],
            "{} differs from {}",
            String::from_utf8_lossy(k),
            orig.display()
        );
    }
    // Hard links: names sharing an inode on one side share one on the other.
    let group = |m: &BTreeMap<Vec<u8>, (u64, u64)>| {
        let mut g: BTreeMap<(u64, u64), Vec<Vec<u8>>> = BTreeMap::new();
        for (k, id) in m {
            g.entry(*id).or_default().push(k.clone());
        }
        let mut v: Vec<Vec<Vec<u8>>> = g.into_values().filter(|v| v.len() > 1).collect();
        v.sort();
        v
    };
    assert_eq!(group(&ai), group(&bi), "hard links differ");
}

/// Metadata of every entry below `dir` including ctime and atime (no
/// content: a changed ctime would show any write), to prove it untouched.
/// Symlinks' atimes are left out (`readlink` updates them).
pub fn untouched_state(dir: &Path, skip: &[&Path]) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    for p in std::iter::once(dir.to_path_buf()).chain(common::walkdir_all(dir)) {
        if skip.iter().any(|s| p.starts_with(s)) {
            continue;
        }
        let m = std::fs::symlink_metadata(&p).expect("lstat");
        let atime = if m.file_type().is_symlink() {
            "-".to_string()
        } else {
            format!("{}.{}", m.atime(), m.atime_nsec())
        };
        out.insert(
            p,
            format!(
                "{:o} {} {}:{} m{}.{} c{}.{} a{} {}",
                m.mode(),
                m.size(),
                m.uid(),
                m.gid(),
                m.mtime(),
                m.mtime_nsec(),
                m.ctime(),
                m.ctime_nsec(),
                atime,
                m.ino()
            ),
        );
    }
    out
}

/// A small deterministic random generator (xorshift).
pub struct Rng(pub u64);

impl Rng {
    /// The next number.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}
