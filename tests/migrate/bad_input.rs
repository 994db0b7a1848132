//! Bad input is refused with exit 2, one clear message and nothing written:
//! a missing ROOT, a PATH that is not whitelisted, a broken whitelist, a
//! storage root that does not exist, no whitelist at all.

use std::path::Path;

use crate::common::{Fixture, darlings};
use crate::{HANG, untouched_state, whitelist};

fn refused(root: &Path, cwd: &Path, args: &[&str], needle: &str) {
    let before = untouched_state(root, &[]);
    let out = darlings()
        .current_dir(cwd)
        .arg("migrate")
        .args(args)
        .timeout(HANG)
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        stderr.contains(needle),
        "{args:?}: stderr names {needle:?}: {stderr}"
    );
    assert!(out.stdout.is_empty(), "{args:?}: nothing on stdout");
    assert_eq!(
        untouched_state(root, &[]),
        before,
        "{args:?} wrote something"
    );
}

#[test]
fn bad_input_exits_2_and_writes_nothing() {
    let f = Fixture::new();
    f.file("var/lib/app/a", "a").dir("persist");
    let cfg = tempfile::tempdir().expect("temp");
    let wl = whitelist(cfg.path(), "/persist", &["/var/lib/app"], &[]);
    let wl = wl.to_str().expect("utf-8");
    let root = f.root().to_str().expect("utf-8");
    let missing = f.path("no-such-root");
    let missing = missing.to_str().expect("utf-8");
    let cwd = cfg.path();
    refused(
        f.root(),
        cwd,
        &[missing, "--persistence", wl, "--yes"],
        "no-such-root",
    );
    refused(
        f.root(),
        cwd,
        &[root, "/var/lib/other", "--persistence", wl, "--yes"],
        "/var/lib/other is not whitelisted",
    );
    refused(
        f.root(),
        cwd,
        &[root, "var/lib/app", "--persistence", wl, "--yes"],
        "give an absolute path",
    );
    refused(
        f.root(),
        cwd,
        &[
            root,
            "--persistence",
            wl,
            "--storage",
            "/elsewhere",
            "--yes",
        ],
        "no whitelisted path is kept there",
    );
    let broken = cfg.path().join("broken.json");
    std::fs::write(&broken, "{\"/persist\": {\"directories\": [").expect("write");
    refused(
        f.root(),
        cwd,
        &[
            root,
            "--persistence",
            broken.to_str().expect("utf-8"),
            "--yes",
        ],
        "broken.json",
    );
    let other_dir = cfg.path().join("x");
    std::fs::create_dir(&other_dir).expect("mkdir");
    let other = whitelist(&other_dir, "/nowhere", &["/var/lib/app"], &[]);
    refused(
        f.root(),
        cwd,
        &[
            root,
            "--persistence",
            other.to_str().expect("utf-8"),
            "--yes",
        ],
        "mount the persistent file system there first",
    );
    refused(f.root(), cwd, &[root, "--yes"], "no whitelist");
    refused(
        f.root(),
        cwd,
        &[root, "--persistence", wl, "--whitelist", wl],
        "cannot be used with",
    );
}
