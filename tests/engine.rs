//! The audit engine end to end through the binary: scan, scan files,
//! baselines, change detection, report and summary (README 'Commands',
//! docs/report-schema.md).

#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;

use common::{Fixture, darlings, entry, json};

/// A fixture with one of every kind of entry and awkward names.
fn every_kind() -> Fixture {
    let f = Fixture::new();
    f.file("etc/ssh/ssh_host_ed25519_key", "secret")
        .chmod("etc/ssh/ssh_host_ed25519_key", 0o600)
        .file("var/lib/app/data", "hello")
        .symlink("/nix/store/aaa-etc/etc/hosts", "etc/hosts")
        .symlink("loop-b", "etc/loop-a")
        .symlink("loop-a", "etc/loop-b")
        .file("home/u/with\nnewline", "n")
        .file("home/u/esc\x1b[31mred", "e")
        .dir("empty");
    std::fs::hard_link(f.path("var/lib/app/data"), f.path("var/lib/app/data-link")).unwrap();
    let bad = std::ffi::OsStr::from_bytes(b"caf\xe9");
    std::fs::write(f.path("home/u").join(bad), "latin1").unwrap();
    rustix::fs::mknodat(
        rustix::fs::CWD,
        f.path("var/fifo").as_path(),
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o644),
        0,
    )
    .unwrap();
    let _sock = std::os::unix::net::UnixListener::bind(f.path("var/sock")).unwrap();
    // A 1 GiB sparse file: scanned by metadata, hashed only with --hash all.
    let sparse = std::fs::File::create(f.path("var/lib/sparse.img")).unwrap();
    sparse.set_len(1 << 30).unwrap();
    f
}

/// `darlings scan --hash all -o scan ROOT`: a complete baseline of `f`.
fn save_scan(f: &Fixture, scan: &std::path::Path) {
    darlings()
        .args(["scan", "--hash", "all", "-o"])
        .arg(scan)
        .arg(f.root())
        .assert()
        .success();
}

fn report(f: &Fixture, args: &[&str]) -> serde_json::Value {
    common::report(f.root(), args)
}

#[test]
fn every_kind_of_entry_is_reported_with_its_metadata() {
    let f = every_kind();
    let r = report(&f, &[]);
    let kind = |p: &str| entry(&r, p).unwrap_or_else(|| panic!("{p} listed"))["kind"].clone();
    assert_eq!(kind("/etc/ssh/ssh_host_ed25519_key"), "file");
    assert_eq!(kind("/etc/hosts"), "symlink");
    assert_eq!(kind("/etc/loop-a"), "symlink");
    assert_eq!(kind("/var/fifo"), "fifo");
    assert_eq!(kind("/var/sock"), "socket");
    assert_eq!(kind("/empty"), "dir");
    let key = entry(&r, "/etc/ssh/ssh_host_ed25519_key").unwrap();
    assert_eq!(key["mode"], "0600");
    assert_eq!(key["size"], 6);
    assert_eq!(key["change"], "added", "against empty every path is added");
    assert_eq!(
        entry(&r, "/etc/hosts").unwrap()["target"],
        "/nix/store/aaa-etc/etc/hosts"
    );
    assert_eq!(
        entry(&r, "/var/lib/sparse.img").unwrap()["size"],
        1u64 << 30
    );
    assert!(entry(&r, "/home/u/with\nnewline").is_some());
    assert!(entry(&r, "/home/u/esc\x1b[31mred").is_some());
    // Invalid UTF-8: lossy text plus the exact bytes.
    let bad = r["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e.get("path_b64").is_some())
        .expect("a path_b64 entry");
    assert_eq!(bad["path_b64"], "L2hvbWUvdS9jYWbp");
    // Against empty nothing is hashed.
    assert!(
        r["entries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["blake3"].is_null())
    );
    assert_eq!(r["schema"], "darlings-report/1");
}

#[test]
fn entries_are_sorted_by_path_bytes_and_summary_agrees() {
    let f = every_kind();
    f.file("a/x", "1").file("a.conf", "2").file("a-b/y", "3");
    let r = report(&f, &[]);
    let paths: Vec<Vec<u8>> = r["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| match e.get("path_b64") {
            Some(b) => {
                use base64::Engine;
                base64::engine::general_purpose::STANDARD
                    .decode(b.as_str().unwrap())
                    .unwrap()
            }
            None => e["path"].as_str().unwrap().as_bytes().to_vec(),
        })
        .collect();
    let mut sorted = paths.clone();
    sorted.sort();
    assert_eq!(paths, sorted, "entries sorted by path bytes");
    let n = paths.len() as u64;
    assert_eq!(r["summary"]["entries"], n);
    let s = &r["summary"]["classes"];
    let sum = s["persisted"]["entries"].as_u64().unwrap()
        + s["nix-managed"]["entries"].as_u64().unwrap()
        + s["stray"]["entries"].as_u64().unwrap();
    assert_eq!(sum, n, "class counts add up to the entries");
    let bytes: u64 = r["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "file")
        .map(|e| e["size"].as_u64().unwrap())
        .sum();
    assert_eq!(r["summary"]["bytes"], bytes);
    assert_eq!(r["summary"]["changes"]["added"], n);
}

#[test]
fn one_thread_and_many_threads_give_identical_scans() {
    let f = every_kind();
    for i in 0..300 {
        f.file(format!("wide/d{}/f{i}", i % 17), format!("{i}"));
    }
    let dir = tempfile::tempdir().unwrap();
    let mut outputs = Vec::new();
    for threads in ["1", "2", "8"] {
        let out = dir.path().join(format!("t{threads}.scan"));
        darlings()
            .args(["scan", "--hash", "all", "--threads", threads, "-o"])
            .arg(&out)
            .arg(f.root())
            .assert()
            .success();
        outputs.push(std::fs::read(&out).unwrap());
    }
    assert_eq!(outputs[0], outputs[1], "1 vs 2 threads");
    assert_eq!(outputs[0], outputs[2], "1 vs 8 threads");
}

#[test]
fn one_thread_and_many_threads_give_identical_reports() {
    // More pairs than one part of the parallel classification holds (8,192),
    // spread over several subtrees, against a scan with removed paths (judged
    // in the baseline's tree): the report must not depend on --threads.
    let f = every_kind();
    for i in 0..12_000 {
        f.file(format!("var/lib/app{}/d{}/f{i}", i % 3, i % 40), "x");
    }
    for i in 0..300 {
        f.file(format!("home/u/.cache/c{i}"), "c")
            .symlink("/nix/store/aaa-hello", format!("home/u/result-{i}"));
    }
    let dir = tempfile::tempdir().unwrap();
    let scan = dir.path().join("base.scan");
    save_scan(&f, &scan);
    for i in 0..200 {
        std::fs::remove_file(f.path(format!("var/lib/app{}/d{}/f{i}", i % 3, i % 40))).unwrap();
        f.file(format!("srv/new/n{i}"), "n");
    }
    let mut outputs = Vec::new();
    for threads in ["1", "3", "8"] {
        let out = darlings()
            .args(["report", "--threads", threads, "--against"])
            .arg(&scan)
            .arg(f.root())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        outputs.push(out.stdout);
    }
    let r: serde_json::Value = serde_json::from_slice(&outputs[0]).unwrap();
    assert_eq!(
        r["summary"]["changes"]["removed"], 200,
        "{:#}",
        r["summary"]
    );
    assert_eq!(outputs[0], outputs[1], "1 vs 3 threads");
    assert_eq!(outputs[0], outputs[2], "1 vs 8 threads");
}

#[test]
fn exclude_skips_paths_and_names() {
    let f = every_kind();
    f.file("var/cache/big/blob", "x")
        .file("home/u/junk.tmp", "t");
    let r = report(&f, &["--exclude", "/var/cache", "--exclude", "*.tmp"]);
    assert!(entry(&r, "/var/cache").is_none());
    assert!(entry(&r, "/var/cache/big/blob").is_none());
    assert!(entry(&r, "/home/u/junk.tmp").is_none());
    assert!(entry(&r, "/var/lib/app/data").is_some());
}

#[test]
fn an_unchanged_tree_reports_nothing_against_its_own_scan() {
    let f = every_kind();
    let dir = tempfile::tempdir().unwrap();
    let scan = dir.path().join("base.scan");
    save_scan(&f, &scan);
    let r = report(&f, &["--against", scan.to_str().unwrap(), "--hash", "all"]);
    assert_eq!(r["entries"].as_array().unwrap().len(), 0, "{r:#}");
    assert_eq!(r["summary"]["entries"], 0);
    assert_eq!(r["baseline"]["kind"], "scan");
    // Every hash came from the scan file: no file was read again.
    assert_eq!(r["hashing"]["files_read"], 0);
    assert!(r["hashing"]["reused"].as_u64().unwrap() >= 5);
    let all = report(
        &f,
        &["--against", scan.to_str().unwrap(), "--include-unchanged"],
    );
    assert!(
        all["entries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["change"] == "unchanged")
    );
    assert_eq!(
        all["summary"]["changes"]["unchanged"],
        all["summary"]["entries"]
    );
}

/// Applies one change of every kind and checks `change` and `what`.
fn assert_every_change_kind(against: &str, f: &Fixture, hash: &str) {
    let r = report(f, &["--against", against, "--hash", hash]);
    let get = |p: &str| entry(&r, p).unwrap_or_else(|| panic!("{p} listed in {r:#}"));
    let what = |p: &str| -> Vec<String> {
        get(p)["what"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w.as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(get("/new-file")["change"], "added");
    assert_eq!(get("/gone")["change"], "removed");
    assert_eq!(get("/gone/child")["change"], "removed");
    assert_eq!(get("/grown")["change"], "modified");
    assert_eq!(what("/grown"), ["size", "content", "mtime"]);
    assert_eq!(
        what("/rewritten"),
        ["content"],
        "same size, mtime restored: only a hash sees it"
    );
    assert_eq!(
        what("/touched"),
        ["mtime"],
        "same content, new mtime: a touch"
    );
    assert_eq!(what("/chmodded"), ["mode"]);
    assert_eq!(what("/link"), ["target"]);
    assert_eq!(what("/became-dir"), ["kind"]);
    if common::is_root() {
        assert_eq!(what("/chowned"), ["owner"]);
    }
    assert!(
        entry(&r, "/same").is_none(),
        "unchanged paths are not listed"
    );
}

fn drift_fixture() -> Fixture {
    let f = Fixture::new();
    f.file("same", "same")
        .file("gone/child", "c")
        .file("grown", "short")
        .file("rewritten", "AAAA")
        .file("touched", "t")
        .file("chmodded", "m")
        .file("chowned", "o")
        .file("became-dir", "f")
        .symlink("old-target", "link")
        .mtime("link", 1_700_000_000);
    for p in [
        "same",
        "grown",
        "rewritten",
        "touched",
        "chmodded",
        "chowned",
        "became-dir",
    ] {
        f.mtime(p, 1_700_000_000);
    }
    f
}

fn apply_drift(f: &Fixture) {
    std::fs::remove_dir_all(f.path("gone")).unwrap();
    f.file("new-file", "n");
    f.file("grown", "much longer").mtime("grown", 1_700_000_100);
    f.file("rewritten", "BBBB")
        .mtime("rewritten", 1_700_000_000);
    f.mtime("touched", 1_700_000_200);
    f.chmod("chmodded", 0o600);
    if common::is_root() {
        std::os::unix::fs::lchown(f.path("chowned"), Some(1000), Some(1000)).unwrap();
    }
    std::fs::remove_file(f.path("became-dir")).unwrap();
    f.dir("became-dir");
    std::fs::remove_file(f.path("link")).unwrap();
    f.symlink("new-target", "link").mtime("link", 1_700_000_000);
}

#[test]
fn every_change_kind_against_a_scan_file() {
    let f = drift_fixture();
    let dir = tempfile::tempdir().unwrap();
    let scan = dir.path().join("base.scan");
    save_scan(&f, &scan);
    apply_drift(&f);
    assert_every_change_kind(scan.to_str().unwrap(), &f, "all");
}

#[test]
fn every_change_kind_against_a_directory() {
    let base = drift_fixture();
    // A copy that keeps mtimes: the baseline directory, like a blank snapshot.
    let cur = Fixture::new();
    let status = std::process::Command::new("cp")
        .args(["-a", "--no-preserve=links"])
        .arg(format!("{}/.", base.root().display()))
        .arg(cur.root())
        .status()
        .unwrap();
    assert!(status.success());
    apply_drift(&cur);
    assert_every_change_kind(base.root().to_str().unwrap(), &cur, "all");
}

#[test]
fn hash_auto_tells_a_touch_from_a_rewrite_and_none_reads_nothing() {
    let base = drift_fixture();
    let cur = Fixture::new();
    std::process::Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", base.root().display()))
        .arg(cur.root())
        .status()
        .unwrap();
    cur.file("touched", "t").mtime("touched", 1_700_000_300);
    cur.file("rewritten", "BBBB")
        .mtime("rewritten", 1_700_000_400);
    let r = report(&cur, &["--against", base.root().to_str().unwrap()]);
    let what = |p: &str| entry(&r, p).unwrap()["what"].clone();
    assert_eq!(what("/touched"), serde_json::json!(["mtime"]));
    assert_eq!(what("/rewritten"), serde_json::json!(["content", "mtime"]));
    assert_eq!(
        r["hashing"]["files_read"], 4,
        "auto hashes only the two same-size, new-mtime files, on both sides"
    );
    let r = report(
        &cur,
        &["--against", base.root().to_str().unwrap(), "--hash", "none"],
    );
    assert_eq!(r["hashing"]["files_read"], 0);
    assert_eq!(
        entry(&r, "/rewritten").unwrap()["what"],
        serde_json::json!(["mtime"])
    );
}

#[test]
fn summary_is_plain_text_with_escaped_names_and_fail_on_stray() {
    let f = every_kind();
    let out = darlings().arg("summary").arg(f.root()).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).expect("summary is UTF-8");
    assert!(!text.contains('\x1b'), "no raw ESC with NO_COLOR: {text}");
    assert!(text.contains("stray"));
    assert!(text.contains("Next:"));
    darlings()
        .arg("summary")
        .arg("--fail-on-stray")
        .arg(f.root())
        .assert()
        .code(1);
    let empty = Fixture::new();
    darlings()
        .arg("summary")
        .arg("--fail-on-stray")
        .arg(empty.root())
        .assert()
        .code(0);
}

#[test]
fn bind_mounts_are_mount_points_and_not_descended() {
    skip_unless!(common::is_root(), "bind mounts need root");
    let f = Fixture::new();
    f.file("persist/var/log/journal", "j")
        .dir("root/var/log")
        .file("root/etc/x", "x");
    let r = common::report_with_binds(
        &f.path("root"),
        &[(f.path("persist/var/log"), f.path("root/var/log"))],
        &[],
    );
    let log = entry(&r, "/var/log").expect("mount point listed");
    assert!(
        !log["mount"].is_null(),
        "mount point carries its mount: {log}"
    );
    assert!(
        entry(&r, "/var/log/journal").is_none(),
        "the scan stays on the root's file system"
    );
    assert!(entry(&r, "/etc/x").is_some());
}

#[test]
fn bad_input_exits_2_with_a_message_and_no_output_file() {
    let f = every_kind();
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.scan");
    std::fs::write(&garbage, b"DARLSCAN\x01\x00\x00\x00truncated").unwrap();
    let out = dir.path().join("out.json");
    let cases: Vec<(Vec<std::ffi::OsString>, &str)> = vec![
        (
            vec!["report".into(), "/nonexistent-root".into()],
            "nonexistent-root",
        ),
        (
            vec![
                "report".into(),
                f.path("etc/ssh/ssh_host_ed25519_key").into(),
            ],
            "not a directory",
        ),
        (
            vec![
                "report".into(),
                f.root().into(),
                "--against".into(),
                "/nonexistent-base".into(),
            ],
            "nonexistent-base",
        ),
        (
            vec![
                "report".into(),
                f.root().into(),
                "--against".into(),
                garbage.clone().into(),
                "-o".into(),
                out.clone().into(),
            ],
            "truncated",
        ),
        (
            vec!["report".into(), "--hash".into(), "sometimes".into()],
            "sometimes",
        ),
        (
            vec![
                "scan".into(),
                f.root().into(),
                "-o".into(),
                "/nonexistent-dir/x.scan".into(),
            ],
            "nonexistent-dir",
        ),
    ];
    for (args, needle) in cases {
        let o = darlings().args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(needle),
            "{args:?}: message names '{needle}': {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
    assert!(!out.exists(), "no output file after a failed report");
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(names.len(), 1, "only the garbage input remains: {names:?}");
}

#[test]
fn no_command_changes_the_scanned_tree() {
    let f = every_kind();
    // An old atime that relatime would update on a plain read.
    filetime::set_file_atime(
        f.path("var/lib/app/data"),
        filetime::FileTime::from_unix_time(1_000_000_000, 0),
    )
    .unwrap();
    let before = common::tree_state(f.root());
    let dir = tempfile::tempdir().unwrap();
    let scan = dir.path().join("s.scan");
    save_scan(&f, &scan);
    darlings()
        .args(["report", "--hash", "all", "--against"])
        .arg(&scan)
        .arg(f.root())
        .assert()
        .success();
    darlings().arg("summary").arg(f.root()).assert().success();
    let after = common::tree_state(f.root());
    assert_eq!(before, after, "metadata, atime and contents unchanged");
    let atime = std::fs::metadata(f.path("var/lib/app/data"))
        .unwrap()
        .atime();
    assert_eq!(atime, 1_000_000_000, "hashing did not update the atime");
}

#[test]
fn output_inside_the_baseline_is_refused() {
    let base = Fixture::new();
    base.file("x", "1");
    let cur = Fixture::new();
    darlings()
        .arg("report")
        .arg(cur.root())
        .arg("--against")
        .arg(base.root())
        .arg("-o")
        .arg(base.path("report.json"))
        .assert()
        .code(2)
        .stderr(predicates::str::contains("inside the baseline"));
    assert!(!base.path("report.json").exists());
}

/// The shared corpus generator, beside the checkout (as CI lays it out).
fn make_corpus() -> Option<std::path::PathBuf> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/bench/make-corpus.sh");
    p.exists().then_some(p)
}

#[test]
fn a_drifted_corpus_matches_its_ground_truth_exactly() {
    let Some(generator) = make_corpus() else {
        eprintln!("SKIPPED: ../shared/bench/make-corpus.sh is not beside the checkout");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (base, drift) = (dir.path().join("base"), dir.path().join("drift"));
    for args in [
        vec![
            "gen".into(),
            base.clone().into_os_string(),
            "--scale".into(),
            "small".into(),
            "--seed".into(),
            "11".into(),
        ],
        vec![
            "drift".into(),
            base.clone().into_os_string(),
            drift.clone().into_os_string(),
            "--seed".into(),
            "11".into(),
        ],
    ] {
        let out = std::process::Command::new("bash")
            .arg(&generator)
            .args(&args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = darlings()
        .arg("report")
        .arg(&drift)
        .arg("--against")
        .arg(&base)
        .args(["--hash", "all"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = json(&out.stdout);
    let truth = std::fs::read_to_string(dir.path().join("drift.truth.jsonl")).unwrap();
    let mut expected = std::collections::BTreeMap::new();
    for line in truth.lines() {
        let t: serde_json::Value = serde_json::from_str(line).unwrap();
        let path = format!("/{}", t["path"].as_str().unwrap());
        let change = match t["op"].as_str().unwrap() {
            "added" => "added",
            "removed" => "removed",
            _ => "modified",
        };
        let what = match (t["op"].as_str().unwrap(), t["how"].as_str()) {
            ("metadata", _) => t["what"].as_str().map(String::from),
            ("modified", Some("symlink_target")) => Some("target".into()),
            ("modified", _) => Some("content".into()),
            ("type_changed", _) => Some("kind".into()),
            _ => None,
        };
        expected.insert(path, (change, what));
    }
    let mut got = std::collections::BTreeMap::new();
    for e in r["entries"].as_array().unwrap() {
        got.insert(e["path"].as_str().unwrap().to_string(), e.clone());
    }
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>(),
        "every change found, nothing else reported"
    );
    for (path, (change, what)) in &expected {
        let e = &got[path];
        assert_eq!(e["change"], *change, "{path}: {e}");
        if let Some(w) = what {
            assert!(
                e["what"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|x| x == w.as_str()),
                "{path}: what names {w}: {e}"
            );
        }
    }
    assert!(
        expected.len() >= 100,
        "the drift has {} changes",
        expected.len()
    );
}

/// Against a baseline that is not empty, the summary counts what differs;
/// stray data that is the same as in the baseline is not counted, and the
/// summary says so instead of "nothing would be lost" (against an older scan
/// or root of the machine, that data is lost at the wipe too).
#[test]
fn summary_names_the_stray_data_it_does_not_count_against_a_baseline() {
    let old = Fixture::new();
    old.file("var/lib/docker/volumes/db/data", "rows");
    let cur = Fixture::new();
    cur.file("var/lib/docker/volumes/db/data", "rows");
    let mtime = std::fs::metadata(old.path("var/lib/docker/volumes/db/data"))
        .unwrap()
        .modified()
        .unwrap();
    for rel in [
        "var/lib/docker/volumes/db/data",
        "var/lib/docker/volumes/db",
        "var/lib/docker/volumes",
        "var/lib/docker",
        "var/lib",
        "var",
    ] {
        for f in [&old, &cur] {
            std::fs::File::options()
                .read(true)
                .open(f.path(rel))
                .unwrap()
                .set_modified(mtime)
                .unwrap();
        }
    }
    let out = darlings()
        .arg("summary")
        .arg(cur.root())
        .arg("--against")
        .arg(old.root())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("not counted: "), "{text}");
    assert!(
        text.contains("Nothing unresolved that differs from the baseline would be lost"),
        "{text}"
    );
    assert!(!text.contains("Nothing unresolved would be lost"), "{text}");
    // Against empty the same data is counted and the usual advice follows.
    let out = darlings().arg("summary").arg(cur.root()).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("not counted"), "{text}");
    assert!(text.contains("/var/lib/docker"), "{text}");
}
