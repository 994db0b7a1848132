//! The read-only guarantee: every command leaves the scanned root, the
//! baseline directory and the baseline scan file exactly as they were:
//! names, kinds, sizes, modes, owners, mtimes, ctimes, contents, and atimes
//! (except symlinks', which the kernel updates on every readlink).

use std::collections::BTreeMap;
use std::path::Path;

use crate::common::{Fixture, age_atimes, darlings, is_root, tree_state};
use crate::{HANG, out_dir, scan_to};

fn fill(f: &Fixture, flavour: &str) {
    f.file("etc/machine-id", format!("{flavour}-id"))
        .file("etc/ssh/ssh_host_ed25519_key", "key")
        .file(
            "etc/same-size",
            if flavour == "root" { "AAAA" } else { "BBBB" },
        )
        .file("var/lib/big", vec![7u8; 5 << 20])
        .file("var/lib/empty", "")
        .file("var/lib/locked", "mode 000")
        .chmod("var/lib/locked", 0o000)
        .dir("var/empty-dir")
        .symlink("/nix/store/abc/etc", "etc/static")
        .symlink("ssh", "etc/ssh-link")
        // Files the classification itself reads inside the root.
        .file("etc/.clean", "hosts\nmachine-info\n")
        .file(
            "etc/systemd/system/var-log.mount",
            "[Mount]\nWhat=/persist/var/log\nWhere=/var/log\n",
        )
        .file(
            "etc/tmpfiles.d/preservation.conf",
            "L+ /etc/machine-id - - - - /persist/etc/machine-id\n",
        )
        .file("persist/etc/machine-id", "kept");
    crate::mkfifo(&f.path("run-fifo"));
    std::fs::hard_link(f.path("etc/machine-id"), f.path("etc/machine-id.hardlink")).expect("link");
    // Same size, different mtime than the other side: --hash auto reads both.
    f.mtime(
        "etc/same-size",
        if flavour == "root" {
            1_700_000_000
        } else {
            1_600_000_000
        },
    );
    if flavour == "root" {
        f.file("home/alice/.bash_history", "ls\n");
    }
}

fn diff(a: &BTreeMap<Vec<u8>, String>, b: &BTreeMap<Vec<u8>, String>) -> Vec<String> {
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

#[test]
fn no_command_changes_the_root_or_the_baselines_not_even_an_atime() {
    let root = Fixture::new();
    fill(&root, "root");
    let base = Fixture::new();
    fill(&base, "base");
    let bases = out_dir();
    let base_scan = scan_to(base.root(), bases.path(), "base.scan", &["--hash", "all"]);
    let cfg_json = bases.path().join("persistence.json");
    std::fs::write(
        &cfg_json,
        r#"{"/persist":{"directories":["/var/lib"],"files":["/etc/machine-id"]}}"#,
    )
    .expect("write");
    let cfg_nix = bases.path().join("persist.nix");
    std::fs::write(
        &cfg_nix,
        "{\n  environment.persistence.\"/persist\" = {\n    directories = [ \"/var/log\" ];\n  };\n}\n",
    )
    .expect("write");
    let rules = bases.path().join("rules.ignore");
    std::fs::write(&rules, "/home/*/.bash_history\n").expect("write");
    let out = out_dir();
    for d in [root.root(), base.root(), bases.path()] {
        age_atimes(d);
    }
    let state = |_: ()| {
        [root.root(), base.root(), bases.path()]
            .iter()
            .map(|d| tree_state(d))
            .collect::<Vec<_>>()
    };
    let before = state(());
    assert_eq!(before, state(()), "taking the state changes nothing itself");
    let (r, b, s, o) = (root.root(), base.root(), base_scan.as_path(), out.path());
    let p = |x: &Path| x.to_str().expect("utf-8 temp path").to_string();
    let o_ = |n: &str| p(&o.join(n));
    let commands: Vec<(Vec<String>, i32)> = vec![
        (
            vec![
                "scan".into(),
                p(r),
                "-o".into(),
                o_("a.scan"),
                "--hash".into(),
                "all".into(),
            ],
            0,
        ),
        (vec!["scan".into(), p(r), "-o".into(), o_("b.scan")], 0),
        (
            vec![
                "scan".into(),
                p(b),
                "-o".into(),
                o_("c.scan"),
                "--hash".into(),
                "none".into(),
            ],
            0,
        ),
        (
            vec!["report".into(), p(r), "--hash".into(), "all".into()],
            0,
        ),
        (
            vec![
                "report".into(),
                p(r),
                "--against".into(),
                p(b),
                "--hash".into(),
                "all".into(),
                "-o".into(),
                o_("r1.json"),
            ],
            0,
        ),
        (
            vec![
                "report".into(),
                p(r),
                "--against".into(),
                p(b),
                "-o".into(),
                o_("r2.json"),
            ],
            0,
        ),
        (
            vec![
                "report".into(),
                p(r),
                "--against".into(),
                p(s),
                "--hash".into(),
                "all".into(),
                "--include-unchanged".into(),
            ],
            0,
        ),
        (vec!["report".into(), p(r), "--against".into(), p(s)], 0),
        (
            vec![
                "summary".into(),
                p(r),
                "--against".into(),
                p(b),
                "--hash".into(),
                "all".into(),
            ],
            0,
        ),
        (vec!["summary".into(), p(r), "--against".into(), p(s)], 0),
        (
            vec!["summary".into(), p(r), "--hash".into(), "none".into()],
            0,
        ),
        (
            vec![
                "summary".into(),
                p(r),
                "--persistence".into(),
                p(&cfg_json),
                "--persistence".into(),
                p(&cfg_nix),
                "--ignore".into(),
                p(&rules),
                "--storage".into(),
                "/persist".into(),
                "--hash".into(),
                "all".into(),
            ],
            0,
        ),
        (
            vec![
                "report".into(),
                p(r),
                "--against".into(),
                p(b),
                "--persistence".into(),
                p(&cfg_nix),
                "--ignore".into(),
                p(&rules),
                "-o".into(),
                o_("r3.json"),
            ],
            0,
        ),
        // The check reads storage and, as root, ROOT's file system under
        // mount points; both findings are errors (data not in storage, the
        // tmpfiles link replaced by a file).
        (
            vec![
                "check".into(),
                p(r),
                "--persistence".into(),
                p(&cfg_json),
                "--json".into(),
            ],
            1,
        ),
        (vec!["check".into(), p(r), "--against".into(), p(s)], 1),
        // Refused: an output inside the baseline, or over the baseline scan file.
        (
            vec![
                "report".into(),
                p(r),
                "--against".into(),
                p(b),
                "-o".into(),
                p(&b.join("etc/out.json")),
            ],
            2,
        ),
        (
            vec![
                "report".into(),
                p(r),
                "--against".into(),
                p(s),
                "-o".into(),
                p(s),
            ],
            2,
        ),
    ];
    let mut read_something = false;
    for (args, code) in &commands {
        let run = darlings().args(args).timeout(HANG).output().expect("run");
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(*code), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"));
        read_something |= String::from_utf8_lossy(&run.stdout).contains("\"blake3\":\"");
        let now = state(());
        for (k, (x, y)) in before.iter().zip(&now).enumerate() {
            let d = diff(x, y);
            assert!(
                d.is_empty(),
                "`darlings {}` changed tree {k}:\n{}",
                args.join(" "),
                d.join("\n")
            );
        }
    }
    assert!(read_something, "the commands did read file contents");
    // Control: an ordinary read does update these atimes, so the checks
    // above would have seen a read without O_NOATIME.
    let probe = root.path("etc/machine-id");
    let t0 = std::fs::metadata(&probe)
        .expect("stat")
        .accessed()
        .expect("atime");
    let _ = std::fs::read(&probe).expect("read");
    let t1 = std::fs::metadata(&probe)
        .expect("stat")
        .accessed()
        .expect("atime");
    assert_ne!(
        t0, t1,
        "this mount updates atimes (else the test could not fail)"
    );
    if !is_root() {
        eprintln!("note: not root: O_NOATIME applies only to files the user owns");
    }
}
