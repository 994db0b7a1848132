//! Faults during a scan: the file system changing under the walk and the
//! hash, permissions, loops, extreme shapes and special files. darlings must
//! exit 0, record per-path problems in `errors`, never panic, never block,
//! and never open anything that is not a regular file.

use std::os::fd::OwnedFd;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rustix::fs::{AtFlags, Mode, OFlags};

use crate::common::{Fixture, darlings, is_root, json};
use crate::{FifoWitness, HANG, darlings_as_nobody, open_to_all, out_dir, scan_to};

/// Runs `darlings args...` and returns the parsed JSON report; asserts exit 0 and no panic.
fn report(root: &Path, args: &[&str]) -> serde_json::Value {
    let o = darlings()
        .arg("report")
        .arg(root)
        .args(args)
        .timeout(HANG)
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!stderr.contains("panicked"), "no panic: {stderr}");
    assert_eq!(o.status.code(), Some(0), "exit 0: {stderr}");
    json(&o.stdout)
}

fn errors_of(r: &serde_json::Value) -> Vec<(String, String)> {
    r["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| {
            (
                e["path"].as_str().expect("path").to_string(),
                e["error"].as_str().expect("error").to_string(),
            )
        })
        .collect()
}

fn entry<'a>(r: &'a serde_json::Value, path: &str) -> &'a serde_json::Value {
    crate::common::entry(r, path).unwrap_or_else(|| panic!("{path} listed"))
}

/// The only shapes a per-path error may take while a directory churns.
const CHURN_ERRORS: &[&str] = &[
    "vanished during scan",
    "cannot open directory: ",
    "cannot read directory: ",
    "cannot stat: ",
    "cannot read link: ",
    "cannot hash: ",
];

#[test]
fn files_and_directories_vanishing_and_appearing_mid_scan() {
    let f = Fixture::new();
    f.file("stable/keep", "kept").dir("churn");
    let churn = f.path("churn");
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let dir = churn.clone();
    let churner = std::thread::spawn(move || {
        let mut n = 0u64;
        while !flag.load(Ordering::Relaxed) {
            n += 1;
            for i in 0..200 {
                let d = dir.join(format!("d{i}"));
                let _ = std::fs::create_dir(&d);
                let _ = std::fs::write(d.join("f"), n.to_le_bytes());
                let _ = std::fs::write(dir.join(format!("f{i}")), vec![b'x'; (n % 5000) as usize]);
                let _ = std::os::unix::fs::symlink("f", dir.join(format!("l{i}")));
            }
            for i in 0..200 {
                let _ = std::fs::remove_dir_all(dir.join(format!("d{i}")));
                let _ = std::fs::remove_file(dir.join(format!("l{i}")));
                if i % 2 == 0 {
                    let _ = std::fs::remove_file(dir.join(format!("f{i}")));
                } else {
                    // A file that becomes a directory and back.
                    let p = dir.join(format!("f{i}"));
                    let _ = std::fs::remove_file(&p);
                    let _ = std::fs::create_dir(&p);
                    let _ = std::fs::remove_dir(&p);
                }
            }
        }
    });
    let out = out_dir();
    let mut runs = 0;
    let mut churn_errors = 0;
    while runs < 60 && (runs < 12 || churn_errors == 0) {
        runs += 1;
        let r = report(f.root(), &["--hash", "all", "--include-unchanged"]);
        assert_eq!(
            entry(&r, "/stable/keep")["blake3"],
            blake3::hash(b"kept").to_hex().as_str(),
            "stable files are hashed right while others churn"
        );
        for (path, error) in errors_of(&r) {
            assert!(
                path.starts_with("/churn/"),
                "error outside the churn: {path}: {error}"
            );
            assert!(
                CHURN_ERRORS.iter().any(|e| error.starts_with(e)),
                "unexpected error shape {error:?} for {path}"
            );
            churn_errors += 1;
        }
        if runs % 4 == 0 {
            scan_to(f.root(), out.path(), "churn.scan", &["--hash", "all"]);
        }
    }
    stop.store(true, Ordering::Relaxed);
    churner.join().expect("churner");
    eprintln!("{runs} runs, {churn_errors} per-path errors recorded");
    assert!(churn_errors > 0, "vanishing entries are recorded as errors");
}

#[test]
fn unreadable_directories_and_files_are_listed_as_errors_not_fatal() {
    crate::skip_unless!(
        is_root(),
        "needs root to run darlings as nobody with setpriv"
    );
    let f = Fixture::new();
    f.file("locked/secret", "s")
        .chmod("locked", 0o700)
        .file("private", "p")
        .chmod("private", 0o600)
        .file("nox/inner", "i")
        .chmod("nox", 0o744)
        .file("ok", "fine");
    open_to_all(f.root());
    let o = darlings_as_nobody()
        .arg("report")
        .arg(f.root())
        .args(["--hash", "all"])
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"));
    let r = json(&o.stdout);
    let errors = errors_of(&r);
    let has = |p: &str, e: &str| errors.iter().any(|(ep, ee)| ep == p && ee == e);
    assert!(
        has("/locked", "cannot open directory: permission denied"),
        "{errors:?}"
    );
    assert!(
        has("/private", "cannot hash: permission denied"),
        "{errors:?}"
    );
    assert!(
        has("/nox/inner", "cannot stat: permission denied"),
        "{errors:?}"
    );
    assert_eq!(r["summary"]["errors"], errors.len());
    assert!(
        r["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .all(|e| e["kind"] == "permission-denied"),
        "{:?}",
        r["errors"]
    );
    assert_eq!(
        entry(&r, "/ok")["blake3"],
        blake3::hash(b"fine").to_hex().as_str()
    );
    assert!(entry(&r, "/private")["blake3"].is_null());
    let o = darlings_as_nobody()
        .arg("summary")
        .arg(f.root())
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stdout).contains("could not be read"));
}

#[test]
fn files_growing_and_shrinking_while_hashed_give_a_hash_or_an_error() {
    let f = Fixture::new();
    f.file("big", vec![1u8; 6 << 20])
        .file("small", vec![2u8; 10_000]);
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let (big, small) = (f.path("big"), f.path("small"));
    let writer = std::thread::spawn(move || {
        let mut rng = crate::Rng::from_time();
        while !flag.load(Ordering::Relaxed) {
            let len = rng.below(8 << 20);
            if let Ok(file) = std::fs::OpenOptions::new().write(true).open(&big) {
                let _ = file.set_len(len);
            }
            let _ = std::fs::write(&small, vec![3u8; rng.below(20_000) as usize]);
            use std::io::Write;
            if let Ok(mut file) = std::fs::OpenOptions::new().append(true).open(&big) {
                let _ = file.write_all(&[4u8; 65536]);
            }
        }
    });
    let mut outcomes = (0, 0);
    for _ in 0..10 {
        let r = report(f.root(), &["--hash", "all", "--include-unchanged"]);
        let errors = errors_of(&r);
        for p in ["/big", "/small"] {
            let hashed = !entry(&r, p)["blake3"].is_null();
            let failed = errors
                .iter()
                .any(|(ep, e)| ep == p && e.starts_with("cannot hash: "));
            assert!(
                hashed != failed,
                "{p}: a hash or an error, not both or neither: {errors:?}"
            );
            if hashed {
                outcomes.0 += 1
            } else {
                outcomes.1 += 1
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    writer.join().expect("writer");
    eprintln!("hashed {} times, refused {} times", outcomes.0, outcomes.1);
}

#[test]
fn a_directory_swapped_for_a_symlink_before_hashing_never_leads_outside() {
    use darlings::scan::{Progress, ScanOptions};
    let f = Fixture::new();
    f.file("sub/victim", "data").file("sub2/victim", "data");
    let outside = out_dir();
    let fifo_dir = outside.path().join("fifo");
    let file_dir = outside.path().join("file");
    std::fs::create_dir(&fifo_dir).expect("mkdir");
    std::fs::create_dir(&file_dir).expect("mkdir");
    crate::mkfifo(&fifo_dir.join("victim"));
    std::fs::write(file_dir.join("victim"), "secret outside the root").expect("write");
    let witness = FifoWitness::start(&fifo_dir.join("victim"));
    let opts = ScanOptions {
        root: f.root().to_path_buf(),
        threads: 2,
        reserve_threads: 0,
        exclude: vec![],
        hash_all: false,
    };
    let mut tree = darlings::scan::scan(&opts, &Progress::default()).expect("scan");
    let i = tree.lookup(b"/sub/victim").expect("scanned");
    let k = tree.lookup(b"/sub2/victim").expect("scanned");
    // Between the walk and the hash, both directories become symlinks out of the root.
    std::fs::rename(f.path("sub"), f.path("sub.moved")).expect("rename");
    std::fs::rename(f.path("sub2"), f.path("sub2.moved")).expect("rename");
    std::os::unix::fs::symlink(&fifo_dir, f.path("sub")).expect("symlink");
    std::os::unix::fs::symlink(&file_dir, f.path("sub2")).expect("symlink");
    let mut errors = Vec::new();
    darlings::scan::hash_entries(&mut tree, &[i, k], &Progress::default(), &mut errors);
    assert!(
        !witness.opened(),
        "the fifo outside the root was never opened"
    );
    assert!(
        tree.hash(i).is_none() && tree.hash(k).is_none(),
        "nothing outside is hashed"
    );
    let msgs: Vec<(String, String)> = errors
        .iter()
        .map(|e| {
            (
                String::from_utf8_lossy(&e.path).into_owned(),
                e.error.clone(),
            )
        })
        .collect();
    assert_eq!(
        msgs,
        [
            (
                "/sub/victim".to_string(),
                "cannot hash: not a regular file (a fifo, socket or device is never opened)"
                    .to_string()
            ),
            (
                "/sub2/victim".to_string(),
                "cannot hash: replaced during scan".to_string()
            ),
        ]
    );
}

#[test]
fn symlink_loops_are_recorded_as_links_and_never_followed() {
    let f = Fixture::new();
    f.symlink("b", "a")
        .symlink("a", "b")
        .symlink("self", "self")
        .symlink("..", "d/up")
        .symlink(".", "d/here")
        .symlink("/", "d/root")
        .symlink("../d/up/d/up", "d/deeper");
    let r = report(f.root(), &["--hash", "all", "--include-unchanged"]);
    assert!(errors_of(&r).is_empty());
    for (p, t) in [
        ("/a", "b"),
        ("/b", "a"),
        ("/self", "self"),
        ("/d/up", ".."),
        ("/d/root", "/"),
    ] {
        let e = entry(&r, p);
        assert_eq!(e["kind"], "symlink");
        assert_eq!(e["target"], t);
    }
    assert_eq!(r["entries"].as_array().expect("entries").len(), 8);
}

/// Creates `root/name/name/.../leaf` `depth` levels deep with `*at` calls
/// relative to the previous level (the full path is longer than PATH_MAX).
fn make_chain(root: &Path, name: &str, depth: usize, leaf: &[u8]) {
    let dir_flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let mut fd: OwnedFd = rustix::fs::open(root, dir_flags, Mode::empty()).expect("open root");
    for _ in 0..depth {
        rustix::fs::mkdirat(&fd, name, Mode::from_raw_mode(0o755)).expect("mkdirat");
        fd = rustix::fs::openat(&fd, name, dir_flags, Mode::empty()).expect("openat");
    }
    let leaf_fd = rustix::fs::openat(
        &fd,
        "leaf",
        OFlags::CREATE | OFlags::WRONLY | OFlags::EXCL | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o644),
    )
    .expect("create leaf");
    rustix::io::write(&leaf_fd, leaf).expect("write leaf");
}

/// Cuts the chain into pieces of 100 levels moved to the root, so the temp
/// dir's ordinary recursive removal never meets a path beyond PATH_MAX.
fn break_chain(root: &Path, name: &str, depth: usize) {
    let dir_flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let root_fd = rustix::fs::open(root, dir_flags, Mode::empty()).expect("open root");
    let mut fd = rustix::fs::openat(&root_fd, name, dir_flags, Mode::empty()).expect("open");
    for level in 1..depth {
        if level % 100 == 0 {
            let piece = format!("piece{level}");
            rustix::fs::renameat(&fd, name, &root_fd, piece.as_str()).expect("renameat");
            fd = rustix::fs::openat(&root_fd, piece.as_str(), dir_flags, Mode::empty())
                .expect("open");
        } else {
            fd = rustix::fs::openat(&fd, name, dir_flags, Mode::empty()).expect("open");
        }
    }
}

#[test]
fn a_tree_2000_levels_deep_beyond_path_max() {
    const DEPTH: usize = 2000;
    let f = Fixture::new();
    make_chain(f.root(), "dd", DEPTH, b"bottom");
    let leaf_path = format!("{}/leaf", "/dd".repeat(DEPTH));
    assert!(
        f.root().as_os_str().len() + leaf_path.len() > 4096,
        "beyond PATH_MAX"
    );
    let r = report(f.root(), &["--hash", "all", "--include-unchanged"]);
    assert!(errors_of(&r).is_empty(), "{:?}", errors_of(&r));
    assert_eq!(r["entries"].as_array().expect("entries").len(), DEPTH + 1);
    assert_eq!(
        entry(&r, &leaf_path)["blake3"],
        blake3::hash(b"bottom").to_hex().as_str(),
        "the deepest file is hashed"
    );
    // Through a scan file and back: the depth survives the decoder's checks.
    let out = out_dir();
    let s = scan_to(f.root(), out.path(), "deep.scan", &["--hash", "all"]);
    let s = s.to_str().expect("utf-8");
    let r = report(f.root(), &["--against", s, "--hash", "all"]);
    assert_eq!(r["summary"]["changes"]["unchanged"], 0);
    assert!(
        r["entries"].as_array().expect("entries").is_empty(),
        "nothing changed"
    );
    assert!(errors_of(&r).is_empty());
    let o = darlings()
        .arg("summary")
        .arg(f.root())
        .timeout(HANG)
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(0));
    break_chain(f.root(), "dd", DEPTH);
}

#[test]
fn a_directory_with_200000_entries() {
    const N: usize = 200_000;
    let f = Fixture::new();
    f.dir("big");
    let dir = rustix::fs::open(
        f.path("big"),
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .expect("open");
    for i in 0..N {
        rustix::fs::openat(
            &dir,
            format!("entry-{i:06}").as_str(),
            OFlags::CREATE | OFlags::WRONLY | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o644),
        )
        .expect("create");
    }
    let out = out_dir();
    let start = std::time::Instant::now();
    let s = scan_to(f.root(), out.path(), "big.scan", &[]);
    eprintln!("scan of {N} entries took {:?}", start.elapsed());
    let tree = darlings::snapshot::load(&s).expect("valid scan file");
    assert_eq!(tree.len(), N + 1);
    assert!(tree.errors.is_empty());
    let big = tree.lookup(b"/big").expect("big");
    let names: Vec<&[u8]> = tree.children(Some(big)).map(|c| tree.name(c)).collect();
    assert_eq!(names.len(), N);
    assert!(names.windows(2).all(|w| w[0] < w[1]), "sorted");
    assert!(tree.lookup(b"/big/entry-199999").is_some());
    let o = darlings()
        .arg("summary")
        .arg(f.root())
        .timeout(HANG)
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stdout).contains(&format!("{} entries", N + 1)));
}

#[test]
fn paths_at_and_beyond_path_max_are_scanned_and_hashed() {
    let f = Fixture::new();
    let comp = "a".repeat(255);
    let mut rel = std::path::PathBuf::new();
    for _ in 0..15 {
        rel.push(&comp);
    }
    f.dir(&rel);
    let base_len = f.root().as_os_str().len() + 1 + rel.as_os_str().len();
    // A file whose host path is exactly 4095 bytes (PATH_MAX with the NUL).
    let at_max = "m".repeat(4095 - base_len - 1);
    assert!(at_max.len() <= 255, "fixture fits NAME_MAX");
    f.file(rel.join(&at_max), "at max");
    assert_eq!(f.path(rel.join(&at_max)).as_os_str().len(), 4095);
    // And one beyond: created relative to its directory.
    let deeper = rustix::fs::open(
        f.path(&rel),
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .expect("open");
    rustix::fs::mkdirat(&deeper, comp.as_str(), Mode::from_raw_mode(0o755)).expect("mkdirat");
    let beyond = rustix::fs::openat(
        &deeper,
        format!("{comp}/{comp}").as_str(),
        OFlags::CREATE | OFlags::WRONLY | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o644),
    )
    .expect("create");
    rustix::io::write(&beyond, b"beyond").expect("write");
    let r = report(f.root(), &["--hash", "all", "--include-unchanged"]);
    assert!(errors_of(&r).is_empty(), "{:?}", errors_of(&r));
    let inner = format!("/{}", rel.to_str().expect("utf-8"));
    assert_eq!(
        entry(&r, &format!("{inner}/{at_max}"))["blake3"],
        blake3::hash(b"at max").to_hex().as_str()
    );
    assert_eq!(
        entry(&r, &format!("{inner}/{comp}/{comp}"))["blake3"],
        blake3::hash(b"beyond").to_hex().as_str()
    );
    // Remove the part beyond PATH_MAX ourselves (relative to its directory).
    rustix::fs::unlinkat(&deeper, format!("{comp}/{comp}").as_str(), AtFlags::empty()).expect("rm");
}

#[test]
fn fifos_sockets_and_devices_are_listed_but_never_opened() {
    let f = Fixture::new();
    f.dir("run").dir("dev").file("etc/plain", "plain");
    let fifo = f.path("run/pipe");
    crate::mkfifo(&fifo);
    let witness = FifoWitness::start(&fifo);
    let sock = f.path("run/socket");
    drop(std::os::unix::net::UnixListener::bind(&sock).expect("bind"));
    let mut specials = vec![("/run/pipe", "fifo"), ("/run/socket", "socket")];
    if is_root() {
        for (name, ty, dev) in [
            (
                "dev/null-copy",
                rustix::fs::FileType::CharacterDevice,
                (1, 3),
            ),
            (
                "dev/no-driver",
                rustix::fs::FileType::CharacterDevice,
                (240, 7),
            ),
            ("dev/loop-copy", rustix::fs::FileType::BlockDevice, (7, 200)),
        ] {
            rustix::fs::mknodat(
                rustix::fs::CWD,
                f.path(name),
                ty,
                Mode::from_raw_mode(0o600),
                rustix::fs::makedev(dev.0, dev.1),
            )
            .expect("mknod");
        }
        specials.extend([
            ("/dev/null-copy", "char-device"),
            ("/dev/no-driver", "char-device"),
            ("/dev/loop-copy", "block-device"),
        ]);
    } else {
        eprintln!("SKIPPED (device nodes): mknod needs root");
    }
    // --hash all would block on the fifo if it ever opened it for reading.
    let r = report(f.root(), &["--hash", "all", "--include-unchanged"]);
    assert!(errors_of(&r).is_empty(), "{:?}", errors_of(&r));
    for (p, kind) in &specials {
        let e = entry(&r, p);
        assert_eq!(e["kind"], *kind, "{p}");
        assert!(e["blake3"].is_null(), "{p} has no content hash");
    }
    assert!(!entry(&r, "/etc/plain")["blake3"].is_null());
    assert!(!witness.opened(), "the fifo was never opened");

    // With strace, prove no open(2) of any special file by path at all.
    let strace_works = std::process::Command::new("strace")
        .args(["-qq", "-o", "/dev/null", "true"])
        .status()
        .is_ok_and(|s| s.success());
    crate::skip_unless!(
        strace_works,
        "strace is not available (the fifo witness still ran)"
    );
    let out = out_dir();
    let log = out.path().join("strace.log");
    let o = std::process::Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=open,openat,openat2", "-o"])
        .arg(&log)
        .arg(env!("CARGO_BIN_EXE_darlings"))
        .args(["report", "--hash", "all"])
        .arg(f.root())
        .output()
        .expect("strace");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let log = std::fs::read_to_string(&log).expect("log");
    // The walk hashes a file it has just statted by name, relative to its
    // directory's descriptor: `openat(DIRFD, "plain", ...)`.
    assert!(
        log.contains("\"plain\""),
        "the log shows the regular file's open"
    );
    for (p, _) in &specials {
        let name = p.rsplit('/').next().expect("name");
        let hits: Vec<&str> = log.lines().filter(|l| l.contains(name)).collect();
        assert!(hits.is_empty(), "{p} was opened: {hits:?}");
    }
    // Regular files are opened without following links, without blocking,
    // and without touching atime.
    let plain: Vec<&str> = log.lines().filter(|l| l.contains("\"plain\"")).collect();
    assert!(
        plain.iter().all(|l| l.contains("O_NOFOLLOW")
            && l.contains("O_NONBLOCK")
            && l.contains("O_NOATIME")),
        "{plain:?}"
    );
}
