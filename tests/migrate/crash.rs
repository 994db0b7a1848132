//! SIGKILL at random moments during `migrate --yes` on a tree with a large
//! file and many small files: after every kill each destination is either
//! absent or complete and identical to ROOT (never half a copy), and a last
//! run removes the staging leftovers and finishes cleanly.

use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::{LoopFs, Rng, assert_same_tree, need_loop, stdout, whitelist};

const ITERATIONS: usize = 24;
const PATHS: [&str; 3] = ["/var/lib/big", "/var/lib/many", "/etc/machine-id"];

fn build(root: &Path) {
    let mut rng = Rng(99);
    let big: Vec<u8> = (0..(64 << 20) / 8)
        .flat_map(|_| rng.next_u64().to_le_bytes())
        .collect();
    std::fs::create_dir_all(root.join("var/lib/big")).expect("mkdir");
    std::fs::write(root.join("var/lib/big/blob"), big).expect("write");
    std::fs::write(root.join("var/lib/big/small"), b"s").expect("write");
    for d in 0..40 {
        let dir = root.join(format!("var/lib/many/d{d}"));
        std::fs::create_dir_all(&dir).expect("mkdir");
        for i in 0..75 {
            std::fs::write(dir.join(format!("f{i}")), format!("{d}/{i}").repeat(20))
                .expect("write");
        }
    }
    std::fs::create_dir_all(root.join("etc")).expect("mkdir");
    std::fs::write(root.join("etc/machine-id"), b"0123456789abcdef\n").expect("write");
}

fn staging_leftovers(persist: &Path) -> usize {
    std::fs::read_dir(persist)
        .expect("list")
        .flatten()
        .filter(|e| e.file_name().as_bytes().starts_with(b".darlings-staging-"))
        .count()
}

/// Every destination is absent or identical to ROOT.
fn check(root: &Path, persist: &Path) -> usize {
    let mut complete = 0;
    for p in PATHS {
        let dest = persist.join(&p[1..]);
        if std::fs::symlink_metadata(&dest).is_ok() {
            assert_same_tree(&root.join(&p[1..]), &dest);
            complete += 1;
        }
    }
    complete
}

#[test]
fn sigkill_at_any_moment_leaves_each_path_absent_or_complete() {
    need_loop!("ext4");
    let fs = LoopFs::new("1G", "ext4", None);
    let root = fs.dir.clone();
    let persist = root.join("persist");
    std::fs::create_dir_all(&persist).expect("mkdir");
    build(&root);
    let wl_dir = tempfile::tempdir().expect("temp");
    let dirs = &PATHS[..2];
    let wl = whitelist(wl_dir.path(), "/persist", dirs, &PATHS[2..]);
    let run = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_darlings"))
            .arg("migrate")
            .arg(&root)
            .arg("--persistence")
            .arg(&wl)
            .arg("--yes")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn")
    };
    let clear = || {
        for p in PATHS {
            let dest = persist.join(&p[1..]);
            if dest.is_dir() {
                std::fs::remove_dir_all(&dest).expect("clear");
            } else {
                let _ = std::fs::remove_file(&dest);
            }
        }
    };
    // One whole run, timed to spread the kills over a whole run.
    let start = Instant::now();
    assert!(run().wait().expect("wait").success());
    let whole = start.elapsed();
    assert_eq!(check(&root, &persist), PATHS.len());
    clear();
    let mut rng = Rng(0xdead_beef);
    let mut interrupted = 0;
    for i in 0..ITERATIONS {
        let mut child = run();
        let at = Duration::from_micros(rng.next_u64() % (whole.as_micros() as u64 + 1));
        std::thread::sleep(at);
        let _ = child.kill();
        let status = child.wait().expect("wait");
        if !status.success() {
            interrupted += 1;
        }
        let complete = check(&root, &persist);
        eprintln!(
            "kill {i} after {at:?} of {whole:?}: {complete} of {} paths complete, {} staging leftovers",
            PATHS.len(),
            staging_leftovers(&persist)
        );
        // Start over now and then so that kills keep landing mid-copy.
        if complete == PATHS.len() || i % 2 == 1 {
            clear();
        }
    }
    assert!(interrupted > 0, "no kill landed during a run");
    // A last run finishes cleanly, removing what the kills left.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_darlings"))
        .arg("migrate")
        .arg(&root)
        .arg("--persistence")
        .arg(&wl)
        .arg("--yes")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_eq!(check(&root, &persist), PATHS.len());
    assert_eq!(staging_leftovers(&persist), 0);
}
